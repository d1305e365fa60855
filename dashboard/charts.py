"""The dashboard's charts as ECharts options, built from a ``Snapshot`` (no Solara here).

The browser draws them (Solara ships ECharts with its local assets), so a new quarter costs
the server only a few small dicts and the page stays live while playing. Values are rounded
so that hover tooltips read cleanly. Options are plain JSON-able dicts; the page passes them
to ``solara.FigureEcharts``.
"""

from __future__ import annotations

import math

import pandas as pd

from collective_impact.dashboard.arms import ARM_TITLES, ARMS, Snapshot

ARM_COLORS = {"isolated": "#D55E00", "collective": "#0072B2"}
BACKBONE_COLOR = "#1F2A44"
AREA_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#7F6BB0", "#A6761D",
               "#999933", "#44AA99", "#882255", "#DDCC77", "#117733", "#88CCEE")
TEXT = "#2B2B2B"
MUTED = "#6B6B6B"
GRID_LINE = "#EEEEEE"
FONT = "Roboto, Helvetica, Arial, sans-serif"


def area_label(name: str) -> str:
    """'early_reading' -> 'Early reading'."""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def area_color(k: int) -> str:
    return AREA_COLORS[k % len(AREA_COLORS)]


# ------------------------------------------------------------------ building blocks
def _pairs(df: pd.DataFrame, column: str, scale: float = 1.0, digits: int = 4,
           start: int = 0) -> list[list[float]]:
    rows = df[df.step >= start]
    return [[int(s), round(float(v) * scale, digits)] for s, v in zip(rows.step, rows[column],
                                                                      strict=True)]


def _base(**extra) -> dict:
    option = {"animation": False, "textStyle": {"fontFamily": FONT, "color": TEXT},
              "color": [ARM_COLORS[a] for a in ARMS]}
    option.update(extra)
    return option


def _quarter_axis(snap: Snapshot, grid: int = 0, name: bool = True) -> dict:
    return {"type": "value", "gridIndex": grid, "min": 0, "max": max(snap.horizon, 1),
            "name": "quarter" if name else "", "nameLocation": "middle", "nameGap": 24,
            "nameTextStyle": {"color": MUTED}, "axisLabel": {"color": MUTED},
            "axisLine": {"lineStyle": {"color": "#BBBBBB"}}, "splitLine": {"show": False}}


def _value_axis(grid: int = 0, name: str = "", fmt: str | None = None, **extra) -> dict:
    axis = {"type": "value", "gridIndex": grid, "scale": True, "name": name,
            "nameTextStyle": {"color": MUTED, "align": "left"},
            "axisLabel": {"color": MUTED}, "splitLine": {"lineStyle": {"color": GRID_LINE}}}
    if fmt:
        axis["axisLabel"]["formatter"] = fmt
    axis.update(extra)
    return axis


def _arm_series(snap: Snapshot, column: str, grid: int = 0, scale: float = 1.0,
                digits: int = 4, end_label: str = "{:.4f}", start: int = 0) -> list[dict]:
    """Both arms' lines, each with its latest value printed at its end."""
    # The arm that is ahead is labelled a little above its line, the other a little below,
    # so close values do not print over each other.
    last = {arm: float(snap.latest(arm)[column]) for arm in ARMS}
    ahead = max(ARMS, key=lambda arm: (last[arm], arm == "collective"))
    series = []
    for arm in ARMS:
        data = _pairs(snap.results[arm], column, scale, digits, start)
        series.append({
            "type": "line", "name": ARM_TITLES[arm], "xAxisIndex": grid, "yAxisIndex": grid,
            "data": data, "showSymbol": False, "color": ARM_COLORS[arm],
            "lineStyle": {"width": 2.6 if arm == "collective" else 2.0},
            "emphasis": {"disabled": True}, "clip": False,
            **_end_mark(arm, data, end_label, up=arm == ahead)})
    return series


def _end_mark(arm: str, data: list, fmt: str, up: bool) -> dict:
    """The latest value beside the line's end (a mark point: ECharts' own end labels can
    land in the corner of the chart when a line lies on the plot's edge)."""
    if len(data) < 2:
        return {}
    x, y = data[-1]
    return {"markPoint": {
        "silent": True, "symbol": "circle", "symbolSize": 5,
        "data": [{"coord": [x, y], "itemStyle": {"color": ARM_COLORS[arm]},
                  "label": {"show": True, "position": "right", "formatter": fmt.format(y),
                            "color": ARM_COLORS[arm], "fontWeight": "bold", "fontSize": 11,
                            "offset": [0, -6 if up else 6]}}]}}


def _legend(**extra) -> dict:
    legend = {"data": [ARM_TITLES[a] for a in ARMS], "top": 0, "right": 10,
              "textStyle": {"color": TEXT}, "icon": "roundRect", "itemHeight": 4}
    legend.update(extra)
    return legend


def _tooltip() -> dict:
    return {"trigger": "axis", "axisPointer": {"type": "line"}}


def _waiting(snap: Snapshot, left: str = "center", top: str = "middle") -> list[dict]:
    if snap.step > 0:
        return []
    return [{"type": "text", "left": left, "top": top, "silent": True,
             "style": {"text": "Press Step, Play or Run to the end", "fill": MUTED,
                       "fontSize": 13}}]


# ------------------------------------------------------------------ the charts
def composite_option(snap: Snapshot) -> dict:
    """Composite index (mean status over all areas) of both arms over time; a dotted line
    marks the common starting value."""
    start = round(float(snap.first("collective").composite_index), 4)
    series = [{"type": "line", "name": "start", "data": [[0, start], [snap.horizon, start]],
               "showSymbol": False, "silent": True, "color": "#AAAAAA", "z": 1,
               "lineStyle": {"type": "dotted", "width": 1.2}, "tooltip": {"show": False}},
              *_arm_series(snap, "composite_index")]
    return _base(
        legend=_legend(), tooltip=_tooltip(), series=series, graphic=_waiting(snap),
        grid={"left": 58, "right": 64, "top": 38, "bottom": 40},
        xAxis=_quarter_axis(snap), yAxis=_value_axis(name="composite index", nameGap=14))


def gap_story(snap: Snapshot) -> dict:
    """The gap (collective minus isolated composite index) quarter by quarter, its lowest
    point (the dip) and the first quarter from which collective stays ahead (None if it
    never pulls ahead in the quarters run so far)."""
    gap = (snap.results["collective"].composite_index.to_numpy()
           - snap.results["isolated"].composite_index.to_numpy())
    steps = snap.results["collective"].step.to_numpy()
    if len(gap) < 2:
        return {"steps": steps, "gap": gap, "dip": None, "ahead_from": None}
    low = int(gap[1:].argmin()) + 1
    behind = [i for i in range(1, len(gap)) if gap[i] <= 0]
    ahead_from = (behind[-1] + 1 if behind else 1) if gap[-1] > 0 else None
    dip = (int(steps[low]), float(gap[low])) if gap[low] < 0 else None
    return {"steps": steps, "gap": gap, "dip": dip,
            "ahead_from": int(steps[ahead_from]) if ahead_from is not None else None}


PIN_COLORS = ("#7F6BB0", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


def gap_option(snap: Snapshot, extras: tuple = ((), None)) -> dict:
    """Collective minus isolated over time, zero marked, bars above (ahead) in blue and below
    (behind) in orange, with the dip and the quarter collective pulls ahead labelled: the
    whole story on one scale that makes a small gap visible."""
    pins, spread = extras
    story = gap_story(snap)
    data = [[int(s), round(float(g), 5)] for s, g in
            zip(story["steps"][1:], story["gap"][1:], strict=True)]
    bars = {"type": "bar", "name": "collective minus isolated", "data": [
        {"value": point, "itemStyle": {"color": ARM_COLORS["collective" if point[1] > 0
                                                          else "isolated"]}}
        for point in data], "barCategoryGap": "10%", "emphasis": {"disabled": True}}
    marks = []
    if story["dip"] is not None:
        q, g = story["dip"]
        marks.append({"coord": [q, round(g, 5)], "value": f"dip: {g:+.4f} at quarter {q}",
                      "label": {"position": "bottom"}})
    if story["ahead_from"] is not None:
        q = story["ahead_from"]
        marks.append({"coord": [q, 0], "value": f"ahead from quarter {q}",
                      "label": {"position": "top"}})
    if marks:
        bars["markPoint"] = {"silent": True, "symbol": "pin", "symbolSize": 18, "data": [
            {**m, "itemStyle": {"color": BACKBONE_COLOR},
             "label": {**m["label"], "formatter": m["value"], "color": TEXT, "fontSize": 11}}
            for m in marks]}
    # Pinned runs: earlier settings' gaps as lines on the same scale, to compare at a glance.
    lines = [{"type": "line", "name": label, "data": data, "showSymbol": False,
              "color": PIN_COLORS[i % len(PIN_COLORS)], "lineStyle": {"width": 1.6},
              "emphasis": {"disabled": True}} for i, (label, data) in enumerate(pins)]
    if spread is not None:  # mean gap and 95% interval over several worlds
        for name, key, style in (("mean over worlds", "mean", "solid"),
                                 ("95% interval", "lo", "dashed"), ("95% interval", "hi",
                                                                    "dashed")):
            lines.append({"type": "line", "name": name, "showSymbol": False,
                          "color": BACKBONE_COLOR, "emphasis": {"disabled": True},
                          "lineStyle": {"width": 1.8 if key == "mean" else 1.0,
                                        "type": style},
                          "data": [[int(q), round(float(v), 5)] for q, v in
                                   zip(spread["steps"][1:], spread[key][1:], strict=True)]})
    names = list(dict.fromkeys(line["name"] for line in lines))
    legend = {"data": names, "top": 0, "left": 60, "type": "scroll",
              "textStyle": {"color": TEXT, "fontSize": 10}} if lines else {"show": False}
    # Say so when collective has not pulled ahead, rather than leave a marker missing.
    note = [] if snap.step == 0 or story["ahead_from"] is not None else [{
        "type": "text", "right": 30, "top": 34, "silent": True,
        "style": {"text": f"collective not ahead at quarter {snap.step}", "fill": MUTED,
                  "fontSize": 11}}]
    return _base(
        tooltip=_tooltip(), legend=legend,
        series=[bars, *lines], graphic=_waiting(snap) + note,
        grid={"left": 58, "right": 24, "top": 30, "bottom": 40},
        xAxis=_quarter_axis(snap),
        yAxis=_value_axis(name="collective minus isolated", scale=False,
                          splitLine={"lineStyle": {"color": GRID_LINE}}))


AREA_MEASURES = {
    "on_track": ("on_track_{}", "share on track", 100.0, 1, "{value}%", "{:.1f}%"),
    "mean": ("mean_{}", "average status", 1.0, 3, None, "{:.3f}"),
}


# Below this chart width (a phone), the many-panel charts lay their panels out anew
# (ECharts media queries); the page makes those charts taller there (its CSS).
NARROW = 560


def _responsive(option: dict, narrow: dict) -> dict:
    """``option`` as drawn, with ``narrow``'s layout for a chart narrower than NARROW."""
    return {"baseOption": option, "media": [{"query": {"maxWidth": NARROW}, "option": narrow}]}


def _area_layout(k: int, cols: int, sides: tuple[float, float], pad: tuple[float, float, float],
                 font: int, contain_label: bool = False) -> dict:
    """Grids and titles of k small charts, ``cols`` a row; the top 6% holds the legend.
    ``sides``: % of the width left and right of each grid (the right for the end values);
    ``pad``: % of the height above each grid (its title), below it, and below the last row
    (its axis name); ``contain_label``: the left side includes the axis labels."""
    rows = -(-k // cols)
    row_height = 94 / rows
    (left_side, right_side), (above, below, below_last) = sides, pad
    grids, titles = [], []
    for j in range(k):
        r, c = divmod(j, cols)
        left, top = 100 * c / cols, 6 + row_height * r
        space = above + (below_last if r == rows - 1 else below)
        grids.append({"left": f"{left + left_side}%",
                      "width": f"{100 / cols - left_side - right_side}%",
                      "top": f"{top + above}%", "height": f"{row_height - space}%",
                      "containLabel": contain_label})
        titles.append({"left": f"{left + 3}%", "top": f"{top + 1}%",
                       "textStyle": {"fontSize": font}})
    return {"grid": grids, "title": titles}


def areas_option(snap: Snapshot, measure: str = "on_track") -> dict:
    """One small chart per outcome area (three per row; one on a phone): both arms over
    time."""
    pattern, _, scale, digits, fmt, end = AREA_MEASURES[measure]
    k = len(snap.areas)
    cols = min(3, k)
    xs, ys, titles, series = [], [], [], []
    for j, area in enumerate(snap.areas):
        xs.append(_quarter_axis(snap, j, name=j == k - 1))  # the last panel, in any layout
        ys.append(_value_axis(j, fmt=fmt, splitNumber=3))
        titles.append({"text": f"{{dot|●}} {area_label(area)}",
                       "textStyle": {"fontWeight": "bold", "color": TEXT,
                                     "rich": {"dot": {"color": area_color(j),
                                                      "fontSize": 15}}}})
        series += _arm_series(snap, pattern.format(area), j, scale, digits, end)
    wide = _area_layout(k, cols, sides=(5.5, 5.5), pad=(8, 7, 11), font=13)
    for title, place in zip(titles, wide["title"], strict=True):
        title.update({**place, "textStyle": {**title["textStyle"], **place["textStyle"]}})
    # on a phone, one panel a row: titles and end values fit beside each other
    narrow = _area_layout(k, 1, sides=(2.0, 14.0), pad=(2.8, 2.2, 4.5), font=13,
                          contain_label=True)
    option = _base(legend=_legend(), tooltip=_tooltip(), title=titles, grid=wide["grid"],
                   xAxis=xs, yAxis=ys, series=series)
    return _responsive(option, narrow)


def money_option(snap: Snapshot) -> dict:
    """Left: programs and backbone per quarter over time (collective stacked, isolated dashed).
    Right: this quarter's program money by area, and the backbone, for both arms."""
    col, iso = snap.results["collective"], snap.results["isolated"]
    million = 1e-6
    total = col.assign(total=col.program_spending + col.backbone_spending)
    # Drawn, not stacked: the whole collective budget in dark, its program part over it in
    # blue, so the dark band on top is the backbone.
    series = [
        {"type": "line", "name": "Collective: backbone (dark band)", "z": 1,
         "data": _pairs(total, "total", million, 3, start=1), "showSymbol": False,
         "color": BACKBONE_COLOR, "areaStyle": {"opacity": 0.95}, "lineStyle": {"width": 1}},
        {"type": "line", "name": "Collective: programs", "z": 2,
         "data": _pairs(col, "program_spending", million, 3, start=1), "showSymbol": False,
         "color": ARM_COLORS["collective"], "areaStyle": {"opacity": 1.0},
         "lineStyle": {"width": 1}},
        {"type": "line", "name": "Isolated: programs (all of it)",
         "data": _pairs(iso, "program_spending", million, 3, start=1), "showSymbol": False,
         "color": ARM_COLORS["isolated"], "lineStyle": {"width": 2.2, "type": "dashed"}},
    ]
    arms_down = list(reversed(ARMS))  # category axes run bottom-up: collective below
    for j, area in enumerate(snap.areas):
        series.append({
            "type": "bar", "name": area_label(area), "stack": "money", "xAxisIndex": 1,
            "yAxisIndex": 1, "barWidth": "38%", "color": area_color(j),
            "data": [round(float(snap.money_by_area[a][j]) * million, 3) for a in arms_down],
            "itemStyle": {"borderColor": "#FFFFFF", "borderWidth": 1}})
    backbone = [round(float(snap.latest(a).backbone_spending) * million, 3) if snap.step
                else 0.0 for a in arms_down]
    totals = [round(float(snap.money_by_area[a].sum()) * million + b, 2)
              for a, b in zip(arms_down, backbone, strict=True)]
    # Each bar's total as a literal label on its last (backbone) segment.
    series.append({
        "type": "bar", "name": "Backbone", "stack": "money", "xAxisIndex": 1, "yAxisIndex": 1,
        "barWidth": "38%", "color": BACKBONE_COLOR,
        "data": [{"value": b, "label": {"show": True, "position": "right", "color": TEXT,
                                        "formatter": f"${t:,.1f} M"}}
                 for b, t in zip(backbone, totals, strict=True)]})
    pool = snap.config.funding.pool * million
    top = _nice_ceiling(max([pool, *totals]) * 1.2)
    # on a phone, the two panels one above the other
    narrow = {
        "title": [{"left": 8, "top": 0}, {"left": 8, "top": "53%"}],
        "legend": [{"left": 8, "top": "41%", "bottom": None},
                   {"left": 8, "bottom": 0, "width": "92%"}],
        "grid": [{"left": 44, "right": 16, "width": None, "top": 32, "height": "29%",
                  "bottom": None},
                 {"left": 8, "right": 70, "top": "59%", "height": "21%", "bottom": None,
                  "containLabel": True}],
    }
    option = _base(
        title=[{"text": "Spending over time ($ M per quarter)", "left": 8, "top": 0,
                "textStyle": {"fontSize": 13, "color": TEXT}},
               {"text": "This quarter: where the money goes ($ M)", "left": "53%", "top": 0,
                "textStyle": {"fontSize": 13, "color": TEXT}}],
        legend=[{"data": [s["name"] for s in series[:3]], "bottom": 0, "left": 8,
                 "orient": "vertical", "icon": "roundRect", "itemHeight": 8,
                 "textStyle": {"color": TEXT, "fontSize": 11}},
                {"data": [s["name"] for s in series[3:]], "bottom": 0, "left": "53%",
                 "width": "45%", "textStyle": {"color": TEXT, "fontSize": 11}}],
        tooltip={"trigger": "axis"},
        grid=[{"left": 48, "width": "40%", "top": 40, "bottom": 92},
              {"left": "64%", "right": 64, "top": 40, "bottom": 92}],
        xAxis=[_quarter_axis(snap, 0),
               _value_axis(1, min=0, max=top, scale=False, name="", splitNumber=4)],
        yAxis=[_value_axis(0, min=0, max=top, scale=False),
               {"type": "category", "gridIndex": 1,
                "data": [ARM_TITLES[a] for a in arms_down],
                "axisLabel": {"color": TEXT, "fontSize": 12, "fontWeight": "bold"},
                "axisTick": {"show": False}}],
        series=series, graphic=_waiting(snap, left="15%", top="40%"))
    return _responsive(option, narrow)


def _nice_ceiling(x: float) -> float:
    """The next 'round' number at or above x (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power
    of ten), so axes end on a labelled tick."""
    if x <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= x)


def trust_option(snap: Snapshot) -> dict:
    """Mean trust toward the collaborative, and the share of organizations taking part."""
    series = (_arm_series(snap, "trust", 0, digits=3, end_label="{:.2f}")
              + _arm_series(snap, "participation", 1, scale=100, digits=1,
                            end_label="{:.0f}%"))
    return _base(
        legend=_legend(), tooltip=_tooltip(),
        title=[{"text": "Trust (0 = none, 1 = full)", "left": 8, "top": 0,
                "textStyle": {"fontSize": 13, "color": TEXT}},
               {"text": "Organizations taking part", "left": "51%", "top": 0,
                "textStyle": {"fontSize": 13, "color": TEXT}}],
        grid=[{"left": 44, "width": "38%", "top": 44, "bottom": 40},
              {"left": "57%", "right": 56, "top": 44, "bottom": 40}],
        xAxis=[_quarter_axis(snap, 0), _quarter_axis(snap, 1)],
        yAxis=[_value_axis(0, min=0, max=1, scale=False),
               _value_axis(1, min=0, max=100, scale=False, fmt="{value}%")],
        series=series)


def report_card_option(snap: Snapshot) -> dict:
    """Left: the report card, the share of indicators trending the right way (measured
    yearly on samples against the baseline year, as Strive counted them). Right: the stage
    profile, each stage's mean status now, collective minus isolated (in thousandths)."""
    series = _arm_series(snap, "indicators_trending_share", 0, scale=100, digits=1,
                         end_label="{:.0f}%")
    now = {arm: snap.latest(arm) for arm in ARMS}
    gaps = [round(1000 * float(now["collective"][f"mean_{a}"] - now["isolated"][f"mean_{a}"]),
                  2) for a in snap.areas]
    series.append({
        "type": "bar", "name": "collective minus isolated", "xAxisIndex": 1, "yAxisIndex": 1,
        "data": [{"value": g, "itemStyle": {"color": ARM_COLORS["collective" if g >= 0
                                                                else "isolated"]}}
                 for g in gaps],
        "label": {"show": snap.step > 0, "position": "right", "fontSize": 10,
                  "color": TEXT, "formatter": "{c}"}})
    labels = [area_label(a) for a in snap.areas]
    span = _nice_ceiling(max((abs(g) for g in gaps), default=0.0) or 0.5)
    return _base(
        legend=_legend(), tooltip={"trigger": "item"},
        title=[{"text": "Indicators trending the right way (share)", "left": 8, "top": 0,
                "textStyle": {"fontSize": 13, "color": TEXT}},
               {"text": "Stage profile: collective minus isolated (thousandths)",
                "left": "51%", "top": 0, "textStyle": {"fontSize": 13, "color": TEXT}}],
        grid=[{"left": 44, "width": "38%", "top": 44, "bottom": 40},
              {"left": "68%", "right": 40, "top": 44, "bottom": 40}],
        xAxis=[_quarter_axis(snap, 0),
               _value_axis(1, min=-span, max=span, scale=False)],
        yAxis=[_value_axis(0, min=0, max=100, scale=False, fmt="{value}%"),
               {"type": "category", "gridIndex": 1, "data": labels, "inverse": True,
                "axisLabel": {"color": MUTED, "fontSize": 11}, "axisTick": {"show": False}}],
        series=series)
