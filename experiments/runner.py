"""Running the model for many seeds, serially or in parallel, with reproducible seeds."""

from __future__ import annotations

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


def run_arms(config: Config, seeds: list[int], jobs: int = 1,
             progress: bool = True) -> pd.DataFrame:
    """Isolated and collective runs of ``config`` on the same seeds, as one long table with
    columns ``arm``, ``seed``, ``step`` and the outputs. The two arms of a seed share one
    burn-in (it is the same in both)."""
    arms = {"isolated": config.isolated(), "collective": config}
    results = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(run_world)(list(arms.values()), seed) for seed in seeds)
    tables = []
    for seed, pair in tqdm(zip(seeds, results, strict=True), total=len(seeds),
                           desc="seeds", unit="seed", disable=not progress):
        tables += [df.assign(arm=arm, seed=seed) for arm, df in zip(arms, pair, strict=True)]
    long = pd.concat(tables, ignore_index=True)
    return long[["arm", "seed", *[c for c in long.columns if c not in ("arm", "seed")]]]
