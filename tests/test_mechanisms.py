"""Each mechanism on a tiny case whose answer can be worked out by hand."""

import numpy as np
import pytest

from collective_impact.model import CollectiveImpactModel, kernels
from collective_impact.model.agents import coverage, function_intensity
from collective_impact.model.config import BACKBONE_FUNCTIONS
from collective_impact.model.kernels import prerequisite_factor, service_gain
from collective_impact.model.model import bayes_update, per_service_gain, updated_trust
from collective_impact.model.people import carried_target


def test_service_gain_by_hand():
    # theta 0.1, expertise 0.5, headroom 1 - 0.4 = 0.6, prerequisite factor 1: 0.1*0.5*0.6
    assert service_gain(0.1, 0.5, 0.4, prerequisite=1.0) == pytest.approx(0.03)
    assert service_gain(0.1, 0.5, 0.4, prerequisite=0.5) == pytest.approx(0.015)


def test_prerequisite_factor_changes_dependence_not_average_productivity():
    # at the prerequisite's baseline mean the factor is 1 whatever c
    for c in (0.0, 0.5, 1.0):
        assert prerequisite_factor(0.5, 0.5, c) == pytest.approx(1.0)
    # strict pipeline: proportional to status / mean; half way: (1 - 0.5) + 0.5 * 0.2 / 0.5
    assert prerequisite_factor(0.2, 0.5, 1.0) == pytest.approx(0.4)
    assert prerequisite_factor(0.2, 0.5, 0.5) == pytest.approx(0.7)
    assert prerequisite_factor(0.2, 0.5, 0.0) == pytest.approx(1.0)


def test_carried_target_by_hand():
    # baseline 0.5 in the new stage; left the last one 0.1 above its baseline of 0.4
    assert carried_target(0.5, 0.5, 0.4, 0.0) == pytest.approx(0.5)
    assert carried_target(0.5, 0.5, 0.4, 0.5) == pytest.approx(0.55)
    assert carried_target(0.5, 0.5, 0.4, 1.0) == pytest.approx(0.6)
    assert carried_target(0.95, 0.9, 0.4, 1.0) == pytest.approx(0.99)  # clipped


def test_duplicated_service_yields_less_than_two_separate_ones():
    g, d = 0.02, 0.3
    per_service = per_service_gain(3, d)  # n = 0, 1, 2, 3 services
    two_to_one_person = 2 * g * per_service[2]
    one_each = 2 * (g * per_service[1])
    assert two_to_one_person == pytest.approx(g * (1 + d))  # 0.026
    assert one_each == pytest.approx(2 * g)  # 0.04
    assert two_to_one_person < one_each
    # three services: g (1 + d + d^2); nobody served gains nothing
    assert 3 * g * per_service[3] == pytest.approx(g * (1 + d + d * d))
    assert per_service[0] == 0.0


def test_no_diminishing_returns_when_decay_is_one():
    assert per_service_gain(3, 1.0).tolist() == [0.0, 1.0, 1.0, 1.0]


def test_duplication_inside_a_model_step(tiny_config):
    """Two services to one person-area raise status by g(1+d); one service by g."""
    config = tiny_config.with_values({"population.drift_rate": 0.0,
                                       "problem.complementarity": 0.0,
                                       "problem.duplication_decay": 0.5})
    model = CollectiveImpactModel(config.isolated())
    model.status[:] = 0.5
    model.theta_local[:] = 0.1
    model.expertise[:] = 1.0
    a, b, c = np.flatnonzero(model.people.stage == 0)[:3]  # people now in the first stage
    services = {"org": np.array([0, 1, 2]), "area": np.array([0, 0, 0]),
                "person": np.array([a, a, c]), "intervention": np.array([0, 0, 0])}
    model._apply_outcomes(services)
    g = 0.1 * 1.0 * 0.5  # theta x expertise x headroom
    assert model.status[c, 0] == pytest.approx(0.5 + g)
    assert model.status[a, 0] == pytest.approx(0.5 + g * 1.5)
    assert model.status[b, 0] == pytest.approx(0.5)


def test_coverage_is_capped_by_staff_capacity():
    # 2 staff x span 6 = 12 organizations supported
    assert coverage(staff=2.0, span=6.0, participants=24) == pytest.approx(0.5)
    assert coverage(staff=2.0, span=6.0, participants=12) == pytest.approx(1.0)
    assert coverage(staff=2.0, span=6.0, participants=5) == 1.0  # never above 1


def test_backbone_staff_and_coverage_in_model(tiny_config):
    # budget 0.1 x 400,000 = 40,000 a quarter; 30,000 per staff -> 4/3 staff; x span 6 = 8 orgs
    config = tiny_config.with_values({"backbone.initial_participation": 1.0})
    model = CollectiveImpactModel(config)
    assert model.backbone.budget == pytest.approx(40_000)
    assert model.backbone.staff == pytest.approx(4 / 3)
    assert model.participating.sum() == 12
    assert model.backbone.coverage == pytest.approx(8 / 12)


def test_function_intensity_follows_effort_split():
    even = {f: 1 / 6 for f in BACKBONE_FUNCTIONS}
    assert function_intensity(0.8, even) == {f: pytest.approx(0.8) for f in BACKBONE_FUNCTIONS}
    # all effort on data: data at full coverage, the rest get nothing
    tilted = {f: (1.0 if f == "data_management" else 0.0) for f in BACKBONE_FUNCTIONS}
    result = function_intensity(0.8, tilted)
    assert result["data_management"] == pytest.approx(0.8)
    assert result["communication"] == 0.0


def test_trust_decays_without_communication_by_hand():
    trust = updated_trust(np.array([0.5]), talk=0.0, tightness=0.0, growth=0.2, decay=0.1,
                          penalty=2.0)
    assert trust[0] == pytest.approx(0.45)
    # dictation speeds decay: 0.5 - 0.1 * (1 + 2 * 0.5) * 0.5 = 0.4
    tight = updated_trust(np.array([0.5]), talk=0.0, tightness=0.5, growth=0.2, decay=0.1,
                          penalty=2.0)
    assert tight[0] == pytest.approx(0.4)


def test_trust_grows_with_communication_and_dictation_slows_it():
    # 0.5 + 0.2 * 1 * 1 * 0.5 - 0.1 * 0.5 = 0.55
    free = updated_trust(np.array([0.5]), 1.0, 0.0, 0.2, 0.1, 2.0)[0]
    assert free == pytest.approx(0.55)
    # 0.5 + 0.2 * 0.5 * 0.5 - 0.1 * 2 * 0.5 = 0.45
    dictated = updated_trust(np.array([0.5]), 1.0, 0.5, 0.2, 0.1, 2.0)[0]
    assert dictated == pytest.approx(0.45)


def test_trust_decays_geometrically_in_isolation(tiny_config):
    model = CollectiveImpactModel(tiny_config.isolated())
    start = model.trust.copy()
    for _ in range(5):
        model.step()
    decay = tiny_config.collaboration.trust_decay
    np.testing.assert_allclose(model.trust, start * (1 - decay) ** 5)


def test_bayes_update_by_hand():
    mean, precision = bayes_update(np.array([0.0]), np.array([1.0]), np.array([1.0]),
                                   np.array([3.0]))
    assert mean[0] == pytest.approx(0.75)
    assert precision[0] == pytest.approx(4.0)


def test_pooled_learning_reduces_belief_error_faster(tiny_config):
    """Same world, same seeds: partners sharing comparable data find the best interventions
    sooner than organizations learning from their own noisy, biased data alone."""
    base = tiny_config.with_values({
        "population.size": 2000, "organizations.count": 40, "funding.pool": 2_000_000.0,
        "funding.backbone_share": 0.08, "backbone.initial_participation": 1.0,
        "backbone.data_maturity_rate": 0.3, "collaboration.metric_agreement": 1.0,
        "learning.observation_noise": 0.15,
        "organizations.initial_trust": 0.8,
        "collaboration.control_tightness": 0.0, "run.steps": 12, "run.burn_in": 0})
    own_only = base.with_values({"conditions.shared_measurement": False})
    errors = []
    for seed in range(5):
        pooled = CollectiveImpactModel(base, seed=seed).run().learning_error.iloc[-1]
        alone = CollectiveImpactModel(own_only, seed=seed).run().learning_error.iloc[-1]
        errors.append((pooled, alone))
    pooled, alone = np.array(errors).T
    assert (pooled < alone).sum() >= 4
    assert pooled.mean() < 0.8 * alone.mean()  # measured: about two thirds


def test_referrals_need_maturity_agreement_and_trust(tiny_config):
    """Referral share is zero if any of the three is missing."""
    config = tiny_config.with_values({"backbone.initial_participation": 1.0,
                                      "organizations.initial_trust": 0.9})
    model = CollectiveImpactModel(config)
    model.data_maturity = 0.0
    assert model._referral_share().max() == 0.0  # data system not matured
    model.data_maturity = 0.8
    assert model._referral_share().max() > 0.0
    model.trust[:] = config.collaboration.trust_share_threshold  # trust too low to share
    assert model._referral_share().max() == 0.0
    no_metrics = CollectiveImpactModel(config.with_values({
        "collaboration.metric_agreement": 0.0}))
    no_metrics.data_maturity = 0.8
    assert no_metrics._referral_share().max() == 0.0


def test_referrals_go_to_the_neediest_recorded_people_not_known_to_be_served(tiny_config):
    """With exact records, referral finds the neediest among those the data system holds,
    skipping those a sharing partner already serves, and nobody without a record."""
    model = CollectiveImpactModel(tiny_config.with_values({"learning.screening_noise": 0.0}))
    people = model.people
    people.handoff[:] = np.nan  # no hand-offs here (see the hand-off test)
    cells = len(people.cells)
    record = np.full(cells, np.nan)
    recorded = people.area_cells[2][::2]  # the data system knows every other person in stage 2
    status = people.current(model.status)
    record[recorded] = status[recorded]
    served = np.zeros(cells, dtype=bool)
    neediest = recorded[np.argsort(status[recorded])[:10]]
    served[neediest[:3]] = True
    chosen = model._refer(2, 7, {"record": record, "served": served})
    assert set(chosen) == set(people.cell_person[neediest[3:]])
    assert (people.stage[chosen] == 2).all()


def test_referrals_with_many_ties_are_the_first_in_order(tiny_config):
    """Thousands of records on a coarse scale: the referred set is exactly a stable sort's
    first n, which a bare partition's order would not give."""
    model = CollectiveImpactModel(tiny_config)
    people = model.people
    people.handoff[:] = np.nan
    cells = people.area_cells[1]
    record = np.full(len(people.cells), np.nan)
    record[cells] = np.round(np.random.default_rng(0).random(len(cells)), 1)
    candidates = people.cell_person[cells]
    for n in (1, 37, 100):
        chosen = model._refer(1, n, {"record": record,
                                     "served": np.zeros(len(people.cells), dtype=bool)})
        stable = np.sort(candidates[np.argsort(record[cells], kind="stable")[:n]])
        assert chosen.tolist() == stable.tolist()
    assert len(model._refer(1, 0, {"record": record,
                                   "served": np.zeros(len(people.cells), dtype=bool)})) == 0


def test_referrals_break_ties_by_order_whatever_the_partition(tiny_config):
    """Equal records at the cut-off: the first in order are referred, so no numpy version's
    partition order can change who is."""
    model = CollectiveImpactModel(tiny_config)
    people = model.people
    people.handoff[:] = np.nan
    cells = people.area_cells[1]
    record = np.full(len(people.cells), np.nan)
    record[cells[:6]] = [0.3, 0.2, 0.2, 0.1, 0.2, 0.2]  # four tied at 0.2 for three places
    served = np.zeros(len(people.cells), dtype=bool)
    chosen = model._refer(1, 4, {"record": record, "served": served})
    assert chosen.tolist() == sorted(people.cell_person[cells[[1, 2, 3, 4]]].tolist())


def test_participation_costs_capacity_from_the_day_it_joins(tiny_config):
    """Participants buy fewer services with the same grant from the first quarter on."""
    config = tiny_config.with_values({"backbone.initial_participation": 1.0,
                                      "backbone.leave_rate": 0.0,
                                      "collaboration.participation_cost": 0.2,
                                      "funding.evidence_weight": 0.0})
    model = CollectiveImpactModel(config)
    model.step()
    wanted = model.grants.sum() * 0.8 / config.funding.cost_per_service
    assert model.participating.all()
    # unbiased rounding of 12 organizations x 6 areas: within a few services
    assert model.indicators["services"] == pytest.approx(wanted, abs=12)


def _screen(intake, window, width, start, rows, positions, status, noise, slots, K=1):
    return kernels.screen_intake(
        np.array(intake), np.array(window), np.array(width), np.array(start),
        np.array(rows), positions, K, np.array(status, dtype=float),
        np.array(noise, dtype=np.float32), 0.5, np.array(slots))


def test_intake_window_wraps_around_the_catchment_and_the_ring_by_hand():
    # one organization, one area, one cohort; its catchment of 5 neighbourhoods starts at 8
    # on a ring of 10; a window of 3 from place 4: places 4, 0, 1 -> positions 2, 8, 9
    status = np.linspace(0.0, 0.9, 10)
    org, area, group, person, measured, rank, chosen = _screen(
        [3], [4], [5], [8], [[0]], 10, status, [0.0, 0.0, 0.0], [2])
    assert person.tolist() == [2, 8, 9]
    assert measured.tolist() == pytest.approx(status[[2, 8, 9]].tolist())
    assert rank.tolist() == [0, 1, 2] and chosen.tolist() == [True, True, False]
    assert org.tolist() == [0, 0, 0] and area.tolist() == [0, 0, 0]


def test_intake_spans_the_cohorts_of_a_stage_by_hand():
    # a stage of two cohorts (rows 0 and 1 of 3 positions each): place p is cohort p % 2 at
    # neighbourhood p // 2; window of 3 from place 5 of 6, catchment from position 1:
    # places 5, 0, 1 -> (position 0, cohort 1), (1, 0), (1, 1) -> people 3, 1, 4
    org, area, group, person, *_ = _screen([3], [5], [6], [1], [[0, 1]], 3, np.zeros(6),
                                           [0.0, 0.0, 0.0], [3])
    assert person.tolist() == [3, 1, 4]


def test_screening_noise_moves_the_ranking_by_hand():
    # equal true status; noise x 0.5 makes the second applicant look neediest
    *_, measured, rank, chosen = _screen([3], [0], [3], [0], [[0]], 3, [0.4, 0.4, 0.4],
                                         [0.2, -0.2, 0.0], [1])
    assert measured.tolist() == pytest.approx([0.5, 0.3, 0.4])
    assert rank.tolist() == [2, 0, 1] and chosen.tolist() == [False, True, False]


def test_ranking_in_blocks_is_ranking_all_at_once():
    # organization-areas of no applicant, of more than a block (kernels.RANK_BLOCK) and of
    # 1,500, their status on 40 levels so that ties abound: blocks of whole groups give every
    # rank a ranking of all applicants at once gives
    rng = np.random.default_rng(4)
    sizes = [0, 40_000, 0] + [1500] * 30 + [0]
    groups, positions = len(sizes), 50_000
    assert sizes[1] > kernels.RANK_BLOCK and sum(sizes) > 2 * kernels.RANK_BLOCK
    status = rng.integers(0, 40, positions) / 40
    *_, group, person, measured, rank, chosen = _screen(
        sizes, rng.integers(0, positions, groups), [positions] * groups, [0] * groups, [[0]],
        positions, status, np.zeros(sum(sizes)), [700] * groups)
    levels = np.array([kernels.screen_level(x) for x in measured], dtype=np.uint16)
    assert np.array_equal(rank, kernels.rank_in_groups(levels, group, groups))
    assert (chosen == (rank < 700)).all() and len(np.unique(measured)) <= 40
    assert np.bincount(group, minlength=groups).tolist() == sizes


def test_service_gains_add_up_per_person_and_diminish_by_hand():
    # two services to person 0 (area 0), one to person 1; theta 0.1, expertise 0.5
    theta = np.full((1, 1, 1), 0.1)
    expertise = np.full((1, 1), 0.5)
    status = np.array([0.4, 0.0])
    total, count = kernels.sum_service_gains(
        np.array([0, 0, 0]), np.array([0, 0, 0]), np.array([0, 0, 1]), np.array([0, 0, 0]),
        theta, expertise, status, 1, np.array([0.5]), 0.0, np.zeros(2, dtype=np.int64), False,
        2)
    assert total.tolist() == pytest.approx([2 * 0.03, 0.05]) and count.tolist() == [2, 1]
    kernels.add_gains(status, np.array([0, 1]), total, count, per_service_gain(2, 0.5))
    assert status.tolist() == pytest.approx([0.4 + 0.03 * 1.5, 0.05])


def test_a_service_outside_the_persons_stage_is_an_error():
    # in a pipeline, person 1 is in stage 1: a service to them in area 0 cannot be
    with pytest.raises(ValueError, match="outside the person's current stage"):
        kernels.sum_service_gains(
            np.array([0]), np.array([0]), np.array([1]), np.array([0]),
            np.full((1, 2, 1), 0.1), np.full((1, 2), 0.5), np.zeros(4), 2, np.array([0.5, 0.5]),
            0.0, np.array([0, 1]), True, 2)
