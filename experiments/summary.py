"""Outcomes of a run and their intervals over seeds (the numbers a comparison reports)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# Final-step outcomes reported for every run, before the per-area indicators.
HEADLINE_OUTCOMES = (
    "composite_index",
    "indicators_trending",
    "duplication",
    "unmet_need",
    "outcome_per_million",
    "learning_error",
    "equity_gap",
    "trust",
    "participation",
)


def outcome_names(steps: pd.DataFrame) -> list[str]:
    """Headline outcomes, then each area's mean status and share on track."""
    areas = [c for c in steps.columns if c.startswith(("mean_", "on_track_"))]
    return [*HEADLINE_OUTCOMES, *areas]


def final_outcomes(steps: pd.DataFrame) -> dict[str, float]:
    """One run's outcomes at its last step."""
    last = steps.iloc[-1]
    return {name: float(last[name]) for name in outcome_names(steps)}


def interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and a t-interval over seeds; the interval is the mean itself for one value."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2 or np.allclose(values, values[0]):
        return mean, mean, mean
    half = stats.sem(values) * stats.t.ppf(0.5 + confidence / 2, len(values) - 1)
    return mean, float(mean - half), float(mean + half)


def paired_comparison(runs: pd.DataFrame) -> pd.DataFrame:
    """Per outcome: each arm's mean and 95% interval over seeds, and the paired difference.

    ``runs`` has one row per (arm, seed) with columns ``arm``, ``seed`` and the outcomes.
    """
    wide = runs.pivot(index="seed", columns="arm")
    rows = []
    for name in [c for c in runs.columns if c not in ("arm", "seed")]:
        iso, col = wide[(name, "isolated")], wide[(name, "collective")]
        row = {"outcome": name}
        for arm, values in (("isolated", iso), ("collective", col), ("difference", col - iso)):
            mean, lo, hi = interval(values)
            row.update({f"{arm}": mean, f"{arm}_lo": lo, f"{arm}_hi": hi})
        rows.append(row)
    return pd.DataFrame(rows)


def format_comparison(table: pd.DataFrame, n_seeds: int) -> str:
    """A plain-text table for the terminal."""
    def cell(row, arm):
        value, lo, hi = row[arm], row[f"{arm}_lo"], row[f"{arm}_hi"]
        digits = 1 if abs(value) >= 10 else 4
        sign = "+" if arm == "difference" else ""
        return f"{value:{sign}.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"

    header = ("outcome", "isolated", "collective", "collective - isolated")
    body = [(r["outcome"], cell(r, "isolated"), cell(r, "collective"), cell(r, "difference"))
            for _, r in table.iterrows()]
    widths = [max(len(str(x[i])) for x in [header, *body]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [f"Final quarter, mean [95% interval] over {n_seeds} seeds; difference is paired "
           f"by seed (same world in both arms).", line.format(*header),
           line.format(*("-" * w for w in widths))]
    out += [line.format(*row) for row in body]
    return "\n".join(out)
