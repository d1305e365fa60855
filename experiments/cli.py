"""The ``collective-impact`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from model import ConfigError, load_config


class UserError(Exception):
    """A mistake in what the user asked for; shown as one line, without a traceback."""


def _cmd_run(args) -> None:
    from experiments.provenance import manifest, write_table
    from model import CollectiveImpactModel

    config = load_config(args.config)
    seed = config.run.seed if args.seed is None else args.seed
    if args.isolated:
        config = config.isolated()
    steps = CollectiveImpactModel(config, seed=seed).run()
    out = Path(args.out or Path("results") / config.scenario.name)
    arm = "isolated" if args.isolated else "collective"
    path = out / f"run_{arm}_seed{seed}.parquet"
    write_table(steps.assign(arm=arm, seed=seed), path,
                manifest(kind="run", config=config.to_dict(), seed=seed, arm=arm))
    last = steps.iloc[-1]
    print(f"{config.scenario.name} ({arm}, seed {seed}, {len(steps) - 1} quarters): "
          f"composite index {steps.composite_index.iloc[0]:.4f} -> {last.composite_index:.4f}, "
          f"{int(last.indicators_improved)} of {int(last.indicators_total)} indicators improved")
    print(f"wrote {path}")


def _cmd_compare(args) -> None:
    from experiments.compare import compare

    config = load_config(args.config)
    if args.seed is not None:
        config = config.with_values({"run.seed": args.seed})
    result = compare(config, n_seeds=args.seeds, jobs=args.jobs, out_dir=args.out,
                     progress=not args.quiet)
    print(result.report())
    print(f"\nwrote {result.out_dir}/: steps.parquet, runs.parquet, comparison.csv, "
          f"manifest.json, composite_index.png, areas.png")


def _cmd_params(args) -> None:
    from model.config import parameter_table_markdown

    print(parameter_table_markdown())


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _jobs(text: str) -> int:
    value = int(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be a positive count or -1 (all cores), got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="collective-impact",
        description="Agent-based simulation of isolated versus collective impact.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one scenario and write its per-step table")
    run.add_argument("config", help="scenario TOML file, e.g. configs/default.toml")
    run.add_argument("--seed", type=int, help="seed (default: the scenario's run.seed)")
    run.add_argument("--out", help="output folder (default: results/<scenario>/)")
    run.add_argument("--isolated", action="store_true",
                     help="run the isolated arm (no backbone, every condition off)")
    run.set_defaults(func=_cmd_run)

    cmp_ = sub.add_parser("compare", help="isolated vs collective on the same seeds")
    cmp_.add_argument("config", help="scenario TOML file, e.g. configs/default.toml")
    cmp_.add_argument("--seeds", type=_positive, default=10, help="number of seeds (default 10)")
    cmp_.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1,
                      help="parallel workers (default: all cores)")
    cmp_.add_argument("--seed", type=int, help="base seed (default: the scenario's run.seed)")
    cmp_.add_argument("--out", help="output folder (default: results/<scenario>/)")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")
    cmp_.set_defaults(func=_cmd_compare)

    params = sub.add_parser("params", help="print every parameter with default and range")
    params.set_defaults(func=_cmd_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, UserError) as err:
        print(f"collective-impact: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("collective-impact: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
