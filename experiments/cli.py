"""The ``collective-impact`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from collective_impact.model import ConfigError, load_config

SCENARIO_HELP = ("scenario TOML file, or a shipped scenario's name, e.g. default "
                 "(see: collective-impact scenarios)")


class UserError(Exception):
    """A mistake in what the user asked for; shown as one line, without a traceback."""


def _cmd_run(args) -> None:
    from collective_impact.experiments.provenance import manifest, write_table
    from collective_impact.model import CollectiveImpactModel

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
          f"{int(last.indicators_trending)} of {int(last.indicators_total)} indicators trending "
          f"the right way")
    print(f"wrote {path}")


def _cmd_compare(args) -> None:
    from collective_impact.experiments.compare import compare

    config = load_config(args.config)
    if args.seed is not None:
        config = config.with_values({"run.seed": args.seed})
    result = compare(config, n_seeds=args.seeds, jobs=args.jobs, out_dir=args.out,
                     progress=not args.quiet)
    print(result.report())
    print(f"\nwrote {result.out_dir}/: steps.parquet, runs.parquet, comparison.csv, "
          f"manifest.json, composite_index.png, areas.png")


def _cmd_scenarios(args) -> None:
    from collective_impact.model import load_config, shipped_experiments, shipped_scenarios

    print("Scenarios (collective-impact compare NAME, run NAME):")
    for name, path in shipped_scenarios().items():
        print(f"  {name:<22} {load_config(path).scenario.description}")
    print("\nExperiments (collective-impact sweep NAME, sensitivity NAME):")
    for name, path in shipped_experiments().items():
        print(f"  {name:<22} {_experiment_description(path)}")
    print(f"\nfiles in {next(iter(shipped_scenarios().values())).parent}")


def _experiment_description(path: Path) -> str:
    import tomllib

    head = tomllib.loads(path.read_text(encoding="utf-8")).get("experiment", {})
    return " ".join(str(head.get("description", "")).split())


def _cmd_params(args) -> None:
    from collective_impact.model.config import parameter_table_markdown

    print(parameter_table_markdown())


def _cmd_sweep(args) -> None:
    from collective_impact.experiments.design import load_experiment
    from collective_impact.experiments.report import report
    from collective_impact.experiments.sweep import run_sweep

    experiment = load_experiment(args.experiment, replications=args.seeds,
                                 steps_tables=args.steps_tables)
    try:
        result = run_sweep(experiment, args.out, jobs=args.jobs, backend=args.backend,
                           scheduler=args.scheduler, progress=not args.quiet)
    except KeyboardInterrupt:
        print("finished runs are saved; run the same command again to resume", file=sys.stderr)
        raise
    print(f"{experiment.name}: {len(result.runs)} rows ({result.executed} runs made now, "
          f"{result.skipped} already done) in {result.out_dir}/")
    for path in [result.out_dir / "runs.parquet", *report(result.out_dir)]:
        print(f"wrote {path}")


def _cmd_sensitivity(args) -> None:
    from collective_impact.experiments.design import load_experiment
    from collective_impact.experiments.report import report
    from collective_impact.experiments.sensitivity import run_sensitivity

    experiment = load_experiment(args.experiment, replications=args.seeds)
    try:
        result = run_sensitivity(experiment, args.method, args.n, args.outcome, args.out,
                                 jobs=args.jobs, backend=args.backend,
                                 scheduler=args.scheduler, progress=not args.quiet)
    except KeyboardInterrupt:
        print("finished runs are saved; run the same command again to resume", file=sys.stderr)
        raise
    print(f"{experiment.name}: {result.method} indices of {result.outcome}")
    print(result.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for path in [result.out_dir / "indices.csv", *report(result.out_dir)]:
        print(f"wrote {path}")


def _cmd_robustness(args) -> None:
    from collective_impact.experiments.design import load_experiment
    from collective_impact.experiments.report import report
    from collective_impact.experiments.robustness import dashboard_table, run_robustness

    experiment = load_experiment(args.experiment, replications=args.seeds)
    try:
        result = run_robustness(experiment, args.n, args.out, jobs=args.jobs,
                                backend=args.backend, scheduler=args.scheduler,
                                progress=not args.quiet)
    except KeyboardInterrupt:
        print("finished runs are saved; run the same command again to resume", file=sys.stderr)
        raise
    columns = ["policy", "share_beats_isolated", "gain_q05", "gain_q50", "gain_q95",
               "gain_per_million_median", "regret_mean", "satisficing"]
    print(result.policies[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print()
    print(result.summary)
    dashboard_table(result, experiment).to_csv(result.out_dir / "dashboard.csv", index=False,
                                               float_format="%.6g")
    for name in ("worlds.parquet", "policies.csv", "boxes.csv", "summary.md", "dashboard.csv"):
        print(f"wrote {result.out_dir / name}")
    for path in report(result.out_dir):
        print(f"wrote {path}")


def _cmd_report(args) -> None:
    from collective_impact.experiments.report import report

    for path in report(args.results):
        print(f"wrote {path}")


def _add_parallel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1,
                        help="parallel workers (default: all cores)")
    parser.add_argument("--backend", choices=("loky", "dask"), default="loky",
                        help="joblib backend: local processes (loky) or a Dask cluster")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler address, e.g. tcp://host:8786 (default: a local "
                             "cluster of --jobs workers)")
    parser.add_argument("--seeds", type=_positive,
                        help="replications per point (default: the experiment file's)")
    parser.add_argument("--out", help="output folder (default: results/<experiment>/)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_dashboard(args) -> None:
    import importlib.util

    # Solara is imported by serve(), after it has set Solara's environment (an optional extra,
    # so the other commands work without it).
    if importlib.util.find_spec("solara") is None:
        raise UserError("the dashboard needs the 'dashboard' extra: pip install "
                        "'collective-impact[dashboard]' (or, in a checkout, "
                        "pip install -e '.[dashboard]')")
    from collective_impact.dashboard.server import ServeError, serve

    try:
        serve(host=args.host, port=args.port, configs=args.configs, open_browser=args.open,
              save_to=args.save_to)
    except ServeError as err:
        raise UserError(str(err)) from None


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 (any free port) to 65535, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be 0 to 2**63 - 1, got {value}")
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
    run.add_argument("config", help=SCENARIO_HELP)
    run.add_argument("--seed", type=_seed, help="seed (default: the scenario's run.seed)")
    run.add_argument("--out", help="output folder (default: results/<scenario>/)")
    run.add_argument("--isolated", action="store_true",
                     help="run the isolated arm (no backbone, every condition off)")
    run.set_defaults(func=_cmd_run)

    cmp_ = sub.add_parser("compare", help="isolated vs collective on the same seeds")
    cmp_.add_argument("config", help=SCENARIO_HELP)
    cmp_.add_argument("--seeds", type=_positive, default=10, help="number of seeds (default 10)")
    cmp_.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1,
                      help="parallel workers (default: all cores)")
    cmp_.add_argument("--seed", type=_seed, help="base seed (default: the scenario's run.seed)")
    cmp_.add_argument("--out", help="output folder (default: results/<scenario>/)")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")
    cmp_.set_defaults(func=_cmd_compare)

    scen = sub.add_parser("scenarios", help="list the shipped scenarios and experiments")
    scen.set_defaults(func=_cmd_scenarios)

    params = sub.add_parser("params", help="print every parameter with default and range")
    params.set_defaults(func=_cmd_params)

    dash = sub.add_parser("dashboard", help="serve the interactive dashboard on this machine")
    dash.add_argument("--port", type=_port, default=8765,
                      help="port to listen on (default 8765; 0 = any free port)")
    dash.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1: this machine only)")
    dash.add_argument("--configs", help="folder of scenario files for the scenario list "
                      "(default: ./configs, else the shipped scenarios)")
    dash.add_argument("--save-to", metavar="DIR", help="let visitors save scenarios on this "
                      "machine, as new files in DIR only (default: off; the page offers "
                      "the download)")
    dash.add_argument("--open", action="store_true", help="also open it in a web browser")
    dash.set_defaults(func=_cmd_dashboard)

    sweep = sub.add_parser("sweep", help="run an experiment file's grid (resumable)")
    sweep.add_argument("experiment", help="experiment TOML file, or a shipped experiment's "
                                          "name, e.g. funding (see: collective-impact scenarios)")
    _add_parallel_options(sweep)
    sweep.add_argument("--steps-tables", action="store_true",
                       help="also keep every run's per-step table (steps.parquet)")
    sweep.set_defaults(func=_cmd_sweep)

    sens = sub.add_parser("sensitivity", help="Sobol or Morris indices over an experiment's "
                                              "ranges")
    sens.add_argument("experiment", help="experiment TOML file with {min, max} ranges, or a "
                                         "shipped experiment's name, e.g. sensitivity")
    sens.add_argument("--method", choices=("sobol", "morris", "lhs"),
                      help="default: the file's [sensitivity] method, else sobol")
    sens.add_argument("--n", type=_positive,
                      help="Sobol base sample (a power of 2; runs n x (factors + 2) points) or "
                           "Morris trajectories, or Latin-hypercube points (default: the file's, "
                           "else 64 / 10 / 250)")
    sens.add_argument("--outcome", help="outcome analysed, e.g. composite_index or "
                                        "gain:composite_index (collective minus isolated)")
    _add_parallel_options(sens)
    sens.set_defaults(func=_cmd_sensitivity)

    rob = sub.add_parser("robustness", help="which policy holds up across plausible worlds: "
                                            "regret, satisficing and PRIM boxes (resumable)")
    rob.add_argument("experiment", help="experiment TOML file with [uncertainties] and "
                                        "[policies.<name>], or a shipped experiment's name, "
                                        "e.g. robust_funding")
    rob.add_argument("--n", type=_positive,
                     help="plausible worlds sampled (default: the file's [robustness] n, "
                          "else 500)")
    _add_parallel_options(rob)
    rob.set_defaults(func=_cmd_robustness)

    rep = sub.add_parser("report", help="redraw the figures of a results folder")
    rep.add_argument("results", help="results folder, e.g. results/funding")
    rep.set_defaults(func=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Figures are files here, never windows; notebooks keep their own inline backend.
    os.environ.setdefault("MPLBACKEND", "Agg")
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
