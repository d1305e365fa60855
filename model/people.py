"""The people: every per-person array, their stages in the pipeline and their cohorts.

People are numpy arrays, not Mesa agents: this is where the run time goes. In a
pipeline (``population.pipeline``) the areas are life stages, ``population.stage_years``
years each. People sit on a grid of yearly cohorts (rows) and neighbourhood positions
(columns): person ``i`` is row ``i // C``, position ``i % C``. A row's age rises by one
each year; the oldest row leaves and is refilled by a newborn cohort, so the arrays keep
their size and the step stays vectorised (as Starsim ages people). Organizations' catchments
are ranges of positions; a person is served in area k only while in stage k.

Without a pipeline there is one row: everyone is in every area at once.

Arrays, by kind:

* fixed at birth: ``risk``, ``baseline`` (M x K), ``quintile``, ``high_need`` (M x K),
  ``reach_rank`` (outreach order);
* true state: ``status`` (M x K; in a pipeline only the current stage moves, earlier
  stages keep their exit status), ``target`` (M x K, what status drifts back to: the
  baseline plus what the person carried from the stage before);
* derived from the rows' ages: ``stage`` (M,), ``in_stage`` (M x K), ``entering`` (M,);
* measured, held by the shared data system (never read for the truth): ``last_record``,
  the latest record of a person's status in their current stage, and ``handoff``, the
  record of the stage they just left, carried into their first year of the next.
"""

from __future__ import annotations

import numpy as np

from collective_impact.model import kernels
from collective_impact.model.config import Config

QUARTERS_PER_YEAR = 4


def carried_target(baseline, exit_status, exit_baseline, complementarity):
    """Where a person entering stage k starts (and drifts back to): their own baseline in k
    plus the share c of how far their exit status in stage k-1 stood above (or below) its
    baseline. c = 0: stages independent; c = 1: every gain and loss carries forward."""
    return np.clip(baseline + complementarity * (exit_status - exit_baseline), 0.01, 0.99)


class Population:
    """All people: true status by area, stage and cohort; see the module's docstring."""

    def __init__(self, config: Config, rng: np.random.Generator,
                 cohort_rng: np.random.Generator):
        pop = config.population
        self.K = K = pop.areas
        self.pipeline = bool(pop.pipeline) and K > 1
        self.stage_years = pop.stage_years if self.pipeline else 1
        self.years = K * self.stage_years if self.pipeline else 1  # rows (cohorts)
        self.positions = max(1, round(pop.size / self.years)) if self.pipeline else pop.size
        self.M = M = self.years * self.positions
        self._config = config
        self._cohort_rng = cohort_rng
        self.complementarity = config.problem.complementarity

        self.risk = rng.beta(2.0, 2.0, M)
        self.baseline = self._draw_baseline(self.risk, rng.normal(0.0, pop.baseline_sd, (M, K)))
        # Fixed cut-offs, so newborn cohorts are classed by the same lines as the first.
        self.quintile_cuts = np.quantile(self.baseline.mean(axis=1), [0.2, 0.4, 0.6, 0.8])
        self.high_need_cut = np.quantile(self.baseline, pop.high_need_share, axis=0)
        self.quintile = np.searchsorted(self.quintile_cuts, self.baseline.mean(axis=1))
        self.high_need = self.baseline <= self.high_need_cut[None, :]
        self.reach_rank = rng.random(M)
        self.prerequisite_mean = self.baseline.mean(axis=0)
        self.status = self.baseline.copy()
        self.target = self.baseline.copy()
        self.years_elapsed = 0
        self._set_stages()
        self.entering = np.zeros(M, dtype=bool)
        self.last_record = np.full(M, np.nan)
        self.handoff = np.full(M, np.nan)
        self.world_effect = np.zeros(M)  # how far the world's offset has moved each person

    def adopt_config(self, config: Config) -> None:
        """A run started from a copied burn-in (``model.BurnIn``) reads its own scenario,
        whose population section is the burn-in's."""
        self._config = config

    def _draw_baseline(self, risk, noise):
        pop = self._config.population
        return np.clip(pop.baseline_mean - pop.risk_effect * (risk[:, None] - 0.5) + noise,
                       0.01, 0.99)

    # --------------------------------------------------------------- stages
    def row_age(self) -> np.ndarray:
        """Each cohort row's age in years (0 = the youngest cohort)."""
        return (np.arange(self.years) + self.years_elapsed) % self.years

    def stage_rows(self) -> np.ndarray:
        """K x stage_years: the rows now in each stage, youngest first."""
        if not self.pipeline:
            return np.zeros((self.K, 1), dtype=np.int64)
        by_age = np.argsort(self.row_age())
        return by_age.reshape(self.K, self.stage_years)

    def _set_stages(self) -> None:
        """Stages from the rows' ages, and the live cells: the flat indices (into M x K
        arrays) of every person's current person-area, with their person and area."""
        if self.pipeline:
            row_stage = self.row_age() // self.stage_years
            self.stage = np.repeat(row_stage, self.positions)
            self.cell_person = np.arange(self.M)
            self.cell_area = self.stage
            self._rows = self.stage_rows()
            # each stage is a set of whole rows: its live cells are those rows' people
            self.area_cells = [np.concatenate([np.arange(r * self.positions,
                                                         (r + 1) * self.positions)
                                               for r in self._rows[k]]) for k in range(self.K)]
        else:
            self.stage = np.zeros(self.M, dtype=np.int64)
            self.cell_person = np.repeat(np.arange(self.M), self.K)
            self.cell_area = np.tile(np.arange(self.K), self.M)
            self._rows = self.stage_rows()
            self.area_cells = [np.arange(k, self.M * self.K, self.K) for k in range(self.K)]
        self.cells = self.cell_person * self.K + self.cell_area

    @property
    def in_stage(self) -> np.ndarray:
        """M x K: whether each person-area is live (the person is in that stage now)."""
        return self.stage[:, None] == np.arange(self.K)[None, :] if self.pipeline else \
            np.ones((self.M, self.K), dtype=bool)

    def person(self, area, place) -> np.ndarray:
        """The person at ``place`` (0 .. positions x stage_years - 1) of an area's stage:
        ``place // stage_years`` is the neighbourhood position, ``place % stage_years`` the
        cohort, so a window of places spans neighbours of every age in the stage."""
        return self.person_at(area, place // self.stage_years, place % self.stage_years)

    def person_at(self, area, position, cohort) -> np.ndarray:
        """The person at neighbourhood ``position`` in the ``cohort``-th youngest cohort of
        an area's stage (cohort 0 without a pipeline, where person = position)."""
        if not self.pipeline:
            return position
        return self._rows[area, cohort] * self.positions + position

    @property
    def stage_cohorts(self) -> np.ndarray:
        """K x stage_years: the cohort rows now in each stage, youngest first (one row 0
        without a pipeline)."""
        return self._rows

    @property
    def stage_size(self) -> int:
        """People in each stage at a time."""
        return self.positions * self.stage_years

    # --------------------------------------------------------------- ageing
    def age_one_year(self, offset: float = 0.0) -> np.ndarray:
        """Everyone a year older: the oldest cohort leaves and a newborn cohort takes its
        row; people entering a new stage start it where their last stage carried them. The
        world's ``offset`` (a trend, a recession) moves every stage alike, so an entrant
        starts at its new target plus the offset, and carries only its own result: its exit
        status less the part the world's offset had moved it (``world_effect``), so the
        world is not carried twice. Returns the people who entered a new stage (not the
        newborns)."""
        self.entering = np.zeros(self.M, dtype=bool)
        if not self.pipeline:
            return np.flatnonzero(self.entering)
        S, C = self.stage_years, self.positions
        self.handoff[:] = np.nan  # a hand-off serves the first year of a stage only
        self.years_elapsed += 1
        age = self.row_age()
        newborn = int(np.flatnonzero(age == 0)[0])
        born = np.arange(newborn * C, (newborn + 1) * C)
        self._renew_cohort(born)
        self.status[born, 0] = np.clip(self.target[born, 0] + offset, 0.0, 1.0)
        self.world_effect[born] = offset
        self._set_stages()
        for row in np.flatnonzero((age % S == 0) & (age > 0)):
            people = slice(row * C, (row + 1) * C)  # a row is a cohort: a view, not a copy
            k = int(age[row] // S)
            self.target[people, k] = carried_target(
                self.baseline[people, k],
                self.status[people, k - 1] - self.world_effect[people],
                self.baseline[people, k - 1], self.complementarity)
            self.status[people, k] = np.clip(self.target[people, k] + offset, 0.0, 1.0)
            self.world_effect[people] = offset
            self.entering[people] = True
        self.handoff[self.entering] = self.last_record[self.entering]
        self.last_record[self.entering] = np.nan
        return np.flatnonzero(self.entering)

    def keep_records(self, record: np.ndarray) -> None:
        """The shared data system keeps this quarter's records of people's current stages
        (one per live cell, NaN where none); a new record in a stage replaces a hand-off."""
        if not self.pipeline:
            return
        made = np.flatnonzero(~np.isnan(record))  # in a pipeline, live cell i is person i
        self.last_record[made] = record[made]
        self.handoff[made] = np.nan

    def _renew_cohort(self, people: np.ndarray) -> None:
        """A newborn cohort in ``people``'s slots: fresh risk, baselines and outreach order,
        drawn from the cohort stream with fixed sizes, the same in both arms."""
        rng, K = self._cohort_rng, self.K
        pop = self._config.population
        risk = rng.beta(2.0, 2.0, len(people))
        baseline = self._draw_baseline(risk, rng.normal(0.0, pop.baseline_sd,
                                                        (len(people), K)))
        self.risk[people] = risk
        self.baseline[people] = baseline
        self.status[people] = baseline
        self.target[people] = baseline
        self.quintile[people] = np.searchsorted(self.quintile_cuts, baseline.mean(axis=1))
        self.high_need[people] = baseline <= self.high_need_cut[None, :]
        self.reach_rank[people] = rng.random(len(people))
        self.last_record[people] = np.nan
        self.handoff[people] = np.nan

    def fix_prerequisite_means(self) -> None:
        """Normalise the prerequisite factor, from now on, by each prerequisite area's mean
        status among the people it is the prerequisite for (in a pipeline: the exit status
        of those in the next stage), so that at the collaborative's start the average
        service's factor is 1 whatever c. A constant of the mechanism, the same in both
        arms; no decision reads it."""
        for k in range(1, self.K):
            holders = self.stage == k if self.pipeline else slice(None)
            self.prerequisite_mean[k - 1] = float(self.status[holders, k - 1].mean())

    # --------------------------------------------------------------- outcomes
    def current(self, values: np.ndarray) -> np.ndarray:
        """An M x K array's values in the live cells (people's current person-areas)."""
        return values.ravel().take(self.cells)

    def drift(self, rate: float, offset: float) -> None:
        """Status in people's current stages drifts back toward its target (fade-out),
        shifted by ``offset`` (a secular trend, a recession)."""
        kernels.drift(self.status.ravel(), self.target.ravel(), self.cells, rate, offset)
        if self.pipeline:  # the part of status the world's offset has moved, per person
            self.world_effect += rate * (offset - self.world_effect)

    def gain_over_baseline(self) -> float:
        """Sum over people's current person-areas of status above their baseline."""
        return float((self.current(self.status) - self.current(self.baseline)).sum())

    def by_area(self, values: np.ndarray) -> np.ndarray:
        """Sums per area of values given for the live cells."""
        if self.pipeline:  # live cells are people, row by row; each row is in one stage
            by_row = values.reshape(self.years, self.positions).sum(axis=1)
            return np.bincount(self.row_age() // self.stage_years, weights=by_row,
                               minlength=self.K)
        return values.reshape(self.M, self.K).sum(axis=0)
