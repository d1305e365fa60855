"""Robust decision making: PRIM on a known box, the robustness tables, resuming, bad input."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from collective_impact.experiments.design import ExperimentError, load_experiment
from collective_impact.experiments.robustness import (
    WORKING_ALONE,
    box_words,
    policy_table,
    prim_box,
    run_robustness,
)

pytest.importorskip("ema_workbench", reason="scenario discovery needs EMA Workbench")

REPO = Path(__file__).resolve().parent.parent

TINY = """
[experiment]
name = "tiny_robustness"
scenario = "default"
replications = 1
seed = 5
both_arms = true
outcomes = ["composite_index", "outcome_per_million"]

[base]
"population.size" = 1200
"organizations.count" = 12
"funding.pool" = 200000.0
"run.steps" = 4
"run.burn_in" = 4

[policies.low]
"funding.backbone_share" = 0.02

[policies.high]
"funding.backbone_share" = 0.2

[uncertainties]
"collaboration.participation_cost" = { min = 0.0, max = 0.1 }
"problem.effect_mean" = "plausible"
"""


def write(folder: Path, extra: str = "[robustness]\nn = 30\n", text: str = TINY) -> Path:
    path = folder / "tiny_robustness.toml"
    path.write_text(text + extra)
    return path


# ------------------------------------------------------------------ PRIM
def test_prim_recovers_a_known_box():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.random(2000), "b": rng.random(2000), "c": rng.random(2000),
                      "n": rng.integers(0, 5, 2000)})  # an integer column too (#448)
    y = ((x.a > 0.6) & (x.b < 0.3)).to_numpy()
    box = prim_box(x, y, density=0.95)  # the widest box at least 95% dense
    assert set(box["limits"]) == {"a", "b"}
    lo_a, hi_a = box["limits"]["a"]
    lo_b, hi_b = box["limits"]["b"]
    assert lo_a == pytest.approx(0.6, abs=0.03) and hi_a is None
    assert lo_b is None and hi_b == pytest.approx(0.3, abs=0.03)
    assert box["coverage"] > 0.85 and box["density"] >= 0.95
    trajectory = box["trajectory"]
    assert trajectory.coverage.iloc[0] == 1.0
    assert trajectory.density.iloc[0] == pytest.approx(y.mean())


def test_a_box_in_plain_words():
    box = {"limits": {"collaboration.trust_growth": (None, 0.08),
                      "backbone.span": (4.0, 9.5)}, "coverage": 0.41, "density": 0.93}
    assert box_words(box, "collective impact loses", 500) == (
        "collective impact loses in 93% of the worlds where trust growth is below 0.08 and "
        "span is between 4 and 9.5 (these hold 41% of the worlds where it does)")


def test_policy_table_by_hand():
    worlds = pd.DataFrame({
        "world": [0, 0, 1, 1],
        "policy": ["a", WORKING_ALONE, "a", WORKING_ALONE],
        "gain": [0.002, 0.0, -0.001, 0.0], "gain_per_million": [1.0, 0.0, -2.0, 0.0],
        "regret": [0.0, 0.002, 0.001, 0.0]})
    table = policy_table(worlds, tolerance=0.0005).set_index("policy")
    assert table.loc["a", "share_beats_isolated"] == 0.5
    assert table.loc["a", "gain_mean"] == pytest.approx(0.0005)
    assert table.loc["a", "satisficing"] == 0.5
    assert table.loc[WORKING_ALONE, "regret_max"] == pytest.approx(0.002)


# ------------------------------------------------------------------ the study
def test_robustness_tables_are_consistent_and_identical_serial_and_parallel(tmp_path):
    experiment = load_experiment(write(tmp_path))
    serial = run_robustness(experiment, out_dir=tmp_path / "serial", progress=False)
    worlds = serial.worlds
    assert worlds.world.nunique() == 30
    assert set(worlds.policy) == {"low", "high", WORKING_ALONE}
    # every world: the best option has no regret, no option has negative regret
    assert (worlds.regret >= -1e-12).all()
    assert worlds.groupby("world").regret.min().abs().max() < 1e-12
    # working alone is the isolated arm, the same in every policy's row of a world
    alone = worlds[worlds.policy == WORKING_ALONE].set_index("world").isolated
    for policy in ("low", "high"):
        rows = worlds[worlds.policy == policy].set_index("world")
        np.testing.assert_allclose(rows.isolated, alone)
        np.testing.assert_allclose(rows.gain, rows.collective - rows.isolated)
    table = serial.policies.set_index("policy")
    assert table.loc["low", "share_beats_isolated"] == pytest.approx(
        (worlds[worlds.policy == "low"].gain > 0).mean())
    assert (serial.out_dir / "summary.md").read_text().startswith("Across 30 plausible worlds")
    for name in ("worlds.parquet", "policies.csv", "boxes.csv", "gain_distribution.png",
                 "regret.png"):
        assert (serial.out_dir / name).exists() or name.endswith(".png"), name
    parallel = run_robustness(experiment, out_dir=tmp_path / "loky", jobs=2, progress=False)
    pd.testing.assert_frame_equal(serial.worlds, parallel.worlds, check_exact=True)
    pd.testing.assert_frame_equal(serial.policies, parallel.policies, check_exact=True)
    pytest.importorskip("dask.distributed")
    dask = run_robustness(experiment, out_dir=tmp_path / "dask", jobs=2, backend="dask",
                          progress=False)
    pd.testing.assert_frame_equal(serial.worlds, dask.worlds, check_exact=True)


def test_killed_robustness_study_resumes_to_the_same_tables(tmp_path):
    path = write(tmp_path, "[robustness]\nn = 80\n")
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "collective_impact", "robustness", str(path), "--out",
         str(killed), "--jobs", "1", "--quiet"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(list(killed.glob("runs/*.parquet"))) < 2:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the study wrote no results in time"
            time.sleep(0.02)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert not (killed / "worlds.parquet").exists()
    experiment = load_experiment(path)
    resumed = run_robustness(experiment, out_dir=killed, progress=False)
    whole = run_robustness(experiment, out_dir=tmp_path / "whole", progress=False)
    pd.testing.assert_frame_equal(resumed.worlds, whole.worlds, check_exact=True)


@pytest.mark.parametrize("extra, words", [
    ("[robustness]\nn = 1\n", "n = 1: must be a whole number of worlds >= 2"),
    ("[robustness]\ntolerance = -1\n", "tolerance = -1: must be a number from 0 to 1"),
    ("[robustness]\nsize = 3\n", "unknown key 'size' in [robustness]"),
    ("[robustness]\noutcome = \"trust\"\n", "outcome 'trust' is not among the kept"),
])
def test_bad_robustness_settings_are_named(tmp_path, extra, words):
    with pytest.raises(ExperimentError, match=words.replace("[", r"\[").replace("]", r"\]")):
        run_robustness(load_experiment(write(tmp_path, extra)), out_dir=tmp_path / "o")


def test_a_study_without_policies_or_with_levers_is_refused(tmp_path):
    no_policies = TINY.split("[policies.low]")[0] + TINY.split('"funding.backbone_share" = 0.2')[1]
    with pytest.raises(ExperimentError, match="needs \\[policies.<name>\\]"):
        run_robustness(load_experiment(write(tmp_path, "", no_policies)), out_dir=tmp_path / "o")
    levers = TINY + '[levers]\n"collaboration.control_tightness" = [0.1, 0.5]\n'
    with pytest.raises(ExperimentError, match="levers go in \\[policies.<name>\\]"):
        run_robustness(load_experiment(write(tmp_path, "", levers)), out_dir=tmp_path / "p")
