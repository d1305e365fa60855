"""The pipeline, hand-offs, metric agreement, shocks and the report card, by hand."""

import numpy as np
import pytest

from collective_impact.model import CollectiveImpactModel, Config, ConfigError, load_config
from collective_impact.model.measurement import survey, trending
from collective_impact.model.people import Population


def _population(**population) -> Population:
    config = Config.from_dict({"population": {"size": 24, "areas": 3, "stage_years": 2,
                                              **population},
                               "problem": {"complementarity": 0.5},
                               "funding": {"pool": 1000.0}})
    return Population(config, np.random.default_rng(1), np.random.default_rng(2))


# ------------------------------------------------------------------ ageing
def test_people_sit_in_one_stage_by_age():
    people = _population()  # 3 stages x 2 years = 6 yearly cohorts of 4
    assert (people.M, people.years, people.positions) == (24, 6, 4)
    assert people.stage.tolist() == [0] * 8 + [1] * 8 + [2] * 8
    assert people.in_stage.sum(axis=1).tolist() == [1] * 24
    assert people.stage_size == 8
    # a place in a stage: position (place // 2) in the younger (even) or older (odd) cohort
    assert people.person(1, np.array([0, 1, 2, 7])).tolist() == [8, 12, 9, 15]


def test_a_cohort_enters_ages_and_leaves():
    people = _population()
    people.status[:] = 0.5
    oldest = np.arange(20, 24)  # row 5, age 5: the last year of the last stage
    old_baseline = people.baseline[oldest].copy()
    people.age_one_year()
    # the oldest cohort left; a newborn cohort took its row, at fresh baselines
    assert people.row_age().tolist() == [1, 2, 3, 4, 5, 0]
    assert (people.stage[oldest] == 0).all()
    assert not np.allclose(people.baseline[oldest], old_baseline)
    np.testing.assert_array_equal(people.status[oldest], people.baseline[oldest])
    # row 1 (age 1 -> 2) entered stage 1, carrying half of how far stage 0 left it above base
    movers = np.arange(4, 8)
    assert (people.stage[movers] == 1).all() and people.entering[movers].all()
    expected = np.clip(people.baseline[movers, 1]
                       + 0.5 * (0.5 - people.baseline[movers, 0]), 0.01, 0.99)
    np.testing.assert_allclose(people.status[movers, 1], expected)
    np.testing.assert_allclose(people.target[movers, 1], expected)
    # row 0 (age 0 -> 1) stays in stage 0 and is not entering
    assert (people.stage[:4] == 0).all() and not people.entering[:4].any()
    for _ in range(5):
        people.age_one_year()
    assert people.row_age().tolist() == [0, 1, 2, 3, 4, 5]  # six years: full circle


def test_without_a_pipeline_everyone_is_in_every_area_and_nobody_ages():
    people = _population(pipeline=False)
    assert people.M == 24 and people.in_stage.all()
    status = people.status.copy()
    people.age_one_year()
    np.testing.assert_array_equal(people.status, status)


def test_drift_moves_only_the_current_stage():
    people = _population()
    people.status[:] = 0.9
    people.target[:] = 0.5
    people.drift(0.1, offset=0.0)
    live = people.in_stage
    np.testing.assert_allclose(people.status[live], 0.86)
    np.testing.assert_allclose(people.status[~live], 0.9)
    people.drift(1.0, offset=-0.1)  # a shock lowers the target
    np.testing.assert_allclose(people.status[live], 0.4)


def test_change_in_early_stages_reaches_late_stages_years_later():
    """A one-off rise in the first stage shows up in the last stage only after the cohort has
    moved through the stages in between: through the flow, not a delay parameter."""
    people = _population(baseline_sd=0.0)
    people.complementarity = 1.0
    first = people.stage == 0
    people.status[first, 0] += 0.1
    last_mean = []
    for _ in range(6):
        people.age_one_year()
        last = people.stage == 2
        last_mean.append(float((people.status[last, 2] - people.baseline[last, 2]).mean()))
    # stage 0's two cohorts reach the last stage in years 3-4 (at c = 1 they carry it all)
    assert last_mean[0] == pytest.approx(0.0) and last_mean[1] == pytest.approx(0.0)
    assert last_mean[2] > 0.04 and last_mean[3] > 0.09


def test_a_pipeline_needs_a_person_per_cohort():
    with pytest.raises(ConfigError, match="population.size = 10 is out of range"):
        Config.from_dict({"population": {"size": 10, "areas": 6},
                          "funding": {"pool": 1000.0}})


# ------------------------------------------------------------------ hand-offs
def test_a_record_is_handed_on_to_the_next_stage_for_its_first_year():
    people = _population()
    record = np.full(people.M, np.nan)
    record[[4, 5]] = [0.2, 0.7]  # the data system recorded two people of row 1 (stage 0)
    people.keep_records(record)
    people.age_one_year()  # row 1 enters stage 1
    assert people.handoff[4] == 0.2 and people.handoff[5] == 0.7
    assert np.isnan(people.handoff[[0, 1, 6, 7]]).all()
    assert np.isnan(people.last_record[[4, 5]]).all()
    fresh = np.full(people.M, np.nan)
    fresh[5] = 0.6  # a record in the new stage replaces the hand-off
    people.keep_records(fresh)
    assert np.isnan(people.handoff[5]) and people.last_record[5] == 0.6
    people.age_one_year()  # a hand-off serves the first year only
    assert np.isnan(people.handoff[4])


def test_referrals_reach_handed_on_people_and_none_without_shared_measurement(tiny_config):
    config = tiny_config.with_values({"learning.screening_noise": 0.0})
    model = CollectiveImpactModel(config, seed=2)
    people = model.people
    cells = len(people.cells)
    empty = {"record": np.full(cells, np.nan), "served": np.zeros(cells, dtype=bool)}
    people.handoff[:] = np.nan
    model.data_maturity, model.agreement = 1.0, 1.0  # records of both stages match
    stage2 = np.flatnonzero(people.stage == 2)
    people.handoff[stage2[:5]] = [0.1, 0.2, 0.9, 0.3, 0.8]
    chosen = model._refer(2, 3, empty)
    assert set(chosen) == set(stage2[[0, 1, 3]])  # the three most off track by hand-off
    model.agreement = 0.0  # the stages' records cannot be matched: no hand-off
    assert len(model._refer(2, 3, empty)) == 0
    # without shared measurement there is no data system, so no records to hand on
    off = CollectiveImpactModel(config.with_values({"conditions.shared_measurement": False}),
                                seed=2)
    off.run(8)
    assert np.isnan(off.people.handoff).all() and np.isnan(off.people.last_record).all()


# ------------------------------------------------------------------ metric agreement
def test_metric_agreement_grows_by_the_work_of_agreeing(tiny_config):
    config = tiny_config.with_values({"backbone.initial_participation": 1.0,
                                      "backbone.leave_rate": 0.0,
                                      "organizations.initial_trust": 0.5,
                                      "collaboration.metric_agreement": 0.2,
                                      "collaboration.agreement_ceiling": 0.8,
                                      "collaboration.agreement_rate": 0.5})
    model = CollectiveImpactModel(config, seed=3)
    model.intensity = dict(model.intensity, strategic_direction=1.0, data_management=0.5)
    model.trust[:] = 0.35  # at the sharing threshold: nobody willing, no agreement
    model._agree_on_metrics()
    assert model.agreement == pytest.approx(0.2)
    model.trust[:] = 0.675  # willingness to share (0.675 - 0.35) / (1 - 0.35) = 0.5
    model._agree_on_metrics()
    # 0.2 + 0.5 x (1.0 x 0.5 x 0.5) x (0.8 - 0.2) = 0.275
    assert model.agreement == pytest.approx(0.275)
    df = model.run()
    assert df.metric_agreement.is_monotonic_increasing
    assert df.metric_agreement.iloc[-1] <= 0.8


@pytest.mark.parametrize("failure", [
    {"conditions.common_agenda": False},           # no common agenda to agree around
    {"collaboration.agreement_ceiling": 0.2},      # partners cannot agree further
    {"effort.strategic_direction": 0.0},           # no facilitation of the agenda
])
def test_agreement_on_metrics_can_stay_low(tiny_config, failure):
    config = tiny_config.with_values({"backbone.initial_participation": 1.0,
                                      "collaboration.metric_agreement": 0.2, **failure})
    df = run_to_end(config)
    assert df.metric_agreement.max() == pytest.approx(0.2)


def run_to_end(config):
    return CollectiveImpactModel(config, seed=4).run()


def test_agreement_in_force_is_zero_without_shared_measurement(tiny_config):
    df = run_to_end(tiny_config.with_values({"conditions.shared_measurement": False}))
    assert (df.metric_agreement == 0.0).all()


# ------------------------------------------------------------------ shocks and trend
def test_a_recession_cuts_the_pool_for_its_quarters_in_both_arms(tiny_config):
    config = tiny_config.with_values({"shock.start": 2, "shock.duration": 3,
                                      "shock.pool_cut": 0.25, "run.steps": 6})
    for arm in (config, config.isolated()):
        df = CollectiveImpactModel(arm, seed=5).run()
        pool = df.funding_pool.to_numpy()[1:]
        np.testing.assert_allclose(pool, [4e5, 3e5, 3e5, 3e5, 4e5, 4e5])


def test_shipped_recession_scenario_lowers_outcomes_while_it_lasts():
    config = load_config("recession").with_values({"population.size": 6000,
                                                   "organizations.count": 20,
                                                   "funding.pool": 1_000_000.0,
                                                   "run.burn_in": 12})
    calm = config.with_values({"shock.duration": 0})
    end = config.shock.start + config.shock.duration - 1
    hit = CollectiveImpactModel(config.isolated(), seed=6).run().composite_index.iloc[end]
    base = CollectiveImpactModel(calm.isolated(), seed=6).run().composite_index.iloc[end]
    # two years at the drift rate reach most of the drop; services make up a little of it
    assert hit < base - 0.3 * config.shock.status_drop


def test_a_trend_moves_status_targets_from_the_start_only(tiny_config):
    up = tiny_config.with_values({"population.trend": 0.02})
    flat = CollectiveImpactModel(tiny_config.isolated(), seed=7)
    rising = CollectiveImpactModel(up.isolated(), seed=7)
    np.testing.assert_array_equal(flat.status, rising.status)  # same burn-in
    gap = rising.run().composite_index.iloc[-1] - flat.run().composite_index.iloc[-1]
    assert gap > 0.005  # two years at +0.02 a year, status following at the drift rate


# ------------------------------------------------------------------ the report card
def test_survey_indicators_by_hand():
    values = np.array([[0.2, 0.4, 0.7, 0.9]])
    quintile = np.array([[0, 1, 4, 4]])
    result = survey(values, quintile, threshold=0.6)
    assert result.level[0] == pytest.approx(0.55)
    assert result.on_track[0] == pytest.approx(0.5)
    assert result.gap[0] == pytest.approx(0.8 - 0.2)
    assert result.level_se[0] == pytest.approx(values.std(ddof=1) / 2)
    later = survey(values + 0.05, quintile, threshold=0.6)
    assert trending(later, result).tolist() == [[True, False, False]]  # the gap did not close


def test_a_world_that_does_not_move_trends_about_half_by_chance():
    """Sampling noise alone: in a static world the report card's count is a coin toss per
    indicator, so it cannot saturate by construction."""
    rng = np.random.default_rng(8)
    quintile = rng.integers(0, 5, (6, 400))

    def sample():
        return survey(rng.normal(0.5, 0.1, (6, 400)), quintile, 0.6)

    shares = [trending(sample(), sample()).mean() for _ in range(300)]
    # a tie in the share on track (a count out of 400) does not count: a little under half
    assert np.mean(shares) == pytest.approx(0.49, abs=0.03)


def test_the_report_card_is_yearly_and_its_sample_is_the_same_in_both_arms(tiny_config):
    collective = CollectiveImpactModel(tiny_config, seed=9).run()
    isolated = CollectiveImpactModel(tiny_config.isolated(), seed=9).run()
    measured = collective.measured_composite_index.to_numpy()
    assert (measured[1:4] == measured[0]).all() and measured[4] != measured[0]
    assert collective.indicators_total.iloc[0] == 18
    assert collective.indicators_trending.between(0, 18).all()
    assert measured[0] == isolated.measured_composite_index.iloc[0]


def test_a_trend_reaches_every_stage_once_not_lost_at_entry_nor_carried_twice(tiny_config):
    """+0.01 a year for ten years moves every stage's target by 0.1. Status follows at the
    drift rate (in the steady state a lag of slope x (1 - rate) / rate = 0.0225), and
    entrants start at the moved target, so each stage ends between 0.0775 and 0.1 up, all
    stages alike: the trend is neither lost at entry nor carried twice at c = 1."""
    config = tiny_config.with_values({"run.steps": 40, "population.trend": 0.01,
                                      "problem.complementarity": 1.0}).isolated()
    flat = CollectiveImpactModel(config.with_values({"population.trend": 0.0}), seed=8).run()
    rising = CollectiveImpactModel(config, seed=8).run()
    stages = [c for c in rising.columns if c.startswith("mean_")]
    rise = (rising[stages].iloc[-1] - flat[stages].iloc[-1]).to_numpy()
    assert ((rise > 0.0775) & (rise < 0.1)).all(), rise  # measured: 0.088 in every stage
    assert np.ptp(rise) < 0.003
