"""The main job: isolated vs collective impact on the same seeds, summarized and drawn."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from collective_impact.experiments import figures
from collective_impact.experiments.experiment_figures import percent
from collective_impact.experiments.provenance import manifest, write_json, write_table
from collective_impact.experiments.runner import derive_seed, run_arms
from collective_impact.experiments.summary import (
    final_outcomes,
    format_comparison,
    paired_comparison,
)
from collective_impact.model import Config


@dataclass
class Comparison:
    steps: pd.DataFrame  # one row per arm, seed and step
    runs: pd.DataFrame  # final outcomes, one row per arm and seed
    table: pd.DataFrame  # per outcome: both arms and the paired difference, with intervals
    out_dir: Path
    seeds: list[int]

    def report(self) -> str:
        return format_comparison(self.table, len(self.seeds))


def compare(config: Config, n_seeds: int = 10, jobs: int = 1, out_dir: Path | None = None,
            progress: bool = True) -> Comparison:
    """Run both arms on ``n_seeds`` seeds and write the results. The first seed is
    ``config.run.seed`` itself, so a single run of the scenario (``collective-impact run``,
    the dashboard) reappears in the comparison; the rest are derived from it."""
    seeds = comparison_seeds(config.run.seed, n_seeds)
    steps = run_arms(config, seeds, jobs=jobs, progress=progress)
    runs = pd.DataFrame([{"arm": arm, "seed": seed, **final_outcomes(group)}
                         for (arm, seed), group in steps.groupby(["arm", "seed"], sort=False)])
    table = paired_comparison(runs)
    out_dir = Path(out_dir or Path("results") / config.scenario.name)
    result = Comparison(steps, runs, table, out_dir, seeds)
    _write(result, config)
    return result


def comparison_seeds(base_seed: int, n_seeds: int) -> list[int]:
    return [base_seed] + [derive_seed(base_seed, i) for i in range(1, n_seeds)]


def _write(result: Comparison, config: Config) -> None:
    out = result.out_dir
    out.mkdir(parents=True, exist_ok=True)
    info = manifest(kind="compare", scenario=config.scenario.name, config=config.to_dict(),
                    isolated_config=config.isolated().to_dict(), seeds=result.seeds,
                    files=["steps.parquet", "runs.parquet", "comparison.csv",
                           "composite_index.png", "areas.png"])
    write_table(result.steps, out / "steps.parquet", info)
    write_table(result.runs, out / "runs.parquet", info)
    result.table.to_csv(out / "comparison.csv", index=False)
    figures.save(figures.composite_figure(result.steps, _title(config)),
                 out / "composite_index.png")
    figures.save(figures.areas_figure(result.steps, list(config.area_names)), out / "areas.png")
    write_json(out / "manifest.json", info)


def _title(config: Config) -> str:
    s = config.funding.backbone_share
    return (f"{config.scenario.name}: composite index, isolated vs collective "
            f"(backbone share {percent(s)})")
