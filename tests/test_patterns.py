"""The patterns of DESIGN.md, checked as statistics over seeds at sensible parameters.

Each test compares collective and isolated runs of the same seeds (common random
numbers), so a paired difference measures the connective tissue alone. A pattern
the model does not show is marked xfail(strict=True) with the finding; docs/ODD.md
reports it, and the test fails loudly if the model starts showing it.
"""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from collective_impact.experiments.runner import derive_seed
from collective_impact.experiments.summary import interval
from collective_impact.model import Config, load_config, run_model

pytestmark = pytest.mark.slow

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SEEDS = tuple(derive_seed(2024, i) for i in range(8))
DEFAULT = load_config(CONFIGS / "default.toml")


@cache
def _run(config: Config, seed: int):
    return run_model(config, seed=seed)


def paired_gap(config: Config, column: str = "composite_index") -> np.ndarray:
    """Collective minus isolated, per seed (rows) and quarter (columns)."""
    return np.array([(_run(config, s)[column] - _run(config.isolated(), s)[column]).to_numpy()
                     for s in SEEDS])


def final_gain(values: dict | None = None) -> np.ndarray:
    return paired_gap(DEFAULT.with_values(values or {}))[:, -1]


# Measured on these 8 seeds at commit time (docs/ODD.md, "Patterns and findings"): the gain
# at ten years is -0.0006 [-0.0009, -0.0003]. Patterns that need a positive gain are
# expected failures with that finding as the reason; if the model starts showing one, the
# strict xfail fails loudly and the finding must be re-measured.
NO_GAIN = ("Finding (docs/ODD.md, 'Patterns and findings'): against competent organizations "
           "after a realistic start, with program effects as small as the education "
           "literature finds, collective impact is behind isolated impact at ten years at the "
           "defaults (-0.0007 [-0.0011, -0.0004] on the composite index, 8 seeds); "
           "referrals, hand-offs and pooled learning return less than the backbone and "
           "working-group time cost.")


@pytest.mark.xfail(strict=True, reason=NO_GAIN)
def test_collective_beats_isolated_at_ten_years():
    mean, lo, _ = interval(final_gain())
    assert lo > 0, f"composite gain {mean:.4f}, 95% interval starts at {lo:.4f}"
    per_dollar = paired_gap(DEFAULT, "outcome_per_million")[:, -1]
    mean, lo, _ = interval(per_dollar)
    assert lo > 0, f"outcome per $1M gain {mean:.1f}, 95% interval starts at {lo:.1f}"


def test_collective_starts_below_isolated():
    """The first half of a J-curve: the connective tissue is paid from day one, while data,
    trust and referrals take quarters to build."""
    first_year = paired_gap(DEFAULT)[:, 1:5].mean(axis=1)
    mean, _, hi = interval(first_year)
    assert hi < 0, f"first-year gap {mean:.5f}, 95% interval ends at {hi:.5f}"


@pytest.mark.xfail(strict=True, reason=NO_GAIN + " The gap deepens from -0.0004 in the first "
                   "year to -0.0009 in years 2-3, then narrows to -0.0007 at ten years and "
                   "-0.0004 at twenty: the dip of a J-curve without the pull ahead.")
def test_j_curve_collective_pulls_ahead_later():
    gap = paired_gap(DEFAULT)
    assert interval(gap[:, -1])[1] > 0


@pytest.mark.xfail(strict=True, reason=NO_GAIN + " The gain falls steadily with the "
                   "backbone share (1%: -0.0001, 5%: -0.0007, 30%: -0.0052): no interior "
                   "optimum.")
def test_interior_optimum_in_backbone_share():
    none, moderate, heavy = (final_gain({"funding.backbone_share": s})
                             for s in (0.0, 0.05, 0.3))
    assert np.all(none == 0.0)  # s = 0 is isolated impact
    assert interval(moderate - none)[1] > 0
    assert interval(moderate - heavy)[1] > 0, "too much backbone starves programs"


def test_zero_backbone_share_has_no_gain_and_a_heavy_backbone_starves_programs():
    """What holds of the funding curve: s = 0 is isolation, and 30% loses far more than 5%."""
    none, moderate, heavy = (final_gain({"funding.backbone_share": s})
                             for s in (0.0, 0.05, 0.3))
    assert np.all(none == 0.0)
    assert interval(moderate - heavy)[1] > 0


@pytest.mark.xfail(strict=True, reason=NO_GAIN + " With no benefit at the defaults, a "
                   "failure mode has nothing to lose.")
@pytest.mark.parametrize("scenario", ["underfunded_backbone", "no_shared_metrics",
                                      "tight_control"])
def test_failure_modes_lose_much_of_the_benefit(scenario):
    well_run = final_gain()
    failing = paired_gap(load_config(CONFIGS / f"{scenario}.toml"))[:, -1]
    assert well_run.mean() > 0, "no benefit to lose"
    assert failing.mean() < 0.5 * well_run.mean(), (
        f"{scenario} keeps {failing.mean() / well_run.mean():.0%} of the benefit")
    assert interval(well_run - failing)[1] > 0


@pytest.mark.xfail(strict=True, reason=(
    "Finding (docs/ODD.md): at the same money per organization (and so more money per young "
    "person) the gain is -0.0003 with 15 organizations, -0.0007 with 60 and +0.0027 "
    "[+0.0017, +0.0037] with 240: positive only where four times the services crowd the "
    "same young people, not growing steadily with the number of organizations."))
def test_value_grows_with_number_of_organizations():
    # Same money per organization, so only the number of partners changes.
    gains = [final_gain({"organizations.count": n, "funding.pool": 5e6 * n / 60}).mean()
             for n in (15, 60, 240)]
    assert gains[0] < gains[1] < gains[2], gains


@pytest.mark.xfail(strict=True, reason=(
    "Finding (docs/ODD.md, 'Patterns and findings'): with program effects as small as the "
    "literature finds, pooled evaluations help more when one program's results are hard to "
    "read (observation noise 1.0 minus 0.05: +0.0004 on the gain, interval [-0.0002, "
    "+0.0009] on 8 seeds), but the difference is not significant."))
def test_value_grows_with_measurement_noise():
    quiet = final_gain({"learning.observation_noise": 0.05})
    noisy = final_gain({"learning.observation_noise": 1.0})
    mean, lo, _ = interval(noisy - quiet)
    assert lo > 0, f"noisy minus quiet gain {mean:.4f}, interval starts at {lo:.4f}"


@pytest.mark.xfail(strict=True, reason=(
    "Finding (docs/ODD.md, 'Patterns and findings'): with people moving through the pipeline "
    "and complementarity changing dependence, not productivity, the gain falls with "
    "complementarity (c = 0: -0.0004, c = 1: -0.0015): when a stage's result carries into "
    "the next, the services the connective tissue costs compound down the pipeline more "
    "than hand-offs and referrals make up."))
def test_value_grows_with_complementarity():
    independent = final_gain({"problem.complementarity": 0.0})
    pipeline = final_gain({"problem.complementarity": 1.0})
    assert interval(pipeline - independent)[1] > 0
