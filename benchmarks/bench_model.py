"""Time single runs: the default and Strive-scale scenarios, both arms, by sub-step.

    python benchmarks/bench_model.py [--repeats 5] [--substeps] [--memory]

A paired run is what a comparison makes of one seed: the isolated burn-in once
(``BurnIn``), then the isolated and the collective arm from copies of it (``run_world``).
Reports the best and median wall time over ``--repeats`` seeds, after one warm-up run (the compiled
kernels are loaded then). ``--substeps`` adds the time per quarter of each mechanism of
the quarter (and of the outputs), for one default collective run; ``--memory`` the peak
memory of a run of the largest population allowed (2,000,000 people, the pool scaled with
it so services per person stay as in the default), in a process of its own.

Targets (issue: throughput for robustness studies): a default paired run under 0.05 s,
Strive scale under 0.5 s, the 2-million-person run within 4 GB.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import subprocess
import sys
import time

from collective_impact.model import CollectiveImpactModel, load_config, run_world
from collective_impact.model import model as model_module

TARGET_SECONDS = {"default": 0.05, "strive": 0.5}
MEMORY_TARGET_GB = 4.0
# The quarter's mechanisms in the order the model runs them, then the outputs; delivery
# calls the indented ones.
INSIDE_DELIVERY = {"_allocate", "_choose_interventions", "_walk_ins", "_shared_records", "_refer"}
SUBSTEPS = ("_update_participation", "_coordinate", "_update_trust_and_alignment",
            "_agree_on_metrics", "_fund", "_deliver_services", "_allocate",
            "_choose_interventions", "_walk_ins", "_shared_records", "_refer",
            "_apply_outcomes", "_learn", "_mature_data_system", "_judge_benefits", "_account",
            "_measure", "_grow_pool")


def paired_run(config, seed: int) -> None:
    run_world([config.isolated(), config], seed)


def time_runs(config, repeats: int, run) -> list[float]:
    run(config, 10_000)  # warm-up: loads the compiled kernels
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        run(config, seed)
        times.append(time.perf_counter() - start)
    return times


def single_run(config, seed: int) -> None:
    model = CollectiveImpactModel(config, seed=seed)
    model.run()
    model.release()


def runs_table(repeats: int) -> None:
    print(f"{'scenario':10s} {'run':10s} {'people':>9s} {'orgs':>5s} {'quarters':>9s} "
          f"{'best s':>8s} {'median s':>9s}  target")
    for name in ("default", "strive"):
        config = load_config(name)
        quarters = f"{config.run.burn_in}+{config.run.steps}"
        for label, run in (("collective", single_run), ("paired", paired_run)):
            times = time_runs(config, repeats, run)
            median = statistics.median(times)
            target = TARGET_SECONDS[name] if label == "paired" else None
            verdict = "" if target is None else (
                f"under {target} s" if median < target else f"OVER {target} s")
            print(f"{name:10s} {label:10s} {config.population.size:9,d} "
                  f"{config.organizations.count:5d} {quarters:>9s} {min(times):8.3f} "
                  f"{median:9.3f}  {verdict}")


def substep_table(repeats: int) -> None:
    """Time of each mechanism per quarter, by wrapping the model's methods with a clock."""
    spent, calls = collections.Counter(), collections.Counter()
    cls = model_module.CollectiveImpactModel
    originals = {name: getattr(cls, name) for name in SUBSTEPS}

    def clocked(name, method):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
                calls[name] += 1
        return run

    config = load_config("default")
    single_run(config, 10_000)  # warm-up
    for name, method in originals.items():
        setattr(cls, name, clocked(name, method))
    try:
        start = time.perf_counter()
        for seed in range(repeats):
            single_run(config, seed)
        total = time.perf_counter() - start
    finally:
        for name, method in originals.items():
            setattr(cls, name, method)
    quarters = repeats * (config.run.burn_in + config.run.steps)
    print(f"\ndefault collective run, by sub-step ({repeats} runs; indented: parts of "
          f"_deliver_services)")
    print(f"{'sub-step':28s} {'ms/quarter':>10s} {'calls/run':>9s} {'share':>6s}")
    for name in SUBSTEPS:
        if calls[name]:
            label = f"  {name}" if name in INSIDE_DELIVERY else name
            print(f"{label:28s} {1000 * spent[name] / quarters:10.3f} "
                  f"{calls[name] / repeats:9.0f} {spent[name] / total:6.1%}")
    print(f"{'whole run':28s} {1000 * total / quarters:10.3f} {'':9s} {1:6.0%}")


MEMORY_RUN = """
from collective_impact.model import CollectiveImpactModel, load_config
base = load_config("default")
size = 2_000_000
config = base.with_values({"population.size": size, "run.burn_in": 4, "run.steps": 4,
                           "funding.pool": base.funding.pool * size / base.population.size})
CollectiveImpactModel(config, seed=1).run()
# this process's own peak (a fork's copy of the parent before exec is not counted)
print([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0])
"""


def memory_table() -> None:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEMORY_RUN], check=True, capture_output=True,
                          text=True)
    peak_gb = int(done.stdout.split()[-1]) / 1024**2  # kB
    verdict = "within" if peak_gb < MEMORY_TARGET_GB else "OVER"
    print(f"\n2,000,000 people, 8 quarters: peak memory {peak_gb:.2f} GB ({verdict} "
          f"{MEMORY_TARGET_GB:.0f} GB), {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--substeps", action="store_true", help="time each sub-step")
    parser.add_argument("--memory", action="store_true", help="peak memory at 2M people")
    args = parser.parse_args()
    runs_table(args.repeats)
    if args.substeps:
        substep_table(args.repeats)
    if args.memory:
        memory_table()


if __name__ == "__main__":
    main()
