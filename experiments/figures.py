"""Figures of a comparison: readable in print, colour-blind safe (Okabe-Ito palette)."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from collective_impact.experiments.provenance import atomic_write_bytes
from collective_impact.experiments.summary import interval

ARM_COLOURS = {"isolated": "#E69F00", "collective": "#0072B2"}
ARM_LABELS = {"isolated": "Isolated impact", "collective": "Collective impact"}
ARM_STYLES = {"isolated": "--", "collective": "-"}


def _band(steps: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean and 95% interval over seeds of ``column`` at each step, per arm."""
    rows = []
    for (arm, step), group in steps.groupby(["arm", "step"]):
        mean, lo, hi = interval(group[column])
        rows.append({"arm": arm, "step": step, "mean": mean, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def _plot_arms(ax, steps: pd.DataFrame, column: str) -> None:
    band = _band(steps, column)
    for arm in ("isolated", "collective"):
        b = band[band.arm == arm]
        if b.empty:
            continue
        years = b.step / 4
        ax.plot(years, b["mean"], ARM_STYLES[arm], color=ARM_COLOURS[arm], lw=2,
                label=ARM_LABELS[arm])
        ax.fill_between(years, b.lo, b.hi, color=ARM_COLOURS[arm], alpha=0.25, lw=0)
    ax.set_xlabel("Years")
    ax.grid(alpha=0.3)


def composite_figure(steps: pd.DataFrame, title: str = ""):
    """Composite index over time, both arms, 95% bands over seeds; the gap below it."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    _plot_arms(top, steps, "composite_index")
    top.set_ylabel("Composite index\n(mean status, 0-1)")
    top.set_title(title or "Composite index: isolated vs collective impact")
    top.legend(loc="upper left", frameon=False)
    top.set_xlabel("")
    wide = steps.pivot_table(index=["seed", "step"], columns="arm", values="composite_index")
    gap = (wide["collective"] - wide["isolated"]).rename("gap").reset_index()
    rows = [(step, *interval(g.gap)) for step, g in gap.groupby("step")]
    years = np.array([r[0] for r in rows]) / 4
    mean, lo, hi = (np.array([r[i] for r in rows]) for i in (1, 2, 3))
    bottom.axhline(0, color="black", lw=0.8)
    bottom.plot(years, mean, color="#009E73", lw=2)
    bottom.fill_between(years, lo, hi, color="#009E73", alpha=0.25, lw=0)
    bottom.set_ylabel("Collective minus\nisolated")
    bottom.set_xlabel("Years")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def areas_figure(steps: pd.DataFrame, area_names: list[str]):
    """Share on track in each outcome area over time, both arms."""
    cols = 3
    rows = -(-len(area_names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 3 * rows), sharex=True, squeeze=False)
    for ax, name in zip(axes.flat, area_names, strict=False):
        _plot_arms(ax, steps, f"on_track_{name}")
        ax.set_title(name.replace("_", " ").capitalize(), fontsize=10)
        ax.set_ylabel("Share on track")
    for ax in list(axes.flat)[len(area_names):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper left", frameon=False, fontsize=8)
    fig.suptitle("Per-area indicators: share on track, mean and 95% interval over seeds")
    fig.tight_layout()
    return fig


def save(fig, path) -> None:
    """Write a figure atomically (format from the file name) and free it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=str(path).rsplit(".", 1)[-1], dpi=150, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
