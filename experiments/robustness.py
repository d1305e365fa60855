"""Robust decision making for funders: which backbone funding holds up across plausible
worlds, and in which worlds collective impact fails.

The experiment file's uncertainties (ranges, or "plausible" from the schema) are sampled by
Latin hypercube; every sampled world is crossed with every policy (backbone shares,
conditions switched off); both arms run on common random numbers through the sweep
machinery (parallel, Dask, resumable, manifest). Per policy the analysis reports the share
of worlds where collective beats isolated impact, the gain's mean and quantiles, the gain in
outcome per dollar, the regret against the best option in each world (working alone is
always an option) and a satisficing score (the share of worlds within a tolerance of the
best). Scenario discovery (PRIM; Friedman & Fisher 1999, as implemented in Kwakkel's EMA
Workbench) finds the box of uncertainties where collective impact loses, where it wins,
and where a policy is within the tolerance of the best. Methods after Lempert, Popper &
Bankes (2003) and Kwakkel (2017); see docs/experiments.md.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from collective_impact.experiments.cli import UserError
from collective_impact.experiments.design import Experiment, ExperimentError
from collective_impact.experiments.provenance import read_provenance, write_table
from collective_impact.experiments.sensitivity import problem_from_experiment, sample
from collective_impact.experiments.sweep import run_sweep

ROBUSTNESS_KEYS = ("n", "tolerance", "outcome", "density")
DEFAULT_WORLDS = 500
# Satisficing: within this of the best option's final composite index in that world
# (0.0002 of status, a five-hundredth of a standard deviation between people).
DEFAULT_TOLERANCE = 0.0002
# PRIM: the chosen box is the one with the largest coverage among those at least this dense.
DEFAULT_DENSITY = 0.8
MIN_CASES = 10  # fewer worlds of a kind than this: no box is sought for it
MAX_DIMENSIONS = 3  # a box a funder can read restricts at most this many uncertainties
# Outcomes whose higher values are better (regret and "wins" assume so).
BETTER_HIGHER = ("composite_index", "measured_composite_index", "outcome_per_million",
                 "indicators_trending", "indicators_trending_share")
WORKING_ALONE = "no backbone (working alone)"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TARGETS = {"loses": "collective impact loses", "wins": "collective impact wins",
           "satisfices": "within the tolerance of the best option"}


@dataclass
class RobustnessResult:
    out_dir: Path
    policies: pd.DataFrame  # one row per policy (and working alone)
    worlds: pd.DataFrame  # one row per world x policy
    boxes: pd.DataFrame  # one row per (policy, target) PRIM box
    summary: str


def check_robustness(experiment: Experiment) -> dict:
    """The [robustness] settings, checked, with defaults filled in."""
    spec, src = dict(experiment.robustness), experiment.source
    unknown = sorted(set(spec) - set(ROBUSTNESS_KEYS))
    if unknown:
        raise ExperimentError(f"{src}: unknown key '{unknown[0]}' in [robustness]; allowed: "
                              f"{', '.join(ROBUSTNESS_KEYS)}")
    if not experiment.both_arms:
        raise ExperimentError(f"{src}: a robustness study compares the arms: both_arms = true")
    if not experiment.policies:
        raise ExperimentError(f"{src}: a robustness study needs [policies.<name>] tables "
                              f"(e.g. backbone shares) to compare")
    keys = {f.key for f in experiment.factors}
    for name, values in experiment.policies.items():
        clash = sorted(keys & set(values))
        if clash:
            raise ExperimentError(f"{src}: [policies.{name}] sets {clash[0]}, which is an "
                                  f"uncertainty here; a policy sets levers only")
    if any(f.role != "uncertainty" for f in experiment.factors):
        raise ExperimentError(f"{src}: in a robustness study levers go in [policies.<name>]; "
                              f"only [uncertainties] are sampled")
    settings = {"n": spec.get("n", DEFAULT_WORLDS),
                "tolerance": spec.get("tolerance", DEFAULT_TOLERANCE),
                "outcome": spec.get("outcome", "composite_index"),
                "density": spec.get("density", DEFAULT_DENSITY)}
    if isinstance(settings["n"], bool) or not isinstance(settings["n"], int) or \
            settings["n"] < 2:
        raise ExperimentError(f"{src}: [robustness] n = {settings['n']!r}: must be a whole "
                              f"number of worlds >= 2")
    for key, lo, hi in (("tolerance", 0.0, 1.0), ("density", 0.0, 1.0)):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not lo <= value <= hi:
            raise ExperimentError(f"{src}: [robustness] {key} = {value!r}: must be a number "
                                  f"from {lo:g} to {hi:g}")
    if settings["outcome"] not in experiment.outcomes:
        raise ExperimentError(f"{src}: [robustness] outcome '{settings['outcome']}' is not "
                              f"among the kept outcomes: {', '.join(experiment.outcomes)}")
    outcome = settings["outcome"]
    if not (outcome in BETTER_HIGHER or outcome.startswith(("mean_", "on_track_"))):
        raise ExperimentError(f"{src}: [robustness] outcome '{outcome}': regret needs an "
                              f"outcome where higher is better: {', '.join(BETTER_HIGHER)}, "
                              f"mean_<area> or on_track_<area>")
    # Working alone must be one option: every policy's isolated arm the same world.
    alone = {name: experiment.config_for(values).isolated().to_dict()
             for name, values in experiment.policies.items()}
    first = next(iter(alone.values()))
    for name, config in alone.items():
        if config != first:
            raise ExperimentError(f"{src}: [policies.{name}] changes the isolated arm too "
                                  f"(it sets a lever open to both arms, e.g. funders' "
                                  f"responses or the pool); a robustness study compares "
                                  f"policies of the connective tissue against one "
                                  f"'working alone'")
    if "outcome_per_million" not in experiment.outcomes:
        raise ExperimentError(f"{src}: a robustness study keeps outcome_per_million (add it "
                              f"to outcomes)")
    return settings


def sample_worlds(experiment: Experiment, n: int) -> list[dict]:
    """``n`` Latin-hypercube worlds over the uncertainties' ranges (whole-number parameters
    rounded), from the experiment's seed."""
    problem = problem_from_experiment(experiment)
    whole = [f.kind is int for f in experiment.factors]
    X = sample(problem, "lhs", n, experiment.seed)
    return [{name: (int(round(v)) if is_int else float(v))
             for name, v, is_int in zip(problem["names"], row, whole, strict=True)}
            for row in X]


def run_robustness(experiment: Experiment, n: int | None = None,
                   out_dir: str | Path | None = None, **sweep_options) -> RobustnessResult:
    """Sample the worlds, run every policy in each (both arms), analyse and write the tables
    (``worlds.parquet``, ``policies.csv``, ``boxes.csv``) and ``summary.md``."""
    settings = check_robustness(experiment)
    _prim_module()  # before any run: say now if EMA Workbench is missing, not after hours
    if n is not None:
        settings["n"] = n
    worlds = sample_worlds(experiment, settings["n"])
    policies = list(experiment.policies)
    points = [{"policy": name, **experiment.policies[name], **world}
              for world in worlds for name in policies]
    out = Path(out_dir or Path("results") / experiment.name)
    info = {"robustness": {**settings, "policies": policies,
                           "uncertainties": [f.key for f in experiment.factors]}}
    result = run_sweep(experiment, out, points=points, kind="robustness", extra=info,
                       **sweep_options)
    return analyse_folder(out, result.runs, info["robustness"])


def analyse_folder(out: Path, runs: pd.DataFrame, settings: dict) -> RobustnessResult:
    """The robustness analysis of a finished folder's runs; writes its tables and summary."""
    worlds = world_table(runs, settings)
    table = policy_table(worlds, settings["tolerance"])
    boxes = discover(worlds, settings["uncertainties"], settings["density"],
                     settings["tolerance"])
    summary = summary_text(table, boxes, settings)
    provenance = read_provenance(out / "runs.parquet")
    write_table(worlds, out / "worlds.parquet", provenance)
    table.to_csv(out / "policies.csv", index=False, float_format="%.6g")
    boxes.to_csv(out / "boxes.csv", index=False, float_format="%.6g")
    (out / "summary.md").write_text(summary + "\n", encoding="utf-8")
    return RobustnessResult(out, table, worlds, boxes, summary)


def world_table(runs: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """One row per world and policy: the uncertainties, each arm's outcome (mean over
    replications), the gain, the gain in outcome per $1M, and the regret against the best
    option in that world (the policies and working alone)."""
    outcome, keys = settings["outcome"], settings["uncertainties"]
    policies = settings["policies"]
    runs = runs.assign(world=runs.point // len(policies))
    columns = list(dict.fromkeys([outcome, "outcome_per_million"]))
    means = runs.groupby(["world", "policy", "arm"])[columns].mean()
    wide = means.unstack("arm")
    table = pd.DataFrame({
        "isolated": wide[(outcome, "isolated")],
        "collective": wide[(outcome, "collective")],
        "gain": wide[(outcome, "collective")] - wide[(outcome, "isolated")],
        "gain_per_million": (wide[("outcome_per_million", "collective")]
                             - wide[("outcome_per_million", "isolated")]),
    }).reset_index()
    best = table.groupby("world").collective.max()
    alone = table.groupby("world").isolated.first()
    best = np.maximum(best, alone)
    table["regret"] = best.reindex(table.world).to_numpy() - table.collective
    alone_rows = pd.DataFrame({"world": alone.index, "policy": WORKING_ALONE,
                               "isolated": alone.to_numpy(), "collective": alone.to_numpy(),
                               "gain": 0.0, "gain_per_million": 0.0,
                               "regret": (best - alone).to_numpy()})
    table = pd.concat([table, alone_rows], ignore_index=True)
    uncertain = runs.drop_duplicates("world").set_index("world")[keys]
    table = table.join(uncertain, on="world")
    order = {p: i for i, p in enumerate([*policies, WORKING_ALONE])}
    return table.sort_values(["world", "policy"], key=lambda c: c.map(order) if
                             c.name == "policy" else c, kind="stable").reset_index(drop=True)


def policy_table(worlds: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Per policy: share of worlds where collective beats isolated impact, the gain's mean
    and quantiles, the gain in outcome per $1M, mean and worst regret, and the satisficing
    score (share of worlds within ``tolerance`` of the best option)."""
    rows = []
    for policy, group in worlds.groupby("policy", sort=False):
        row = {"policy": policy, "worlds": len(group),
               "share_beats_isolated": float((group.gain > 0).mean()),
               "gain_mean": float(group.gain.mean())}
        row.update({f"gain_q{round(q * 100):02d}": float(group.gain.quantile(q))
                    for q in QUANTILES})
        row.update({"gain_per_million_mean": float(group.gain_per_million.mean()),
                    "gain_per_million_median": float(group.gain_per_million.median()),
                    "regret_mean": float(group.regret.mean()),
                    "regret_max": float(group.regret.max()),
                    "satisficing": float((group.regret <= tolerance).mean())})
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- PRIM
def prim_box(x: pd.DataFrame, y: np.ndarray, density: float = DEFAULT_DENSITY,
             max_dimensions: int = MAX_DIMENSIONS) -> dict:
    """PRIM (EMA Workbench) for the worlds where ``y`` is true. Among the boxes on the
    peeling trajectory that restrict at most ``max_dimensions`` uncertainties, the chosen
    one has the largest coverage among those at least ``density`` dense, and a third of
    the way from the share of such worlds overall to 1 (a box must set them apart);
    failing that, the densest (``sets_apart`` False). Returns its coverage, density and
    mass, the limits of the dimensions it restricts, and the whole trajectory."""
    prim = _prim_module()
    x = x.astype(float).reset_index(drop=True)  # ema_workbench 2.5: no integer columns
    y = np.asarray(y, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            finder = prim.Prim(x, y)  # EMA Workbench 3
        except TypeError:
            finder = prim.Prim(x, y, threshold=density)  # 2.5 needs the threshold
        box = finder.find_box()
    trajectory = box.peeling_trajectory[["coverage", "density", "mass",
                                         "res_dim"]].reset_index(drop=True)
    readable = trajectory[trajectory.res_dim <= max_dimensions]
    wanted = max(density, float(y.mean()) + (1.0 - float(y.mean())) / 3.0)
    dense = readable.index[readable.density >= wanted]
    chosen = int(readable.loc[dense, "coverage"].idxmax()) if len(dense) else \
        int(readable.density.idxmax())
    limits = box.box_lims[chosen]
    full = box.box_lims[0]
    restricted = {}
    for name in x.columns:
        lo, hi = float(limits[name].iloc[0]), float(limits[name].iloc[1])
        full_lo, full_hi = float(full[name].iloc[0]), float(full[name].iloc[1])
        if lo > full_lo or hi < full_hi:
            restricted[name] = (lo if lo > full_lo else None, hi if hi < full_hi else None)
    stats = trajectory.loc[chosen]
    return {"coverage": float(stats.coverage), "density": float(stats.density),
            "mass": float(stats["mass"]), "limits": restricted, "step": chosen,
            "sets_apart": bool(len(dense)), "trajectory": trajectory}


def _prim_module():
    try:
        from ema_workbench.analysis import prim
    except ImportError as err:
        raise UserError("scenario discovery needs EMA Workbench: pip install "
                        "'collective-impact[robustness]'") from err
    return prim


def discover(worlds: pd.DataFrame, keys: list[str], density: float,
             tolerance: float) -> pd.DataFrame:
    """PRIM boxes per policy for the worlds where collective impact loses, where it wins,
    and where the policy is within ``tolerance`` of the best option; a kind with fewer
    than ``MIN_CASES`` worlds (or no other world to set it apart from) gets no box."""
    rows = []
    for policy, group in worlds.groupby("policy", sort=False):
        if policy == WORKING_ALONE:
            continue
        x = group[keys]
        cases = {"loses": group.gain.to_numpy() < 0, "wins": group.gain.to_numpy() > 0,
                 "satisfices": group.regret.to_numpy() <= tolerance}
        for target, y in cases.items():
            if y.sum() < MIN_CASES or (~y).sum() < 1:
                continue
            box = prim_box(x, y, density)
            rows.append({"policy": policy, "target": target, "cases": int(y.sum()),
                         "sets_apart": box["sets_apart"],
                         "coverage": box["coverage"], "density": box["density"],
                         "mass": box["mass"], "limits": json.dumps(box["limits"]),
                         "words": box_words(box, TARGETS[target], len(y)),
                         "trajectory": json.dumps(box["trajectory"][
                             ["coverage", "density", "mass"]].round(4).to_dict("list"))})
    columns = ["policy", "target", "cases", "sets_apart", "coverage", "density", "mass",
               "limits", "words", "trajectory"]
    return pd.DataFrame(rows, columns=columns)


def box_words(box: dict, what: str, worlds: int) -> str:
    """A PRIM box in plain words: 'collective impact loses in 93% of the worlds where trust
    growth is below 0.08 and ... (these are 41% of the worlds where it loses).'"""
    if not box["limits"]:
        return (f"{what} in {box['density']:.0%} of all {worlds} worlds; no uncertainty "
                f"sets those worlds apart")
    parts = []
    for name, (lo, hi) in box["limits"].items():
        label = name.split(".")[-1].replace("_", " ")
        if lo is not None and hi is not None:
            parts.append(f"{label} is between {lo:.3g} and {hi:.3g}")
        elif lo is not None:
            parts.append(f"{label} is above {lo:.3g}")
        else:
            parts.append(f"{label} is below {hi:.3g}")
    words = (f"{what} in {box['density']:.0%} of the worlds where " + " and ".join(parts)
             + f" (these hold {box['coverage']:.0%} of the worlds where it does)")
    if not box.get("sets_apart", True):
        words = (f"no rule of up to {MAX_DIMENSIONS} conditions sets these worlds apart (the "
                 f"best: {words})")
    return words


# ----------------------------------------------------------------------------- words
def summary_text(table: pd.DataFrame, boxes: pd.DataFrame, settings: dict) -> str:
    """The one-paragraph answer for a funder."""
    n = int(table.worlds.iloc[0])
    funded = table[table.policy != WORKING_ALONE]
    most_robust = table.loc[table.satisficing.idxmax()]
    lines = [f"Across {n} plausible worlds (Latin hypercube over "
             f"{len(settings['uncertainties'])} uncertain parameters), "]
    shares = ", ".join(f"{row.policy}: {row.share_beats_isolated:.0%}"
                       for row in funded.itertuples())
    lines.append(f"collective impact beats working alone in this share of worlds ({shares}); "
                 f"the median gain in the final composite index is "
                 + ", ".join(f"{row.gain_q50:+.4f} ({row.policy})" for row in funded.itertuples())
                 + ". ")
    lines.append(f"The policy that most often comes within {settings['tolerance']:g} of the "
                 f"best option in each world is '{most_robust.policy}' "
                 f"({most_robust.satisficing:.0%} of worlds; mean regret "
                 f"{most_robust.regret_mean:.4f}). ")
    clear = boxes[boxes.sets_apart.astype(bool)] if len(boxes) else boxes
    for target in ("wins", "loses"):
        found = clear[clear.target == target] if len(clear) else clear
        if len(found):
            row = found.iloc[0]
            lines.append(f"With a {row.policy}: {row.words}. ")
        else:
            lines.append(f"No rule of up to {MAX_DIMENSIONS} conditions on the uncertainties "
                         f"sets apart the worlds where {TARGETS[target]}. ")
    return "".join(lines).strip()


def dashboard_table(result: RobustnessResult, experiment: Experiment) -> pd.DataFrame:
    """What the dashboard shows of a study: per policy its backbone share, the share of
    worlds where it beats working alone, the gain's median and 5-95% range, and the PRIM
    boxes' words for where it loses and where it wins."""
    rows = []
    for row in result.policies.itertuples():
        if row.policy == WORKING_ALONE:
            continue
        share = experiment.policies[row.policy].get("funding.backbone_share",
                                                    experiment.base.funding.backbone_share)
        boxes = result.boxes[result.boxes.policy == row.policy].set_index("target")
        rows.append({"policy": row.policy, "backbone_share": float(share),
                     "worlds": int(row.worlds), "share_beats_isolated": row.share_beats_isolated,
                     "gain_q05": row.gain_q05, "gain_q50": row.gain_q50,
                     "gain_q95": row.gain_q95,
                     "loses_where": boxes.words.get("loses", ""),
                     "wins_where": boxes.words.get("wins", "")})
    return pd.DataFrame(rows).sort_values("backbone_share", kind="stable")
