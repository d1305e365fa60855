"""Time single runs of the default and Strive-scale scenarios.

    python benchmarks/bench_model.py [--repeats 5]

Reports the best and median wall time of one collective run (the isolated arm is
cheaper), including the isolated burn-in before the collaborative starts, steps per
second and person-area updates per second (burn-in quarters counted). Target: one
default run under 0.3 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from collective_impact.model import CollectiveImpactModel, load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
TARGET_SECONDS = {"default": 0.3}


def time_run(config, repeats: int) -> list[float]:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        CollectiveImpactModel(config, seed=i).run()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'scenario':10s} {'people':>7s} {'orgs':>5s} {'steps':>9s} {'best s':>8s} "
          f"{'median s':>9s} {'steps/s':>8s} {'person-area updates/s':>22s}  target")
    for name in ("default", "strive"):
        config = load_config(CONFIGS / f"{name}.toml")
        times = time_run(config, args.repeats)
        best, median = min(times), statistics.median(times)
        steps = config.run.steps + config.run.burn_in
        live = 1 if config.population.pipeline else config.population.areas
        updates = config.population.size * live * steps
        target = TARGET_SECONDS.get(name)
        verdict = "" if target is None else (
            f"under {target} s" if median < target else f"OVER {target} s")
        print(f"{name:10s} {config.population.size:7d} {config.organizations.count:5d} "
              f"{config.run.burn_in:3d}+{config.run.steps:<5d} {best:8.3f} {median:9.3f} "
              f"{steps / median:8.1f} {updates / median:22.3e}  {verdict}")


if __name__ == "__main__":
    main()
