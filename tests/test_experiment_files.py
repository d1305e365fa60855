"""Experiment files: the headline files parse, validate and (shrunk) run to their figures;
mistakes in a file stop with one clear line naming the problem."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w

from collective_impact.experiments.cli import main
from collective_impact.experiments.design import ExperimentError, load_experiment
from collective_impact.experiments.sweep import run_sweep

REPO = Path(__file__).resolve().parent.parent
EXPERIMENTS = REPO / "configs" / "experiments"
HEADLINES = {  # file -> figure kind it must draw
    "funding": "lines",
    "jcurve": "timeseries",
    "ablation": "factorial",
    "when_it_pays": "heatmap",
    "when_it_pays_metrics": "heatmap",
    "failure_modes": "policies",
}


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_experiment_file_validates(path):
    experiment = load_experiment(path)
    assert experiment.name == path.stem
    assert experiment.description
    # a shipped scenario: the default one, or the recession for the recession experiment
    expected = "recession.toml" if path.stem == "recession" else "default.toml"
    assert experiment.scenario == str((REPO / "configs" / expected).resolve())
    assert experiment.figure or experiment.sensitivity or experiment.robustness


def test_headline_experiments_are_the_documented_designs():
    funding = load_experiment(EXPERIMENTS / "funding.toml")
    factors = {f.key: f.values for f in funding.factors}
    assert factors["organizations.count"] == (15, 60, 300)
    assert factors["funding.backbone_share"][0] == 0.0
    assert 0.25 <= factors["funding.backbone_share"][-1] <= 0.35
    ablation = load_experiment(EXPERIMENTS / "ablation.toml")
    assert len(ablation.grid_points()) == 2**5
    assert ablation.base.backbone.volunteer_coverage == 0.25
    failures = load_experiment(EXPERIMENTS / "failure_modes.toml")
    points = {p["policy"]: p for p in failures.grid_points()}
    assert points["underfunded_backbone"]["funding.backbone_share"] <= 0.02
    assert points["no_shared_metrics"]["collaboration.metric_agreement"] <= 0.2
    assert points["tight_control"]["collaboration.control_tightness"] >= 0.7
    assert points["short_horizon"]["run.steps"] == 8
    assert load_experiment(EXPERIMENTS / "jcurve.toml").base.run.steps == 40


def shrink(path: Path, folder: Path) -> Path:
    """The same experiment on a tiny world with two seeds, written to ``folder``."""
    data = tomllib.loads(path.read_text())
    data["experiment"]["scenario"] = str(REPO / "configs" / "default.toml")
    data["experiment"]["replications"] = 2
    base = data.setdefault("base", {})
    base.setdefault("population", {})["size"] = 200
    base.setdefault("run", {})["steps"] = 4
    factors = data.get("levers", {}) | data.get("uncertainties", {})
    for key, spec in factors.items():  # fewer grid points, same kind of design
        if isinstance(spec, list) and len(spec) > 2 and not isinstance(spec[0], bool):
            factors[key] = spec[:: len(spec) - 1] if key != "organizations.count" else [5, 15]
        elif isinstance(spec, dict) and "num" in spec:
            spec["num"] = 2
    for section in ("levers", "uncertainties"):
        if section in data:
            data[section] = {k: factors[k] for k in data[section]}
    small = folder / path.name
    small.write_text(tomli_w.dumps(data))
    return small


@pytest.mark.parametrize("name", sorted(HEADLINES))
def test_tiny_headline_experiment_runs_to_its_figure(name, tmp_path):
    small = shrink(EXPERIMENTS / f"{name}.toml", tmp_path)
    experiment = load_experiment(small)
    assert experiment.figure["kind"] == HEADLINES[name]
    out = tmp_path / "out"
    run_sweep(experiment, out, progress=False)
    figure = out / f"{name}.png"
    assert not figure.exists()
    runs_written = (out / "runs.parquet").stat().st_mtime_ns
    assert main(["report", str(out)]) == 0  # draws from saved results only
    assert figure.stat().st_size > 10_000
    assert (out / "runs.parquet").stat().st_mtime_ns == runs_written
    summary = pd.read_csv(out / "summary.csv")
    assert summary["mean"].notna().all()
    if name == "ablation":
        effects = pd.read_csv(out / "effects.csv")
        assert (effects.order == 1).sum() == 5 and (effects.order == 2).sum() == 10
    if name == "jcurve":
        table = pd.read_csv(out / "timeseries.csv")
        assert set(table.series) == {"isolated", "collective", "gain"}
        assert table.step.max() == 4


def test_report_redraws_a_comparison(tmp_path):
    from collective_impact.experiments.compare import compare
    from collective_impact.model import Config

    config = Config.from_dict({"population": {"size": 200}, "run": {"steps": 3}})
    out = compare(config, n_seeds=2, out_dir=tmp_path, progress=False).out_dir
    for name in ("composite_index.png", "areas.png"):
        (out / name).unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "composite_index.png").is_file() and (out / "areas.png").is_file()


def test_report_of_a_folder_that_is_not_results(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


# ----------------------------------------------------------------------------- bad files
GOOD = {
    "experiment": {"name": "bad", "scenario": "configs/default.toml", "replications": 2,
                   "outcomes": ["composite_index"]},
    "base": {"population": {"size": 200}, "run": {"steps": 3}},
    "levers": {"funding.backbone_share": [0.0, 0.1]},
}

BAD_FILES = [
    ("unknown parameter", {"levers": {"funding.backbone_shar": [0.1]}},
     ["unknown parameter 'funding.backbone_shar'", "did you mean 'funding.backbone_share'"]),
    ("unknown section", {"leverz": {}}, ["unknown section 'leverz'", "did you mean 'levers'"]),
    ("empty list", {"levers": {"funding.backbone_share": []}},
     ["funding.backbone_share: empty list"]),
    ("empty range", {"levers": {"funding.backbone_share": {"min": 0.1, "max": 0.1, "num": 3}}},
     ["funding.backbone_share: empty range"]),
    ("zero points", {"levers": {"funding.backbone_share": {"min": 0.0, "max": 0.1, "num": 0}}},
     ["empty range, num = 0"]),
    ("reversed bound", {"levers": {"funding.backbone_share": {"min": 0.3, "max": 0.1,
                                                              "num": 3}}},
     ["reversed range", "min = 0.3 is above max = 0.1"]),
    ("outside the model's range", {"levers": {"funding.backbone_share": {"min": 0.0,
                                                                         "max": 1.5}}},
     ["[levers]", "funding.backbone_share = 1.5 is out of range", "<= 0.9"]),
    ("value outside the model's range", {"uncertainties": {"problem.complementarity": [2.0]}},
     ["[uncertainties]", "problem.complementarity = 2.0 is out of range"]),
    ("unknown outcome", {"experiment": {"outcomes": ["composite_indx"]}},
     ["unknown outcome 'composite_indx'", "did you mean 'composite_index'"]),
    ("switch as range", {"levers": {"conditions.backbone": {"min": 0, "max": 1}}},
     ["conditions.backbone is a switch"]),
    ("varied twice", {"uncertainties": {"funding.backbone_share": [0.2]}},
     ["funding.backbone_share is already a lever"]),
    ("missing scenario", {"experiment": {"scenario": "configs/nowhere.toml"}},
     ["scenario file 'configs/nowhere.toml' not found"]),
    ("figure axis not varied", {"figure": {"kind": "lines", "x": "run.steps"}},
     ["[figure] x = 'run.steps' is not a lever or uncertainty"]),
    ("figure outcome not kept", {"figure": {"kind": "heatmap", "x": "funding.backbone_share",
                                            "y": "funding.backbone_share",
                                            "outcome": "gain:trust"}},
     ["'gain:trust' is not among the kept outcomes"]),
    ("bad replications", {"experiment": {"replications": 0}},
     ["replications = 0: must be a whole number >= 1"]),
    ("policy conflicts with a lever", {"policies": {"p": {"funding.backbone_share": 0.2}}},
     ["[policies.p] sets funding.backbone_share, which is also varied"]),
]


def merged(change: dict) -> dict:
    data = {section: dict(values) for section, values in GOOD.items()}
    for section, values in change.items():
        data[section] = {**data.get(section, {}), **values} if section == "experiment" \
            else values
    return data


@pytest.mark.parametrize(("what", "change", "fragments"), BAD_FILES,
                         ids=[b[0] for b in BAD_FILES])
def test_bad_experiment_file_is_refused_with_a_clear_message(what, change, fragments,
                                                             tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(merged(change)))
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert str(path) in str(caught.value)
    # The command line shows it as one line and exits 2, without a traceback.
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and fragments[0] in err
    assert not (tmp_path / "out").exists()


def test_the_good_file_itself_is_accepted(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(tomli_w.dumps(GOOD))
    assert [f.key for f in load_experiment(path).factors] == ["funding.backbone_share"]


def test_missing_and_malformed_files(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert "experiment file not found" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text("[experiment\nname = 1")
    assert main(["sweep", str(broken)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
