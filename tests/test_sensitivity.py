"""Sensitivity analysis: the pipeline reproduces known indices (Ishigami, a linear function)
and runs the model through the sweep machinery, resumably."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami

from collective_impact.experiments.cli import main
from collective_impact.experiments.design import ExperimentError, load_experiment
from collective_impact.experiments.sensitivity import (
    compute_indices,
    problem_from_experiment,
    run_sensitivity,
)

ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
# Analytic indices for a = 7, b = 0.1 (Sobol' & Levitan 1999; SALib's documentation).
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]
# With 4096 x (3 + 2) = 20,480 evaluations the Monte Carlo error of each index is about
# 0.01-0.02 (the bootstrap half-widths SALib reports); 0.05 leaves room without hiding
# a wrong estimator (a swapped S1/ST or a missing factor is off by 0.1 or more).
TOLERANCE = 0.05


def test_sobol_reproduces_analytic_ishigami_indices():
    result = compute_indices(ISHIGAMI, "sobol", 4096, Ishigami.evaluate, seed=11)
    table = result.table.set_index("parameter")
    assert len(result.samples) == 4096 * 5
    np.testing.assert_allclose(table.S1, ISHIGAMI_S1, atol=TOLERANCE)
    np.testing.assert_allclose(table.ST, ISHIGAMI_ST, atol=TOLERANCE)
    assert (table.S1_conf < TOLERANCE).all() and (table.ST_conf < TOLERANCE).all()


def test_morris_elementary_effects_of_a_linear_function_are_exact():
    # Elementary effects of y = 2 a - 3 b are the slope times the parameter's range.
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 2], [-1, 1], [5, 6]]}
    result = compute_indices(problem, "morris", 8, lambda X: 2 * X[:, 0] - 3 * X[:, 1],
                             seed=3)
    table = result.table.set_index("parameter")
    np.testing.assert_allclose(table.mu, [4.0, -6.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(table.mu_star, [4.0, 6.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(table.sigma, 0.0, atol=1e-9)


def test_latin_hypercube_prcc_finds_the_deciding_inputs():
    """y = 2a - b + noise, c irrelevant: PRCC near +1 for a, clearly negative for b, and an
    interval around 0 for c; the share of sampled points with y > 0 is reported."""
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1], [0, 1], [0, 1]]}
    noise = np.random.default_rng(5).normal(0, 0.1, 400)
    result = compute_indices(problem, "lhs", 400,
                             lambda X: 2 * X[:, 0] - X[:, 1] - 0.4 + noise, seed=2)
    table = result.table.set_index("parameter")
    assert len(result.samples) == 400
    # Latin hypercube: every tenth of each range holds a tenth of the points
    for j in range(3):
        assert np.all(np.histogram(result.samples[:, j], bins=10, range=(0, 1))[0] == 40)
    assert table.PRCC["a"] > 0.9 and table.PRCC["b"] < -0.7
    assert table.PRCC_lo["c"] < 0 < table.PRCC_hi["c"]
    assert table.share_positive.iloc[0] == pytest.approx(np.mean(result.outputs > 0))


def test_plausible_ranges_come_from_the_schema(tmp_path):
    path = tmp_path / "robust.toml"
    path.write_text('[experiment]\nname = "r"\n[uncertainties]\n'
                    '"collaboration.trust_growth" = "plausible"\n')
    factor = load_experiment(path).factors[0]
    assert factor.bounds == (0.04, 0.25) and factor.values is None
    path.write_text('[experiment]\nname = "r"\n[uncertainties]\n'
                    '"funding.backbone_share" = "plausible"\n')
    with pytest.raises(ExperimentError, match="no plausible range in the schema"):
        load_experiment(path)


def test_evaluation_must_return_one_value_per_sample():
    with pytest.raises(ValueError, match="expected"):
        compute_indices(ISHIGAMI, "morris", 2, lambda X: X, seed=1)


def write_experiment(folder, levers: str) -> object:
    path = folder / "sens.toml"
    path.write_text(f"""
[experiment]
name = "sens"
scenario = "configs/default.toml"
replications = 1
seed = 5
outcomes = ["composite_index"]

[base]
population.size = 300
organizations.count = 10
run.steps = 6

[levers]
{levers}
""")
    return path


def test_problem_needs_ranges(tmp_path):
    path = write_experiment(tmp_path, '"funding.backbone_share" = [0.0, 0.1]')
    with pytest.raises(ExperimentError, match="needs a range .* for funding.backbone_share"):
        problem_from_experiment(load_experiment(path))


def test_model_sensitivity_runs_through_the_sweep_and_resumes(tmp_path, capsys):
    path = write_experiment(tmp_path, """
"funding.backbone_share" = { min = 0.0, max = 0.3 }
"organizations.count" = { min = 5, max = 20 }
""")
    problem = problem_from_experiment(load_experiment(path))
    assert problem["bounds"] == [[0.0, 0.3], [5.0, 20.0]]
    out = tmp_path / "out"
    args = ["sensitivity", str(path), "--method", "morris", "--n", "3", "--jobs", "1",
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    table = pd.read_csv(out / "indices.csv")
    assert list(table.parameter) == ["funding.backbone_share", "organizations.count"]
    assert np.isfinite(table[["mu_star", "sigma"]]).all().all()
    # A backbone share from 0 to 30% changes the gain over isolated impact.
    assert table.set_index("parameter").mu_star["funding.backbone_share"] > 0
    assert (out / "sensitivity.png").is_file()
    samples = pd.read_parquet(out / "samples.parquet")
    assert len(samples) == 3 * (2 + 1)
    assert samples["organizations.count"].between(5, 20).all()
    runs = pd.read_parquet(out / "runs.parquet")
    assert pd.api.types.is_integer_dtype(runs["organizations.count"])  # rounded before running

    assert main(args) == 0  # everything on disk: nothing rerun, same indices
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert [s["runs_executed"] for s in sessions][-1] == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv"), table)
    capsys.readouterr()


def test_model_sobol_on_the_collective_index(tmp_path):
    path = write_experiment(tmp_path, '"collaboration.metric_agreement" = {min = 0.0, max = 1.0}'
                                      '\n"funding.backbone_share" = {min = 0.0, max = 0.2}')
    result = run_sensitivity(load_experiment(path), "sobol", 8, "composite_index",
                             tmp_path / "sobol", progress=False)
    assert list(result.table.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(pd.read_parquet(tmp_path / "sobol" / "samples.parquet")) == 8 * 4
    assert np.isfinite(result.table[["S1", "ST"]]).all().all()
