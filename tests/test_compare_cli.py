"""The main job end to end: `collective-impact compare` and `run` as a user calls them."""

import json

import pandas as pd
import pytest

from collective_impact.experiments.cli import main
from collective_impact.experiments.provenance import read_provenance
from collective_impact.model import run_model


@pytest.fixture
def tiny_file(tmp_path, tiny_config):
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_config.to_toml())
    return path


def test_compare_writes_tables_manifest_and_figures(tmp_path, tiny_file, capsys):
    out = tmp_path / "out"
    assert main(["compare", str(tiny_file), "--seeds", "3", "--jobs", "1", "--quiet",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for outcome in ("composite_index", "indicators_trending", "duplication", "unmet_need",
                    "outcome_per_million", "on_track_early_reading"):
        assert outcome in printed
    assert "paired by seed" in printed
    for name in ("steps.parquet", "runs.parquet", "comparison.csv", "manifest.json",
                 "composite_index.png", "areas.png"):
        assert (out / name).stat().st_size > 0, name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["population"]["size"] == 2400
    assert len(manifest["seeds"]) == 3
    assert manifest["versions"]["mesa"].startswith("3.")
    assert {"git_commit", "created"} <= manifest.keys()
    assert read_provenance(out / "steps.parquet")["seeds"] == manifest["seeds"]
    steps = pd.read_parquet(out / "steps.parquet")
    assert set(steps.arm) == {"isolated", "collective"}
    assert steps.groupby(["arm", "seed"]).size().eq(9).all()  # 8 quarters + the start
    table = pd.read_csv(out / "comparison.csv")
    row = table.set_index("outcome").loc["composite_index"]
    assert row["difference"] == pytest.approx(row["collective"] - row["isolated"])
    assert row["difference_lo"] <= row["difference"] <= row["difference_hi"]


def test_compare_is_the_same_serial_and_parallel(tmp_path, tiny_file):
    for jobs in ("1", "2"):
        main(["compare", str(tiny_file), "--seeds", "2", "--jobs", jobs, "--quiet",
              "--out", str(tmp_path / jobs)])
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "1" / "steps.parquet"),
                                  pd.read_parquet(tmp_path / "2" / "steps.parquet"))


def test_run_writes_one_table(tmp_path, tiny_file, capsys):
    assert main(["run", str(tiny_file), "--seed", "5", "--out", str(tmp_path)]) == 0
    assert "composite index" in capsys.readouterr().out
    steps = pd.read_parquet(tmp_path / "run_collective_seed5.parquet")
    assert len(steps) == 9 and (steps.seed == 5).all()
    assert read_provenance(tmp_path / "run_collective_seed5.parquet")["seed"] == 5


def test_unknown_scenario_file_is_one_clear_line(capsys):
    assert main(["compare", "configs/nope.toml", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "scenario file not found: configs/nope.toml" in err


def test_compare_includes_the_scenarios_own_seed(tmp_path, tiny_file, tiny_config):
    """An exported dashboard scenario or a single `run` reappears exactly in `compare`."""
    out = tmp_path / "out"
    main(["compare", str(tiny_file), "--seeds", "2", "--jobs", "1", "--quiet",
          "--out", str(out)])
    steps = pd.read_parquet(out / "steps.parquet")
    own = steps[(steps.seed == tiny_config.run.seed) & (steps.arm == "collective")]
    expected = run_model(tiny_config, seed=tiny_config.run.seed)
    pd.testing.assert_frame_equal(own.drop(columns=["arm", "seed"]).reset_index(drop=True),
                                  expected, check_dtype=False)
