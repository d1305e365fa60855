"""Throughput of a robustness-style sweep: runs per second with 1 and 2 workers, loky and Dask.

    python benchmarks/bench_sweep.py [--worlds 200] [--policies 1] [--workers 1 2]
                                     [--backends loky dask]

The workload is the robust_funding study's (configs/experiments/robust_funding.toml):
``--worlds`` distinct Latin-hypercube worlds of the default scenario over every uncertain
parameter, each with its first ``--policies`` backbone shares and both arms on one seed.
The runs of one world share one burn-in. First the same runs are timed in this process
with no sweep machinery (``run_world`` world by world); then each sweep is a fresh one into
a temporary folder, timed from the first task to the combined table, including starting
the workers, scheduling, hashing and writing every batch. The sweep machinery's overhead is
the one-worker sweep's time over the direct time, less one. For reference, the direct runs
are also split between two plain processes started together, with no sweep machinery: their
speed-up over the direct time is what this machine gives two processes of this workload.

Target (issue: throughput for robustness studies): 10,000 paired default runs (20,000
model runs) in under 10 minutes on 2 cores, a 2-worker speed-up of at least 1.9 with loky
and close to it with Dask, and sweep overhead under 10%.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

from collective_impact.experiments.design import load_experiment
from collective_impact.experiments.robustness import sample_worlds
from collective_impact.experiments.sweep import make_plan, run_sweep, world_groups
from collective_impact.model import Config, run_world

TARGET_PAIRS, TARGET_SECONDS = 10_000, 600


def workload(n_worlds: int, n_policies: int):
    experiment = load_experiment("robust_funding")
    policies = list(experiment.policies)[:n_policies]
    points = [{"policy": name, **experiment.policies[name], **world}
              for world in sample_worlds(experiment, n_worlds) for name in policies]
    return experiment, points


def run_groups(plan, groups) -> None:
    """Each group's runs (one world and seed) from one burn-in, in this process."""
    for rids, seed in groups:
        run_world([Config.from_dict(plan.tasks[rid][0]) for rid in rids], seed)


def time_direct(experiment, points) -> tuple[float, int]:
    """The plan's runs, world by world in this process, with nothing else."""
    plan = make_plan(experiment, points)
    groups = world_groups(plan, list(plan.tasks))
    start = time.perf_counter()
    run_groups(plan, groups)
    return time.perf_counter() - start, len(plan.tasks)


def _direct_part(n_worlds, n_policies, part, parts, barrier, results) -> None:
    plan = make_plan(*workload(n_worlds, n_policies))
    groups = world_groups(plan, list(plan.tasks))[part::parts]
    run_groups(plan, groups[:1])  # warm-up: compiled kernels
    barrier.wait(timeout=600)  # every process warmed up: start together
    start = time.perf_counter()
    run_groups(plan, groups)
    results.put(time.perf_counter() - start)


def time_side_by_side(n_worlds: int, n_policies: int, parts: int) -> tuple[float, int]:
    """The direct runs split between ``parts`` plain processes running at once, with no
    sweep machinery: the longest one's time, after each has warmed up, and how many
    processes there were."""
    plan = make_plan(*workload(n_worlds, n_policies))
    parts = min(parts, len(world_groups(plan, list(plan.tasks))))  # no part without runs
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(parts), context.Queue()
    processes = [context.Process(target=_direct_part,
                                 args=(n_worlds, n_policies, part, parts, barrier, results))
                 for part in range(parts)]
    for process in processes:
        process.start()
    try:
        times = [results.get(timeout=3600) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    return max(times), parts


def time_sweep(experiment, points, workers: int, backend: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_sweep(experiment, Path(folder) / "out", jobs=workers, backend=backend,
                  progress=False, points=points, kind="robustness")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=200)
    parser.add_argument("--policies", type=int, default=1, help="backbone shares per world")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backends", nargs="+", choices=("loky", "dask"),
                        default=["loky", "dask"])
    args = parser.parse_args()
    experiment, points = workload(args.worlds, args.policies)
    time_direct(experiment, points[: 2 * args.policies])  # warm-up: compiled kernels
    direct, runs = time_direct(experiment, points)
    print(f"{args.worlds} worlds x {args.policies} policies of the default scenario "
          f"({experiment.base.population.size:,} people, {experiment.base.run.burn_in}+"
          f"{experiment.base.run.steps} quarters): {runs} distinct runs")
    print(f"direct, one process: {direct:.1f} s, {runs / direct:.2f} runs/s")
    side_by_side, parts = time_side_by_side(args.worlds, args.policies, 2)
    if parts == 2:  # one world is one task: nothing to split
        print(f"direct, two plain processes side by side: {side_by_side:.1f} s, speed-up "
              f"{direct / side_by_side:.2f} (what the machine gives two processes)")
    print(f"{'backend':>7s} {'workers':>7s} {'seconds':>8s} {'runs/s':>7s} {'speed-up':>8s} "
          f"{'overhead':>8s} {'10,000 pairs':>12s}")
    for backend in args.backends:
        one = None  # the one-worker time, against which the speed-up is measured
        for workers in sorted(args.workers):
            seconds = time_sweep(experiment, points, workers, backend)
            if workers == 1:
                one = seconds
            speed_up = f"{one / seconds:8.2f}" if one else f"{'-':>8s}"
            overhead = f"{seconds / direct - 1:8.1%}" if workers == 1 else f"{'':8s}"
            projected = 2 * TARGET_PAIRS / (runs / seconds)
            print(f"{backend:>7s} {workers:7d} {seconds:8.1f} {runs / seconds:7.2f} "
                  f"{speed_up} {overhead} {projected / 60:9.1f} min")
    print(f"target: {TARGET_PAIRS:,} pairs in {TARGET_SECONDS // 60} min on 2 cores")


if __name__ == "__main__":
    main()
