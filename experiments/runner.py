"""Running the model for many seeds, serially or in parallel, with reproducible seeds."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from collective_impact.model import Config, run_world


def derive_seed(base_seed: int, index: int) -> int:
    """The seed of run ``index`` of an experiment: independent streams from one base seed,
    the same whichever worker or machine runs it."""
    seq = np.random.SeedSequence(entropy=int(base_seed), spawn_key=(int(index),))
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def workers(jobs: int) -> int:
    """How many workers joblib's ``n_jobs`` means (-1: one per processor)."""
    return (os.cpu_count() or 1) if jobs == -1 else max(jobs, 1)


def run_arms(config: Config, seeds: list[int], jobs: int = 1,
             progress: bool = True) -> pd.DataFrame:
    """Isolated and collective runs of ``config`` on the same seeds, as one long table with
    columns ``arm``, ``seed``, ``step`` and the outputs. The two arms of a seed share one
    burn-in (it is the same in both)."""
    arms = {"isolated": config.isolated(), "collective": config}
    # One task per seed, both arms from one burn-in; with fewer seeds than workers, one
    # task per run, so that no worker idles.
    together = len(seeds) >= workers(jobs)
    tasks = ([(list(arms), seed) for seed in seeds] if together else
             [([arm], seed) for seed in seeds for arm in arms])
    results = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(run_world)([arms[arm] for arm in names], seed) for names, seed in tasks)
    tables = []
    unit = "seed" if together else "run"
    for (names, seed), runs in tqdm(zip(tasks, results, strict=True), total=len(tasks),
                                    desc=f"{unit}s", unit=unit, disable=not progress):
        tables += [df.assign(arm=arm, seed=seed) for arm, df in zip(names, runs, strict=True)]
    long = pd.concat(tables, ignore_index=True)
    return long[["arm", "seed", *[c for c in long.columns if c not in ("arm", "seed")]]]
