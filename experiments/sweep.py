"""Sweeps: every run of an experiment, in parallel, written as it finishes, resumable.

An output folder holds::

    manifest.json               experiment file, resolved base config, digest, versions, sessions
    runs/s001-b00000.parquet    final outcomes of a batch of finished runs
    steps/s001-b00000.parquet   their per-step tables (if kept), written before the runs batch
    runs.parquet                combined: one tidy row per (point, arm, replication)
    steps.parquet               combined per-step table (if kept)

A run is named by a hash of its whole scenario and its seed. A resumed sweep therefore
skips exactly the runs on disk, and a run that two points share (the isolated arm does
not depend on the backbone share) is made once. Runs of one world and seed (both arms,
every policy) go to one worker as one task and share one burn-in (``model.BurnIn``), with
tables identical to separate runs. Every file is written under a temporary name and
renamed, so a killed sweep leaves only complete batches.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from joblib import Parallel, delayed, parallel_config
from tqdm.auto import tqdm

from collective_impact.experiments.cli import UserError
from collective_impact.experiments.design import GAIN_PREFIX, Experiment, ExperimentError
from collective_impact.experiments.provenance import (
    manifest,
    model_fingerprint,
    write_json,
    write_table,
)
from collective_impact.experiments.runner import derive_seed, workers
from collective_impact.experiments.summary import final_outcomes, interval
from collective_impact.model import Config, burn_in_key, run_world

# A batch is written when it holds this many runs or is this old, whichever comes first:
# few files for fast runs, little lost when a sweep of slow runs is killed.
FLUSH_RUNS = 10
FLUSH_SECONDS = 5.0
BACKENDS = ("loky", "dask")
LOCK_NAME = ".lock"


@dataclass
class Plan:
    table: pd.DataFrame  # run_id, point, [policy], parameters..., arm, replication, seed
    tasks: dict[str, tuple[dict, int]]  # run_id -> (scenario dict, seed), in plan order
    parameters: list[str]
    worlds: dict[str, str]  # run_id -> its burn-in's key (runs sharing it and a seed share it)


@dataclass
class SweepResult:
    out_dir: Path
    runs: pd.DataFrame
    steps: pd.DataFrame | None
    executed: int  # runs made by this call
    skipped: int  # runs found on disk from an earlier call


def run_id(config: dict, seed: int) -> str:
    """A run's name: the hash of what the model sees (its scenario without the name) and seed."""
    payload = {k: v for k, v in config.items() if k != "scenario"}
    text = json.dumps({"config": payload, "seed": int(seed)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_plan(experiment: Experiment, points: list[dict]) -> Plan:
    """Every (point, arm, replication) of the experiment. Replication r has the same seed at
    every point and in both arms (common random numbers)."""
    seeds = [derive_seed(experiment.seed, r) for r in range(experiment.replications)]
    parameters = experiment.parameters
    rows, tasks, worlds = [], {}, {}
    for index, point in enumerate(points):
        collective = experiment.config_for(point)
        world = burn_in_key(collective)  # the same for the isolated arm
        configs = {"isolated": collective.isolated(), "collective": collective}
        values = {k: point.get(k, collective.get(k)) for k in parameters}
        label = {"policy": point["policy"]} if "policy" in point else {}
        for arm in experiment.arms:
            config = configs[arm].to_dict()
            for replication, seed in enumerate(seeds):
                rid = run_id(config, seed)
                tasks.setdefault(rid, (config, seed))
                worlds.setdefault(rid, world)
                rows.append({"run_id": rid, "point": index, **label, **values, "arm": arm,
                             "replication": replication, "seed": seed})
    return Plan(pd.DataFrame(rows), tasks, parameters, worlds)


def execute_world(runs: list[tuple[str, dict]], seed: int, outcomes: tuple[str, ...],
                  keep_steps: bool) -> list[tuple[dict, pd.DataFrame | None]]:
    """Runs of one world and seed (in a worker), from one burn-in: for each, its kept final
    outcomes and its per-step table if asked."""
    tables = run_world([Config.from_dict(config) for _, config in runs], seed)
    results = []
    for (rid, _), steps in zip(runs, tables, strict=True):
        final = final_outcomes(steps)
        last = steps.iloc[-1]
        row = {"run_id": rid, **{n: float(final[n] if n in final else last[n])
                                 for n in outcomes}}
        results.append((row, steps.assign(run_id=rid) if keep_steps else None))
    return results


def world_groups(plan: Plan, pending: list[str], workers: int = 1
                 ) -> list[tuple[list[str], int]]:
    """Pending runs grouped by burn-in and seed, in plan order: each group is one task. With
    fewer groups than ``workers``, groups are split (each part makes its own burn-in), so
    no worker idles."""
    groups: dict[tuple[str, int], list[str]] = {}
    for rid in pending:
        seed = plan.tasks[rid][1]
        groups.setdefault((plan.worlds[rid], seed), []).append(rid)
    tasks = [(rids, seed) for (_, seed), rids in groups.items()]
    if len(tasks) < workers:
        size = -(-len(pending) // workers)
        tasks = [(rids[i:i + size], seed) for rids, seed in tasks
                 for i in range(0, len(rids), size)]
    return tasks


def run_sweep(experiment: Experiment, out_dir: str | Path | None = None, jobs: int = 1,
              backend: str = "loky", scheduler: str | None = None, progress: bool = True,
              points: list[dict] | None = None, kind: str = "sweep",
              extra: dict | None = None) -> SweepResult:
    """Run every run of ``experiment`` not yet in ``out_dir``; combine and write the tables.

    ``points`` replaces the grid (sensitivity analysis passes its sample); ``extra`` goes
    into the manifest.
    """
    points = experiment.grid_points() if points is None else points
    plan = make_plan(experiment, points)
    out = Path(out_dir or Path("results") / experiment.name)
    digest = experiment.digest(points=points)
    with folder_lock(out):
        return _run_locked(experiment, out, plan, points, digest, jobs, backend, scheduler,
                           progress, kind, extra)


def _run_locked(experiment, out, plan, points, digest, jobs, backend, scheduler, progress,
                kind, extra) -> SweepResult:
    info = _open_folder(out, experiment, digest, plan, kind, extra or {})
    done = finished_runs(out)
    pending = [rid for rid in plan.tasks if rid not in done]
    session = info["sessions"][-1]
    provenance = {"experiment": experiment.name, "digest": digest, "session": session["session"]}
    writer = _BatchWriter(out, session["session"], provenance)
    try:
        _execute(plan, pending, experiment, writer, jobs, backend, scheduler,
                 progress, len(plan.tasks))
    finally:
        writer.flush()  # on Ctrl-C too: finished runs are kept
    runs, steps = _combine(out, plan, experiment.steps_tables)
    write_table(runs, out / "runs.parquet", info)
    if steps is not None:
        write_table(steps, out / "steps.parquet", info)
    session.update(finished=_now(), runs_executed=writer.written,
                   runs_already_done=len(plan.tasks) - len(pending))
    write_json(out / "manifest.json", info)
    return SweepResult(out, runs, steps, writer.written, len(plan.tasks) - len(pending))


@contextmanager
def folder_lock(out: Path):
    """Hold ``out/.lock`` while a sweep writes there, so that a second sweep started on the
    same folder is refused instead of mixing its batches in. The operating system drops the
    lock when the process ends, however it ends, so a killed sweep leaves no stale lock."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    handle = open(path, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UserError(f"{out} is in use by another sweep ({holder}); wait for it to "
                            f"finish, or give this one --out NEW_FOLDER") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {_now()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def finished_runs(out: Path) -> set[str]:
    """Run ids already on disk; removes what a killed sweep left half-done."""
    for tmp in [*out.glob("runs/.*.tmp"), *out.glob("steps/.*.tmp")]:
        tmp.unlink(missing_ok=True)
    runs_parts = {p.name for p in out.glob("runs/*.parquet")}
    for orphan in out.glob("steps/*.parquet"):  # steps written, then killed before its runs
        if orphan.name not in runs_parts:
            orphan.unlink()
    ids = [pd.read_parquet(out / "runs" / name, columns=["run_id"]).run_id
           for name in runs_parts]
    return set(pd.concat(ids)) if ids else set()


def outcome_values(runs: pd.DataFrame, outcome: str, keys: list[str]) -> pd.DataFrame:
    """One value per (point, replication): the collective arm's ``outcome``, or for
    ``gain:<outcome>`` the collective minus the isolated value of the same seed."""
    name = outcome.removeprefix(GAIN_PREFIX)
    collective = runs[runs.arm == "collective"].set_index(["point", "replication"])
    value = collective[name]
    if outcome.startswith(GAIN_PREFIX):
        isolated = runs[runs.arm == "isolated"].set_index(["point", "replication"])[name]
        value = value - isolated.reindex(value.index)
    return collective[keys].assign(value=value).reset_index()


def summarize(values: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean and 95% t-interval over replications at each point."""
    rows = []
    for point, group in values.groupby("point", sort=True):
        mean, lo, hi = interval(group.value)
        rows.append({"point": point, **group.iloc[0][keys].to_dict(), "mean": mean, "lo": lo,
                     "hi": hi, "n": len(group)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- execution
def _execute(plan: Plan, pending: list[str], experiment: Experiment, writer: _BatchWriter,
             jobs: int, backend: str, scheduler: str | None, progress: bool,
             total: int) -> None:
    if not pending:
        return
    # One task per world and seed: its runs share one burn-in (both arms, every policy).
    tasks = (delayed(execute_world)([(rid, plan.tasks[rid][0]) for rid in rids], seed,
                                    experiment.outcomes, experiment.steps_tables)
             for rids, seed in world_groups(plan, pending, workers(jobs)))
    with parallel_backend(backend, jobs, scheduler) as n_jobs, tqdm(
            total=total, initial=total - len(pending), desc=experiment.name, unit="run",
            disable=not progress, smoothing=0.1) as bar:
        # Unordered: each result is stored the moment it arrives; the final table is
        # sorted by the plan, so it does not depend on which worker finished first.
        for results in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks):
            for row, steps in results:
                writer.add(row, steps)
            bar.update(len(results))


@contextmanager
def parallel_backend(backend: str, jobs: int, scheduler: str | None = None):
    """Yields the ``n_jobs`` to give joblib: loky processes here, or a Dask cluster."""
    if backend not in BACKENDS:
        raise UserError(f"unknown backend '{backend}'; allowed: {', '.join(BACKENDS)}")
    if backend == "loky":
        if scheduler:
            raise UserError("--scheduler needs --backend dask")
        yield jobs
        return
    try:
        import dask
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UserError("--backend dask needs dask.distributed: "
                        "pip install 'collective-impact[distributed]'") from None
    with ExitStack() as stack:
        if scheduler:
            try:
                stack.enter_context(Client(scheduler, timeout="20s"))
            except (OSError, TimeoutError) as err:
                raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        else:
            workers = None if jobs == -1 else jobs
            # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc hand
            # memory back after every large numpy array: model runs take twice as long.
            key = "distributed.nanny.pre-spawn-environ"
            environ = {**dask.config.get(key, {}), "MALLOC_TRIM_THRESHOLD_": None}
            stack.enter_context(dask.config.set({key: environ}))
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
            stack.enter_context(Client(cluster))
        # joblib's dask backend uses the client just made current.
        stack.enter_context(parallel_config(backend="dask"))
        yield -1


class _BatchWriter:
    """Collects finished runs and writes them, a batch at a time, atomically."""

    def __init__(self, out: Path, session: int, provenance: dict):
        self.out, self.session, self.provenance = out, session, provenance
        self.rows: list[dict] = []
        self.steps: list[pd.DataFrame] = []
        self.batches = 0
        self.written = 0
        self.since = time.monotonic()

    def add(self, row: dict, steps: pd.DataFrame | None) -> None:
        self.rows.append(row)
        if steps is not None:
            self.steps.append(steps)
        if len(self.rows) >= FLUSH_RUNS or time.monotonic() - self.since >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            name = f"s{self.session:03d}-b{self.batches:05d}.parquet"
            if self.steps:  # steps first: a runs batch on disk means its steps are too
                write_table(pd.concat(self.steps, ignore_index=True),
                            self.out / "steps" / name, self.provenance)
            write_table(pd.DataFrame(self.rows), self.out / "runs" / name, self.provenance)
            self.written += len(self.rows)
            self.batches += 1
            self.rows, self.steps = [], []
        self.since = time.monotonic()


# ----------------------------------------------------------------------------- storage
def _open_folder(out: Path, experiment: Experiment, digest: str, plan: Plan, kind: str,
                 extra: dict) -> dict:
    """Check that ``out`` is empty or holds this very experiment; start a session there."""
    path = out / "manifest.json"
    sessions = []
    if path.exists():
        old = json.loads(path.read_text())
        old_digest = old.get("experiment", {}).get("digest")
        if old_digest != digest:
            raise ExperimentError(
                f"{out} holds results of a different experiment (digest {old_digest}, now "
                f"{digest}): the experiment file, its scenario or the --seeds/--steps-tables/"
                f"--n options changed. Use --out NEW_FOLDER, or delete {out} to start over")
        if old.get("model_fingerprint") != model_fingerprint():
            raise ExperimentError(
                f"{out} holds results of another version of the model (its code in model/ "
                f"changed since); use --out NEW_FOLDER, or delete {out} to start over")
        sessions = old.get("sessions", [])
    elif out.exists() and any(p.name != LOCK_NAME for p in out.iterdir()):
        raise ExperimentError(f"{out} is not empty and has no manifest.json, so it is not a "
                              f"sweep's results folder; use --out NEW_FOLDER or delete it")
    sessions.append({"session": len(sessions) + 1, "started": _now(), "finished": None})
    info = manifest(
        kind=kind,
        experiment={"name": experiment.name, "description": experiment.description,
                    "file": experiment.source, "text": experiment.text,
                    "scenario": experiment.scenario, "digest": digest,
                    "resolved": experiment.resolved()},
        base_config=experiment.base.to_dict(),
        parameters=plan.parameters,
        arms=list(experiment.arms),
        policies=list(experiment.policies),
        figure=experiment.figure,
        plan={"rows": len(plan.table), "points": int(plan.table.point.nunique()),
              "unique_runs": len(plan.tasks), "replications": experiment.replications},
        sessions=sessions,
        **extra,
    )
    write_json(path, info)  # before any run, so a killed first session is still recognised
    return info


def _combine(out: Path, plan: Plan, keep_steps: bool):
    finals = pd.concat([pd.read_parquet(p) for p in sorted(out.glob("runs/*.parquet"))],
                       ignore_index=True).drop_duplicates("run_id").set_index("run_id")
    runs = plan.table.join(finals, on="run_id")
    missing = runs[finals.columns[0]].isna().sum()
    if missing:
        raise RuntimeError(f"{missing} planned runs have no results in {out}/runs")
    if not keep_steps:
        return runs, None
    steps = pd.concat([pd.read_parquet(p) for p in sorted(out.glob("steps/*.parquet"))],
                      ignore_index=True).drop_duplicates(["run_id", "step"])
    order = plan.table.reset_index(names="_row")
    steps = order.merge(steps, on="run_id").sort_values(["_row", "step"], kind="stable")
    return runs, steps.drop(columns="_row").reset_index(drop=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
