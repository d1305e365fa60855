"""Running the model for many seeds, serially or in parallel, with reproducible seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from collective_impact.model import BurnIn, CollectiveImpactModel, Config, burn_in_key


def derive_seed(base_seed: int, index: int) -> int:
    """The seed of run ``index`` of an experiment: independent streams from one base seed,
    the same whichever worker or machine runs it."""
    seq = np.random.SeedSequence(entropy=int(base_seed), spawn_key=(int(index),))
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def run_steps(config: Config, seed: int, burn_in: BurnIn | None = None) -> pd.DataFrame:
    """One run's per-step table (started from ``burn_in``, a copy of its world, if given)."""
    model = CollectiveImpactModel(config, seed=seed, burn_in=burn_in)
    table = model.run()
    model.release()
    return table


def run_world(configs: list[Config], seed: int) -> list[pd.DataFrame]:
    """Runs of several scenarios on one seed (both arms, or several policies), each burn-in
    made once for all the scenarios that share it; tables identical to separate runs."""
    burn_ins: dict[str, BurnIn] = {}
    tables = []
    for config in configs:
        key = burn_in_key(config)
        if key not in burn_ins:
            burn_ins[key] = BurnIn(config, seed)
        tables.append(run_steps(config, seed, burn_ins[key]))
    return tables


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
