"""Redraw the figures and summary tables of a results folder without rerunning the model.

``collective-impact report RESULTS_DIR`` reads ``manifest.json`` to learn what made the
folder (a sweep, a sensitivity analysis or a comparison) and which figure its
experiment file asked for, then draws from the saved Parquet tables.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from collective_impact.experiments import experiment_figures as xf
from collective_impact.experiments import figures
from collective_impact.experiments.cli import UserError
from collective_impact.experiments.design import GAIN_PREFIX, default_outcome
from collective_impact.experiments.summary import interval
from collective_impact.experiments.sweep import outcome_values


def report(out_dir: str | Path) -> list[Path]:
    """Draw everything for ``out_dir``; returns the files written."""
    out = Path(out_dir)
    path = out / "manifest.json"
    if not path.is_file():
        raise UserError(f"{out}: no manifest.json, so not a results folder of this project")
    info = json.loads(path.read_text())
    drawers = {"sweep": _sweep_report, "sensitivity": _sensitivity_report,
               "compare": _compare_report, "robustness": _robustness_report}
    kind = info.get("kind")
    if kind not in drawers:
        raise UserError(f"{out}: results of kind {kind!r}; report draws "
                        f"{', '.join(drawers)} results")
    if not (out / "runs.parquet").is_file():
        raise UserError(f"{out}: no runs.parquet yet; the {kind} did not finish. Run the same "
                        f"command again to resume it")
    return drawers[kind](out, info)


# ----------------------------------------------------------------------------- sweeps
def _sweep_report(out: Path, info: dict) -> list[Path]:
    runs = pd.read_parquet(out / "runs.parquet")
    keys = _keys(runs, info)
    written = [_write_csv(summary_table(runs, info, keys), out / "summary.csv")]
    spec = info.get("figure") or {}
    if spec:
        name = info["experiment"]["name"]
        title = spec.get("title") or info["experiment"]["description"] or name
        written += _SWEEP_FIGURES[spec["kind"]](out, runs, spec, info, title)
    return written


def summary_table(runs: pd.DataFrame, info: dict, keys: list[str]) -> pd.DataFrame:
    """Per point, kept outcome and series (each arm, and the paired gain): mean and 95%
    interval over replications."""
    series = list(info["arms"]) + (["gain"] if len(info["arms"]) == 2 else [])
    tables = []
    for outcome in info["experiment"]["resolved"]["outcomes"]:
        for s in series:
            values = _series_values(runs, outcome, s, keys)
            tables.append(_bands(values, ["point", *keys]).assign(series=s, outcome=outcome))
    return pd.concat(tables, ignore_index=True).sort_values(["point", "outcome"], kind="stable")


def _lines(out, runs, spec, info, title) -> list[Path]:
    x, hue = spec["x"], spec.get("hue")
    by = [x] + ([hue] if hue else [])
    tables = []
    for outcome in spec.get("outcomes", ["composite_index"]):
        series = ["gain"] if outcome.startswith(GAIN_PREFIX) else info["arms"]
        for s in series:
            values = _series_values(runs, outcome.removeprefix(GAIN_PREFIX), s, by)
            band = _bands(values, by).rename(columns={x: "x", **({hue: "hue"} if hue else {})})
            tables.append(band.assign(outcome=outcome, series=s))
    bands = pd.concat(tables, ignore_index=True)
    if not hue:
        bands["hue"] = np.nan
    fig = xf.lines_figure(bands, x, hue, spec.get("outcomes", ["composite_index"]), title)
    return [_save(fig, out, info)]


def _heatmap(out, runs, spec, info, title) -> list[Path]:
    x, y = spec["x"], spec["y"]
    outcome = spec.get("outcome") or default_outcome(len(info["arms"]) == 2)
    cells = _bands(outcome_values(runs, outcome, [x, y]), [x, y])
    fig = xf.heatmap_figure(cells.rename(columns={x: "x", y: "y"}), x, y, outcome, title)
    return [_save(fig, out, info)]


def _timeseries(out, runs, spec, info, title) -> list[Path]:
    steps = pd.read_parquet(out / "steps.parquet")
    written = []
    for point, group in steps.groupby("point"):
        several = steps.point.nunique() > 1
        suffix = f"_point{point}" if several else ""
        named = f"{title} ({group.policy.iloc[0]})" if several and "policy" in group else title
        written.append(_write_csv(timeseries_table(group), out / f"timeseries{suffix}.csv"))
        written.append(_save(figures.composite_figure(group, named), out, info, suffix))
    return written


def timeseries_table(steps: pd.DataFrame) -> pd.DataFrame:
    """Composite index per step: each arm and the paired gain, mean and 95% interval."""
    wide = steps.pivot_table(index=["replication", "step"], columns="arm",
                             values="composite_index").reset_index()
    if {"isolated", "collective"} <= set(wide.columns):
        wide["gain"] = wide.collective - wide.isolated
    long = wide.melt(id_vars=["replication", "step"], var_name="series", value_name="value")
    table = _bands(long, ["series", "step"])
    return table.assign(years=table.step / 4)


def _lag(out, runs, spec, info, title) -> list[Path]:
    steps = pd.read_parquet(out / "steps.parquet")
    table = lag_table(steps)
    fig = xf.lag_figure(table, title)
    return [_write_csv(table, out / "lag.csv"), _save(fig, out, info)]


def lag_table(steps: pd.DataFrame) -> pd.DataFrame:
    """The paired gain in each area's mean status (each stage of a pipeline), at the end of
    each year: mean and 95% interval over replications."""
    areas = [c.removeprefix("mean_") for c in steps.columns if c.startswith("mean_")]
    yearly = steps[(steps.step % 4 == 0) & (steps.step > 0)]
    wide = yearly.pivot_table(index=["replication", "step"], columns="arm",
                              values=[f"mean_{a}" for a in areas])
    rows = []
    for k, area in enumerate(areas):
        gain = (wide[(f"mean_{area}", "collective")] - wide[(f"mean_{area}", "isolated")])
        frame = gain.rename("value").reset_index()
        rows.append(frame.assign(area=area, stage=k + 1))
    table = _bands(pd.concat(rows, ignore_index=True), ["area", "stage", "step"])
    return table.assign(year=table.step // 4).sort_values(["stage", "year"], kind="stable")


def _factorial(out, runs, spec, info, title) -> list[Path]:
    outcome = spec.get("outcome") or default_outcome(len(info["arms"]) == 2)
    factors = list(info["parameters"])
    effects = factorial_effects(outcome_values(runs, outcome, factors), factors)
    fig = xf.factorial_figure(effects, outcome, title)
    return [_write_csv(effects, out / "effects.csv"), _save(fig, out, info)]


def factorial_effects(values: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Main effects and two-way interactions of two-level factors, per replication, then
    mean and 95% interval over replications. Effect of a contrast s (+1/-1 per point):
    mean of the points where s = +1 minus mean where s = -1."""
    wide = values.pivot(index="replication", columns="point", values="value")
    design = values.drop_duplicates("point").set_index("point").loc[wide.columns, factors]
    signs = {f.split(".")[-1]: np.where(design[f].astype(bool), 1.0, -1.0) for f in factors}
    for a, b in combinations(list(signs), 2):
        signs[f"{a} x {b}"] = signs[a] * signs[b]
    contrasts = np.column_stack(list(signs.values()))
    y = wide.to_numpy()
    effect = (y @ (contrasts > 0)) / (contrasts > 0).sum(axis=0) - (
        y @ (contrasts < 0)) / (contrasts < 0).sum(axis=0)
    rows = [{"effect": name, "order": 1 + (" x " in name), **dict(zip(
        ("mean", "lo", "hi"), interval(effect[:, j]), strict=True))}
            for j, name in enumerate(signs)]
    return pd.DataFrame(rows)


def _policies(out, runs, spec, info, title) -> list[Path]:
    outcome = spec.get("outcome") or default_outcome(len(info["arms"]) == 2)
    name = outcome.removeprefix(GAIN_PREFIX)
    arms = pd.concat([_bands(_series_values(runs, name, arm, ["policy"]), ["policy"])
                      .assign(series=arm) for arm in info["arms"]], ignore_index=True)
    gains = None
    if len(info["arms"]) == 2:
        gains = _bands(_series_values(runs, name, "gain", ["policy"]), ["policy"])
    order = {p: i for i, p in enumerate(info["policies"])}
    arms = arms.sort_values("policy", key=lambda p: p.map(order), kind="stable")
    fig = xf.policies_figure(arms, gains, outcome, title)
    return [_save(fig, out, info)]


_SWEEP_FIGURES = {"lines": _lines, "heatmap": _heatmap, "timeseries": _timeseries,
                  "lag": _lag, "factorial": _factorial, "policies": _policies}


# ----------------------------------------------------------------------------- others
def _robustness_report(out: Path, info: dict) -> list[Path]:
    if not (out / "worlds.parquet").is_file():
        raise UserError(f"{out}: no worlds.parquet yet; run the robustness command again")
    worlds = pd.read_parquet(out / "worlds.parquet")
    table = pd.read_csv(out / "policies.csv")
    boxes = pd.read_csv(out / "boxes.csv")
    settings = info["robustness"]
    name = info["experiment"]["name"]
    n = int(table.worlds.iloc[0])
    options = list(table.policy)
    paths = [out / "gain_distribution.png", out / "regret.png"]
    figures.save(xf.robustness_gain_figure(
        worlds, [p for p in options if p in settings["policies"]],
        f"{name}: the gain over {n} plausible worlds, per policy"), paths[0])
    figures.save(xf.robustness_regret_figure(
        table, worlds, settings["tolerance"],
        f"{name}: regret against the best option in each world"), paths[1])
    if len(boxes):
        paths.append(out / "peeling.png")
        figures.save(xf.robustness_peeling_figure(boxes, f"{name}: PRIM's peeling trade-off"),
                     paths[-1])
        for row in boxes[boxes.target.isin(["loses", "wins"])].itertuples():
            box = {"limits": {k: tuple(v) for k, v in json.loads(row.limits).items()}}
            path = out / f"prim_{_slug(row.policy)}_{row.target}.png"
            figures.save(xf.robustness_box_figure(worlds, box, row.policy, row.target,
                                                  row.words, f"{name}, {row.policy}"), path)
            paths.append(path)
    return paths


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")


def _sensitivity_report(out: Path, info: dict) -> list[Path]:
    if not (out / "indices.parquet").is_file():
        raise UserError(f"{out}: no indices.parquet yet; run the sensitivity command again")
    table = pd.read_parquet(out / "indices.parquet")
    settings = info["sensitivity"]
    name = info["experiment"]["name"]
    method = settings["method"]
    kind = "Latin-hypercube robustness" if method == "lhs" else f"{method.capitalize()} sensitivity"
    title = f"{name}: {kind} (n = {settings['n']})"
    draw = {"sobol": xf.sobol_figure, "morris": xf.morris_figure, "lhs": xf.prcc_figure}[method]
    path = out / "sensitivity.png"
    figures.save(draw(table, settings["outcome"], title), path)
    return [path]


def _compare_report(out: Path, info: dict) -> list[Path]:
    from collective_impact.model import Config

    steps = pd.read_parquet(out / "steps.parquet")
    config = Config.from_dict(info["config"])
    title = f"{config.scenario.name}: composite index, isolated vs collective"
    paths = [out / "composite_index.png", out / "areas.png"]
    figures.save(figures.composite_figure(steps, title), paths[0])
    figures.save(figures.areas_figure(steps, list(config.area_names)), paths[1])
    return paths


# ----------------------------------------------------------------------------- helpers
def _keys(runs: pd.DataFrame, info: dict) -> list[str]:
    return (["policy"] if "policy" in runs.columns else []) + list(info["parameters"])


def _series_values(runs: pd.DataFrame, name: str, series: str, keys: list[str]) -> pd.DataFrame:
    """Values per (point, replication) of one arm, or of the paired gain ("gain")."""
    if series == "gain":
        return outcome_values(runs, GAIN_PREFIX + name, keys)
    rows = runs[runs.arm == series]
    return rows[["point", "replication", *keys]].assign(value=rows[name].to_numpy())


def _bands(values: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, 95% interval and count of ``value`` in each group of ``by``."""
    rows = [{**dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
             **dict(zip(("mean", "lo", "hi"), interval(group.value), strict=True)),
             "n": len(group)}
            for key, group in values.groupby(by, sort=True)]
    return pd.DataFrame(rows)


def _save(fig, out: Path, info: dict, suffix: str = "") -> Path:
    path = out / f"{info['experiment']['name']}{suffix}.png"
    figures.save(fig, path)
    return path


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    table.to_csv(path, index=False, float_format="%.6g")
    return path
