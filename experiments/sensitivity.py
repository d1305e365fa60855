"""Global sensitivity analysis with SALib: Sobol' indices, Morris screening, and a
Latin hypercube with partial rank correlation coefficients (PRCC; Marino et al. 2008)
for robustness: in how many plausible worlds does collective impact gain, and which
uncertain parameters decide it.

The evaluation is pluggable: ``compute_indices`` takes any ``evaluate(X) -> Y``.
``run_sensitivity`` plugs in the model, run through the sweep machinery (parallel,
resumable, one folder per analysis); the tests plug in SALib's Ishigami function,
whose indices are known analytically.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from collective_impact.experiments.design import (
    DEFAULT_N,
    SENSITIVITY_METHODS,
    Experiment,
    ExperimentError,
    check_outcome,
    default_outcome,
)
from collective_impact.experiments.provenance import read_provenance, write_table
from collective_impact.experiments.sweep import outcome_values, run_sweep

MORRIS_LEVELS = 4
BOOTSTRAP_RESAMPLES = 200


@dataclass
class Indices:
    samples: np.ndarray  # X, one row per evaluated point
    outputs: np.ndarray  # Y
    table: pd.DataFrame  # one row per parameter


@dataclass
class SensitivityResult:
    out_dir: Path
    method: str
    outcome: str
    table: pd.DataFrame


def problem_from_experiment(experiment: Experiment) -> dict:
    """The SALib problem: every lever and uncertainty given as a range ``{min, max}``."""
    factors = experiment.factors
    if not factors:
        raise ExperimentError(f"{experiment.source}: sensitivity analysis needs levers or "
                              f"uncertainties given as ranges {{min = ..., max = ...}}")
    for factor in factors:
        if factor.bounds is None:
            raise ExperimentError(f"{experiment.source}: sensitivity analysis needs a range "
                                  f"{{min = ..., max = ...}} for {factor.key}, not a list")
    return {"num_vars": len(factors), "names": [f.key for f in factors],
            "bounds": [list(f.bounds) for f in factors]}


def sample(problem: dict, method: str, n: int, seed: int) -> np.ndarray:
    """Sobol': n * (D + 2) points (n a power of 2); Morris: n trajectories of D + 1 points;
    Latin hypercube: n points."""
    _check_method(method)
    if method == "lhs":
        from SALib.sample import latin
        return latin.sample(problem, n, seed=seed)
    if method == "sobol":
        from SALib.sample import sobol
        with warnings.catch_warnings():  # SALib warns when n is not a power of 2
            warnings.simplefilter("ignore", UserWarning)
            return sobol.sample(problem, n, calc_second_order=False, seed=seed)
    from SALib.sample import morris
    return morris.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)


def analyse(problem: dict, method: str, X: np.ndarray, Y: np.ndarray,
            seed: int) -> pd.DataFrame:
    """Indices with 95% bootstrap confidence half-widths (``*_conf``), one row per parameter."""
    _check_method(method)
    if method == "lhs":
        return prcc(problem["names"], X, Y)
    if method == "sobol":
        from SALib.analyze import sobol
        si = sobol.analyze(problem, Y, calc_second_order=False, conf_level=0.95,
                           num_resamples=BOOTSTRAP_RESAMPLES, seed=seed)
        columns = ("S1", "S1_conf", "ST", "ST_conf")
    else:
        from SALib.analyze import morris
        si = morris.analyze(problem, X, Y, conf_level=0.95, num_levels=MORRIS_LEVELS,
                            num_resamples=BOOTSTRAP_RESAMPLES, seed=seed)
        columns = ("mu", "mu_star", "mu_star_conf", "sigma")
    table = pd.DataFrame({c: np.asarray(si[c], dtype=float) for c in columns})
    table.insert(0, "parameter", problem["names"])
    return table


def prcc(names: list[str], X: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
    """Partial rank correlation of each input with the output, the others' ranks partialled
    out, with a 95% interval (Fisher's z), plus the output's share above 0 (its sign
    over the sample, e.g. the share of worlds where collective beats isolated)."""
    from scipy import stats

    n, d = X.shape
    ranks = np.column_stack([stats.rankdata(X[:, j]) for j in range(d)])
    ry = stats.rankdata(Y)
    rows = []
    for j, name in enumerate(names):
        others = np.column_stack([np.ones(n), np.delete(ranks, j, axis=1)])
        res_x = ranks[:, j] - others @ np.linalg.lstsq(others, ranks[:, j], rcond=None)[0]
        res_y = ry - others @ np.linalg.lstsq(others, ry, rcond=None)[0]
        r = float(np.corrcoef(res_x, res_y)[0, 1])
        half = stats.norm.ppf(0.975) / np.sqrt(max(n - 3 - (d - 1), 1))
        lo, hi = np.tanh(np.arctanh(r) - half), np.tanh(np.arctanh(r) + half)
        rows.append({"parameter": name, "PRCC": r, "PRCC_lo": float(lo), "PRCC_hi": float(hi)})
    table = pd.DataFrame(rows)
    table["share_positive"] = float(np.mean(Y > 0))
    return table


def compute_indices(problem: dict, method: str, n: int,
                    evaluate: Callable[[np.ndarray], np.ndarray], seed: int = 0) -> Indices:
    """Sample, evaluate (any function of the sample matrix) and analyse."""
    X = sample(problem, method, n, seed)
    Y = np.asarray(evaluate(X), dtype=float)
    if Y.shape != (len(X),):
        raise ValueError(f"evaluate returned shape {Y.shape}; expected ({len(X)},)")
    return Indices(X, Y, analyse(problem, method, X, Y, seed))


def model_evaluator(experiment: Experiment, outcome: str, out_dir: Path, method: str, n: int,
                    **sweep_options) -> Callable[[np.ndarray], np.ndarray]:
    """``evaluate(X)`` for the model: each row of X is a point of the experiment, run on every
    replication's seed (both arms if the outcome is a gain); Y is the mean over seeds."""
    problem = problem_from_experiment(experiment)
    whole = [f.kind is int for f in experiment.factors]

    def evaluate(X: np.ndarray) -> np.ndarray:
        # Whole-number parameters (organizations, steps) are rounded: their indices
        # describe the rounded inputs.
        points = [{name: (int(round(v)) if is_int else float(v))
                   for name, v, is_int in zip(problem["names"], row, whole, strict=True)}
                  for row in X]
        info = {"sensitivity": {"method": method, "n": n, "outcome": outcome,
                                "problem": problem}}
        result = run_sweep(experiment, out_dir, points=points, kind="sensitivity", extra=info,
                           **sweep_options)
        values = outcome_values(result.runs, outcome, [])
        return values.groupby("point").value.mean().reindex(range(len(X))).to_numpy()

    return evaluate


def run_sensitivity(experiment: Experiment, method: str | None = None, n: int | None = None,
                    outcome: str | None = None, out_dir: str | Path | None = None,
                    **sweep_options) -> SensitivityResult:
    """Sensitivity of ``outcome`` to the experiment's ranges; writes indices and samples."""
    settings = experiment.sensitivity
    method = method or settings.get("method", "sobol")
    _check_method(method)
    n = n or settings.get("n", DEFAULT_N[method])
    outcome = outcome or settings.get("outcome") or default_outcome(experiment.both_arms)
    check_outcome(experiment, outcome, "sensitivity outcome")
    out = Path(out_dir or Path("results") / f"{experiment.name}-{method}")
    problem = problem_from_experiment(experiment)
    evaluate = model_evaluator(experiment, outcome, out, method, n, **sweep_options)
    result = compute_indices(problem, method, n, evaluate, seed=experiment.seed)
    provenance = read_provenance(out / "runs.parquet")
    samples = pd.DataFrame(result.samples, columns=problem["names"]).assign(
        **{outcome: result.outputs})
    write_table(samples, out / "samples.parquet", provenance)
    write_table(result.table, out / "indices.parquet", provenance)
    result.table.to_csv(out / "indices.csv", index=False, float_format="%.6g")
    return SensitivityResult(out, method, outcome, result.table)


def _check_method(method: str) -> None:
    if method not in SENSITIVITY_METHODS:
        raise ExperimentError(f"unknown sensitivity method '{method}'; allowed: "
                              f"{', '.join(SENSITIVITY_METHODS)}")
