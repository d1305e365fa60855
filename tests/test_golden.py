"""A golden table: short runs of a small world that any refactoring must reproduce.

A change to the model that is meant to change results regenerates the table, in the same
commit that says why:

    UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

Values are compared to 1e-12 (relative): reductions may round differently on another
numpy, but no change of mechanism, random stream or tie-breaking can hide in that.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from collective_impact.model import Config, run_model

GOLDEN = Path(__file__).resolve().parent / "golden" / "small_runs.csv"
COLUMNS = ["composite_index", "measured_composite_index", "indicators_trending",
           "duplication", "unmet_need", "learning_error", "trust", "participation",
           "program_spending", "backbone_spending", "services", "referral_share",
           "data_maturity", "metric_agreement", "alignment", "outcome_per_million"]


def small_world() -> Config:
    return Config.from_dict({
        "scenario": {"name": "golden"},
        "run": {"steps": 12, "burn_in": 8},
        "population": {"size": 2400},
        "organizations": {"count": 12, "catchment_share": 0.3, "initial_trust": 0.6},
        "funding": {"pool": 400_000.0, "backbone_share": 0.1},
        "backbone": {"initial_participation": 0.8, "data_maturity_rate": 0.3},
    })


def table() -> pd.DataFrame:
    config = small_world()
    arms = {"collective": config, "isolated": config.isolated(),
            "no pipeline": config.with_values({"population.pipeline": False})}
    frames = [run_model(arm, seed=seed)[["step", *COLUMNS]].assign(arm=name, seed=seed)
              for name, arm in arms.items() for seed in (1, 2)]
    return pd.concat(frames, ignore_index=True)


def test_small_runs_reproduce_the_golden_table():
    now = table()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        now.to_csv(GOLDEN, index=False, float_format="%.17g")
        pytest.skip(f"wrote {GOLDEN}")
    golden = pd.read_csv(GOLDEN)
    assert list(now.columns) == list(golden.columns)
    assert (now.arm == golden.arm).all() and (now.step == golden.step).all()
    for column in COLUMNS:
        np.testing.assert_allclose(now[column].to_numpy(float), golden[column].to_numpy(float),
                                   rtol=1e-12, atol=1e-15, err_msg=column)
    # the referral mechanism and the pipeline are exercised, not only the isolated path
    collective = now[now.arm == "collective"]
    assert collective.referral_share.max() > 0 and collective.metric_agreement.max() > 0
