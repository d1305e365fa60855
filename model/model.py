"""The Mesa model of isolated versus collective impact (see docs/ODD.md and DESIGN.md).

One quarter per step. The population is held as numpy arrays (people x areas);
organizations are Mesa agents whose state lives in arrays, one row each.
Collective impact gets no bonus of its own: its effect on outcomes comes only
through which people are served, in which areas, with which interventions, and
how many services the money buys. Decisions read measured values only (screened
need, own or pooled evaluations, sampled indicators); the true ones are outputs.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
from mesa import Agent, DataCollector, Model

from collective_impact.model import kernels
from collective_impact.model.agents import (
    ORG_TYPE_BUDGET,
    ORG_TYPE_SHARE,
    Backbone,
    Organization,
    function_intensity,
)
from collective_impact.model.config import (
    BACKBONE_FUNCTIONS,
    Config,
    ConfigError,
    field_key,
    load_config,
)
from collective_impact.model.measurement import INDICATORS_PER_AREA, Survey, survey, trending
from collective_impact.model.people import QUARTERS_PER_YEAR, Population

# Which of the five conditions each backbone function serves; outreach (recruiting
# partners, reaching people) and mobilizing funding run whenever there is a backbone.
FUNCTION_CONDITION = {
    "strategic_direction": "common_agenda",
    "facilitating_dialogue": "continuous_communication",
    "data_management": "shared_measurement",
    "communication": "continuous_communication",
    "community_outreach": None,
    "mobilizing_funding": None,
}

# Areas each organization type is drawn toward (index into the six cradle-to-career areas);
# weight 3 vs 1, so missions cluster and some areas are crowded while others are gaps.
TYPE_AREA_FOCUS = {
    0: (0, 1, 2, 3),  # nonprofit: early years and school support
    1: (1, 2, 3),  # school district
    2: (0, 3),  # government agency
    3: (4, 5),  # business: career pathways
    4: (4, 5),  # university
    5: (0, 1),  # funder-operated program
}

# Measured progress in the composite index that funders need to see to grow the pool fully.
CREDIBLE_PROGRESS = 0.01  # 0.1 SD of status, the median program effect (Kraft 2020)
# Share of the gap to their target that funders close per quarter when they respond
# (a response over about a year): a modelling choice, used only when funders respond.
FUNDER_RESPONSE = 0.25
# Funders credit measured progress only beyond this many standard errors of its sampling
# noise, so that noise in a sampled indicator is not paid as progress.
CREDIBLE_Z = 2.0
# The random streams, one per mechanism (see __init__).
STREAMS = ("world", "participation", "choice", "rounding", "intake", "referral",
           "evaluation", "indicators", "cohorts", "screening")


def per_service_gain(max_count: int, decay: float) -> np.ndarray:
    """What each of n services to one person-area is worth, as a share of one alone, for
    n = 0 .. ``max_count``: dose(n) / n with dose(n) = 1 + d + ... + d^(n-1), diminishing
    returns (0 for no service). Counts are small whole numbers, so the table is looked up."""
    n = np.arange(max_count + 1, dtype=float)
    dose = n if decay == 1.0 else (1 - decay**n) / (1 - decay)
    return np.divide(dose, n, out=np.zeros_like(n), where=n > 0)


def mean_of_known(values: np.ndarray) -> float:
    """The mean of the values that are not NaN (NaN if none): ``np.nanmean`` without its
    overhead on a handful of values."""
    known = values[~np.isnan(values)]
    return float(known.mean()) if len(known) else float("nan")


def updated_trust(trust, talk, tightness, growth, decay, penalty):
    """Trust grows with communication (less under dictation) and always decays (faster
    under dictation): ``t + growth*talk*(1-tight)*(1-t) - decay*(1+penalty*tight)*t``."""
    gained = growth * talk * (1.0 - tightness) * (1.0 - trust)
    lost = decay * (1.0 + penalty * tightness) * trust
    return np.clip(trust + gained - lost, 0.0, 1.0)


def bayes_update(mean, precision, observed, observed_precision):
    """Precision-weighted update of a normal belief by an observation."""
    new_precision = precision + observed_precision
    return (precision * mean + observed_precision * observed) / new_precision, new_precision


class CollectiveImpactModel(Model):
    """Organizations working on one social problem, with or without a funded backbone.

    Args:
        config: a validated ``Config``, or a scenario file or shipped scenario's name
            (``"default"``); the defaults if omitted.
        seed: the run's seed. ``None`` draws a fresh one, as Mesa models do; it is recorded
            in ``seed_value`` and in ``config.run.seed``, so the run can be repeated.
        rng: Mesa 3.5's name for the seed (an integer), used when ``seed`` is not given.
        **kwargs: scenario fields to override, dotted (``**{"funding.backbone_share": 0.1}``)
            or flat (``funding_backbone_share=0.1``), so that ``mesa.batch_run`` and SolaraViz
            ``model_params`` can set them. Checked like a scenario file.

    The world first runs ``run.burn_in`` quarters of isolated work, the same in both arms;
    step 0 is the quarter the collaborative starts. ``running`` turns False at the horizon
    (``run.steps``), so Mesa's runners stop there.
    """

    def __init__(self, config: Config | str | None = None, seed: int | None = None, *,
                 rng: int | None = None, burn_in: BurnIn | None = None, **kwargs):
        config = _resolve_config(config, kwargs)
        seed = _resolve_seed(seed, rng)
        super().__init__(rng=seed)
        self._set_up_world(config, seed, burn_in)
        self._start_collaborative()
        self.datacollector = DataCollector(
            model_reporters={name: _reporter(name) for name in self.indicators}
        )
        self.datacollector.collect(self)

    def _set_up_world(self, config: Config, seed: int, burn_in: BurnIn | None = None) -> None:
        """The world after its burn-in: built and run here, or copied from ``burn_in``."""
        self.seed_value = seed
        self.config = config.with_values({"run.seed": seed})
        if burn_in is not None:
            burn_in.check(self.config)
            self.__dict__.update(copy.deepcopy(burn_in.state))
            self.people.adopt_config(self.config)
            self.organizations = [Organization(self, o) for o in range(len(self.trust))]
            return
        # One random stream per mechanism, spawned from the seed: a draw that only the
        # collective arm makes (who joins, whom a referral finds) shifts no other mechanism's
        # draws, so the two arms of one seed share their luck wherever they work alike. The
        # world and the burn-in do not depend on any collective-impact lever.
        self.streams = dict(zip(STREAMS, (np.random.default_rng(child) for child in
                                          np.random.SeedSequence(seed).spawn(len(STREAMS))),
                                strict=True))
        self._quarters_run = 0
        self._last_offset = 0.0
        self._build_world()
        self._burn_in()

    # ------------------------------------------------------------------ set-up
    def _build_world(self) -> None:
        cfg, rng = self.config, self.streams["world"]
        K = cfg.population.areas
        N, A = cfg.organizations.count, cfg.problem.interventions
        org = cfg.organizations
        self.people = Population(cfg, rng, self.streams["cohorts"])
        positions = self.people.positions

        # True effectiveness: exponential, so most interventions do little and a few work.
        self.theta = rng.exponential(cfg.problem.effect_mean, (K, A))
        context = rng.normal(0.0, cfg.problem.context_sd, (N, K, A))
        self.theta_local = np.maximum(self.theta[None] + context, 0.0)
        self.best_local = self.theta_local.max(axis=2)
        self.metric_bias = rng.normal(0.0, cfg.learning.metric_bias_sd, (N, K, A))
        self.common_bias = rng.normal(0.0, cfg.learning.agreed_metric_bias_sd, (K, A))

        self.org_type = rng.choice(len(ORG_TYPE_SHARE), N, p=ORG_TYPE_SHARE)
        size = rng.lognormal(0.0, org.budget_sigma, N) * ORG_TYPE_BUDGET[self.org_type]
        self.base_grant_share = size / size.sum()
        self.home = np.zeros((N, K), dtype=bool)
        for o in range(N):
            focus = np.ones(K)
            if K == 6:
                focus[list(TYPE_AREA_FOCUS[int(self.org_type[o])])] = 3.0
            chosen = rng.choice(K, org.home_areas, replace=False, p=focus / focus.sum())
            self.home[o, chosen] = True
        jitter = rng.uniform(0.85, 1.0, (N, K))
        self.expertise = np.where(self.home, org.home_expertise, org.other_expertise) * jitter
        self.own_agenda = rng.dirichlet(np.ones(K), N) * 0.3 + 0.7 * (
            self.home / self.home.sum(axis=1, keepdims=True))
        # A larger organization reaches proportionally more neighbourhoods (a school
        # district, its whole district), so none has more service slots than people at its
        # door. Catchments are ranges of positions: every age group living there.
        self.catchment_size = np.clip(np.round(org.catchment_share * positions * N
                                               * self.base_grant_share), 1,
                                      positions).astype(np.int64)
        self.catchment_start = rng.integers(0, positions, N)
        self.initial_trust = np.clip(org.initial_trust + rng.normal(0.0, 0.08, N), 0.0, 1.0)
        self.founding_draw = rng.random(N)
        self.belief_mean = cfg.problem.effect_mean + rng.normal(0.0, cfg.learning.prior_sd,
                                                                 (N, K, A))
        self.belief_precision = np.full((N, K, A), 1.0 / cfg.learning.prior_sd**2)

        self.organizations = [Organization(self, o) for o in range(N)]

    def _burn_in(self) -> None:
        """Years of isolated work before the collaborative starts: both arms run exactly this
        (the isolated scenario, the pool not yet responding), so they start from one world
        in which services, screening and learning have long been at work."""
        scenario = self.config
        self.config = scenario.isolated().with_values({"funding.max_pool_growth": 0.0})
        self._burning_in = True
        self._start_collaborative()
        for _ in range(scenario.run.burn_in):
            self._quarter()
        self._burning_in = False
        self.config = scenario

    def _start_collaborative(self) -> None:
        """The collaborative's first quarter: backbone, founding partners, the data system
        and every output's starting point. The world and what organizations learned stay."""
        cfg = self.config
        N, K, A = self.theta_local.shape
        self.backbone = None
        self._set_up_connective_tissue()

        self.funding_pool = cfg.funding.pool
        self.pool_growth = 0.0
        self.backbone_spending = 0.0
        self.grants = cfg.funding.pool * self.base_grant_share
        self.program_capacity = self.grants.copy()  # grants less working-group time
        self.trust = self.initial_trust.copy()
        self.participating = self.collaborative_active & (
            self.founding_draw < cfg.backbone.initial_participation)
        self.expectation = np.full(N, cfg.collaboration.initial_expectation)
        self.benefit = np.zeros(N)
        self.alignment = np.zeros(N)
        self.allocation = self.own_agenda.copy()
        self.choice = np.argmax(self.belief_mean, axis=2)
        self.common_agenda = self.own_agenda.mean(axis=0)
        self.data_maturity = 0.0
        self.agreement = cfg.collaboration.metric_agreement  # grows by the work of agreeing
        # The pooled data: precision-weighted sums of shared evaluations, and each partner's
        # own part of them, so that what a partner gets back is what others shared.
        self.pooled_weight = np.zeros((K, A))
        self.pooled_sum = np.zeros((K, A))
        self.contributed_weight = np.zeros((N, K, A))
        self.contributed_sum = np.zeros((N, K, A))
        self.coverage = 0.0
        self.intensity = dict.fromkeys(BACKBONE_FUNCTIONS, 0.0)
        self.total_gain = self.people.gain_over_baseline()
        self.cumulative_gain = 0.0
        self.cumulative_spending = 0.0
        self._coordinate()
        if not self._burning_in:
            self.people.fix_prerequisite_means()
        self.survey = self.baseline_survey = self._survey()
        self.indicators = self._measure(services=None)

    def _set_up_connective_tissue(self) -> None:
        """Whether there is a collaborative and a backbone, and the backbone's effort split,
        from the config's conditions and levers."""
        cfg, cond = self.config, self.config.conditions
        dedicated = cond.backbone and cfg.funding.backbone_share > 0
        self.collaborative_active = dedicated or (
            not cond.backbone and cfg.backbone.volunteer_coverage > 0)
        enabled = [f for f in BACKBONE_FUNCTIONS
                   if FUNCTION_CONDITION[f] is None or getattr(cond, FUNCTION_CONDITION[f])]
        effort = np.array([getattr(cfg.effort, f) for f in enabled])
        if effort.sum() <= 0:
            effort = np.ones(len(enabled))
        self.effort_shares = dict(zip(enabled, effort / effort.sum(), strict=True))
        if dedicated and self.backbone is None:
            self.backbone = Backbone(self)
        elif not dedicated and self.backbone is not None:
            self.backbone.remove()
            self.backbone = None

    def change_levers(self, config: Config) -> None:
        """A mid-run intervention: from the next quarter on the run follows ``config`` (e.g.
        the backbone's money cut in year 5), without restarting. The world cannot change
        mid-run: population, organizations, interventions and burn-in must be as they are
        (the run keeps its own seed). A collaborative started now recruits its founding
        partners as at a start; one ended now lets its partners go."""
        fixed = ("population", "organizations", "shock", "run.burn_in",
                 "problem.interventions", "problem.complementarity")
        now, new = self.config.to_dict(), config.to_dict()
        for item in fixed:
            section, _, name = item.partition(".")
            same = now[section] == new[section] if not name else \
                now[section][name] == new[section][name]
            if not same:
                raise ConfigError(f"{item} cannot change during a run (it is part of the "
                                  f"world); restart the run to change it")
        was_active = self.collaborative_active
        self.config = config.with_values({"run.seed": self.seed_value})
        self._set_up_connective_tissue()
        if self.collaborative_active and not was_active:
            self.participating = self.founding_draw < config.backbone.initial_participation
            self.expectation = np.full(len(self.trust), config.collaboration.initial_expectation)
        elif not self.collaborative_active:
            self.participating = np.zeros(len(self.trust), dtype=bool)
            self.coverage = 0.0
            self.intensity = dict.fromkeys(BACKBONE_FUNCTIONS, 0.0)
        self.running = self.steps < self.config.run.steps

    def release(self) -> None:
        """Let the garbage collector free this run once its results are taken: removes its
        agents and Mesa 3.3's class-wide record of the model, which keeps every model ever
        made alive (Mesa issue #3179, fixed in later versions). Sweeps call it after each
        run."""
        self.remove_all_agents()
        if hasattr(Agent, "_ids"):
            Agent._ids.pop(self, None)

    # ------------------------------------------------------------------ one quarter
    def step(self) -> None:
        services = self._quarter()
        self._account()
        self.indicators = self._measure(services)
        self._grow_pool()
        self.datacollector.collect(self)
        self.running = self.steps < self.config.run.steps

    def _quarter(self) -> dict[str, np.ndarray]:
        """The mechanisms of one quarter, in the order of docs/ODD.md section 3."""
        new_year = (self._quarters_run - self.config.run.burn_in) % QUARTERS_PER_YEAR == 0
        if self._quarters_run > 0 and new_year:
            # a new school year (after the year's report card): cohorts move on
            self.people.age_one_year(self._last_offset)
        self._update_participation()
        self._coordinate()
        self._update_trust_and_alignment()
        self._agree_on_metrics()
        self._fund()
        services = self._deliver_services()
        self._apply_outcomes(services)
        self._learn(services)
        self._mature_data_system()
        self._judge_benefits(services)
        self._quarters_run += 1
        return services

    def run(self, steps: int | None = None) -> pd.DataFrame:
        """Run ``steps`` quarters (default: the config's horizon) and return the per-step table."""
        for _ in range(self.config.run.steps if steps is None else steps):
            self.step()
        return self.results()

    def results(self) -> pd.DataFrame:
        """Every output collected so far, one row per step (step 0 is the starting state)."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "step", np.arange(len(df)))
        return df

    # ------------------------------------------------------------------ mechanisms
    @property
    def status(self) -> np.ndarray:
        """People's true status, M x K (``people.status``); nobody in the model reads it to
        decide anything."""
        return self.people.status

    def _shock_active(self) -> bool:
        """Whether this quarter is in the scenario's shock (a recession): quarters
        ``shock.start`` to ``shock.start + shock.duration - 1`` after the collaborative's
        start; never in the burn-in."""
        shock = self.config.shock
        return (not self._burning_in and shock.duration > 0
                and shock.start <= self.steps < shock.start + shock.duration)

    def _world_offset(self) -> float:
        """How far the world moves everyone's status target this quarter: the secular trend
        (``population.trend`` per year since the collaborative's start) less a shock's
        ``shock.status_drop``. Both arms alike; none in the burn-in."""
        if self._burning_in:
            return 0.0
        drop = self.config.shock.status_drop if self._shock_active() else 0.0
        return self.config.population.trend * self.steps / QUARTERS_PER_YEAR - drop

    def _coordinate(self) -> None:
        """This quarter's pool (cut in a shock); backbone capacity: staff, coverage and
        function intensities."""
        cut = self.config.shock.pool_cut if self._shock_active() else 0.0
        self.funding_pool = self.config.funding.pool * (1.0 + self.pool_growth) * (1.0 - cut)
        if self.backbone is not None:
            self.backbone.step()
            self.coverage, self.intensity = self.backbone.coverage, self.backbone.intensity
        elif self.collaborative_active:
            self.coverage = self.config.backbone.volunteer_coverage
            self.intensity = function_intensity(self.coverage, self.effort_shares)

    def _share_gate(self) -> np.ndarray:
        """How willing each organization is to share data: 0 below the trust threshold."""
        thr = self.config.collaboration.trust_share_threshold
        return np.clip((self.trust - thr) / (1.0 - thr), 0.0, 1.0)

    def _agreement(self) -> float:
        """Metric agreement in force: the partners' agreement m under shared measurement,
        else none."""
        return self.agreement if self.config.conditions.shared_measurement else 0.0

    def _agree_on_metrics(self) -> None:
        """Agreeing on shared ways to measure is work the partners do around a common agenda:
        m grows toward ``collaboration.agreement_ceiling`` at ``agreement_rate`` x strategic
        direction x data management x the participants' mean willingness to share (trust
        above the sharing threshold). Without a common agenda, shared measurement or
        participants willing to share it stays where it started; once agreed, metrics are
        kept (a modelling choice), and partners who join later adopt them."""
        cfg, cond = self.config, self.config.conditions
        part = self.participating
        if not (self.collaborative_active and cond.common_agenda and cond.shared_measurement
                and part.any()):
            return
        col = cfg.collaboration
        willing = float(self._share_gate()[part].mean())  # trust enough to commit to it
        work = (self.intensity["strategic_direction"] * self.intensity["data_management"]
                * willing)
        self.agreement += col.agreement_rate * work * max(col.agreement_ceiling
                                                          - self.agreement, 0.0)

    def _cost_of_taking_part(self) -> np.ndarray:
        """Working-group and volunteer coordination time (weighed by its salience) plus the
        autonomy dictation takes."""
        col = self.config.collaboration
        agenda_gap = 0.5 * np.abs(self.own_agenda - self.common_agenda).sum(axis=1)
        return (self._coordination_time() * col.cost_salience
                + col.control_tightness * agenda_gap)

    def _update_participation(self) -> None:
        """Organizations join when recruited and they expect to gain; participants leave,
        the more likely the further their expected benefit falls short of the cost."""
        if not self.collaborative_active:
            return
        bb = self.config.backbone
        cost = self._cost_of_taking_part()
        shortfall = np.clip(cost - self.expectation, 0.0, 1.0)
        draw = self.streams["participation"].random(len(self.trust))
        leave = self.participating & (draw < bb.leave_rate * shortfall)
        join = (~self.participating & (self.expectation > cost)
                & (draw < bb.join_rate * self.intensity["community_outreach"]))
        self.participating = (self.participating & ~leave) | join

    def _update_trust_and_alignment(self) -> None:
        col, cond = self.config.collaboration, self.config.conditions
        part = self.participating
        tight = col.control_tightness * part
        talk = 0.0
        if cond.continuous_communication:
            talk = 0.5 * (self.intensity["facilitating_dialogue"]
                          + self.intensity["communication"])
        self.trust = updated_trust(self.trust, talk * part, tight, col.trust_growth,
                                   col.trust_decay, col.control_trust_penalty)

        if cond.common_agenda:
            # Agreed first as a consensus of partners' agendas, then steered by comparable
            # measured indicators of where the gaps are as the shared data system matures.
            consensus = (self.own_agenda[part].mean(axis=0) if part.any()
                         else self.own_agenda.mean(axis=0))
            gap = np.maximum(self.config.population.on_track_threshold
                             - self.survey.level, 0.0) + 0.01
            evidence = self.data_maturity * self._agreement()
            self.common_agenda = (1 - evidence) * consensus + evidence * gap / gap.sum()
            target = self.intensity["strategic_direction"] * self.trust * part
        else:
            target = np.zeros_like(self.trust)
        self.alignment += col.alignment_rate * (target - self.alignment)

    def _credibility(self) -> np.ndarray:
        """How far funders credit each organization's evidence: own, non-comparable reports
        at ``own_report_credibility``; a sharing participant's pooled data, comparable as far
        as the data system has matured and metrics agree, up to 1."""
        own = self.config.funding.own_report_credibility
        comparable = self.data_maturity * self._agreement() * self._share_gate()
        return own + (1.0 - own) * comparable * self.participating

    @property
    def pooled_mean(self) -> np.ndarray:
        """The pooled estimate of each intervention's effect (the prior mean where nobody has
        shared anything)."""
        prior = self.config.problem.effect_mean
        return np.divide(self.pooled_sum, self.pooled_weight,
                         out=np.full_like(self.pooled_sum, prior), where=self.pooled_weight > 0)

    def _fund(self) -> None:
        """Split the pool: backbone share, then grants, tilted toward evidence of effect.
        Funders read each organization's reported effect of what it delivers, in both arms
        (its own evaluations, or for participants the pooled ones where there are any), and
        shrink each report toward the average report as far as they do not credit it."""
        cfg = self.config
        self.backbone_spending = self.backbone.budget if self.backbone is not None else 0.0
        program = self.funding_pool - self.backbone_spending
        weight = self.base_grant_share.copy()
        if cfg.funding.evidence_weight > 0 and len(weight) > 1:
            N, K = self.choice.shape
            own = np.take_along_axis(self.belief_mean, self.choice[..., None], axis=2)[..., 0]
            pooled = self.pooled_mean[np.arange(K), self.choice]
            uses_pool = (self.participating & (self.pooled_weight.sum() > 0))[:, None]
            report = (self.allocation * np.where(uses_pool, pooled, own)).sum(axis=1)
            credit = self._credibility()
            credited = credit * report + (1.0 - credit) * report.mean()
            z = (credited - credited.mean()) / (credited.std() + 1e-12)
            weight *= np.exp(cfg.funding.evidence_weight * np.clip(z, -2.0, 2.0))
        self.grants = program * weight / weight.sum()

    def _allocate(self) -> np.ndarray:
        """Each organization's split of effort over areas (rows sum to 1)."""
        cond, tight = self.config.conditions, self.config.collaboration.control_tightness
        g = self.common_agenda[None, :]
        if cond.mutually_reinforcing:
            # Differentiated action: follow the common agenda where you are good at it.
            target = g * self.expertise**3
            target /= target.sum(axis=1, keepdims=True)
        else:
            target = np.repeat(g, len(self.trust), axis=0)
        a = self.alignment[:, None]
        allocation = (1 - a) * self.own_agenda + a * target
        if cond.common_agenda:
            # Dictation imposes the agenda itself, blind to each partner's expertise.
            dictate = tight * self.participating[:, None]
            allocation = (1 - dictate) * allocation + dictate * g
        return allocation

    def _pooled_weight(self) -> np.ndarray:
        """Weight of pooled data in each organization's beliefs: trust (willingness to share)
        times metric agreement, for participants."""
        return self._share_gate() * self._agreement() * self.participating

    def _beliefs(self) -> np.ndarray:
        """What each organization believes about effectiveness: own data, plus for
        participants what the others shared, weighted by trust and metric agreement (its own
        shared evaluations are already in its own data, so they are not counted twice)."""
        g = self._pooled_weight()[:, None, None]
        others_weight = np.maximum(self.pooled_weight[None] - self.contributed_weight, 0.0)
        others_sum = self.pooled_sum[None] - self.contributed_sum
        return ((self.belief_precision * self.belief_mean + g * others_sum)
                / (self.belief_precision + g * others_weight))

    def _choose_interventions(self, beliefs: np.ndarray) -> np.ndarray:
        cfg, rng = self.config, self.streams["choice"]
        N, K, A = beliefs.shape
        tight = cfg.collaboration.control_tightness * self.participating
        choice = np.argmax(beliefs, axis=2)
        explore = rng.random((N, K)) < (cfg.organizations.exploration * (1 - tight))[:, None]
        choice = np.where(explore, rng.integers(0, A, (N, K)), choice)
        # Tight control dictates the backbone's best guess, however immature its data.
        dictated = rng.random((N, K)) < tight[:, None]
        if not dictated.any():  # no backbone's guess is asked for (always so in isolation)
            return choice
        return np.where(dictated, self._backbone_best_guess(beliefs)[None, :], choice)

    def _backbone_best_guess(self, beliefs: np.ndarray) -> np.ndarray:
        """Per area, the intervention the backbone would dictate: the best by pooled data
        where it has any; else, with continuous communication, the best by what partners
        willing to share tell it (their beliefs, weighted by that willingness); else it
        knows nothing and keeps the first."""
        has_data = (self.pooled_weight > 0).any(axis=1, keepdims=True)
        told = self._share_gate() * self.participating
        if self.config.conditions.continuous_communication and told.sum() > 0:
            fallback = np.tensordot(told / told.sum(), beliefs, axes=1)
        else:
            fallback = np.zeros_like(self.pooled_sum)
        return np.argmax(np.where(has_data, self.pooled_mean, fallback), axis=1)

    def _referral_share(self) -> np.ndarray:
        """Share of each organization's services steered by referral. Needs all three at once:
        a matured data system, matchable records (metric agreement) and trust to share."""
        cond = self.config.conditions
        if not (cond.mutually_reinforcing and cond.shared_measurement):
            return np.zeros(len(self.trust))
        return self.data_maturity * self._agreement() * self._share_gate() * self.participating

    def _coordination_time(self) -> np.ndarray:
        """Share of each organization's capacity that taking part costs it (what it gives
        while it takes part): the participation cost, plus, with partners coordinating on
        their own time instead of a funded backbone, the staff time that coverage takes
        (coverage x cost per staff / span per participant), so volunteer coordination is
        not free."""
        cfg = self.config
        share = np.full(len(self.trust), cfg.collaboration.participation_cost)
        if self.backbone is None and self.collaborative_active:
            volunteer = self.coverage * cfg.backbone.cost_per_staff / cfg.backbone.span
            share = share + volunteer / np.maximum(self.grants, 1e-9)
        return np.minimum(share, 1.0)

    def _deliver_services(self) -> dict[str, np.ndarray]:
        """Each organization buys its services, screens its own intake for the neediest by
        its own assessment, and serves each chosen person once per area; participants also
        serve people referred to them from the records in the shared data system."""
        cfg = self.config
        M, K = self.status.shape
        N = len(self.trust)
        self.allocation = self._allocate()
        self.choice = self._choose_interventions(self._beliefs())
        capacity = self.grants * (1 - self._coordination_time() * self.participating)
        self.program_capacity = capacity
        wanted = capacity[:, None] / cfg.funding.cost_per_service * self.allocation
        counts = np.floor(wanted).astype(np.int64)
        counts += self.streams["rounding"].random(counts.shape) < (wanted - counts)
        referral = self.streams["referral"]
        referral_share = self._referral_share()
        referred = referral.binomial(counts, referral_share[:, None])
        # A declined referral's slot goes back to the organization's own intake.
        referred = referral.binomial(referred, cfg.collaboration.referral_uptake)
        slots = counts - referred
        intake = self._walk_ins(slots, counts)
        parts_o, parts_k, parts_i = [], [], []
        if referral_share.any():  # the data system keeps records, for now and for hand-offs
            records = self._shared_records(intake)
        if referred.any():
            unfilled = np.zeros_like(referred)
            for k in np.flatnonzero(referred.sum(axis=0)):
                people = self._refer(k, int(referred[:, k].sum()), records)
                orgs = referral.permutation(np.repeat(np.arange(N), referred[:, k]))
                unfilled[:, k] = np.bincount(orgs[len(people):], minlength=N)
                parts_o.append(orgs[:len(people)])
                parts_k.append(np.full(len(people), k))
                parts_i.append(people)
            # Referral slots the records cannot fill go to the next applicants in line, but
            # never to someone this organization was just referred in the same area.
            first_pass = intake["chosen"]
            slots = slots + unfilled
            intake["chosen"] = intake["rank"] < slots.ravel()[intake["group"]]
            added = intake["chosen"] & ~first_pass
            if added.any():
                cells = M * K
                referred_keys = (np.concatenate(parts_o) * cells + np.concatenate(parts_i) * K
                                 + np.concatenate(parts_k))
                keys = (intake["org"][added] * cells + intake["person"][added] * K
                        + intake["area"][added])
                intake["chosen"][np.flatnonzero(added)[np.isin(keys, referred_keys)]] = False
            referred = referred - unfilled  # only filled referrals count as referred
        chosen = np.flatnonzero(intake["chosen"])
        parts_o.insert(0, intake["org"][chosen])
        parts_k.insert(0, intake["area"][chosen])
        parts_i.insert(0, intake["person"][chosen])
        org, area = np.concatenate(parts_o), np.concatenate(parts_k)
        return {
            "org": org,
            "area": area,
            "person": np.concatenate(parts_i),
            "intervention": self.choice[org, area],
            "counts": np.bincount(org * K + area, minlength=N * K).reshape(N, K),
            "referred": referred,
            "capacity": capacity,
        }

    def _walk_ins(self, slots: np.ndarray, capacity: np.ndarray | None = None
                  ) -> dict[str, np.ndarray]:
        """Every organization-area's intake: a random window of its catchment, ``intake_ratio``
        applicants per service it can give (``capacity``, default ``slots``; all of the
        catchment at most), screened with the organization's own noisy assessment; the
        neediest by that assessment fill its ``slots``, once each.
        Returns every applicant (organization, area, person, assessment) and which were
        chosen: the others are the overflow a sharing partner's records can refer."""
        cfg, rng, people = self.config, self.streams["intake"], self.people
        N, K = len(slots), people.K
        ages = people.stage_years  # cohorts in a stage (1 without a pipeline)
        size = self.catchment_size[:, None] * ages  # people of the stage in the catchment
        capacity = slots if capacity is None else capacity
        intake = np.minimum(size, np.ceil(cfg.organizations.intake_ratio * capacity)).astype(
            np.int64).ravel()
        width = np.broadcast_to(size, (N, K)).ravel()
        window = rng.integers(0, width)  # fixed-size draw
        # The screening noise has its own stream: its size follows each arm's capacity, and
        # the windows' fixed-size draws above stay the same in both arms.
        noise = self.streams["screening"].standard_normal(int(intake.sum()), dtype=np.float32)
        o, k, group, person, measured, rank, chosen = kernels.screen_intake(
            intake, window, width, self.catchment_start, people.stage_cohorts, people.positions,
            K, self.status.ravel(), noise, cfg.learning.screening_noise, slots.ravel())
        return {"org": o, "area": k, "person": person, "measured": measured, "rank": rank,
                "group": group, "chosen": chosen}

    def _shared_records(self, intake: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """What the shared data system knows this quarter: the assessed applicants that
        sharing partners enter (each with chance maturity x willingness to share), plus the
        people community outreach reaches and assesses. Whom sharing partners serve is known
        too, so they are not referred again; other organizations' clients are not."""
        cfg, rng, people = self.config, self.streams["referral"], self.people
        K, cells = people.K, len(people.cells)
        gate = self._share_gate() * self.participating
        draw = rng.random(len(intake["org"]))  # entered with chance maturity x willingness
        outreach = cfg.backbone.outreach_reach * self.intensity["community_outreach"]
        contacts = np.flatnonzero(people.reach_rank < outreach)
        # Records are kept for live cells (people's current person-areas) only.
        if not people.pipeline:
            contacts = (contacts[:, None] * K + np.arange(K)).ravel()
        assessed = (people.current(self.status)[contacts] + cfg.learning.screening_noise
                    * rng.standard_normal(len(contacts)))
        # A person screened by several sharing partners (or reached by outreach too) has
        # all those screens in the system; their mean is the record.
        record, known_served = kernels.pool_records(
            intake["org"], intake["area"], intake["person"], intake["measured"],
            intake["chosen"], draw, self.data_maturity, gate, K, people.stage, people.pipeline,
            contacts, assessed, cells)
        people.keep_records(record)
        return {"record": record, "served": known_served}

    def _refer(self, k: int, n: int, records: dict[str, np.ndarray]) -> np.ndarray:
        """Up to ``n`` people in area ``k`` with a record and not known to be served, the
        neediest by their record. In a pipeline, people new to stage k with no record in it
        yet can also be found by the record handed on from their last stage
        (``Population.handoff``): off track there, likely off track here, before it
        compounds. A hand-off needs the two stages' records matched (chance maturity x
        metric agreement), and reads on the last stage's scale, so the system shifts it by
        the difference between the two stages' mean records."""
        people = self.people
        cells = people.area_cells[k]
        record = records["record"][cells]
        open_ = ~records["served"][cells]
        missing = np.isnan(record)
        fresh = cells[~missing & open_]
        candidates, estimate = people.cell_person[fresh], records["record"][fresh]
        if people.pipeline:
            handed = cells[missing & open_ & ~np.isnan(people.handoff[cells])]
            matched = (self.streams["referral"].random(len(handed))
                       < self.data_maturity * self._agreement())
            handed = handed[matched]  # in a pipeline, live cell i is person i
            shift = estimate.mean() - people.handoff[handed].mean() if (
                len(estimate) and len(handed)) else 0.0
            candidates = np.concatenate([candidates, handed])
            estimate = np.concatenate([estimate, people.handoff[handed] + shift])
        if n <= 0 or len(candidates) == 0:
            return candidates[:0]
        if n >= len(candidates):
            return np.sort(candidates)  # fewer records than referral slots; the rest unused
        # The n lowest estimates; of those equal to the n-th, the first in order, so the
        # choice does not hang on the order a partition returns.
        nth = np.partition(estimate, n - 1)[n - 1]
        below = np.flatnonzero(estimate < nth)
        tied = np.flatnonzero(estimate == nth)[:n - len(below)]
        return np.sort(candidates[np.concatenate([below, tied])])

    def _apply_outcomes(self, services: dict[str, np.ndarray]) -> None:
        cfg, people = self.config, self.people
        K = people.K
        o, k, i, a = services["org"], services["area"], services["person"], services["intervention"]
        # services reach only people's current stage: their live cells
        total, count = kernels.sum_service_gains(
            o, k, i, a, self.theta_local, self.expertise, people.status.ravel(), K,
            people.prerequisite_mean, people.complementarity, people.stage, people.pipeline,
            len(people.cells))
        services["served_live"] = count > 0
        kernels.add_gains(people.status.ravel(), people.cells, total, count,
                          per_service_gain(int(count.max(initial=0)),
                                           cfg.problem.duplication_decay))
        self._last_offset = self._world_offset()
        people.drift(cfg.population.drift_rate, self._last_offset)

    def _learn(self, services: dict[str, np.ndarray]) -> None:
        """Own, noisy evaluations on each organization's yardstick; participants in shared
        measurement count partly on the agreed one (share m), and feed the pooled data."""
        cfg = self.config
        N, K, A = self.theta_local.shape
        lrn, m = cfg.learning, self._agreement()
        keep = 1.0 - lrn.forgetting
        self.belief_precision *= keep
        for pooled in (self.pooled_weight, self.pooled_sum, self.contributed_weight,
                       self.contributed_sum):
            pooled *= keep
        counts = services["counts"]
        oo, kk = np.nonzero(counts)
        aa = self.choice[oo, kk]
        n = counts[oo, kk]
        noise_var = max(lrn.observation_noise, 1e-6) ** 2
        agreed = m * self.participating[oo]
        bias = (1.0 - agreed) * self.metric_bias[oo, kk, aa] + agreed * self.common_bias[kk, aa]
        truth = self.theta_local[oo, kk, aa]
        z = self.streams["evaluation"].standard_normal((N, K))[oo, kk]  # fixed-size draw
        observed = truth + bias + z * np.sqrt(noise_var / n)
        precision = n / noise_var
        self.belief_mean[oo, kk, aa], self.belief_precision[oo, kk, aa] = bayes_update(
            self.belief_mean[oo, kk, aa], self.belief_precision[oo, kk, aa], observed, precision)
        if not (cfg.conditions.shared_measurement and self.data_maturity > 0):
            return
        # Pooled data: only partners who trust enough share, and only as much as the data
        # system can take in. Nothing corrects a yardstick's bias: what is pooled is what
        # was measured, so biases shrink only as far as partners measure alike.
        weight = self.data_maturity * self._share_gate()[oo] * self.participating[oo] * precision
        if weight.sum() <= 0:
            return
        cell = kk * A + aa
        self.pooled_weight += np.bincount(cell, weights=weight, minlength=K * A).reshape(K, A)
        self.pooled_sum += np.bincount(cell, weights=weight * observed,
                                       minlength=K * A).reshape(K, A)
        self.contributed_weight[oo, kk, aa] += weight
        self.contributed_sum[oo, kk, aa] += weight * observed

    def _mature_data_system(self) -> None:
        """The shared data system matures with the backbone's data work and with the records
        partners actually share (the share of the field's organizations sharing, weighted by
        their willingness); unfed, it decays. With nobody sharing it never matures."""
        cfg = self.config
        if cfg.conditions.shared_measurement and self.collaborative_active:
            sharing = float((self._share_gate() * self.participating).mean())
            rate = cfg.backbone.data_maturity_rate * self.intensity["data_management"] * sharing
            self.data_maturity += (rate * (1.0 - self.data_maturity)
                                   - cfg.backbone.data_decay * self.data_maturity)

    def _judge_benefits(self, services: dict[str, np.ndarray]) -> None:
        """What taking part actually gave each participant this quarter: the share of its
        services that went to people found for it by referral, plus the share of what it
        knows about its chosen interventions that came from partners' pooled data.
        Expectations follow: a participant's own experience, others' word of mouth."""
        if not self.collaborative_active:
            return
        N, K = self.choice.shape
        served = services["counts"].sum(axis=1)
        referral = np.divide(services["referred"].sum(axis=1), served,
                             out=np.zeros(N), where=served > 0)
        own = np.take_along_axis(self.belief_precision, self.choice[..., None], axis=2)[..., 0]
        others = self.pooled_weight[np.arange(K), self.choice] - np.take_along_axis(
            self.contributed_weight, self.choice[..., None], axis=2)[..., 0]
        pooled = self._pooled_weight()[:, None] * np.maximum(others, 0.0)
        evidence = (self.allocation * pooled / (own + pooled)).sum(axis=1)
        self.benefit = np.where(self.participating, referral + evidence, 0.0)
        rate = self.config.collaboration.expectation_rate
        part = self.participating
        heard = self.benefit[part].mean() if part.any() else self.expectation
        target = np.where(part, self.benefit, heard)
        self.expectation += rate * (target - self.expectation)

    # ------------------------------------------------------------------ outputs
    def _account(self) -> None:
        self.total_gain = self.people.gain_over_baseline()
        self.cumulative_gain += self.total_gain
        self.cumulative_spending += self.funding_pool

    def _survey(self) -> Survey:
        """The yearly indicator survey: ``learning.indicator_sample`` people drawn at random
        from each area's stage (the same draws in both arms), each assessed with the
        screening noise, three indicators per area (see ``measurement``)."""
        people, rng = self.people, self.streams["indicators"]
        K, n = people.K, self.config.learning.indicator_sample
        place = rng.integers(0, people.stage_size, (K, n))
        area = np.repeat(np.arange(K)[:, None], n, axis=1)
        person = people.person(area, place)
        assessed = (self.status[person, area]
                    + self.config.learning.screening_noise * rng.standard_normal((K, n)))
        return survey(assessed, people.quintile[person],
                      self.config.population.on_track_threshold)

    def _area_indicators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """True indicators per area, over the people now in its stage: mean status, share on
        track, and the equity gap (mean status of the highest minus the lowest baseline
        quintile)."""
        people = self.people
        status = people.current(self.status)
        quintile = people.quintile[people.cell_person]
        top, bottom = (quintile == 4).astype(float), (quintile == 0).astype(float)
        count = people.by_area(np.ones(len(status)))
        means = people.by_area(status) / count
        on_track = people.by_area(
            (status >= self.config.population.on_track_threshold).astype(float)) / count
        with np.errstate(invalid="ignore", divide="ignore"):
            equity = (people.by_area(status * top) / people.by_area(top)
                      - people.by_area(status * bottom) / people.by_area(bottom))
        return means, on_track, equity

    def _measure(self, services: dict | None) -> dict[str, float]:
        people = self.people
        means, on_track, equity_by_area = self._area_indicators()
        if services is not None and self.steps % QUARTERS_PER_YEAR == 0:
            self.survey = self._survey()  # the report card, once a year
        out: dict[str, float] = {"composite_index": float(means.mean()),
                                 "measured_composite_index": self.survey.composite}
        for name, mean, share in zip(self.config.area_names, means, on_track, strict=True):
            out[f"mean_{name}"] = float(mean)
            out[f"on_track_{name}"] = float(share)
        trend = trending(self.survey, self.baseline_survey)
        out["indicators_trending"] = int(trend.sum())
        out["indicators_total"] = INDICATORS_PER_AREA * people.K
        out["indicators_trending_share"] = float(trend.mean())
        if services is None:  # the collaborative's first quarter, before any service in it
            services_n, duplication, unmet, referral, error = 0, 0.0, np.nan, 0.0, np.nan
            program = 0.0
        else:
            services_n = len(services["person"])
            served = services["served_live"]
            served_cells = int(served.sum())
            duplication = (services_n - served_cells) / served_cells if served_cells else 0.0
            need = people.current(people.high_need)
            unmet = float((need & ~served).sum() / max(need.sum(), 1))
            referral = float(services["referred"].sum() / services_n) if services_n else 0.0
            error = self._learning_error(services)
            program = float(services["capacity"].sum())
        out.update({
            "duplication": duplication,
            "unmet_need": unmet,
            "learning_error": error,
            "trust": float(self.trust.mean()),
            "participation": float(self.participating.mean()),
            "equity_gap": mean_of_known(equity_by_area),
            "program_spending": program,
            "participation_cost_spending": (float(self.grants.sum()) - program
                                            if services is not None else 0.0),
            "backbone_spending": float(self.backbone_spending),
            "backbone_staff": (float(self.backbone.staff)
                               if self.backbone is not None and services is not None else 0.0),
            "funding_pool": float(self.funding_pool) if services is not None else 0.0,
            "outcome_gain": self.total_gain / len(people.cells),
            "outcome_per_million": (self.cumulative_gain / (self.cumulative_spending / 1e6)
                                    if self.cumulative_spending else 0.0),
            "services": services_n,
            "referral_share": referral,
            "coverage": float(self.coverage),
            "data_maturity": float(self.data_maturity),
            "metric_agreement": float(self._agreement()) if self.collaborative_active else 0.0,
            "alignment": float(self.alignment.mean()),
            "expected_benefit": (float(self.expectation.mean()) if self.collaborative_active
                                 else 0.0),
        })
        return out

    def _learning_error(self, services: dict[str, np.ndarray]) -> float:
        """Mean gap, over the services delivered this quarter, between the effect of the best
        intervention in the organization's context and that of the one it delivered."""
        o, k, a = services["org"], services["area"], services["intervention"]
        if len(o) == 0:
            return float("nan")
        return float((self.best_local[o, k] - self.theta_local[o, k, a]).mean())

    def _grow_pool(self) -> None:
        """Funders grow next quarter's pool when they see measured progress since the
        collaborative's start beyond sampling noise, by the same rule in both arms, credited
        as far as the organizations' evidence is comparable (own reports, or pooled data on
        agreed metrics)."""
        cfg = self.config
        if cfg.funding.max_pool_growth <= 0:
            return
        shares = self.grants / self.grants.sum()
        credibility = float((shares * self._credibility()).sum())
        noise = CREDIBLE_Z * np.sqrt(2.0) * self.survey.composite_se  # two samples
        progress = max(0.0, self.survey.composite - self.baseline_survey.composite - noise)
        target = cfg.funding.max_pool_growth * min(1.0, credibility * progress / CREDIBLE_PROGRESS)
        self.pool_growth += FUNDER_RESPONSE * (target - self.pool_growth)


class BurnIn:
    """A world after its isolated burn-in: what every run of one world and seed starts from.

    The burn-in runs the isolated scenario, so it is the same in both arms and for every
    lever that acts only through a collaborative. A paired comparison or a policy study
    therefore runs it once per world and seed, and each run starts from a copy:
    ``CollectiveImpactModel(config, seed, burn_in=BurnIn(config, seed))`` gives exactly the
    table of ``CollectiveImpactModel(config, seed)``, for ``config`` or ``config.isolated()``.
    A run whose world or seed differs from the burn-in's is refused.
    """

    # What the model sets besides the world: Mesa's own attributes, the agents (rebuilt for
    # each run), and the run's config and seed.
    _NOT_WORLD = frozenset({"organizations", "backbone", "config", "seed_value"})

    def __init__(self, config: Config | str | None = None, seed: int | None = None):
        config = _resolve_config(config, {})
        self.seed = _resolve_seed(seed, None)
        self.key = burn_in_key(config)
        model = CollectiveImpactModel.__new__(CollectiveImpactModel)
        Model.__init__(model, rng=self.seed)
        mesa_owned = set(vars(model))
        model._set_up_world(config, self.seed)
        self.state = {name: value for name, value in vars(model).items()
                      if name not in mesa_owned and name not in self._NOT_WORLD}
        model.release()

    def check(self, config: Config) -> None:
        """Refuse a run of another world or seed than this burn-in's."""
        if config.run.seed != self.seed:
            raise ConfigError(f"this burn-in is of seed {self.seed}, not {config.run.seed}")
        if burn_in_key(config) != self.key:
            mine, theirs = json.loads(self.key), json.loads(burn_in_key(config))
            differ = sorted(f"{section}.{name}" for section in mine for name in mine[section]
                            if mine[section][name] != theirs[section][name])
            verb = "differs" if len(differ) == 1 else "differ"
            raise ConfigError(f"this burn-in is of another world: {', '.join(differ)} {verb} "
                              f"from its scenario; make a BurnIn of this one")


def burn_in_key(config: Config) -> str:
    """What a run's burn-in depends on: the isolated scenario it runs (whose world sections,
    population, problem, learning and organizations, are the scenario's own), without the
    run's seed and horizon and the scenario's name."""
    burn = config.isolated().to_dict()
    burn["funding"]["max_pool_growth"] = 0.0  # as _burn_in runs it
    burn.pop("scenario", None)
    burn["run"] = {k: v for k, v in burn["run"].items() if k not in ("seed", "steps")}
    return json.dumps(burn, sort_keys=True)


def _resolve_config(config: Config | str | None, overrides: dict) -> Config:
    if config is None:
        config = Config.from_dict({})
    elif not isinstance(config, Config):
        config = load_config(config)
    return config.with_values({field_key(k): v for k, v in overrides.items()}) if overrides \
        else config


def _resolve_seed(seed, rng) -> int:
    seed = rng if seed is None else seed
    if seed is None:
        return fresh_seed()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed = {seed!r}: must be a whole number >= 0 (or None for a fresh "
                          f"seed)")
    return int(seed)


def fresh_seed() -> int:
    """A seed from the operating system's entropy, for runs whose seed nobody chose."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)


def _reporter(name: str):
    return lambda model: model.indicators[name]


def run_model(config: Config, seed: int | None = None, steps: int | None = None) -> pd.DataFrame:
    """Run one scenario and return its per-step table; the seed defaults to the scenario's
    own ``run.seed``, so a scenario file names a reproducible run."""
    seed = config.run.seed if seed is None else seed
    model = CollectiveImpactModel(config, seed=seed)
    table = model.run(steps)
    model.release()
    return table


def run_world(configs: list[Config], seed: int) -> list[pd.DataFrame]:
    """Runs of several scenarios on one seed (both arms, or several policies), each burn-in
    made once for all the scenarios that share it (``BurnIn``); the tables are those of
    separate runs."""
    burn_ins: dict[str, BurnIn] = {}
    tables = []
    for config in configs:
        key = burn_in_key(config)
        if key not in burn_ins:
            burn_ins[key] = BurnIn(config, seed)
        model = CollectiveImpactModel(config, seed=seed, burn_in=burn_ins[key])
        tables.append(model.run())
        model.release()
    return tables
