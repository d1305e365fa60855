"""Each mechanism on a tiny case whose answer can be worked out by hand."""

import numpy as np
import pytest

from collective_impact.model import CollectiveImpactModel
from collective_impact.model.agents import coverage, function_intensity
from collective_impact.model.config import BACKBONE_FUNCTIONS
from collective_impact.model.model import bayes_update, combined_gain, service_gain, updated_trust
from collective_impact.model.people import carried_target, prerequisite_factor


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
    two_to_one_person = combined_gain(np.array([2 * g]), np.array([2]), d)[0]
    one_each = combined_gain(np.array([g, g]), np.array([1, 1]), d).sum()
    assert two_to_one_person == pytest.approx(g * (1 + d))  # 0.026
    assert one_each == pytest.approx(2 * g)  # 0.04
    assert two_to_one_person < one_each
    # three services: g (1 + d + d^2); nobody served gains nothing
    assert combined_gain(np.array([3 * g]), np.array([3]), d)[0] == pytest.approx(
        g * (1 + d + d * d))
    assert combined_gain(np.array([0.0]), np.array([0]), d)[0] == 0.0


def test_no_diminishing_returns_when_decay_is_one():
    assert combined_gain(np.array([0.06]), np.array([3]), 1.0)[0] == pytest.approx(0.06)


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
