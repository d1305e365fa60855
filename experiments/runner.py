"""Running the model for many seeds, serially or in parallel, with reproducible seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from collective_impact.model import CollectiveImpactModel, Config


def derive_seed(base_seed: int, index: int) -> int:
    """The seed of run ``index`` of an experiment: independent streams from one base seed,
    the same whichever worker or machine runs it."""
    seq = np.random.SeedSequence(entropy=int(base_seed), spawn_key=(int(index),))
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def run_steps(config: Config, seed: int) -> pd.DataFrame:
    """One run's per-step table."""
    return CollectiveImpactModel(config, seed=seed).run()


def run_arms(config: Config, seeds: list[int], jobs: int = 1,
             progress: bool = True) -> pd.DataFrame:
    """Isolated and collective runs of ``config`` on the same seeds, as one long table with
    columns ``arm``, ``seed``, ``step`` and the outputs."""
    arms = {"isolated": config.isolated(), "collective": config}
    tasks = [(arm, cfg, seed) for seed in seeds for arm, cfg in arms.items()]
    results = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(run_steps)(cfg, seed) for _, cfg, seed in tasks)
    tables = []
    for (arm, _, seed), df in tqdm(zip(tasks, results, strict=True), total=len(tasks),
                                   desc="runs", unit="run", disable=not progress):
        tables.append(df.assign(arm=arm, seed=seed))
    long = pd.concat(tables, ignore_index=True)
    return long[["arm", "seed", *[c for c in long.columns if c not in ("arm", "seed")]]]
