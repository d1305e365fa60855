"""A fair comparison: competent organizations in both arms, decisions on measured values,
money channels open to both, a world that has run before the collaborative starts, and
participation that pays only what partners really get back."""

import dataclasses

import numpy as np
import pytest

from collective_impact.model import CollectiveImpactModel, Config, run_model
from collective_impact.model.kernels import rank_in_groups, screen_level


@pytest.fixture
def world(tiny_config) -> Config:
    return tiny_config.with_values({"run.burn_in": 4})


# ------------------------------------------------------------------ screening by hand
def rank_in_group(group, measured):
    levels = np.array([screen_level(x) for x in measured], dtype=np.uint16)
    return rank_in_groups(levels, np.asarray(group, dtype=np.int64), int(max(group, default=0)) + 1)


def test_ranks_within_groups_by_hand():
    """How an organization orders its applicants: by assessed need within its own intake."""
    group = np.array([0, 0, 0, 1, 1, 2])
    measured = np.array([0.5, 0.1, 0.3, 0.9, 0.2, 0.4])
    assert rank_in_group(group, measured).tolist() == [2, 0, 1, 1, 0, 0]
    assert rank_in_group(np.zeros(0, dtype=int), np.zeros(0)).size == 0
    # groups need not be in order; levels above one byte are ordered by both bytes
    assert rank_in_group([1, 0, 1, 0], [0.9, 0.7, 0.2, 0.3]).tolist() == [1, 1, 0, 0]


def test_ties_keep_their_position():
    ranks = rank_in_group(np.zeros(4, dtype=int), np.array([0.2, 0.1, 0.1, 0.1]))
    assert ranks.tolist() == [3, 0, 1, 2]


def test_screen_levels_span_the_assessment_range():
    assert screen_level(-0.5) == 0 and screen_level(-3.0) == 0
    assert screen_level(1.5) == 2**16 - 1 and screen_level(9.0) == 2**16 - 1
    assert screen_level(0.5) == 32768  # rint(1.0 * 65535 / 2), half to even
    assert screen_level(0.1) < screen_level(0.1 + 1e-4)  # finer than any screening noise


# ------------------------------------------------------------------ competent organizations
def _one_quarter_of_services(config, seed=2):
    model = CollectiveImpactModel(config, seed=seed)
    captured = {}
    deliver = model._deliver_services

    def spy():
        captured.update(deliver())
        return captured

    model._deliver_services = spy
    model.step()
    return model, captured


@pytest.mark.parametrize("arm", ["isolated", "collective"])
def test_no_organization_serves_a_person_twice_in_an_area_and_quarter(world, arm):
    config = world.with_values({"backbone.initial_participation": 1.0,
                                "organizations.initial_trust": 0.9})
    config = config.isolated() if arm == "isolated" else config
    _, services = _one_quarter_of_services(config)
    triples = np.stack([services["org"], services["area"], services["person"]], axis=1)
    assert len(triples) > 500
    assert len(np.unique(triples, axis=0)) == len(triples)


def _mean_status_served(config, noise, seed=3):
    model = CollectiveImpactModel(config.with_values({"learning.screening_noise": noise}),
                                  seed=seed)
    slots = np.full((len(model.trust), len(model.config.area_names)), 10)
    intake = model._walk_ins(slots)
    chosen = intake["chosen"]
    return (model.status[intake["person"][chosen], intake["area"][chosen]].mean(),
            model.status[intake["person"], intake["area"]].mean())


def test_screening_by_measured_need_is_worse_than_perfect_and_better_than_none(world):
    perfect, _ = _mean_status_served(world, 0.0)
    measured, _ = _mean_status_served(world, 0.1)
    blind, applicants = _mean_status_served(world, 1.0)  # noise swamps the status spread
    assert perfect < measured - 0.01 < blind - 0.02
    assert blind == pytest.approx(applicants, abs=0.01)  # as good as serving at random


def test_a_record_is_the_mean_of_the_screens_the_system_really_holds(world):
    """Two sharing partners screened the same person: the record is the mean of their two
    screens; nobody else's screen is invented."""
    config = world.with_values({"backbone.initial_participation": 1.0,
                                "organizations.initial_trust": 1.0})
    model = CollectiveImpactModel(config, seed=4)
    model.trust[:] = 1.0
    model.data_maturity = 1.0
    model.intensity = dict(model.intensity, community_outreach=0.0)
    person = int(np.flatnonzero(model.people.stage == 1)[0])
    intake = {"org": np.array([0, 1, 2]), "area": np.array([1, 1, 1]),
              "person": np.array([person, person, person + 1]),
              "measured": np.array([0.2, 0.4, 0.7]), "chosen": np.zeros(3, dtype=bool)}
    record = model._shared_records(intake)["record"]
    assert record[person] == pytest.approx(0.3)
    assert record[person + 1] == pytest.approx(0.7)
    assert np.isnan(np.delete(record, [person, person + 1])).all()


def test_referrals_find_only_people_the_data_system_holds(world):
    """Records come from sharing partners' screened applicants and from outreach, nothing
    else: with no partner sharing and no outreach the data system holds nobody."""
    config = world.with_values({"backbone.initial_participation": 1.0,
                                "organizations.initial_trust": 1.0})
    model = CollectiveImpactModel(config, seed=4)
    slots = np.full((len(model.trust), len(model.config.area_names)), 5)
    intake = model._walk_ins(slots)
    model.trust[:] = 1.0
    model.data_maturity = 0.0
    model.intensity = dict(model.intensity, community_outreach=0.0)
    assert np.isnan(model._shared_records(intake)["record"]).all()
    model.data_maturity = 1.0
    records = model._shared_records(intake)
    held = ~np.isnan(records["record"])  # one entry per live cell (a current person-area)
    # applicants are in the stage they apply in; in a pipeline a person's live cell is theirs
    assert (model.people.stage[intake["person"]] == intake["area"]).all()
    live = intake["person"]
    assert held[live].all()  # every applicant of a sharer
    assert held.sum() == len(set(live))
    assert (records["served"] <= held).all()


def test_referrals_follow_the_record_not_the_truth(world):
    """Records that rank people the other way round from their true status: referral goes
    by the record, so it picks the people who are truly best off."""
    model = CollectiveImpactModel(world, seed=4)
    people = model.people
    people.handoff[:] = np.nan
    cells = people.area_cells[2]
    status = people.current(model.status)
    record = np.full(len(people.cells), np.nan)
    record[cells] = 1.0 - status[cells]
    chosen = model._refer(2, 10, {"record": record,
                                  "served": np.zeros(len(people.cells), dtype=bool)})
    best_off = people.cell_person[cells[np.argsort(-status[cells], kind="stable")[:10]]]
    assert sorted(chosen.tolist()) == sorted(best_off.tolist())


def _status_referred(config, seed, how):
    """Mean true status of those a quarter's referrals in each area would find, from the
    records the data system holds (``how`` = 'records'), from the truth about the same
    people ('perfect') or at random among them ('blind')."""
    model = CollectiveImpactModel(config, seed=seed)
    model.trust[:] = 1.0
    model.data_maturity = 1.0
    people = model.people
    slots = np.full((len(model.trust), people.K), 5)
    records = model._shared_records(model._walk_ins(slots))
    held = ~np.isnan(records["record"])
    truth = people.current(model.status)
    if how == "perfect":
        records["record"] = np.where(held, truth, np.nan)
    elif how == "blind":
        random = np.random.default_rng(seed).random(len(truth))
        records["record"] = np.where(held, random, np.nan)
    chosen = np.concatenate([model._refer(k, 40, records) for k in range(people.K)])
    return truth[chosen].mean()


def test_referral_by_measured_need_is_worse_than_perfect_and_better_than_none(world):
    config = world.with_values({"backbone.initial_participation": 1.0,
                                "learning.screening_noise": 0.1})
    found = {how: np.mean([_status_referred(config, seed, how) for seed in range(4)])
             for how in ("perfect", "records", "blind")}
    assert found["perfect"] < found["records"] - 0.005 < found["blind"] - 0.01


def test_funders_credit_the_measured_progress_not_the_true_one(world):
    """Funders grow the pool on the survey's progress: the same true world with a survey
    that shows no progress gets no growth."""
    config = world.with_values({"funding.max_pool_growth": 0.5,
                                "learning.indicator_sample": 5000})
    model = CollectiveImpactModel(config.isolated(), seed=8)
    model.people.status += 0.05  # truly much better off than at the start...
    model.survey = model.baseline_survey  # ...but the survey has not seen it
    model._grow_pool()
    assert model.pool_growth == 0.0
    model.survey = model._survey()  # now it has
    model._grow_pool()
    assert model.pool_growth > 0.0


def test_the_common_agenda_steers_by_the_survey_not_by_true_means(world):
    """Where the survey says an area is furthest behind, the agenda leans there, whatever
    the true means say (data maturity x agreement 1: only the measured gaps steer)."""
    config = world.with_values({"backbone.initial_participation": 1.0})
    model = CollectiveImpactModel(config, seed=7)
    model.data_maturity, model.agreement = 1.0, 1.0
    level = np.full(model.people.K, 0.9)
    level[4] = 0.1  # the survey reads area 4 as far behind; the truth does not
    model.survey = dataclasses.replace(model.survey, level=level)
    model._update_trust_and_alignment()
    assert np.argmax(model.common_agenda) == 4
    assert model.common_agenda[4] > 0.5


def test_a_declined_referral_goes_back_to_the_organizations_own_intake(world):
    # little enough money that every organization's catchment holds its applicants
    config = world.with_values({"backbone.initial_participation": 1.0,
                                "organizations.initial_trust": 1.0, "funding.pool": 100_000.0})
    served = {}
    for uptake in (0.0, 1.0):
        model = CollectiveImpactModel(config.with_values(
            {"collaboration.referral_uptake": uptake}), seed=2)
        model.data_maturity = 0.9  # referrals are on from this quarter
        services = model._deliver_services()
        served[uptake] = services
    assert served[0.0]["referred"].sum() == 0
    assert served[1.0]["referred"].sum() > 25
    # the same money buys the same number of services either way: a slot that no referral
    # fills goes to the next applicant in line
    assert len(served[0.0]["person"]) == pytest.approx(len(served[1.0]["person"]), rel=0.01)


def test_outreach_reaches_a_bounded_share_of_people(world):
    config = world.with_values({"backbone.outreach_reach": 0.2})
    model = CollectiveImpactModel(config, seed=5)
    model.intensity = dict(model.intensity, community_outreach=1.0)
    model.data_maturity = 0.0  # no partner's records: only outreach contacts
    slots = np.zeros((len(model.trust), len(model.config.area_names)), dtype=np.int64)
    records = model._shared_records(model._walk_ins(slots))
    assert (~np.isnan(records["record"])).mean() == pytest.approx(0.2, abs=0.05)


# ------------------------------------------------------------------ nobody knows the truth
def test_pooled_data_holds_what_was_measured_not_the_truth(world):
    """One partner's evaluations with almost no noise: the pooled estimate is the truth plus
    the yardstick's bias (its own share 1 - m, the agreed metric's share m), not the truth."""
    config = world.with_values({"backbone.initial_participation": 1.0,
                                "organizations.initial_trust": 1.0,
                                "learning.observation_noise": 1e-6,
                                "learning.metric_bias_sd": 0.05,
                                "collaboration.metric_agreement": 0.5})
    model = CollectiveImpactModel(config, seed=6)
    model.data_maturity = 1.0
    N, K = model.choice.shape
    counts = np.zeros((N, K), dtype=np.int64)
    counts[3, 2] = 50
    model._learn({"counts": counts})
    a = model.choice[3, 2]
    measured = (model.theta_local[3, 2, a] + 0.5 * model.metric_bias[3, 2, a]
                + 0.5 * model.common_bias[2, a])
    assert model.pooled_mean[2, a] == pytest.approx(measured, abs=1e-6)
    assert abs(model.pooled_mean[2, a] - model.theta_local[3, 2, a]) > 1e-4
    # what partner 3 gets back is what the others shared: nothing yet
    beliefs = model._beliefs()
    assert beliefs[3, 2, a] == pytest.approx(model.belief_mean[3, 2, a])
    assert beliefs[4, 2, a] != pytest.approx(model.belief_mean[4, 2, a])


def test_the_common_agenda_reads_sampled_indicators(world):
    model = CollectiveImpactModel(world, seed=7)
    for _ in range(4):
        model.step()  # a year: a new survey
    truth = model._area_indicators()[0]
    assert not np.allclose(model.survey.level, truth)
    np.testing.assert_allclose(model.survey.level, truth, atol=0.05)


# ------------------------------------------------------------------ money open to both arms
def test_both_arms_reach_the_same_money_channels(world):
    """With funders responding to evidence, the isolated arm's pool grows on the progress its
    own reports show, and its grants tilt toward organizations reporting effective work."""
    config = world.with_values({"run.burn_in": 0, "run.steps": 16,
                                "learning.indicator_sample": 5000,  # progress beyond noise
                                "funding.max_pool_growth": 0.5,
                                "funding.evidence_weight": 1.0,
                                "funding.own_report_credibility": 0.8})
    isolated = CollectiveImpactModel(config.isolated(), seed=8)
    isolated.run()
    assert isolated.funding_pool > config.funding.pool * 1.05
    even = isolated.funding_pool * isolated.base_grant_share
    assert not np.allclose(isolated.grants, even, rtol=1e-3)
    assert isolated.grants.sum() == pytest.approx(isolated.funding_pool)


def test_funders_do_not_respond_by_default():
    config = Config.from_dict({})
    assert config.funding.max_pool_growth == 0.0 and config.funding.evidence_weight == 0.0


# ------------------------------------------------------------------ a world that has run before
def test_burn_in_is_the_same_world_in_both_arms(world):
    collective = CollectiveImpactModel(world, seed=9)
    isolated = CollectiveImpactModel(world.isolated(), seed=9)
    for name in ("status", "belief_mean", "belief_precision", "choice"):
        np.testing.assert_array_equal(getattr(collective, name), getattr(isolated, name),
                                      err_msg=name)
    assert collective.results().composite_index.iloc[0] == \
        isolated.results().composite_index.iloc[0]


def test_after_the_burn_in_the_isolated_arm_is_nearly_flat():
    """Without a burn-in, both arms climb for years from a world where no service had ever
    been given; after the default burn-in the isolated arm's trend over the whole horizon
    (a straight line fitted to every quarter) is small: what remains is the quarter-to-
    quarter noise of cohorts coming and going."""
    config = Config.from_dict({}).isolated()

    def trend(burn_in):
        rises = []
        for seed in range(3):
            index = run_model(config.with_values({"run.burn_in": burn_in}),
                              seed=seed).composite_index.to_numpy()
            rises.append(np.polyfit(np.arange(len(index)), index, 1)[0] * (len(index) - 1))
        return np.mean(rises)

    rise = {b: trend(b) for b in (0, config.run.burn_in)}
    assert rise[0] > 0.005  # measured 0.010 (about 0.1 SD of status)
    assert abs(rise[config.run.burn_in]) < 0.2 * rise[0]  # measured 0.0011


# ------------------------------------------------------------------ participation can fail
def test_when_nobody_shares_the_data_system_stays_empty_and_partners_leave(world):
    config = world.with_values({"run.steps": 40, "collaboration.trust_share_threshold": 0.99,
                                "backbone.initial_participation": 0.6,
                                "collaboration.expectation_rate": 0.2})
    df = run_model(config, seed=10)
    assert df.data_maturity.max() == 0.0
    assert df.referral_share.max() == 0.0
    assert df.participation.iloc[-1] < 0.5 * df.participation.iloc[0]


def test_expectations_follow_what_taking_part_gives(world):
    config = world.with_values({"backbone.initial_participation": 1.0,
                                "collaboration.initial_expectation": 0.3,
                                "collaboration.expectation_rate": 0.5})
    model = CollectiveImpactModel(config, seed=11)
    services = {"counts": np.zeros_like(model.choice), "referred": np.zeros_like(model.choice)}
    model._judge_benefits(services)  # nothing pooled yet, nobody referred
    # nothing came back: every participant's expectation halves toward 0
    np.testing.assert_allclose(model.expectation, 0.15)


# ------------------------------------------------------------------ outputs that mean something
def test_unmet_need_has_a_fixed_denominator(world):
    model = CollectiveImpactModel(world, seed=12)
    # high need is fixed at birth, by the first cohorts' cut-offs: about a fifth of the
    # people in each stage, whichever cohorts are in it
    need = model.people.current(model.people.high_need)
    share = model.people.by_area(need.astype(float)) / model.people.stage_size
    np.testing.assert_allclose(share, 0.2, atol=0.06)
    df = model.run()
    assert df.unmet_need.iloc[1:].between(0.0, 1.0).all()
    starved = run_model(world.with_values({"funding.pool": 1.0}), seed=12)
    assert (starved.unmet_need.iloc[1:] == 1.0).all()


def test_duplication_counts_services_beyond_one_per_person_area(world):
    """duplication = (services - person-areas served) / person-areas served, counted by hand
    from one quarter's services."""
    model = CollectiveImpactModel(world.with_values({"backbone.initial_participation": 1.0}),
                                  seed=5)
    captured = {}
    deliver = model._deliver_services

    def spy():
        captured["services"] = deliver()
        return captured["services"]

    model._deliver_services = spy
    model.step()
    services = captured["services"]
    served = np.unique(np.stack([services["person"], services["area"]]), axis=1).shape[1]
    assert served < len(services["person"])  # overlapping catchments: some duplicates
    assert model.indicators["duplication"] == pytest.approx(
        (len(services["person"]) - served) / served)


def test_backbone_staff_is_its_budget_over_the_cost_per_staff(world):
    df = run_model(world, seed=13).iloc[1:]
    np.testing.assert_allclose(df.backbone_staff,
                               df.backbone_spending / world.backbone.cost_per_staff)
    assert (run_model(world.isolated(), seed=13).backbone_staff == 0).all()


# ------------------------------------------------------------------ connective tissue costs
def test_a_backbone_with_every_other_condition_off_is_pure_cost():
    """Only the backbone funded: no shared data, no referrals, no communication, no common
    agenda. Collective must lose in every world, by about what it pays."""
    config = Config.from_dict({"run": {"steps": 20}}).with_values(
        {f"conditions.{c}": False for c in ("common_agenda", "shared_measurement",
                                           "mutually_reinforcing", "continuous_communication")})
    for seed in range(3):
        collective = run_model(config, seed=seed)
        isolated = run_model(config.isolated(), seed=seed)
        assert collective.composite_index.iloc[-1] < isolated.composite_index.iloc[-1]
        assert (collective.services.iloc[1:] < isolated.services.iloc[1:]).all()


def test_volunteer_coordination_costs_partners_time(world):
    config = world.with_values({"conditions.backbone": False,
                                "backbone.volunteer_coverage": 0.5,
                                "backbone.initial_participation": 1.0})
    model = CollectiveImpactModel(config, seed=14)
    model.step()
    part = model.participating
    time_given = model._coordination_time()[part]
    volunteer = 0.5 * config.backbone.cost_per_staff / config.backbone.span
    expected = config.collaboration.participation_cost + volunteer / model.grants[part]
    np.testing.assert_allclose(time_given, np.minimum(expected, 1.0))
    assert model.indicators["participation_cost_spending"] > \
        config.collaboration.participation_cost * model.grants[part].sum()


def test_draws_only_the_collective_arm_makes_do_not_reshuffle_the_others(world):
    """A collaborative nobody ever joins works exactly like isolation, although its
    participation and referral mechanisms still draw: each mechanism has its own stream."""
    config = world.with_values({"backbone.initial_participation": 0.0,
                                "backbone.join_rate": 0.0, "funding.backbone_share": 1e-12})
    collective = run_model(config, seed=15)
    isolated = run_model(config.isolated(), seed=15)
    assert collective.participation.max() == 0.0
    np.testing.assert_array_equal(collective.composite_index, isolated.composite_index)


def test_no_repeat_service_even_when_referral_slots_go_back_to_the_line(world):
    """Records scarcer than referral slots (one applicant per slot, everyone sharing): the
    unfilled slots go to the next applicants in line, never to someone just referred."""
    config = world.with_values({"backbone.initial_participation": 1.0,
                                "organizations.initial_trust": 1.0,
                                "organizations.intake_ratio": 1.0,
                                "backbone.outreach_reach": 0.0})
    model = CollectiveImpactModel(config, seed=3)
    model.trust[:] = 1.0
    model.data_maturity = 1.0
    services = model._deliver_services()
    assert services["referred"].sum() > 0
    triples = np.stack([services["org"], services["area"], services["person"]], axis=1)
    assert len(np.unique(triples, axis=0)) == len(triples)


# ------------------------------------------------------------------ mid-run interventions
def test_an_intervention_changes_levers_from_the_next_quarter_on(world):
    steady = CollectiveImpactModel(world, seed=16)
    steady.run(4)
    same = CollectiveImpactModel(world, seed=16)
    same.run(2)
    same.change_levers(world)  # no change: the run is exactly the uninterrupted one
    same.run(2)
    assert same.results().equals(steady.results())

    cut = CollectiveImpactModel(world.with_values({"backbone.initial_participation": 1.0}),
                                seed=16)
    cut.run(4)
    assert cut.backbone is not None and cut.participating.any()
    cut.change_levers(cut.config.with_values({"funding.backbone_share": 0.0}))
    df = cut.run(4)
    assert cut.backbone is None and not cut.participating.any()
    assert (df.backbone_spending.iloc[5:] == 0).all() and df.backbone_spending.iloc[4] > 0
    assert len(df) == 9 and (df.participation.iloc[5:] == 0).all()
    with pytest.raises(Exception, match="organizations cannot change during a run"):
        cut.change_levers(cut.config.with_values({"organizations.count": 13}))
