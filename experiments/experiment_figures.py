"""Figures of sweeps and sensitivity analyses: print-readable, labelled with units,
colour-blind safe (Okabe-Ito palette; a ColorBrewer diverging map for heatmaps).

Every function takes tidy tables already computed (see experiments/report.py) and
returns a matplotlib figure; ``figures.save`` writes it.
"""

from __future__ import annotations

import json
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from collective_impact.experiments.design import GAIN_PREFIX
from collective_impact.experiments.figures import ARM_COLOURS, ARM_LABELS, ARM_STYLES

# Okabe-Ito, in an order that keeps neighbouring curves far apart.
HUE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")
GAIN_COLOUR = "#009E73"
FADED = "#999999"
SHARE_PARAMETERS = {"funding.backbone_share"}  # drawn in percent

PARAMETER_LABELS = {
    "funding.backbone_share": "Backbone share s (of the funding pool)",
    "organizations.count": "Organizations",
    "problem.complementarity": "Complementarity c (0 = independent areas, 1 = pipeline)",
    "collaboration.metric_agreement": "Metric agreement m (0-1)",
    "collaboration.control_tightness": "Control tightness (0 = aligning, 1 = dictating)",
    "learning.observation_noise": "Observation noise (SD of one measured result)",
    "run.steps": "Horizon (quarters)",
}
OUTCOME_LABELS = {
    "composite_index": "Final composite index\n(mean status, 0-1)",
    "outcome_per_million": ("Outcome per $1M\n(person-area status gain\n"
                            "summed over quarters, per $1M)"),
    "indicators_trending": "Indicators trending\nthe right way (count)",
    "duplication": "Duplication\n(extra services per person-area served)",
    "unmet_need": "Unmet need\n(share of high-need person-areas unserved)",
    "equity_gap": "Equity gap\n(top minus bottom quintile status)",
    "participation": "Participation (share of organizations)",
    "trust": "Trust (mean, 0-1)",
}


def parameter_label(key: str) -> str:
    return PARAMETER_LABELS.get(key, key)


def outcome_label(outcome: str) -> str:
    name = outcome.removeprefix(GAIN_PREFIX)
    label = OUTCOME_LABELS.get(name, name.replace("_", " "))
    if outcome.startswith(GAIN_PREFIX):
        return "Collective minus isolated:\n" + label.replace("Final ", "final ")
    return label


def _format_axis(axis, key: str) -> None:
    if key in SHARE_PARAMETERS:
        axis.set_major_formatter(FuncFormatter(lambda value, _: percent(value)))


def lines_figure(bands: pd.DataFrame, x: str, hue: str | None, outcomes: list[str],
                 title: str):
    """One panel per outcome: mean and 95% band over seeds against ``x``, a curve per
    ``hue`` value; collective solid, isolated dashed, paired gains in their own panels.

    ``bands`` has columns outcome, series (arm or "gain"), x, hue, mean, lo, hi.
    """
    fig, axes = plt.subplots(1, len(outcomes), figsize=(5.2 * len(outcomes), 4.4),
                             squeeze=False)
    hues = sorted(bands["hue"].dropna().unique()) if hue else [None]
    colours = dict(zip(hues, HUE_COLOURS, strict=False))
    for ax, outcome in zip(axes.flat, outcomes, strict=True):
        for (series, level), b in bands[bands.outcome == outcome].groupby(
                ["series", "hue"], dropna=False, sort=False):
            colour = colours[level] if hue else ARM_COLOURS.get(series, GAIN_COLOUR)
            style = ARM_STYLES.get(series, "-")
            b = b.sort_values("x")
            ax.plot(b.x, b["mean"], style, color=colour, lw=2 if style == "-" else 1.5,
                    marker="o" if series != "isolated" else None, ms=3.5)
            ax.fill_between(b.x, b.lo, b.hi, color=colour, alpha=0.18, lw=0)
        if outcome.startswith(GAIN_PREFIX):
            ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(parameter_label(x))
        ax.set_ylabel(outcome_label(outcome))
        _format_axis(ax.xaxis, x)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colours[h], lw=2, label=f"{h:g} {parameter_label(hue).lower()}")
               for h in hues if h is not None]
    series = set(bands.series)
    handles += [Line2D([], [], color="black" if hue else ARM_COLOURS[s], ls=ARM_STYLES[s], lw=2,
                       label=ARM_LABELS[s]) for s in ("collective", "isolated") if s in series]
    axes.flat[0].legend(handles=handles, frameon=False, fontsize=8, loc="best")
    fig.suptitle(title + "\nmean and 95% interval over seeds")
    fig.tight_layout()
    return fig


def heatmap_figure(cells: pd.DataFrame, x: str, y: str, outcome: str, title: str):
    """Mean of ``outcome`` over seeds on an x-by-y grid; values in parentheses have a 95%
    interval that includes 0. ``cells`` has columns x, y, mean, lo, hi."""
    grid = cells.pivot(index="y", columns="x", values="mean").sort_index(ascending=False)
    lo = cells.pivot(index="y", columns="x", values="lo").reindex_like(grid)
    hi = cells.pivot(index="y", columns="x", values="hi").reindex_like(grid)
    values = grid.to_numpy()
    span = float(np.nanmax(np.abs(values))) or 1.0
    fig, ax = plt.subplots(figsize=(1.1 * grid.shape[1] + 3, 0.75 * grid.shape[0] + 2))
    image = ax.imshow(values, cmap="RdBu", norm=TwoSlopeNorm(0.0, -span, span), aspect="auto")
    decimals = max(1, 1 - int(np.floor(np.log10(span))))  # two significant digits at most
    for (i, j), value in np.ndenumerate(values):
        unsure = lo.iat[i, j] <= 0 <= hi.iat[i, j]
        shown = f"{value:.{decimals}f}"
        shown = shown.lstrip("-") if float(shown) == 0 else shown  # no "-0.000"
        text = f"({shown})" if unsure else shown
        dark = abs(value) > 0.55 * span
        ax.text(j, i, text, ha="center", va="center", fontsize=8,
                color="white" if dark else "black")
    ax.set_xticks(range(grid.shape[1]), [_tick(v, x) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [_tick(v, y) for v in grid.index])
    ax.set_xlabel(parameter_label(x))
    ax.set_ylabel(parameter_label(y))
    fig.colorbar(image, ax=ax, label=outcome_label(outcome).replace("\n", " "), shrink=0.9)
    ax.set_title(f"{title}\nmean over seeds; (in parentheses): 95% interval includes 0",
                 fontsize=10)
    fig.tight_layout()
    return fig


def lag_figure(table: pd.DataFrame, title: str):
    """The paired gain in mean status by stage (rows, first stage on top) and year
    (columns); values in parentheses have a 95% interval that includes 0. ``table`` has
    columns area, stage, year, mean, lo, hi."""
    grid = table.pivot(index="stage", columns="year", values="mean")
    lo = table.pivot(index="stage", columns="year", values="lo").reindex_like(grid)
    hi = table.pivot(index="stage", columns="year", values="hi").reindex_like(grid)
    names = table.drop_duplicates("stage").set_index("stage").area.reindex(grid.index)
    values = grid.to_numpy()
    span = float(np.nanmax(np.abs(values))) or 1.0
    fig, ax = plt.subplots(figsize=(0.8 * grid.shape[1] + 4, 0.6 * grid.shape[0] + 2))
    image = ax.imshow(values, cmap="RdBu", norm=TwoSlopeNorm(0.0, -span, span), aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        unsure = lo.iat[i, j] <= 0 <= hi.iat[i, j]
        shown = f"{value * 1000:.1f}"
        ax.text(j, i, f"({shown})" if unsure else shown, ha="center", va="center",
                fontsize=7, color="white" if abs(value) > 0.55 * span else "black")
    ax.set_xticks(range(grid.shape[1]), [f"{y:g}" for y in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [n.replace("_", " ") for n in names])
    ax.set_xlabel("Year of the collaborative")
    fig.colorbar(image, ax=ax, label="Collective minus isolated: mean status", shrink=0.9)
    ax.set_title(f"{title}\nin thousandths of status; (in parentheses): 95% interval "
                 "includes 0", fontsize=10)
    fig.tight_layout()
    return fig


def factorial_figure(effects: pd.DataFrame, outcome: str, title: str):
    """Main effects and two-way interactions of a two-level factorial, with 95% intervals.
    ``effects`` has columns effect, order (1 or 2), mean, lo, hi."""
    main = effects[effects.order == 1]
    pairs = effects[effects.order == 2].reindex(
        effects[effects.order == 2]["mean"].abs().sort_values().index)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8),
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    for ax, table, name in ((left, main, "Main effects"), (right, pairs, "Two-way interactions")):
        clear = (table.lo > 0) | (table.hi < 0)
        colours = np.where(clear, HUE_COLOURS[0], FADED)
        ypos = np.arange(len(table))
        ax.barh(ypos, table["mean"], color=colours,
                xerr=[table["mean"] - table.lo, table.hi - table["mean"]],
                error_kw={"ecolor": "black", "capsize": 3, "lw": 1})
        ax.set_yticks(ypos, [e.replace("_", " ").replace(" x ", " ×\n") for e in table.effect],
                      fontsize=8)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(name)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("Effect on " + outcome_label(outcome).replace("\n", " ").lower())
    right.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=HUE_COLOURS[0]),
                          plt.Rectangle((0, 0), 1, 1, color=FADED)],
                 labels=["95% interval excludes 0", "includes 0"], frameon=False, fontsize=8,
                 loc="lower right")
    fig.suptitle(f"{title}\neffect = mean with the switch on minus off (interaction: "
                 f"half the change of one effect when the other switch is on)", fontsize=10)
    fig.tight_layout()
    return fig


def policies_figure(arms: pd.DataFrame, gains: pd.DataFrame | None, outcome: str, title: str):
    """Each named policy: both arms' outcome and their paired difference, 95% intervals.
    ``arms`` has columns policy, series (arm), mean, lo, hi; ``gains`` the same for the gain."""
    policies = list(dict.fromkeys(arms.policy))
    panels = 2 if gains is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 0.6 * len(policies) + 2.2),
                             squeeze=False, sharey=True)
    ypos = {p: i for i, p in enumerate(reversed(policies))}
    left = axes.flat[0]
    for series, table in arms.groupby("series", sort=False):
        y = table.policy.map(ypos) + (0.12 if series == "collective" else -0.12)
        left.errorbar(table["mean"], y, xerr=[table["mean"] - table.lo, table.hi - table["mean"]],
                      fmt="o", color=ARM_COLOURS[series], label=ARM_LABELS[series], capsize=3)
    left.set_yticks(list(ypos.values()), [p.replace("_", " ") for p in ypos])
    left.set_xlabel(outcome_label(outcome.removeprefix(GAIN_PREFIX)).replace("\n", " "))
    left.legend(frameon=False, fontsize=8, loc="best")
    left.grid(axis="x", alpha=0.3)
    if gains is not None:
        right = axes.flat[1]
        y = gains.policy.map(ypos)
        right.errorbar(gains["mean"], y, xerr=[gains["mean"] - gains.lo, gains.hi - gains["mean"]],
                       fmt="s", color=GAIN_COLOUR, capsize=3)
        right.axvline(0, color="black", lw=0.8)
        right.set_xlabel(outcome_label(GAIN_PREFIX + outcome.removeprefix(GAIN_PREFIX))
                         .replace("\n", " "))
        right.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{title}\nmean and 95% interval over seeds (difference paired by seed)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def sobol_figure(table: pd.DataFrame, outcome: str, title: str):
    """First-order and total Sobol' indices with 95% bootstrap intervals."""
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(table) + 2))
    ypos = np.arange(len(table))[::-1]
    for offset, column, colour, label in ((0.18, "S1", "#56B4E9", "First order S1"),
                                          (-0.18, "ST", "#0072B2", "Total ST")):
        ax.barh(ypos + offset, table[column], height=0.34, color=colour, label=label,
                xerr=table[f"{column}_conf"], error_kw={"ecolor": "black", "capsize": 3})
    ax.set_yticks(ypos, [parameter_label(p) for p in table.parameter], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Sobol' index (share of output variance)")
    ax.legend(frameon=False, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{title}\noutput: {outcome_label(outcome).replace(chr(10), ' ')}", fontsize=10)
    fig.tight_layout()
    return fig


def morris_figure(table: pd.DataFrame, outcome: str, title: str):
    """Morris screening: mean absolute elementary effect mu* against its spread sigma."""
    fig, ax = plt.subplots(figsize=(7, 5))
    for i, row in enumerate(table.itertuples()):
        colour = HUE_COLOURS[i % len(HUE_COLOURS)]
        ax.errorbar(row.mu_star, row.sigma, xerr=row.mu_star_conf, fmt="o", color=colour,
                    capsize=3, label=parameter_label(row.parameter))
    top = float(max(table.mu_star.max() + table.mu_star_conf.max(), table.sigma.max())) * 1.1
    ax.plot([0, top], [0, top], ":", color="black", lw=1, label="sigma = mu*")
    ax.set_xlim(0, top or 1)
    ax.set_ylim(0, top or 1)
    ax.set_xlabel("mu*: mean |elementary effect| (output units per full parameter range)")
    ax.set_ylabel("sigma: spread of elementary effects\n(non-linearity or interactions)")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    ax.set_title(f"{title}\noutput: {outcome_label(outcome).replace(chr(10), ' ')}", fontsize=10)
    fig.tight_layout()
    return fig


def prcc_figure(table: pd.DataFrame, outcome: str, title: str):
    """Partial rank correlation of each uncertain parameter with the outcome, 95% intervals,
    strongest on top; the title says in how many sampled worlds the outcome was above 0."""
    table = table.reindex(table.PRCC.abs().sort_values().index)
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(table) + 2))
    ypos = np.arange(len(table))
    colours = ["#0072B2" if v >= 0 else "#D55E00" for v in table.PRCC]
    ax.barh(ypos, table.PRCC, color=colours, height=0.6,
            xerr=[table.PRCC - table.PRCC_lo, table.PRCC_hi - table.PRCC],
            error_kw={"ecolor": "black", "capsize": 2})
    ax.set_yticks(ypos, [parameter_label(p) for p in table.parameter], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("Partial rank correlation with the output (others held fixed)")
    ax.grid(axis="x", alpha=0.3)
    share = float(table.share_positive.iloc[0])
    ax.set_title(f"{title}\noutput: {outcome_label(outcome).replace(chr(10), ' ')}; above 0 in "
                 f"{share:.0%} of sampled worlds", fontsize=10)
    fig.tight_layout()
    return fig


def _tick(value, key: str) -> str:
    return percent(value) if key in SHARE_PARAMETERS else f"{value:g}"


def percent(share: float) -> str:
    """A share as a percentage with as many decimals as it needs: 5%, 2.5%, 0.25%."""
    return f"{round(share * 100, 6):g}%"


# ----------------------------------------------------------------------------- robustness
def robustness_gain_figure(worlds: pd.DataFrame, policies: list[str], title: str):
    """The gain's distribution over sampled worlds, per policy: empirical CDFs, with the
    share of worlds where collective beats isolated impact in the legend."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for i, policy in enumerate(policies):
        gain = np.sort(worlds.loc[worlds.policy == policy, "gain"].to_numpy())
        share = float((gain > 0).mean())
        ax.step(gain, np.arange(1, len(gain) + 1) / len(gain), where="post",
                color=HUE_COLOURS[i % len(HUE_COLOURS)], linewidth=2,
                label=f"{policy}: beats working alone in {share:.0%}")
    ax.axvline(0.0, color=FADED, linestyle="--", linewidth=1)
    ax.set_xlabel("Collective minus isolated: final composite index (per world)")
    ax.set_ylabel("Share of plausible worlds at or below")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def robustness_regret_figure(table: pd.DataFrame, worlds: pd.DataFrame, tolerance: float,
                             title: str):
    """Regret per option (how far below the best option in each world), as box plots, with
    the satisficing score (share of worlds within the tolerance) beside each."""
    options = list(table.policy)
    data = [worlds.loc[worlds.policy == p, "regret"].to_numpy() * 1000 for p in options]
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(options) + 1.8))
    ax.boxplot(data, vert=False, widths=0.6, showfliers=False,
               medianprops={"color": GAIN_COLOUR, "linewidth": 2})
    ax.set_yticks(range(1, len(options) + 1), options)
    ax.invert_yaxis()
    for i, row in enumerate(table.itertuples(), start=1):
        ax.text(1.01, i, f"{row.satisficing:.0%} within {tolerance * 1000:g}",
                transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.set_xlabel("Regret: best option's final composite index minus this one's "
                  "(thousandths)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def robustness_box_figure(worlds: pd.DataFrame, box: dict, policy: str, target: str,
                          words: str, title: str):
    """The sampled worlds of one policy on the two uncertainties its PRIM box restricts
    most, coloured by whether collective impact wins, with the box drawn."""
    group = worlds[worlds.policy == policy]
    limits = box["limits"]
    keys = list(limits)[:2]
    if len(keys) < 2:  # a box on one dimension (or none): pair it with the strongest other
        others = [c for c in group.columns if c not in (*keys, "world", "policy", "isolated",
                                                        "collective", "gain",
                                                        "gain_per_million", "regret")]
        keys = (keys + others)[:2]
    fig, ax = plt.subplots(figsize=(7, 5))
    wins = group.gain > 0
    ax.scatter(group.loc[~wins, keys[0]], group.loc[~wins, keys[1]], s=12, color=FADED,
               label="collective impact loses")
    ax.scatter(group.loc[wins, keys[0]], group.loc[wins, keys[1]], s=14,
               color=GAIN_COLOUR, label="collective impact wins")
    x_lo, x_hi = ax.get_xlim()
    y_lo, y_hi = ax.get_ylim()
    (bx_lo, bx_hi) = limits.get(keys[0], (None, None))
    (by_lo, by_hi) = limits.get(keys[1], (None, None))
    x0 = bx_lo if bx_lo is not None else x_lo
    x1 = bx_hi if bx_hi is not None else x_hi
    y0 = by_lo if by_lo is not None else y_lo
    y1 = by_hi if by_hi is not None else y_hi
    ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linewidth=2,
                               edgecolor="#D55E00", label=f"PRIM box: {target}"))
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel(parameter_label(keys[0]))
    ax.set_ylabel(parameter_label(keys[1]))
    ax.legend(fontsize=8, frameon=False, loc="best")
    wrapped = "\n".join(textwrap.wrap(words, 90))
    ax.set_title(f"{title}\n{wrapped}", fontsize=9)
    fig.tight_layout()
    return fig


def robustness_peeling_figure(boxes: pd.DataFrame, title: str):
    """PRIM's peeling trade-off: coverage against density along each box's trajectory."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, row in enumerate(boxes.itertuples()):
        path = pd.DataFrame(json.loads(row.trajectory))
        ax.plot(path.coverage, path.density, marker=".", markersize=3,
                color=HUE_COLOURS[i % len(HUE_COLOURS)], label=f"{row.policy}: {row.target}")
        ax.plot([row.coverage], [row.density], marker="o", color=HUE_COLOURS[
            i % len(HUE_COLOURS)], markersize=7)
    ax.set_xlabel("Coverage (share of the target worlds inside the box)")
    ax.set_ylabel("Density (share of the box's worlds that are targets)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(title + "\n(dots: the boxes chosen)", fontsize=10)
    fig.tight_layout()
    return fig
