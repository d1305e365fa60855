"""The Mesa model of isolated versus collective impact (see docs/ODD.md and DESIGN.md).

One quarter per step. The population is held as numpy arrays (people x areas);
organizations are Mesa agents whose state lives in arrays, one row each.
Collective impact gets no bonus of its own: its effect on outcomes comes only
through which people are served, in which areas, with which interventions, and
how many services the money buys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from mesa import DataCollector, Model

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

# An indicator counts as improved when it beats its step-0 value by this much
# (half a percentage point of status or share), so noise does not count as progress.
IMPROVEMENT_TOLERANCE = 0.005
# Progress in the composite index that funders need to see to grow the pool fully.
CREDIBLE_PROGRESS = 0.05


def service_gain(theta, expertise, status, prerequisite, complementarity):
    """Effect of one service: true effectiveness x expertise x complementarity x headroom.

    With complementarity c, progress is scaled by ``(1 - c) + c * prerequisite``, the
    person's status in the prerequisite area (1 for the first area)."""
    c = complementarity
    return theta * expertise * ((1 - c) + c * prerequisite) * (1 - status)


def combined_gain(total_gain, count, decay):
    """What ``count`` services to one person-area are worth together, given their summed
    single-service gains: mean gain x (1 + d + ... + d^(n-1)), diminishing returns."""
    count = np.asarray(count, dtype=float)
    safe = np.maximum(count, 1.0)
    dose = count if decay == 1.0 else (1 - decay**count) / (1 - decay)
    return np.where(count > 0, total_gain / safe * dose, 0.0)


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

    ``running`` turns False at the horizon (``run.steps``), so Mesa's runners stop there.
    """

    def __init__(self, config: Config | str | None = None, seed: int | None = None, *,
                 rng: int | None = None, **kwargs):
        config = _resolve_config(config, kwargs)
        seed = _resolve_seed(seed, rng)
        super().__init__(rng=seed)
        # One generator drives everything. The world below is drawn first and its draws
        # do not depend on any collective-impact lever, so an isolated and a collective
        # run of one seed share population, organizations and true effectiveness.
        self.rng = np.random.default_rng(seed)
        self.seed_value = seed
        self.config = config.with_values({"run.seed": seed})
        self._build_world()
        self._build_collaborative()
        self.datacollector = DataCollector(
            model_reporters={name: _reporter(name) for name in self.indicators}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ set-up
    def _build_world(self) -> None:
        cfg, rng = self.config, self.rng
        M, K = cfg.population.size, cfg.population.areas
        N, A = cfg.organizations.count, cfg.problem.interventions
        pop, org = cfg.population, cfg.organizations

        risk = rng.beta(2.0, 2.0, M)
        noise = rng.normal(0.0, pop.baseline_sd, (M, K))
        self.baseline = np.clip(pop.baseline_mean - pop.risk_effect * (risk[:, None] - 0.5) + noise,
                                0.01, 0.99)
        self.status = self.baseline.copy()
        composite_base = self.baseline.mean(axis=1)
        self.quintile = np.minimum(
            (np.argsort(np.argsort(composite_base)) * 5) // M, 4)
        self.reach_rank = rng.random(M)

        # True effectiveness: exponential, so most interventions do little and a few work.
        self.theta = rng.exponential(cfg.problem.effect_mean, (K, A))
        context = rng.normal(0.0, cfg.problem.context_sd, (N, K, A))
        self.theta_local = np.maximum(self.theta[None] + context, 0.0)
        self.metric_bias = rng.normal(0.0, cfg.learning.metric_bias_sd, (N, K, A))

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
        self.catchment_size = max(1, round(org.catchment_share * M))
        self.catchment_start = rng.integers(0, M, N)
        self.initial_trust = np.clip(org.initial_trust + rng.normal(0.0, 0.08, N), 0.0, 1.0)
        self.founding_draw = rng.random(N)
        self.belief_mean = cfg.problem.effect_mean + rng.normal(0.0, cfg.learning.prior_sd,
                                                                 (N, K, A))
        self.belief_precision = np.full((N, K, A), 1.0 / cfg.learning.prior_sd**2)

        self.organizations = [Organization(self, o) for o in range(N)]

    def _build_collaborative(self) -> None:
        cfg = self.config
        N, K, A = self.theta_local.shape
        cond = cfg.conditions
        dedicated = cond.backbone and cfg.funding.backbone_share > 0
        self.collaborative_active = dedicated or (
            not cond.backbone and cfg.backbone.volunteer_coverage > 0)
        enabled = [f for f in BACKBONE_FUNCTIONS
                   if FUNCTION_CONDITION[f] is None or getattr(cond, FUNCTION_CONDITION[f])]
        effort = np.array([getattr(cfg.effort, f) for f in enabled])
        if effort.sum() <= 0:
            effort = np.ones(len(enabled))
        self.effort_shares = dict(zip(enabled, effort / effort.sum(), strict=True))
        self.backbone = Backbone(self) if dedicated else None

        self.funding_pool = cfg.funding.pool
        self.pool_growth = 0.0
        self.backbone_spending = 0.0
        self.grants = cfg.funding.pool * self.base_grant_share
        self.trust = self.initial_trust.copy()
        self.participating = self.collaborative_active & (
            self.founding_draw < cfg.backbone.initial_participation)
        self.alignment = np.zeros(N)
        self.allocation = self.own_agenda.copy()
        self.choice = np.argmax(self.belief_mean, axis=2)
        self.common_agenda = self.own_agenda.mean(axis=0)
        self.data_maturity = 0.0
        self.pooled_mean = np.full((K, A), cfg.problem.effect_mean)
        self.pooled_precision = np.zeros((K, A))
        self.coverage = 0.0
        self.intensity = dict.fromkeys(BACKBONE_FUNCTIONS, 0.0)
        self.total_gain = 0.0  # status above baseline, summed over person-areas
        self.cumulative_gain = 0.0
        self.cumulative_spending = 0.0
        self._coordinate()
        self._start = self._area_indicators()
        self.indicators = self._measure(services=None)

    # ------------------------------------------------------------------ one quarter
    def step(self) -> None:
        self._update_participation()
        self._coordinate()
        self._update_trust_and_alignment()
        self._fund()
        services = self._deliver_services()
        self._apply_outcomes(services)
        self._learn(services)
        self._mature_data_system()
        self.total_gain = float((self.status - self.baseline).sum())
        self.cumulative_gain += self.total_gain
        self.cumulative_spending += self.funding_pool
        self.indicators = self._measure(services)
        self._grow_pool(self.indicators["composite_index"])
        self.datacollector.collect(self)
        self.running = self.steps < self.config.run.steps

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
    def _coordinate(self) -> None:
        """This quarter's pool; backbone capacity: staff, coverage and function intensities."""
        self.funding_pool = self.config.funding.pool * (1.0 + self.pool_growth)
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

    def _value_of_taking_part(self) -> tuple[np.ndarray, np.ndarray]:
        """What the collaborative gives each organization back, and what it costs it."""
        col = self.config.collaboration
        m = col.metric_agreement
        support = self.coverage * (0.3 + 0.7 * self.data_maturity * m)
        benefit = self.trust * support
        agenda_gap = 0.5 * np.abs(self.own_agenda - self.common_agenda).sum(axis=1)
        cost = col.participation_cost * col.cost_salience + col.control_tightness * agenda_gap
        return benefit, cost

    def _update_participation(self) -> None:
        if not self.collaborative_active:
            return
        bb = self.config.backbone
        benefit, cost = self._value_of_taking_part()
        net_loss = np.clip(cost - benefit, 0.0, 1.0)
        draw = self.rng.random(len(self.trust))
        leave = self.participating & (draw < bb.leave_rate * net_loss)
        join = ~self.participating & (
            draw < bb.join_rate * self.intensity["community_outreach"] * (1.0 - net_loss))
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
            # data on where the gaps are as the shared measurement system matures.
            consensus = (self.own_agenda[part].mean(axis=0) if part.any()
                         else self.own_agenda.mean(axis=0))
            gap = np.maximum(self.config.population.on_track_threshold
                             - self.status.mean(axis=0), 0.0) + 0.01
            evidence = self.data_maturity * col.metric_agreement
            self.common_agenda = (1 - evidence) * consensus + evidence * gap / gap.sum()
            target = self.intensity["strategic_direction"] * self.trust * part
        else:
            target = np.zeros_like(self.trust)
        self.alignment += col.alignment_rate * (target - self.alignment)

    def _fund(self) -> None:
        """Split the pool: backbone share, then grants, tilted toward evidence of effect."""
        cfg = self.config
        self.backbone_spending = self.backbone.budget if self.backbone is not None else 0.0
        program = self.funding_pool - self.backbone_spending
        weight = self.base_grant_share.copy()
        tilt = (cfg.funding.evidence_weight * self.intensity["mobilizing_funding"]
                * self.data_maturity * cfg.collaboration.metric_agreement)
        if tilt > 0 and self.participating.sum() > 1:
            K = self.choice.shape[1]
            evidence = (self.allocation * self.pooled_mean[np.arange(K), self.choice]).sum(axis=1)
            e = evidence[self.participating]
            z = (e - e.mean()) / (e.std() + 1e-12)
            weight[self.participating] *= np.exp(tilt * np.clip(z, -2.0, 2.0))
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

    def _beliefs(self) -> np.ndarray:
        """What each organization believes about effectiveness: own data, plus pooled data for
        participants weighted by their trust (willingness to share) and metric agreement."""
        weight = (self._share_gate() * self.config.collaboration.metric_agreement
                  * self.participating)[:, None, None]
        pooled = weight * self.pooled_precision[None]
        return ((self.belief_precision * self.belief_mean + pooled * self.pooled_mean[None])
                / (self.belief_precision + pooled))

    def _choose_interventions(self, beliefs: np.ndarray) -> np.ndarray:
        cfg, rng = self.config, self.rng
        N, K, A = beliefs.shape
        tight = cfg.collaboration.control_tightness * self.participating
        choice = np.argmax(beliefs, axis=2)
        explore = rng.random((N, K)) < (cfg.organizations.exploration * (1 - tight))[:, None]
        choice = np.where(explore, rng.integers(0, A, (N, K)), choice)
        # Tight control dictates the backbone's best guess, however immature its data.
        dictated = rng.random((N, K)) < tight[:, None]
        return np.where(dictated, self._backbone_best_guess(beliefs)[None, :], choice)

    def _backbone_best_guess(self, beliefs: np.ndarray) -> np.ndarray:
        """Per area, the intervention the backbone would dictate: the best by pooled data
        where it has any, else the best by its partners' average belief."""
        partners = self.participating if self.participating.any() else slice(None)
        consensus = beliefs[partners].mean(axis=0)
        has_data = (self.pooled_precision > 0).any(axis=1, keepdims=True)
        return np.argmax(np.where(has_data, self.pooled_mean, consensus), axis=1)

    def _referral_share(self) -> np.ndarray:
        """Share of each organization's services steered by referral. Needs all three at once:
        a matured data system, matchable records (metric agreement) and trust to share."""
        cond = self.config.conditions
        if not (cond.mutually_reinforcing and cond.shared_measurement):
            return np.zeros(len(self.trust))
        m = self.config.collaboration.metric_agreement
        return self.data_maturity * m * self._share_gate() * self.participating

    def _deliver_services(self) -> dict[str, np.ndarray]:
        cfg, rng = self.config, self.rng
        M, K = self.status.shape
        self.allocation = self._allocate()
        self.choice = self._choose_interventions(self._beliefs())
        capacity = self.grants * (1 - cfg.collaboration.participation_cost * self.participating)
        wanted = capacity[:, None] / cfg.funding.cost_per_service * self.allocation
        counts = np.floor(wanted).astype(np.int64)
        counts += rng.random(counts.shape) < (wanted - counts)  # unbiased rounding
        referred = rng.binomial(counts, self._referral_share()[:, None])
        walk_in = counts - referred
        # Participants do not change within a quarter: who can be reached is found once.
        reachable = self._reachable() if referred.any() else None

        org_ids, area_ids, people = [], [], []
        for k in range(K):
            # Walk-ins: whoever reaches the door, anywhere in the organization's catchment.
            orgs_k = np.repeat(np.arange(len(walk_in)), walk_in[:, k])
            offsets = rng.integers(0, self.catchment_size, len(orgs_k))
            people_k = (self.catchment_start[orgs_k] + offsets) % M
            served = np.zeros(M, dtype=bool)
            served[people_k] = True
            org_ids.append(orgs_k)
            people.append(people_k)
            n_ref = int(referred[:, k].sum())
            if n_ref:
                ref_orgs = rng.permutation(np.repeat(np.arange(len(referred)), referred[:, k]))
                org_ids.append(ref_orgs)
                people.append(self._refer(k, n_ref, served, reachable))
            area_ids.append(np.full(len(orgs_k) + n_ref, k))
        org_ids = np.concatenate(org_ids)
        return {
            "org": org_ids,
            "area": np.concatenate(area_ids),
            "person": np.concatenate(people),
            "intervention": self.choice[org_ids, np.concatenate(area_ids)],
            "counts": counts,
            "referred": referred,
        }

    def _reachable(self) -> np.ndarray:
        """Whom the collaborative can reach: partners' catchments plus whom outreach brings in."""
        return self._partner_catchments() | (
            self.reach_rank < self.intensity["community_outreach"])

    def _refer(self, k: int, n: int, served: np.ndarray, reachable: np.ndarray) -> np.ndarray:
        """The ``n`` highest-need people in area ``k`` among the reachable not yet served."""
        candidates = np.flatnonzero(reachable & ~served)
        if n >= len(candidates):
            extra = self.rng.choice(np.flatnonzero(reachable), n - len(candidates))
            return np.concatenate([candidates, extra])
        lowest = np.argpartition(self.status[candidates, k], n - 1)[:n]
        return candidates[lowest]

    def _partner_catchments(self) -> np.ndarray:
        M = len(self.status)
        starts = self.catchment_start[self.participating]
        edges = np.zeros(M + 1, dtype=np.int64)
        ends = starts + self.catchment_size
        np.add.at(edges, starts, 1)
        np.add.at(edges, np.minimum(ends, M), -1)
        wrapped = ends > M  # catchments run round the ring of neighbourhoods
        np.add.at(edges, np.zeros(wrapped.sum(), dtype=np.int64), 1)
        np.add.at(edges, ends[wrapped] - M, -1)
        return np.cumsum(edges[:M]) > 0

    def _apply_outcomes(self, services: dict[str, np.ndarray]) -> None:
        cfg = self.config
        M, K = self.status.shape
        o, k, i, a = services["org"], services["area"], services["person"], services["intervention"]
        prerequisite = np.where(k > 0, self.status[i, np.maximum(k - 1, 0)], 1.0)
        gain = service_gain(self.theta_local[o, k, a], self.expertise[o, k], self.status[i, k],
                            prerequisite, cfg.problem.complementarity)
        cell = i * K + k
        total = np.bincount(cell, weights=gain, minlength=M * K)
        count = np.bincount(cell, minlength=M * K)
        delta = combined_gain(total, count, cfg.problem.duplication_decay)
        self._high_need_before = self.status < cfg.population.high_need_threshold
        self._served_cells = (count > 0).reshape(M, K)
        self.status = np.clip(self.status + delta.reshape(M, K), 0.0, 1.0)
        self.status += cfg.population.drift_rate * (self.baseline - self.status)

    def _learn(self, services: dict[str, np.ndarray]) -> None:
        """Own, noisy, biased evaluations; participants also feed the pooled data system."""
        cfg = self.config
        N, K, A = self.theta_local.shape
        lrn, m = cfg.learning, cfg.collaboration.metric_agreement
        keep = 1.0 - lrn.forgetting
        self.belief_precision *= keep
        self.pooled_precision *= keep
        counts = services["counts"]
        oo, kk = np.nonzero(counts)
        aa = self.choice[oo, kk]
        n = counts[oo, kk]
        noise_var = max(lrn.observation_noise, 1e-6) ** 2
        truth = self.theta_local[oo, kk, aa]
        bias = self.metric_bias[oo, kk, aa]
        observed = truth + bias + self.rng.normal(0.0, 1.0, len(n)) * np.sqrt(noise_var / n)
        precision = n / noise_var
        self.belief_mean[oo, kk, aa], self.belief_precision[oo, kk, aa] = bayes_update(
            self.belief_mean[oo, kk, aa], self.belief_precision[oo, kk, aa], observed, precision)
        if not (cfg.conditions.shared_measurement and self.data_maturity > 0):
            return
        # Pooled data: yardsticks agree to the extent m; only partners who trust enough share,
        # and only as much as the data system can take in.
        share = self.data_maturity * self._share_gate()[oo] * self.participating[oo]
        weight = share * precision
        if weight.sum() <= 0:
            return
        comparable = observed - m * bias
        cell = kk * A + aa
        w_sum = np.bincount(cell, weights=weight, minlength=K * A).reshape(K, A)
        wy_sum = np.bincount(cell, weights=weight * comparable, minlength=K * A).reshape(K, A)
        new_p = self.pooled_precision + w_sum
        updated = w_sum > 0
        self.pooled_mean[updated] = ((self.pooled_precision * self.pooled_mean + wy_sum)[updated]
                                     / new_p[updated])
        self.pooled_precision = new_p

    def _mature_data_system(self) -> None:
        cfg = self.config
        if cfg.conditions.shared_measurement and self.collaborative_active:
            rate = cfg.backbone.data_maturity_rate * self.intensity["data_management"]
            self.data_maturity += rate * (1.0 - self.data_maturity)

    # ------------------------------------------------------------------ outputs
    def _area_indicators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per area: mean status, share on track, and the equity gap (mean status of the
        highest minus the lowest baseline quintile)."""
        means = self.status.mean(axis=0)
        on_track = (self.status >= self.config.population.on_track_threshold).mean(axis=0)
        equity = (self.status[self.quintile == 4].mean(axis=0)
                  - self.status[self.quintile == 0].mean(axis=0))
        return means, on_track, equity

    def _measure(self, services: dict | None) -> dict[str, float]:
        M, K = self.status.shape
        means, on_track, equity_by_area = self._area_indicators()
        out: dict[str, float] = {"composite_index": float(means.mean())}
        for name, mean, share in zip(self.config.area_names, means, on_track, strict=True):
            out[f"mean_{name}"] = float(mean)
            out[f"on_track_{name}"] = float(share)
        start_means, start_on_track, start_equity = self._start
        improved = (np.sum(means > start_means + IMPROVEMENT_TOLERANCE)
                    + np.sum(on_track > start_on_track + IMPROVEMENT_TOLERANCE)
                    + np.sum(equity_by_area < start_equity - IMPROVEMENT_TOLERANCE))
        out["indicators_improved"] = int(improved)
        out["indicators_total"] = 3 * K
        if services is None:  # the starting state: nobody served yet
            services_n, duplication, unmet, referral = 0, 0.0, 1.0, 0.0
        else:
            services_n = len(services["person"])
            served_cells = int(self._served_cells.sum())
            duplication = (services_n - served_cells) / served_cells if served_cells else 0.0
            high = self._high_need_before
            unmet = float((high & ~self._served_cells).sum() / high.sum()) if high.any() else 0.0
            referral = float(services["referred"].sum() / services_n) if services_n else 0.0
        out.update({
            "duplication": duplication,
            "unmet_need": unmet,
            "learning_error": self._learning_error(),
            "trust": float(self.trust.mean()),
            "participation": float(self.participating.mean()),
            "equity_gap": float(equity_by_area.mean()),
            "program_spending": float(self.grants.sum()) if services is not None else 0.0,
            "backbone_spending": float(self.backbone_spending),
            "funding_pool": float(self.funding_pool) if services is not None else 0.0,
            "outcome_gain": self.total_gain / (M * K),
            "outcome_per_million": (self.cumulative_gain / (self.cumulative_spending / 1e6)
                                    if self.cumulative_spending else 0.0),
            "services": services_n,
            "referral_share": referral,
            "coverage": float(self.coverage),
            "data_maturity": float(self.data_maturity),
            "alignment": float(self.alignment.mean()),
        })
        return out

    def _learning_error(self) -> float:
        """Mean gap between the truly best intervention's effect and the believed best's."""
        beliefs = self._beliefs()
        believed = np.argmax(beliefs, axis=2)
        best = self.theta_local.max(axis=2)
        picked = np.take_along_axis(self.theta_local, believed[..., None], axis=2)[..., 0]
        return float((best - picked).mean())

    def _grow_pool(self, composite: float) -> None:
        """Funders grow next quarter's pool when the shared data credibly shows progress."""
        cfg = self.config
        shown = (self.data_maturity * cfg.collaboration.metric_agreement
                 * max(0.0, composite - self._start[0].mean()))
        target = cfg.funding.max_pool_growth * min(1.0, shown / CREDIBLE_PROGRESS)
        self.pool_growth += 0.25 * self.intensity["mobilizing_funding"] * (
            target - self.pool_growth)


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
    return CollectiveImpactModel(config, seed=seed).run(steps)
