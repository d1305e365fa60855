"""How often a backbone share beats working alone across plausible worlds: read from the
robustness study shipped with the package (``robustness.csv``, written by
``collective-impact robustness robust_funding``; see docs/experiments.md)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

SHIPPED = Path(__file__).resolve().parent / "robustness.csv"
NO_RULE = "no rule"  # how the study says no box of conditions sets the worlds apart


@cache
def shipped_study(path: Path = SHIPPED) -> pd.DataFrame | None:
    """The shipped study's table (one row per backbone share studied), or None."""
    return pd.read_csv(path).fillna("") if path.is_file() else None


def robustness_words(backbone_share: float, study: pd.DataFrame | None = None) -> str:
    """Plain words for the studied backbone share nearest to ``backbone_share``."""
    study = shipped_study() if study is None else study
    if study is None or study.empty:
        return "No robustness study is shipped with this installation."
    if backbone_share <= 0:
        return ("With no backbone there is no collaborative: both sides are the same "
                "organizations working alone.")
    row = study.iloc[(study.backbone_share - backbone_share).abs().argmin()]
    nearest = "" if abs(row.backbone_share - backbone_share) < 1e-9 else (
        f" (the nearest share studied to your {backbone_share:.1%})")
    text = (f"Across {int(row.worlds)} plausible worlds around the default scenario, a "
            f"backbone of {row.backbone_share:.1%} of the funding{nearest} beats working "
            f"alone in **{row.share_beats_isolated:.0%}** of them; the gain in the final "
            f"composite index has median {row.gain_q50:+.4f} and runs from "
            f"{row.gain_q05:+.4f} to {row.gain_q95:+.4f} (5% to 95% of worlds).")
    # A rule found by scenario discovery is named; "no rule ... (the best: ...)" is a
    # researcher's detail (see the study's summary.md), not a funder's.
    for label, rule in (("Where it pays", row.wins_where), ("Where it fails", row.loses_where)):
        if rule and not rule.startswith(NO_RULE):
            text += f" {label}: {rule}."
    if any(rule.startswith(NO_RULE) for rule in (row.wins_where, row.loses_where) if rule):
        text += (" Where no rule is named, no simple rule of up to three conditions sets those "
                 "worlds apart.")
    return text
