"""Two arms run in lockstep: the isolated and the collective world of one seed.

``PairedRun`` owns the two Mesa models; ``snapshot()`` copies what the page draws into plain,
immutable data, so charts never read a model while the play loop is stepping it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from collective_impact.model import BurnIn, CollectiveImpactModel, Config, run_world

ARMS = ("isolated", "collective")
ARM_TITLES = {"isolated": "Isolated impact", "collective": "Collective impact"}


@dataclass(frozen=True, eq=False)
class Organizations:
    """One arm's organizations at one step, one entry per organization."""

    main_area: np.ndarray  # index into the area names
    grant: np.ndarray  # dollars this quarter
    trust: np.ndarray  # 0..1, toward the collaborative
    participating: np.ndarray  # bool: takes part in the collaborative
    org_type: tuple[str, ...]  # nonprofit, school_district, ...
    backbone_budget: float | None  # None: there is no backbone
    backbone_staff: float
    coverage: float
    collaborative: bool  # whether there is a collaborative to trust and join


@dataclass(frozen=True, eq=False)  # compared by identity: a new snapshot means a redraw
class Snapshot:
    """What the page shows at one step of a paired run."""

    config: Config
    step: int
    horizon: int
    results: dict[str, pd.DataFrame]  # arm -> per-step table (step 0 .. step)
    organizations: dict[str, Organizations]
    money_by_area: dict[str, np.ndarray]  # arm -> program dollars per area this quarter

    @property
    def at_end(self) -> bool:
        return self.step >= self.horizon

    @property
    def areas(self) -> tuple[str, ...]:
        return self.config.area_names

    def latest(self, arm: str) -> pd.Series:
        return self.results[arm].iloc[-1]

    def first(self, arm: str) -> pd.Series:
        return self.results[arm].iloc[0]


def gap_spread(config: Config, seeds: list[int]) -> dict[str, np.ndarray]:
    """Collective minus isolated composite index per quarter in each of ``seeds`` (rows),
    with the mean and a 95% t-interval over them: is what one world shows luck?"""
    from scipy import stats

    gaps = []
    for seed in seeds:  # both arms of a seed from one burn-in
        isolated, collective = run_world([config.isolated(), config], seed)
        gaps.append(collective.composite_index.to_numpy() - isolated.composite_index.to_numpy())
    gaps = np.array(gaps)
    mean = gaps.mean(axis=0)
    if len(seeds) > 1:
        half = stats.sem(gaps, axis=0) * stats.t.ppf(0.975, len(seeds) - 1)
    else:
        half = np.zeros_like(mean)
    return {"steps": np.arange(gaps.shape[1]), "gaps": gaps, "mean": mean,
            "lo": mean - half, "hi": mean + half}


class PairedRun:
    """The isolated and collective arms of ``config`` on its seed (common random numbers)."""

    def __init__(self, config: Config):
        self.config = config
        seed = config.run.seed  # both arms on the scenario's seed: the same world
        burn_in = BurnIn(config, seed)  # made once for both
        self.models = {"isolated": CollectiveImpactModel(config.isolated(), seed=seed,
                                                         burn_in=burn_in),
                       "collective": CollectiveImpactModel(config, seed=seed, burn_in=burn_in)}
        self._lock = threading.Lock()

    @property
    def horizon(self) -> int:
        return self.config.run.steps

    @property
    def step_count(self) -> int:
        return int(self.models["collective"].steps)

    @property
    def at_end(self) -> bool:
        return self.step_count >= self.horizon

    def step(self, n: int = 1) -> int:
        """Advance both arms ``n`` quarters (never past the horizon); return steps taken."""
        with self._lock:
            taken = 0
            while taken < n and self.step_count < self.horizon:
                for model in self.models.values():
                    model.step()
                taken += 1
            return taken

    def run_to_end(self) -> int:
        return self.step(self.horizon)

    def intervene(self, config: Config) -> None:
        """Change levers from the current quarter on, in both arms (the isolated arm takes
        the new pool and horizon; it has no connective tissue to change)."""
        with self._lock:
            self.models["collective"].change_levers(config)
            self.models["isolated"].change_levers(config.isolated())
            self.config = config

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                config=self.config,
                step=self.step_count,
                horizon=self.horizon,
                results={arm: m.results() for arm, m in self.models.items()},
                organizations={arm: _organizations(m) for arm, m in self.models.items()},
                money_by_area={arm: money_by_area(m) for arm, m in self.models.items()},
            )


def _organizations(model: CollectiveImpactModel) -> Organizations:
    orgs = model.organizations
    bb = model.backbone
    return Organizations(
        main_area=np.array([o.main_area for o in orgs], dtype=int),
        grant=np.array([o.grant for o in orgs]),
        trust=np.array([o.trust for o in orgs]),
        participating=np.array([o.participating for o in orgs], dtype=bool),
        org_type=tuple(o.org_type for o in orgs),
        backbone_budget=None if bb is None else float(bb.budget),
        backbone_staff=0.0 if bb is None else float(bb.staff),
        coverage=0.0 if bb is None else float(bb.coverage),
        collaborative=bool(model.collaborative_active),
    )


def money_by_area(model: CollectiveImpactModel) -> np.ndarray:
    """Program dollars going to each area this quarter: each grant, less the participants'
    working-group time, split by the organization's effort over areas (``model.allocation``),
    or, where a model does not expose that, counted in the organization's main area."""
    k = len(model.config.area_names)
    grants = np.asarray(getattr(model, "program_capacity",
                                [o.grant for o in model.organizations]), dtype=float)
    allocation = getattr(model, "allocation", None)
    if isinstance(allocation, np.ndarray) and allocation.shape == (len(grants), k):
        return (grants[:, None] * allocation).sum(axis=0)
    main = np.array([o.main_area for o in model.organizations], dtype=int)
    return np.bincount(main, weights=grants, minlength=k).astype(float)
