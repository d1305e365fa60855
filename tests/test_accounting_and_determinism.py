"""Money is conserved, runs are reproducible, and both arms share one world."""

import gc
import weakref

import numpy as np
import pandas as pd
import pytest

from collective_impact.model import (
    CONDITIONS,
    BurnIn,
    CollectiveImpactModel,
    ConfigError,
    run_model,
    run_world,
)
from collective_impact.model.config import COLLABORATIVE_ONLY, SCHEMA


@pytest.mark.parametrize("share", [0.0, 0.05, 0.3])
def test_program_plus_backbone_spending_equals_the_pool(tiny_config, share):
    config = tiny_config.with_values({"funding.backbone_share": share,
                                      "funding.max_pool_growth": 0.5})
    df = run_model(config).iloc[1:]
    np.testing.assert_allclose(df.program_spending + df.participation_cost_spending
                               + df.backbone_spending, df.funding_pool, rtol=1e-12)
    np.testing.assert_allclose(df.backbone_spending, share * df.funding_pool, rtol=1e-12)


def test_grants_sum_to_program_money_every_step(tiny_config):
    model = CollectiveImpactModel(tiny_config.with_values({"backbone.initial_participation": 1.0}))
    for _ in range(6):
        model.step()
        assert model.grants.sum() == pytest.approx(model.funding_pool - model.backbone_spending)
        assert (model.grants >= 0).all()


def test_same_config_and_seed_give_identical_tables(tiny_config):
    pd.testing.assert_frame_equal(run_model(tiny_config, seed=11), run_model(tiny_config, seed=11))


def test_different_seeds_give_different_runs(tiny_config):
    a, b = run_model(tiny_config, seed=1), run_model(tiny_config, seed=2)
    assert not np.allclose(a.composite_index, b.composite_index)


def test_arms_share_population_organizations_and_effectiveness(tiny_config):
    collective = CollectiveImpactModel(tiny_config, seed=5)
    isolated = CollectiveImpactModel(tiny_config.isolated(), seed=5)
    for name in ("theta", "theta_local", "metric_bias", "org_type",
                 "base_grant_share", "expertise", "own_agenda", "catchment_start",
                 "initial_trust", "belief_mean"):
        np.testing.assert_array_equal(getattr(collective, name), getattr(isolated, name),
                                      err_msg=name)
    for name in ("baseline", "risk", "quintile", "high_need", "stage"):
        np.testing.assert_array_equal(getattr(collective.people, name),
                                      getattr(isolated.people, name), err_msg=name)
    assert collective.backbone is not None and isolated.backbone is None


def test_zero_backbone_share_is_isolated_impact(tiny_config):
    """s = 0 with every condition switched on is exactly the isolated arm."""
    no_money = tiny_config.with_values({"funding.backbone_share": 0.0})
    pd.testing.assert_frame_equal(run_model(no_money, seed=4),
                                  run_model(tiny_config.isolated(), seed=4))


def test_step_zero_is_the_starting_state(tiny_config):
    df = run_model(tiny_config)
    assert len(df) == tiny_config.run.steps + 1
    assert df.step.tolist() == list(range(tiny_config.run.steps + 1))
    assert df.indicators_trending.iloc[0] == 0  # the baseline year is its own reference
    assert df.services.iloc[0] == 0


def test_isolated_arm_has_no_collaborative_even_with_volunteer_coverage(tiny_config):
    config = tiny_config.with_values({"backbone.volunteer_coverage": 0.25,
                                      "conditions.backbone": False})
    model = CollectiveImpactModel(config.isolated())
    model.run()
    assert not model.collaborative_active
    assert model.participating.sum() == 0
    assert model.results().participation.max() == 0.0


@pytest.mark.parametrize("key", COLLABORATIVE_ONLY)
def test_levers_reset_in_the_isolated_arm_cannot_act_there(tiny_config, key):
    """Justifies Config.isolated() resetting them: moving one to the far end of its range
    leaves an isolated run unchanged (checked without the reset)."""
    section, name = key.split(".")
    item = SCHEMA[section][name]
    far = item["hi"] if item["default"] != item["hi"] else item["lo"]
    far = min(far, 50) if isinstance(far, int | float) else far
    moved = tiny_config.with_values({key: far})
    switched_off = {"funding.backbone_share": 0.0, "backbone.volunteer_coverage": 0.0,
                    **{f"conditions.{c}": False for c in CONDITIONS}}
    pd.testing.assert_frame_equal(run_model(moved.with_values(switched_off)),
                                  run_model(tiny_config.with_values(switched_off)))
    assert moved.isolated() == tiny_config.isolated()


# A lever of every kind that acts only through a collaborative, plus the two that make it.
LEVER_CHANGES = [
    {"funding.backbone_share": 0.3},
    {"collaboration.trust_growth": 0.3, "collaboration.control_tightness": 0.5},
    {"backbone.initial_participation": 1.0, "effort.data_management": 3.0},
    {"conditions.common_agenda": False, "backbone.volunteer_coverage": 0.5},
]


@pytest.mark.parametrize("levers", LEVER_CHANGES)
def test_a_run_from_a_shared_burn_in_is_the_run_from_scratch(tiny_config, levers):
    """Both arms and every lever start from one copy of the burn-in, bit for bit."""
    burn_in = BurnIn(tiny_config, seed=7)
    for config in (tiny_config, tiny_config.isolated(), tiny_config.with_values(levers)):
        pd.testing.assert_frame_equal(
            CollectiveImpactModel(config, seed=7, burn_in=burn_in).run(),
            CollectiveImpactModel(config, seed=7).run(), check_exact=True)


def test_a_burn_in_is_not_changed_by_the_runs_started_from_it(tiny_config):
    burn_in = BurnIn(tiny_config, seed=7)
    first = CollectiveImpactModel(tiny_config, seed=7, burn_in=burn_in).run()
    again = CollectiveImpactModel(tiny_config, seed=7, burn_in=burn_in).run()
    pd.testing.assert_frame_equal(first, again, check_exact=True)


@pytest.mark.parametrize("change", [{"population.size": 1200}, {"problem.effect_mean": 0.02},
                                    {"run.burn_in": 4}, {"funding.pool": 300_000.0},
                                    {"organizations.count": 10},
                                    {"learning.screening_noise": 0.2},
                                    {"shock.duration": 4}])
def test_a_burn_in_of_another_world_is_refused(tiny_config, change):
    burn_in = BurnIn(tiny_config, seed=7)
    name = next(iter(change))
    with pytest.raises(ConfigError, match=f"another world: {name}"):
        CollectiveImpactModel(tiny_config.with_values(change), seed=7, burn_in=burn_in)
    with pytest.raises(ConfigError, match="seed 7, not 8"):
        CollectiveImpactModel(tiny_config, seed=8, burn_in=burn_in)


def test_run_world_gives_each_scenario_its_separate_run(tiny_config):
    configs = [tiny_config.isolated(), tiny_config,
               tiny_config.with_values({"funding.backbone_share": 0.2}),
               tiny_config.with_values({"problem.effect_mean": 0.02})]  # another world
    for table, config in zip(run_world(configs, seed=5), configs, strict=True):
        pd.testing.assert_frame_equal(table, run_model(config, seed=5), check_exact=True)


def _models_alive() -> int:
    gc.collect()
    return sum(isinstance(o, CollectiveImpactModel) for o in gc.get_objects())


def test_a_released_run_is_freed(tiny_config):
    """Thousands of runs in one worker must not pile up in memory (Mesa 3.3 kept every
    model alive): once released, a run and its burn-in's model are garbage."""
    before = _models_alive()  # earlier tests' unreleased models may linger on Mesa 3.3
    burn_in = BurnIn(tiny_config, seed=2)
    assert _models_alive() == before
    model = CollectiveImpactModel(tiny_config, seed=2, burn_in=burn_in)
    model.run()
    model.release()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
    run_world([tiny_config, tiny_config.isolated()], seed=3)
    assert _models_alive() == before
