"""The benchmarks' clocks measure the model as it is: they change no draw and no result,
and leave the model as they found it."""

import collections
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from collective_impact.model import BurnIn, CollectiveImpactModel, kernels, run_world

BENCH_MODEL = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_model.py"


def bench_model():
    spec = importlib.util.spec_from_file_location("bench_model", BENCH_MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clocks_change_no_result_and_count_both_parts(tiny_config):
    bench = bench_model()
    configs = [tiny_config.isolated(), tiny_config]
    plain = run_world(configs, 5)
    build, screen = CollectiveImpactModel._build_world, kernels.screen_intake
    with bench.clocks(collections.Counter()) as spent:
        clocked = run_world(configs, 5)
    for before, after in zip(plain, clocked, strict=True):
        pd.testing.assert_frame_equal(before, after, check_exact=True)
    assert spent["random draws"] > 0 and spent["kernels"] > 0
    # the clocks are gone afterwards
    assert CollectiveImpactModel._build_world is build and kernels.screen_intake is screen


def test_clocks_count_the_world_and_burn_in_draws(tiny_config):
    """A run from scratch draws what its burn-in draws plus what a run from a copy of that
    burn-in draws; the burn-in alone draws (it is most of a run's quarters)."""
    bench = bench_model()
    with bench.clocks(collections.Counter()) as scratch:
        CollectiveImpactModel(tiny_config, seed=5).run()
    with bench.clocks(collections.Counter()) as spent:  # a copy's draws go to its clocks
        world = BurnIn(tiny_config, 5)
        burn_in = collections.Counter(spent)
        CollectiveImpactModel(tiny_config, seed=5, burn_in=world).run()
        from_copy = spent - burn_in
    assert burn_in["draw calls"] > tiny_config.run.burn_in  # a quarter draws several times
    assert from_copy["draw calls"] > 0
    assert scratch["draw calls"] == burn_in["draw calls"] + from_copy["draw calls"]
    assert scratch["kernel calls"] == burn_in["kernel calls"] + from_copy["kernel calls"]


def test_clocked_generator_draws_what_the_generator_draws():
    bench = bench_model()
    spent = collections.Counter()
    clocked = bench.ClockedGenerator(np.random.default_rng(7), spent)
    expected = np.random.default_rng(7)
    assert np.array_equal(clocked.standard_normal(5), expected.standard_normal(5))
    assert np.array_equal(clocked.integers(0, 9, 4), expected.integers(0, 9, 4))
    assert spent["random draws"] > 0
