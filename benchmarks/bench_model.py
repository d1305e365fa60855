"""Time single runs: the default and Strive-scale scenarios, both arms, by sub-step.

    python benchmarks/bench_model.py [--repeats 5] [--substeps] [--floor] [--memory]

A paired run is what a comparison makes of one seed: the isolated burn-in once
(``BurnIn``), then the isolated and the collective arm from copies of it (``run_world``).
Reports the best and median wall time over ``--repeats`` seeds, after one warm-up run (the compiled
kernels are loaded then). ``--substeps`` adds the time per quarter of each mechanism of
the quarter (and of the outputs), for one default collective run; ``--floor`` the part of a
paired run spent drawing random numbers and inside the compiled kernels, which no further
compiling of the rest of the quarter could remove (every draw is one the model's mechanisms
need, drawn by numpy so the tables stay the same); ``--memory`` the peak
memory of a run of the largest population allowed (2,000,000 people, the pool scaled with
it so services per person stay as in the default), in a process of its own.

Targets (issue: throughput for robustness studies): a default paired run under 0.05 s,
Strive scale under 0.5 s, the 2-million-person run within 4 GB.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import statistics
import subprocess
import sys
import time

from collective_impact.model import CollectiveImpactModel, kernels, load_config, run_world
from collective_impact.model import model as model_module

TARGET_SECONDS = {"default": 0.05, "strive": 0.5}
PAIRS_TARGET = (10_000, 600.0)  # 10,000 paired default runs in 10 minutes on 2 cores
KERNELS = ("screen_intake", "pool_records", "sum_service_gains", "add_gains", "drift")
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


def clocked(function, spent: collections.Counter, key: str, calls_key: str):
    """``function``, adding the time of each call to ``spent[key]`` and one to
    ``spent[calls_key]``."""
    def run(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start
            spent[calls_key] += 1
    return run


def substep_table(repeats: int) -> None:
    """Time of each mechanism per quarter, by wrapping the model's methods with a clock."""
    spent = collections.Counter()
    cls = model_module.CollectiveImpactModel
    originals = {name: getattr(cls, name) for name in SUBSTEPS}

    config = load_config("default")
    single_run(config, 10_000)  # warm-up
    for name, method in originals.items():
        setattr(cls, name, clocked(method, spent, name, ("calls", name)))
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
        if spent["calls", name]:
            label = f"  {name}" if name in INSIDE_DELIVERY else name
            print(f"{label:28s} {1000 * spent[name] / quarters:10.3f} "
                  f"{spent['calls', name] / repeats:9.0f} {spent[name] / total:6.1%}")
    print(f"{'whole run':28s} {1000 * total / quarters:10.3f} {'':9s} {1:6.0%}")


class ClockedGenerator:
    """A numpy Generator whose draws are timed into ``spent["random draws"]``; the draws
    themselves are the generator's own, unchanged."""

    def __init__(self, generator, spent):
        self._generator, self._spent = generator, spent

    def __getattr__(self, name):
        return clocked(getattr(self._generator, name), self._spent, "random draws",
                       "draw calls")

    def __deepcopy__(self, memo):  # a burn-in's copy keeps its clock
        return ClockedGenerator(copy.deepcopy(self._generator, memo), self._spent)


@contextlib.contextmanager
def clocks(spent: collections.Counter):
    """While inside, every random draw of a model built (or copied from a burn-in built)
    here, from its world and burn-in on, and every call of a compiled kernel adds its time to
    ``spent["random draws"]`` or ``spent["kernels"]``, and one to ``spent["draw calls"]``
    or ``spent["kernel calls"]``. The draws and the kernels' results are unchanged."""
    cls = model_module.CollectiveImpactModel
    build_world = cls._build_world
    originals = {name: getattr(kernels, name) for name in KERNELS}

    def clocked_build(self):  # the streams are clocked before the world and its burn-in
        self.streams = {name: ClockedGenerator(stream, spent)
                        for name, stream in self.streams.items()}
        build_world(self)

    cls._build_world = clocked_build
    for name, kernel in originals.items():
        setattr(kernels, name, clocked(kernel, spent, "kernels", "kernel calls"))
    try:
        yield spent
    finally:
        cls._build_world = build_world
        for name, kernel in originals.items():
            setattr(kernels, name, kernel)


def floor_table(repeats: int) -> None:
    """Time of a paired run spent in random draws and in the compiled kernels: the floor
    under any compiling of the rest (the Python and numpy work between them)."""
    print(f"\npaired run: the part no compiling of the rest could remove ({repeats} seeds)")
    print(f"{'scenario':10s} {'paired s':>9s} {'draws s':>8s} {'kernels s':>10s} "
          f"{'rest s':>7s} {'floor s':>8s}  target")
    floors = {}
    for name in ("default", "strive"):
        config = load_config(name)
        paired_run(config, 10_000)  # warm-up
        with clocks(collections.Counter()) as spent:
            start = time.perf_counter()
            for seed in range(repeats):
                paired_run(config, seed)
            total = (time.perf_counter() - start) / repeats
        draws, compiled = spent["random draws"] / repeats, spent["kernels"] / repeats
        floors[name] = draws + compiled
        target = TARGET_SECONDS[name]
        verdict = f"under {target} s" if floors[name] < target else f"floor OVER {target} s"
        print(f"{name:10s} {total:9.3f} {draws:8.3f} {compiled:10.3f} "
              f"{total - draws - compiled:7.3f} {floors[name]:8.3f}  {verdict}")
    pairs, seconds = PAIRS_TARGET
    minutes = pairs * floors["default"] / 2 / 60  # two cores, a perfect speed-up
    print(f"{pairs:,d} paired default runs at the floor on 2 cores (speed-up 2): "
          f"{minutes:.1f} min (target {seconds / 60:.0f} min)")


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
    parser.add_argument("--floor", action="store_true",
                        help="time in random draws and compiled kernels, per paired run")
    parser.add_argument("--memory", action="store_true", help="peak memory at 2M people")
    args = parser.parse_args()
    runs_table(args.repeats)
    if args.substeps:
        substep_table(args.repeats)
    if args.floor:
        floor_table(args.repeats)
    if args.memory:
        memory_table()


if __name__ == "__main__":
    main()
