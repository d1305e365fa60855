"""Throughput of the sweep machinery: runs per second of the default scenario.

    python benchmarks/bench_sweep.py [--runs 200] [--workers 1 2] [--backend loky|dask]

Each measurement is a fresh sweep of ``--runs`` runs (isolated and collective arms of
the default scenario on runs/2 seeds) into a temporary folder, timed from the first
task to the combined table, including starting the workers and writing every batch.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from collective_impact.experiments.design import parse_experiment
from collective_impact.experiments.sweep import run_sweep

REPO = Path(__file__).resolve().parent.parent


def default_sweep(runs: int):
    data = {"experiment": {"name": "bench", "scenario": "configs/default.toml",
                           "replications": runs // 2, "seed": 99, "both_arms": True,
                           "outcomes": ["composite_index", "outcome_per_million"]}}
    return parse_experiment(data, REPO / "benchmarks" / "bench.toml")


def time_sweep(experiment, workers: int, backend: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_sweep(experiment, Path(folder) / "out", jobs=workers, backend=backend,
                  progress=False)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backend", choices=("loky", "dask"), default="loky")
    args = parser.parse_args()
    experiment = default_sweep(args.runs)
    runs = experiment.replications * 2
    print(f"{runs} runs of the default scenario ({experiment.base.population.size} people, "
          f"{experiment.base.organizations.count} organizations, {experiment.base.run.steps} "
          f"quarters), backend {args.backend}")
    print(f"{'workers':>7s} {'seconds':>8s} {'runs/s':>7s} {'speed-up':>8s}")
    baseline = None
    for workers in args.workers:
        seconds = time_sweep(experiment, workers, args.backend)
        baseline = baseline or seconds
        print(f"{workers:7d} {seconds:8.1f} {runs / seconds:7.2f} {baseline / seconds:8.2f}")


if __name__ == "__main__":
    main()
