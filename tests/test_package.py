"""The project as an installed package: one namespace, shipped scenarios found by name,
a Mesa-native model front, readable result files and honest provenance."""

from __future__ import annotations

import fcntl
import inspect
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import matplotlib.pyplot as plt
import mesa
import numpy as np
import pytest

from collective_impact.experiments import provenance
from collective_impact.experiments.cli import main
from collective_impact.experiments.design import ExperimentError, load_experiment
from collective_impact.experiments.experiment_figures import _format_axis, percent
from collective_impact.experiments.sweep import LOCK_NAME, folder_lock, run_sweep
from collective_impact.model import (
    CollectiveImpactModel,
    Config,
    ConfigError,
    load_config,
    shipped_scenarios,
)

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ shipped files by name
def test_shipped_scenarios_and_experiments_are_found_by_name_from_any_folder(tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder with no configs/ of its own
    assert list(shipped_scenarios())[0] == "default"
    assert {"strive", "tight_control"} <= set(shipped_scenarios())
    assert load_config("default") == load_config(REPO / "configs" / "default.toml")
    assert load_config("configs/strive.toml").scenario.name == "strive"
    experiment = load_experiment("funding")  # its scenario '../default.toml' resolves too
    assert experiment.base == load_config("default")
    assert load_experiment("configs/experiments/ablation.toml").name == "ablation"


def test_unknown_names_list_what_is_shipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"did you mean 'strive'\?.*shipped scenarios: "
                                          r"default, "):
        load_config("strivee")
    with pytest.raises(ExperimentError, match="shipped experiments: .*funding"):
        load_experiment("nope")


def test_a_file_in_the_current_folder_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("default.toml").write_text('[scenario]\nname = "mine"\n[run]\nsteps = 3\n')
    assert load_config("default.toml").scenario.name == "mine"
    assert load_config("default").scenario.name == "default"  # a bare name is shipped


def test_scenarios_command_lists_both_kinds(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert "default" in out and "underfunded_backbone" in out and "sensitivity" in out


# ------------------------------------------------------------------ Mesa-native front
def test_model_takes_dotted_and_flat_scenario_fields(tiny_config):
    model = CollectiveImpactModel(tiny_config, seed=1, funding_backbone_share=0.2,
                                  **{"run.steps": 3})
    assert model.config.funding.backbone_share == 0.2 and model.config.run.steps == 3
    by_name = CollectiveImpactModel("default", seed=1)
    assert by_name.config.population.size == load_config("default").population.size
    with pytest.raises(ConfigError, match="did you mean 'funding_backbone_share'"):
        CollectiveImpactModel(tiny_config, fundin_backbone_share=0.2)
    with pytest.raises(ConfigError, match=r"funding.backbone_share = 2.0 is out of range"):
        CollectiveImpactModel(tiny_config, funding_backbone_share=2.0)


def test_no_seed_means_a_fresh_one_that_is_recorded_and_repeats(tiny_config):
    first, second = CollectiveImpactModel(tiny_config), CollectiveImpactModel(tiny_config)
    assert first.seed_value != second.seed_value
    assert first.config.run.seed == first.seed_value
    again = CollectiveImpactModel(tiny_config, seed=first.seed_value)
    assert first.run().equals(again.run())
    with pytest.raises(ConfigError, match="seed = -1"):
        CollectiveImpactModel(tiny_config, seed=-1)


def test_running_turns_false_at_the_horizon(tiny_config):
    model = CollectiveImpactModel(tiny_config, seed=1)
    while model.running:
        model.step()
    assert model.steps == tiny_config.run.steps
    assert len(model.results()) == tiny_config.run.steps + 1


def test_mesa_batch_run_drives_the_model(tiny_config):
    """Two values of a lever, two iterations each: every run stops at the horizon, and the
    two iterations of a value are different worlds (distinct fresh seeds)."""
    params = {"config": [tiny_config], "funding_backbone_share": [0.0, 0.2]}
    newer = "rng" in inspect.signature(mesa.batch_run).parameters  # Mesa 3.5 and later
    if newer:  # rng=None per iteration: each model draws a fresh seed, as with iterations
        rows = mesa.batch_run(CollectiveImpactModel, params, rng=[None, None], max_steps=1000,
                              number_processes=1, display_progress=False)
    else:
        rows = mesa.batch_run(CollectiveImpactModel, params, iterations=2, max_steps=1000,
                              number_processes=1, display_progress=False)
    assert len(rows) == 4
    assert {row["funding_backbone_share"] for row in rows} == {0.0, 0.2}
    # batch_run would run to max_steps (1000) if `running` never turned False; the row it
    # reports is the horizon's (Mesa 3.3's runner reads the row before it, see README)
    horizon = tiny_config.run.steps
    assert {row["Step"] for row in rows} == ({horizon} if newer else {horizon - 1})
    for share in (0.0, 0.2):
        pair = [row["composite_index"] for row in rows if row["funding_backbone_share"] == share]
        assert pair[0] != pair[1]  # two fresh seeds: two worlds


def test_numpy_values_count_as_the_numbers_they_stand_for(tiny_config):
    config = tiny_config.with_values({"organizations.count": np.int64(30),
                                      "funding.backbone_share": np.float64(0.1),
                                      "conditions.backbone": np.bool_(False)})
    assert config.organizations.count == 30 and type(config.organizations.count) is int
    assert config.conditions.backbone is False
    with pytest.raises(ConfigError, match="must be a whole number"):
        tiny_config.with_values({"organizations.count": np.float64(2.5)})


def test_a_pool_too_large_to_run_is_refused_with_the_allowed_amount():
    with pytest.raises(ConfigError, match=r"funding.pool = 1e\+12 is out of range .* allowed "
                                          r"here: funding.pool <= 1.2e\+09"):
        Config.from_dict({"funding": {"pool": 1e12}})
    Config.from_dict({"funding": {"pool": 1e9}})  # large, but allowed


# ------------------------------------------------------------------ command line
@pytest.mark.parametrize("argv", [["run", "default", "--seed", "-1"],
                                  ["compare", "default", "--seed", "x"]])
def test_bad_seed_is_one_clear_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err


# ------------------------------------------------------------------ result files
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_result_files_get_the_mode_of_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        provenance.write_json(tmp_path / "manifest.json", {"a": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "manifest.json").stat().st_mode & 0o777 == mode


def test_compare_manifest_records_the_model_and_the_projects_commit(tmp_path, tiny_config):
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_config.to_toml())
    main(["compare", str(path), "--seeds", "2", "--jobs", "1", "--quiet", "--out",
          str(tmp_path / "out")])
    info = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert info["model_fingerprint"] == provenance.model_fingerprint()
    if (REPO / ".git").exists():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
        assert info["git_commit"].removesuffix("-dirty") == head


def test_no_commit_is_recorded_from_someone_elses_repository(tmp_path, monkeypatch):
    """Installed inside another git repository (a venv in a project folder), the package
    must not record that repository's commit."""
    other = tmp_path / "their_project"
    (other / "site-packages" / "collective_impact").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    monkeypatch.setattr(provenance, "source_root",
                        lambda: other / "site-packages" / "collective_impact")
    assert provenance.git_commit() is None


def test_share_axes_say_what_the_tick_is():
    assert [percent(v) for v in (0.0, 0.025, 0.05, 0.075, 0.1, 0.0025)] == \
        ["0%", "2.5%", "5%", "7.5%", "10%", "0.25%"]
    fig, ax = plt.subplots()
    ax.plot([0.0, 0.2], [0, 1])
    ax.set_xticks([0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2])
    _format_axis(ax.xaxis, "funding.backbone_share")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)
    assert labels[:4] == ["0%", "2.5%", "5%", "7.5%"]


# ------------------------------------------------------------------ sweeps kept apart
def test_a_second_sweep_on_a_folder_in_use_is_refused(tmp_path):
    out = tmp_path / "out"
    experiment = tmp_path / "tiny.toml"
    experiment.write_text('[experiment]\nname = "tiny"\nreplications = 1\n'
                          '[base]\n"run.steps" = 2\n"population.size" = 200\n'
                          '"organizations.count" = 4\n'
                          '[levers]\n"funding.backbone_share" = [0.0, 0.1]\n')
    with folder_lock(out):  # as a sweep running in another process holds it
        with pytest.raises(Exception, match=r"in use by another sweep \(pid \d+"):
            run_sweep(load_experiment(experiment), out, progress=False)
    result = run_sweep(load_experiment(experiment), out, progress=False)  # free again
    assert result.executed == 3  # one isolated run shared by both shares, two collective
    with open(out / LOCK_NAME) as handle:  # released when the sweep ended
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


# ------------------------------------------------------------------ the built wheel
@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(dist), str(REPO)], check=True, capture_output=True)
    return next(dist.glob("collective_impact-*.whl"))


def test_the_wheel_holds_one_namespace_and_the_shipped_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"collective_impact"}
    for shipped in ("collective_impact/configs/default.toml",
                    "collective_impact/configs/experiments/funding.toml",
                    "collective_impact/model/model.py", "collective_impact/dashboard/app.py"):
        assert shipped in names


def test_the_installed_wheel_runs_the_main_job_from_any_folder(wheel, tmp_path):
    """A plain (non-editable) install in a fresh environment outside the repository: the
    dependencies come from this test's environment through a .pth file, the project only
    from the wheel."""
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    bin_dir = env_dir / "bin"
    site = Path(subprocess.run([bin_dir / "python", "-c", "import sysconfig; print("
                                "sysconfig.get_paths()['purelib'])"], capture_output=True,
                               text=True, check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", bin_dir / "python", "install",
                    "--no-deps", "-q", str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([bin_dir / "python", "-c", "import collective_impact.model as m; "
                            "print(m.__file__)"], cwd=work, env=env, capture_output=True,
                           text=True, check=True).stdout
    assert str(site) in where and str(REPO) not in where
    done = subprocess.run([bin_dir / "collective-impact", "compare", "default", "--seeds", "2",
                           "--jobs", "1", "--quiet"], cwd=work, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert "composite_index" in done.stdout
    out = work / "results" / "default"
    for name in ("steps.parquet", "manifest.json", "composite_index.png"):
        assert (out / name).is_file()
    info = json.loads((out / "manifest.json").read_text())
    assert info["versions"]["collective-impact"] != "not installed"
    if (REPO / ".git").exists():  # the wheel says which commit it was built from
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
        assert info["git_commit"].removesuffix("-dirty") == head


def test_solaraviz_accepts_scenario_fields_as_model_params(tiny_config):
    """SolaraViz checks model_params against the model's signature before building it."""
    solara_viz = pytest.importorskip("mesa.visualization.solara_viz")
    params = {"config": tiny_config, "seed": 1,
              "funding_backbone_share": {"type": "SliderFloat", "value": 0.05, "label": "s",
                                         "min": 0.0, "max": 0.3, "step": 0.01}}
    solara_viz._check_model_params(CollectiveImpactModel.__init__, params)
    model = CollectiveImpactModel(**{**params, "funding_backbone_share": 0.2})
    assert model.config.funding.backbone_share == 0.2
