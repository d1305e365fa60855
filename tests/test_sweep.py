"""Sweeps: the same table serial, parallel and on Dask; resuming a killed sweep; refusing a
changed experiment; common random numbers across points and arms."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from collective_impact.experiments import sweep
from collective_impact.experiments.cli import main
from collective_impact.experiments.design import ExperimentError, load_experiment
from collective_impact.experiments.sweep import run_sweep
from collective_impact.model import Config, run_model

REPO = Path(__file__).resolve().parent.parent
TINY_BASE = """
[base]
population.size = 300
organizations.count = 10
run.steps = 6
"""


def write_experiment(folder: Path, replications: int = 3, shares=(0.0, 0.1),
                     complementarity=(0.2, 0.8)) -> Path:
    path = folder / "tiny.toml"
    path.write_text(f"""
[experiment]
name = "tiny"
description = "a tiny sweep for tests"
scenario = "configs/default.toml"
replications = {replications}
seed = 7
outcomes = ["composite_index", "outcome_per_million", "participation"]
{TINY_BASE}
[levers]
"funding.backbone_share" = {list(shares)}

[uncertainties]
"problem.complementarity" = {list(complementarity)}
""")
    return path


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_experiment(tmp_path)


def test_plan_shares_seeds_across_points_and_arms(tiny, tmp_path):
    result = run_sweep(load_experiment(tiny), tmp_path / "out", progress=False)
    runs = result.runs
    assert len(runs) == 2 * 2 * 2 * 3  # shares x complementarity x arms x replications
    # Common random numbers: one seed per replication, whatever the point or arm.
    assert (runs.groupby("replication").seed.nunique() == 1).all()
    assert runs.seed.nunique() == 3
    # The isolated arm does not depend on the backbone share, so it is run once per world.
    assert result.executed == 2 * 2 * 3 + 2 * 3
    assert runs.run_id.nunique() == result.executed
    # With no backbone money (s = 0) the collective arm is the isolated world itself.
    at_zero = runs[runs["funding.backbone_share"] == 0.0]
    wide = at_zero.pivot_table(index=["point", "replication"], columns="arm",
                               values="composite_index")
    pd.testing.assert_series_equal(wide.collective, wide.isolated, check_names=False)
    # ...while a funded backbone changes outcomes in at least some runs.
    funded = runs[runs["funding.backbone_share"] == 0.1].pivot_table(
        index=["point", "replication"], columns="arm", values="participation")
    assert (funded.collective > funded.isolated).any()


def test_serial_parallel_and_dask_give_identical_tables(tiny, tmp_path):
    experiment = load_experiment(tiny)
    serial = run_sweep(experiment, tmp_path / "serial", jobs=1, progress=False).runs
    loky = run_sweep(experiment, tmp_path / "loky", jobs=2, progress=False).runs
    pytest.importorskip("dask.distributed")
    dask = run_sweep(experiment, tmp_path / "dask", jobs=2, backend="dask",
                     progress=False).runs
    pd.testing.assert_frame_equal(serial, loky, check_exact=True)
    pd.testing.assert_frame_equal(serial, dask, check_exact=True)


def test_runs_of_one_world_and_seed_are_one_task_and_equal_single_runs(tiny, tmp_path):
    """Both arms and every backbone share of a world and seed share one burn-in (one task);
    each result is what a run of its own would give."""
    experiment = load_experiment(tiny)
    plan = sweep.make_plan(experiment, experiment.grid_points())
    groups = sweep.world_groups(plan, list(plan.tasks))
    # 2 complementarity worlds x 3 seeds; each: 1 isolated + 2 backbone shares
    assert len(groups) == 2 * 3 and all(len(rids) == 3 for rids, _ in groups)
    # fewer worlds than workers: split, so no worker idles (each part its own burn-in)
    split = sweep.world_groups(plan, list(plan.tasks), workers=12)
    assert len(split) >= 12 and sorted(r for rids, _ in split for r in rids) == sorted(plan.tasks)
    result = run_sweep(experiment, tmp_path / "out", progress=False)
    for _, row in result.runs.sample(4, random_state=1).iterrows():
        config, seed = plan.tasks[row.run_id]
        alone = run_model(Config.from_dict(config), seed=seed)
        assert row.composite_index == alone.composite_index.iloc[-1]


def test_local_dask_workers_do_not_trim_malloc():
    # Dask's default MALLOC_TRIM_THRESHOLD_=65536 doubles the time of a model run.
    pytest.importorskip("dask.distributed")
    from joblib import Parallel, delayed

    from collective_impact.experiments.sweep import parallel_backend

    def read_worker_environment(name):
        return __import__("os").environ.get(name, "unset")

    with parallel_backend("dask", 1) as n_jobs:
        seen = Parallel(n_jobs=n_jobs)(
            delayed(read_worker_environment)(name)
            for name in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS"))
    assert seen == ["unset", "1"]  # trimming off; Dask's other worker settings kept


def test_rerun_skips_everything_and_changed_experiment_is_refused(tmp_path):
    path = write_experiment(tmp_path)
    out = tmp_path / "out"
    first = run_sweep(load_experiment(path), out, progress=False)
    again = run_sweep(load_experiment(path), out, progress=False)
    assert (again.executed, again.skipped) == (0, first.executed)
    pd.testing.assert_frame_equal(first.runs, again.runs, check_exact=True)

    path.write_text(path.read_text().replace("a tiny sweep", "a renamed tiny sweep"))
    assert run_sweep(load_experiment(path), out, progress=False).executed == 0  # same runs

    write_experiment(tmp_path, shares=(0.0, 0.2))
    with pytest.raises(ExperimentError, match="different experiment.*--out"):
        run_sweep(load_experiment(path), out, progress=False)
    with pytest.raises(ExperimentError, match="different experiment"):
        run_sweep(load_experiment(write_experiment(tmp_path), replications=4), out,
                  progress=False)


def test_results_of_another_model_version_are_not_mixed(tiny, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_sweep(load_experiment(tiny), out, progress=False)
    monkeypatch.setattr(sweep, "model_fingerprint", lambda: "edited-model")
    with pytest.raises(ExperimentError, match="another version of the model"):
        run_sweep(load_experiment(tiny), out, progress=False)


def test_folder_without_manifest_is_refused(tiny, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("someone else's")
    with pytest.raises(ExperimentError, match="no manifest.json"):
        run_sweep(load_experiment(tiny), out, progress=False)


def test_killed_sweep_resumes_to_the_uninterrupted_table(tmp_path):
    # 8 x 5 collective points + 5 isolated worlds, 5 seeds: 225 runs, a few seconds serially.
    shares = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2)
    path = write_experiment(tmp_path, replications=5, shares=shares,
                            complementarity=(0.0, 0.25, 0.5, 0.75, 1.0))
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "experiments", "sweep", str(path), "--out", str(killed),
         "--jobs", "1", "--quiet", "--steps-tables"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(list(killed.glob("runs/*.parquet"))) < 3:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "sweep wrote no results in time"
            time.sleep(0.02)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert not (killed / "runs.parquet").exists()  # killed before the end

    experiment = load_experiment(path, steps_tables=True)
    resumed = run_sweep(experiment, killed, progress=False)
    done_before = resumed.skipped
    total = resumed.runs.run_id.nunique()
    assert 30 <= done_before < total
    assert resumed.executed == total - done_before  # no finished run made twice
    parts = pd.concat(pd.read_parquet(p) for p in killed.glob("runs/*.parquet"))
    assert parts.run_id.is_unique and len(parts) == total
    sessions = json.loads((killed / "manifest.json").read_text())["sessions"]
    assert [s["finished"] is None for s in sessions] == [True, False]
    assert sessions[-1]["runs_executed"] == resumed.executed

    whole = run_sweep(experiment, tmp_path / "whole", progress=False)
    pd.testing.assert_frame_equal(resumed.runs, whole.runs, check_exact=True)
    pd.testing.assert_frame_equal(resumed.steps, whole.steps, check_exact=True)
    assert len(whole.steps) == len(whole.runs) * 7  # steps 0..6 of every row


def test_cli_sweep_writes_tables_and_figure(tmp_path, capsys):
    path = write_experiment(tmp_path, replications=2)
    path.write_text(path.read_text() + """
[figure]
kind = "lines"
x = "funding.backbone_share"
hue = "problem.complementarity"
outcomes = ["composite_index", "gain:composite_index"]
""")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    # 2 x 2 points x 2 arms x 2 seeds = 16 rows; isolated worlds shared across shares: 12 runs
    assert "16 rows (12 runs made now, 0 already done)" in printed
    for name in ("runs.parquet", "summary.csv", "tiny.png", "manifest.json"):
        assert (out / name).is_file(), name
    info = json.loads((out / "manifest.json").read_text())
    assert info["experiment"]["text"] == path.read_text()
    assert info["base_config"]["population"]["size"] == 300
    assert info["versions"]["mesa"] and "git_commit" in info
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.series) == {"isolated", "collective", "gain"}
    assert (summary.n == 2).all()
