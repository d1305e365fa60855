"""Experiment files: a base scenario, what to vary, how many seeds, and what to keep.

The vocabulary is EMA Workbench's: *levers* are what a collaborative or its funders
choose (backbone share, metric agreement), *uncertainties* are what the world hands
them (complementarity, observation noise), and *policies* are named settings of
parameters. Levers and uncertainties form a full-factorial grid; every policy is
crossed with it. See docs/experiments.md for the format, e.g.::

    [experiment]
    name = "funding"
    scenario = "../default.toml"    # relative to this file, or a shipped scenario's name
    replications = 10               # seeds per parameter point
    seed = 2024
    both_arms = true                # isolated and collective runs on the same seeds
    outcomes = ["composite_index", "outcome_per_million"]

    [levers]
    "funding.backbone_share" = { min = 0.0, max = 0.3, num = 7 }

    [uncertainties]
    "organizations.count" = [15, 60, 300]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from collective_impact.experiments.cli import UserError
from collective_impact.model import CollectiveImpactModel, Config, ConfigError, load_config
from collective_impact.model.config import SCHEMA, did_you_mean
from collective_impact.model.scenarios import (
    find_experiment,
    find_scenario,
    shipped_experiments,
    shipped_scenarios,
)

SECTIONS = ("experiment", "base", "levers", "uncertainties", "policies", "figure", "sensitivity",
            "robustness")
EXPERIMENT_KEYS = ("name", "description", "scenario", "replications", "seed", "both_arms",
                   "outcomes", "steps_tables")
RANGE_KEYS = ("min", "max", "num", "scale")
FACTOR_ROLES = {"levers": "lever", "uncertainties": "uncertainty"}
GAIN_PREFIX = "gain:"
SENSITIVITY_METHODS = ("sobol", "morris", "lhs")
# Sobol' base sample (a power of 2); Morris trajectories; Latin-hypercube points (robustness)
DEFAULT_N = {"sobol": 64, "morris": 10, "lhs": 250}


class ExperimentError(UserError):
    """A mistake in an experiment file; the message names the file and the problem."""


@dataclass(frozen=True)
class Factor:
    """A parameter varied over a grid (``values``) or, for sensitivity analysis, a range."""

    key: str
    role: str  # "lever" or "uncertainty"
    values: tuple | None  # grid values; None for a range without ``num``
    bounds: tuple[float, float] | None  # (min, max) if given as a range

    @property
    def kind(self) -> type:
        section, name = self.key.split(".")
        return type(SCHEMA[section][name]["default"])


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    source: str  # the experiment file, as given
    text: str  # its content, kept in the manifest
    scenario: str | None  # resolved path of the base scenario
    base: Config  # the scenario with [base] applied
    factors: tuple[Factor, ...]
    policies: dict[str, dict[str, Any]]
    replications: int
    seed: int
    both_arms: bool
    outcomes: tuple[str, ...]
    steps_tables: bool
    figure: dict = field(default_factory=dict)
    sensitivity: dict = field(default_factory=dict)
    robustness: dict = field(default_factory=dict)

    @property
    def arms(self) -> tuple[str, ...]:
        return ("isolated", "collective") if self.both_arms else ("collective",)

    @property
    def parameters(self) -> list[str]:
        """Every parameter the experiment varies: factors, then those its policies set."""
        keys = [f.key for f in self.factors]
        for values in self.policies.values():
            keys += [k for k in values if k not in keys]
        return keys

    def grid_points(self) -> list[dict[str, Any]]:
        """The full-factorial grid of the factors, crossed with each policy (if any)."""
        missing = [f.key for f in self.factors if f.values is None]
        if missing:
            raise ExperimentError(f"{self.source}: {missing[0]} is a range without 'num'; "
                                  f"a sweep needs num = how many grid values")
        grid = [dict(zip([f.key for f in self.factors], combo, strict=True))
                for combo in itertools.product(*(f.values for f in self.factors))]
        if not self.policies:
            return grid
        return [{"policy": name, **settings, **point}
                for name, settings in self.policies.items() for point in grid]

    def config_for(self, point: dict[str, Any]) -> Config:
        """The collective arm's scenario at one point of the experiment."""
        values = {k: v for k, v in point.items() if k != "policy"}
        try:
            return self.base.with_values(values)
        except ConfigError as err:
            raise ExperimentError(f"{self.source}: at {_describe(point)}: {err}") from None

    def resolved(self) -> dict:
        """Everything that decides which runs are made: hashed to detect a changed file.
        (The scenario's name and description are left out: they change no run.)"""
        base = {k: v for k, v in self.base.to_dict().items() if k != "scenario"}
        return {
            "base_config": base,
            "factors": [{"key": f.key, "role": f.role, "values": f.values, "bounds": f.bounds}
                        for f in self.factors],
            "policies": self.policies,
            "replications": self.replications,
            "seed": self.seed,
            "arms": list(self.arms),
            "outcomes": list(self.outcomes),
            "steps_tables": self.steps_tables,
        }

    def digest(self, **extra) -> str:
        text = json.dumps({**self.resolved(), **extra}, sort_keys=True, default=_plain)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_experiment(path: str | Path, replications: int | None = None,
                    steps_tables: bool = False) -> Experiment:
    """Read and validate an experiment file; ``replications`` and ``steps_tables`` override it."""
    found = find_experiment(path)
    if found is None:
        names = list(shipped_experiments())
        raise ExperimentError(f"experiment file not found: {path}"
                              f"{did_you_mean(Path(path).stem, names)}; shipped experiments: "
                              f"{', '.join(names)}")
    path = found
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ExperimentError(f"{path}: not valid TOML: {err}") from None
    return parse_experiment(data, path, text, replications, steps_tables)


def parse_experiment(data: dict, path: Path, text: str = "", replications: int | None = None,
                     steps_tables: bool = False) -> Experiment:
    """Validate the parsed TOML ``data`` of the experiment file at ``path``."""
    src = str(path)
    _check_keys(data, SECTIONS, src, "section")
    head = data.get("experiment", {})
    _check_keys(head, EXPERIMENT_KEYS, src, "key in [experiment]")
    scenario = _resolve_scenario(head.get("scenario"), path)
    base = load_config(scenario) if scenario else Config.from_dict({})
    try:
        base = base.with_values(_flatten(data.get("base", {}), src, "[base]"))
    except ConfigError as err:
        raise ExperimentError(f"{src}: [base]: {err}") from None

    factors = _parse_factors(data, base, src)
    policies = _parse_policies(data.get("policies", {}), base, factors, src)
    reps = _whole(head.get("replications", 10), f"{src}: replications", minimum=1)
    both, keep_steps = head.get("both_arms", True), head.get("steps_tables", False)
    for key, value in (("both_arms", both), ("steps_tables", keep_steps)):
        if not isinstance(value, bool):
            raise ExperimentError(f"{src}: {key} = {value!r}: must be true or false")
    experiment = Experiment(
        name=str(head.get("name", path.stem)),
        description=str(head.get("description", "")),
        source=src, text=text,
        scenario=str(scenario) if scenario else None,
        base=base, factors=factors, policies=policies,
        replications=reps if replications is None else replications,
        seed=_whole(head.get("seed", base.run.seed), f"{src}: seed", minimum=0),
        both_arms=both,
        outcomes=_parse_outcomes(head.get("outcomes"), base, src),
        steps_tables=keep_steps or steps_tables,
        figure=dict(data.get("figure", {})),
        sensitivity=dict(data.get("sensitivity", {})),
        robustness=dict(data.get("robustness", {})),
    )
    for point in experiment.grid_points() if all(f.values for f in factors) else []:
        experiment.config_for(point)  # cross-field checks (e.g. home_areas <= areas)
    _check_figure(experiment)
    _check_sensitivity(experiment)
    return experiment


def check_outcome(experiment: Experiment, outcome: str | None, where: str) -> None:
    """An analysed outcome is a kept outcome, or ``gain:<kept outcome>`` with both arms."""
    if outcome is None:
        return
    name = outcome.removeprefix(GAIN_PREFIX)
    if outcome.startswith(GAIN_PREFIX) and not experiment.both_arms:
        raise ExperimentError(f"{experiment.source}: {where} '{outcome}' needs both_arms = true")
    if name not in experiment.outcomes:
        raise ExperimentError(f"{experiment.source}: {where} '{outcome}' is not among the kept "
                              f"outcomes{did_you_mean(name, experiment.outcomes)}; kept: "
                              f"{', '.join(experiment.outcomes)}")


def default_outcome(both_arms: bool) -> str:
    """The paired collective-minus-isolated composite index, or the collective one alone."""
    return GAIN_PREFIX + "composite_index" if both_arms else "composite_index"


# Figure kinds (see experiments/experiment_figures.py) and the keys each one takes.
FIGURE_KEYS = {
    "lines": ("kind", "x", "hue", "outcomes", "title"),
    "heatmap": ("kind", "x", "y", "outcome", "title"),
    "timeseries": ("kind", "title"),  # the composite index over time, as `compare` draws it
    "lag": ("kind", "title"),  # the paired gain by stage (area) and year
    "factorial": ("kind", "outcome", "title"),
    "policies": ("kind", "outcome", "title"),
}


def _check_figure(experiment: Experiment) -> None:
    spec, src = experiment.figure, experiment.source
    if not spec:
        return
    kind = spec.get("kind")
    if kind not in FIGURE_KEYS:
        raise ExperimentError(f"{src}: [figure] kind = {kind!r}; allowed: {', '.join(FIGURE_KEYS)}")
    _check_keys(spec, FIGURE_KEYS[kind], f"{src}: [figure]", f"key for a {kind} figure")
    factor_keys = [f.key for f in experiment.factors]
    for axis in ("x", "y", "hue"):
        if axis in spec and spec[axis] not in factor_keys:
            raise ExperimentError(f"{src}: [figure] {axis} = {spec[axis]!r} is not a lever or "
                                  f"uncertainty of this experiment; those are: "
                                  f"{', '.join(factor_keys) or 'none'}")
    required = {"lines": ("x",), "heatmap": ("x", "y")}.get(kind, ())
    for axis in required:
        if axis not in spec:
            raise ExperimentError(f"{src}: [figure] a {kind} figure needs {axis} = a factor")
    for outcome in spec.get("outcomes", []) + [spec.get("outcome")]:
        check_outcome(experiment, outcome, "[figure] outcome")
    if kind in ("timeseries", "lag") and not experiment.steps_tables:
        raise ExperimentError(f"{src}: a {kind} figure needs steps_tables = true")
    if kind == "lag" and not experiment.both_arms:
        raise ExperimentError(f"{src}: a lag figure needs both_arms = true (it draws the gain)")
    if kind == "policies" and not experiment.policies:
        raise ExperimentError(f"{src}: a policies figure needs [policies.<name>] tables")
    if kind == "factorial" and (len(experiment.factors) < 2 or any(
            f.kind is not bool for f in experiment.factors)):
        raise ExperimentError(f"{src}: a factorial figure needs two or more switches "
                              f"(true/false parameters) as its only factors")


def _check_sensitivity(experiment: Experiment) -> None:
    spec, src = experiment.sensitivity, experiment.source
    _check_keys(spec, ("method", "n", "outcome"), f"{src}: [sensitivity]", "key")
    if "method" in spec and spec["method"] not in SENSITIVITY_METHODS:
        raise ExperimentError(f"{src}: [sensitivity] method = {spec['method']!r}; allowed: "
                              f"{', '.join(SENSITIVITY_METHODS)}")
    if "n" in spec:
        _whole(spec["n"], f"{src}: [sensitivity] n", minimum=2)
    check_outcome(experiment, spec.get("outcome"), "[sensitivity] outcome")


# ----------------------------------------------------------------------------- parsing
def _parse_factors(data: dict, base: Config, src: str) -> tuple[Factor, ...]:
    factors: dict[str, Factor] = {}
    for section, role in FACTOR_ROLES.items():
        where = f"{src}: [{section}]"
        for key, spec in _flatten(data.get(section, {}), src, f"[{section}]").items():
            _check_parameter(key, base, where)
            if key in factors:
                raise ExperimentError(f"{where} {key} is already a {factors[key].role}; "
                                      f"vary each parameter once")
            factors[key] = _parse_factor(key, role, spec, base, where)
    return tuple(factors.values())


def _parse_factor(key: str, role: str, spec, base: Config, where: str) -> Factor:
    kind = type(base.get(key))
    if isinstance(spec, list):
        if not spec:
            raise ExperimentError(f"{where} {key}: empty list of values")
        if len(set(map(repr, spec))) < len(spec):
            raise ExperimentError(f"{where} {key}: a value is listed twice in {spec}")
        for value in spec:
            _check_value(key, value, base, where)
        return Factor(key, role, tuple(spec), None)
    if isinstance(spec, dict):
        if kind is bool:
            raise ExperimentError(f"{where} {key} is a switch: give the list [false, true], "
                                  f"not a range")
        values, bounds = _parse_range(key, spec, kind, base, where)
        return Factor(key, role, values, bounds)
    if spec == "plausible":
        section, name = key.split(".")
        plausible = SCHEMA[section][name]["plausible"]
        if plausible is None:
            raise ExperimentError(f"{where} {key} has no plausible range in the schema; give "
                                  f"{{min = ..., max = ...}}")
        return Factor(key, role, None, (float(plausible[0]), float(plausible[1])))
    raise ExperimentError(f"{where} {key} = {spec!r}: give a list of values, a range "
                          f"{{min = ..., max = ..., num = ...}}, or \"plausible\" (the "
                          f"schema's plausible range)")


def _parse_range(key: str, spec: dict, kind: type, base: Config, where: str):
    _check_keys(spec, RANGE_KEYS, f"{where} {key}", "range key")
    if "min" not in spec or "max" not in spec:
        raise ExperimentError(f"{where} {key}: a range needs both min and max")
    lo, hi = spec["min"], spec["max"]
    for bound in (lo, hi):
        _check_value(key, bound, base, where)
    if lo > hi:
        raise ExperimentError(f"{where} {key}: reversed range, min = {lo} is above max = {hi}")
    if lo == hi:
        raise ExperimentError(f"{where} {key}: empty range, min = max = {lo}")
    if "num" not in spec:
        return None, (float(lo), float(hi))
    num = spec["num"]
    if isinstance(num, int) and not isinstance(num, bool) and num < 1:
        raise ExperimentError(f"{where} {key}: empty range, num = {num}")
    num = _whole(num, f"{where} {key}: num (use a list for a single value)", minimum=2)
    scale = spec.get("scale", "linear")
    if scale == "log":
        if lo <= 0:
            raise ExperimentError(f"{where} {key}: a log range needs min above 0, got {lo}")
        grid = np.geomspace(lo, hi, num)
    elif scale == "linear":
        grid = np.linspace(lo, hi, num)
    else:
        raise ExperimentError(f"{where} {key}: scale = {scale!r}; allowed: linear, log")
    if kind is int:
        values = tuple(dict.fromkeys(int(round(v)) for v in grid))
    else:
        values = tuple(round(float(v), 12) for v in grid)  # 0.30000000000000004 -> 0.3
    return values, (float(lo), float(hi))


def _parse_policies(policies: dict, base: Config, factors, src: str) -> dict[str, dict]:
    out = {}
    factor_keys = {f.key for f in factors}
    for name, settings in policies.items():
        where = f"{src}: [policies.{name}]"
        if not isinstance(settings, dict):
            raise ExperimentError(f"{where} must be a table of parameter values")
        values = _flatten(settings, src, f"[policies.{name}]")
        for key, value in values.items():
            _check_parameter(key, base, where)
            if key in factor_keys:
                raise ExperimentError(f"{where} sets {key}, which is also varied as a factor")
            _check_value(key, value, base, where)
        out[name] = values
    return out


def _parse_outcomes(outcomes, base: Config, src: str) -> tuple[str, ...]:
    from collective_impact.experiments.summary import final_outcomes

    steps = CollectiveImpactModel(base).results()
    if outcomes is None:
        return tuple(final_outcomes(steps))
    if not isinstance(outcomes, list) or not outcomes:
        raise ExperimentError(f"{src}: outcomes must be a non-empty list of names")
    allowed = [c for c in steps.columns if c != "step"]
    for name in outcomes:
        if name not in allowed:
            raise ExperimentError(f"{src}: unknown outcome '{name}'{did_you_mean(name, allowed)}; "
                                  f"allowed: {', '.join(allowed)}")
    if "composite_index" not in outcomes:
        outcomes = ["composite_index", *outcomes]  # every analysis default needs it
    return tuple(dict.fromkeys(outcomes))


def _resolve_scenario(scenario, path: Path) -> Path | None:
    if scenario is None:
        return None
    relative = path.parent / scenario
    found = relative if relative.is_file() else find_scenario(scenario)
    if found is not None:
        return found.resolve()
    raise ExperimentError(f"{path}: scenario file '{scenario}' not found (looked relative to "
                          f"the experiment file, then among the shipped scenarios: "
                          f"{', '.join(shipped_scenarios())})")


def _flatten(table: dict, src: str, where: str, prefix: str = "") -> dict[str, Any]:
    """``{"funding": {"backbone_share": x}}`` and ``{"funding.backbone_share": x}`` alike give
    ``{"funding.backbone_share": x}``; a range table ``{min, max, num}`` is a leaf."""
    if not isinstance(table, dict):
        raise ExperimentError(f"{src}: {where} must be a table")
    out = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and not set(value) & set(RANGE_KEYS):
            out.update(_flatten(value, src, where, full + "."))
        else:
            out[full] = value
    return out


def _check_parameter(key: str, base: Config, where: str) -> None:
    try:
        base.get(key)
    except ConfigError as err:
        raise ExperimentError(f"{where} {err}") from None


def _check_value(key: str, value, base: Config, where: str) -> None:
    try:
        base.with_values({key: value})
    except ConfigError as err:
        raise ExperimentError(f"{where} {err}") from None


def _check_keys(table: dict, allowed, src: str, what: str) -> None:
    if not isinstance(table, dict):
        raise ExperimentError(f"{src}: expected a table, got {table!r}")
    for key in table:
        if key not in allowed:
            raise ExperimentError(f"{src}: unknown {what} '{key}'{did_you_mean(key, allowed)}; "
                                  f"allowed: {', '.join(allowed)}")


def _whole(value, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ExperimentError(f"{what} = {value!r}: must be a whole number >= {minimum}")
    return value


def _describe(point: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in point.items())


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)
