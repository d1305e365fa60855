"""The picture of the organizations: silos and connective tissue.

networkx holds the graph (organizations, plus a backbone node linked to each participant
with the participant's trust on the edge) and this module places it: one cluster per area
around a ring, participants innermost, the backbone in the middle. ECharts draws it in the
browser, so hovering a dot tells who it is. Colour = the area an organization spends most
on; size = its grant; bold = takes part; link width and darkness = trust. The isolated arm
has no backbone node and no links: every organization works on its own.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from collective_impact.dashboard.arms import ARM_TITLES, ARMS, Organizations, Snapshot
from collective_impact.dashboard.charts import (
    BACKBONE_COLOR,
    FONT,
    MUTED,
    TEXT,
    area_color,
    area_label,
)

GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
RING = 1.0  # distance of the area clusters from the middle
CLUSTER = 0.36  # radius of the biggest cluster
EXTENT = RING + CLUSTER + 0.42  # half the width of the drawing, the same for both arms
MAX_DRAWN = 300  # organizations drawn per arm; more would make the page slow to update


def drawn(n: int) -> np.ndarray:
    """Which organizations the picture shows: all of them, or an even spread of
    ``MAX_DRAWN`` when there are more (the same ones every quarter)."""
    if n <= MAX_DRAWN:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_DRAWN).round().astype(int))


def graph(orgs: Organizations, only=None) -> nx.Graph:
    """Organizations as nodes (their indices); with a backbone, node 'backbone' and an edge
    to it from each participant, weighted by that participant's trust. ``only`` limits the
    graph to some organizations."""
    g = nx.Graph()
    for o in (range(len(orgs.grant)) if only is None else (int(i) for i in only)):
        g.add_node(o, area=int(orgs.main_area[o]), trust=float(orgs.trust[o]),
                   participating=bool(orgs.participating[o]), grant=float(orgs.grant[o]),
                   kind=orgs.org_type[o])
    if orgs.backbone_budget is not None:
        g.add_node("backbone")
        for o in [n for n in g.nodes if n != "backbone" and g.nodes[n]["participating"]]:
            g.add_edge("backbone", o, trust=float(orgs.trust[o]))
    return g


def area_angle(k: int, n_areas: int) -> float:
    """Clockwise from the top, like a clock face."""
    return math.pi / 2 - 2 * math.pi * k / n_areas


def layout(g: nx.Graph, n_areas: int) -> dict:
    """Positions (x right, y up): one sunflower cluster per area around a ring, participants
    and big grants innermost; the backbone in the middle."""
    pos: dict = {"backbone": (0.0, 0.0)}
    orgs = [n for n in g.nodes if n != "backbone"]
    sizes = np.bincount([g.nodes[o]["area"] for o in orgs], minlength=n_areas)
    spacing = CLUSTER / math.sqrt(max(int(sizes.max(initial=1)), 1))
    for k in range(n_areas):
        theta = area_angle(k, n_areas)
        cx, cy = RING * math.cos(theta), RING * math.sin(theta)
        members = sorted((o for o in orgs if g.nodes[o]["area"] == k),
                         key=lambda o: (not g.nodes[o]["participating"], -g.nodes[o]["grant"]))
        for i, o in enumerate(members):
            r, a = spacing * math.sqrt(i + 0.5), i * GOLDEN_ANGLE + theta
            pos[o] = (cx + r * math.cos(a), cy + r * math.sin(a))
    return pos


def _xy(point) -> dict:
    """Drawing coordinates: y runs downward, and the unit is 1/100 of the layout's, because
    ECharts nudges exactly vertical or horizontal links by half a unit for crisp pixels,
    which in layout units would be a visible jump."""
    return {"x": round(100 * point[0], 2), "y": round(-100 * point[1], 2)}


def _arm_series(snap: Snapshot, arm: str, left: str) -> dict:
    orgs = snap.organizations[arm]
    g = graph(orgs, drawn(len(orgs.grant)))
    pos = layout(g, len(snap.areas))
    biggest = max(float(orgs.grant.max(initial=0.0)), 1.0)
    shrink = min(1.0, math.sqrt(60 / max(g.number_of_nodes(), 1)))
    nodes = []
    for o in (n for n in g.nodes if n != "backbone"):
        d = g.nodes[o]
        k = d["area"]
        part = d["participating"]
        status = (f"takes part, trust {d['trust']:.2f}" if part
                  else f"works on its own, trust {d['trust']:.2f}")
        nodes.append({
            "name": f"org-{o}", **_xy(pos[o]), "category": k,
            "symbolSize": round(shrink * (7 + 22 * math.sqrt(max(d["grant"], 0) / biggest)), 1),
            "itemStyle": ({"color": area_color(k), "borderColor": BACKBONE_COLOR,
                           "borderWidth": 1.2} if part else
                          {"color": area_color(k), "opacity": 0.42}),
            "tooltip": {"formatter": f"Organization {o}: {d['kind'].replace('_', ' ')}<br/>"
                                     f"works mostly on {area_label(snap.areas[k]).lower()}"
                                     f"<br/>grant ${d['grant']:,.0f} this quarter<br/>"
                                     f"{status}"},
        })
    links = []
    for u, v, t in g.edges(data="trust"):
        o = v if u == "backbone" else u
        links.append({"source": "backbone", "target": f"org-{o}",
                      "lineStyle": {"width": round(0.4 + 3.4 * t, 2),
                                    "opacity": round(0.18 + 0.6 * t, 2)}})
    if "backbone" in g:
        nodes.append({
            "name": "backbone", **_xy((0, 0)), "symbol": "diamond",
            "symbolSize": 34, "itemStyle": {"color": BACKBONE_COLOR}, "z": 3,
            "label": {"show": True, "position": "bottom", "color": TEXT, "fontSize": 11,
                      "backgroundColor": "rgba(255,255,255,0.85)", "padding": [2, 4],
                      "formatter": f"backbone: ${orgs.backbone_budget / 1e6:,.2f} M, "
                                   f"{orgs.backbone_staff:,.0f} staff"},
            "tooltip": {"formatter": f"Backbone organization<br/>budget "
                                     f"${orgs.backbone_budget:,.0f} this quarter<br/>"
                                     f"{orgs.backbone_staff:,.1f} staff, coverage "
                                     f"{orgs.coverage:.0%}"}})
    else:
        nodes.append({"name": "note", **_xy((0, 0)), "symbolSize": 0,
                      "tooltip": {"show": False},
                      "label": {"show": True, "position": "inside", "color": MUTED,
                                "fontStyle": "italic", "fontSize": 12, "lineHeight": 16,
                                "formatter": "no backbone:\neach organization\n"
                                             "works on its own"}})
    for k, name in enumerate(snap.areas):  # area names around the ring
        theta = area_angle(k, len(snap.areas))
        r = RING + CLUSTER + 0.2
        nodes.append({"name": f"area-{k}", "symbolSize": 0, "tooltip": {"show": False},
                      **_xy((r * math.cos(theta), r * math.sin(theta))),
                      "label": {"show": True, "position": "inside", "color": area_color(k),
                                "fontWeight": "bold", "fontSize": 11, "lineHeight": 14,
                                "formatter": area_label(name).replace(" ", "\n", 1)}})
    for i, (x, y) in enumerate([(-1, -1), (1, 1)]):  # same bounds for both arms
        nodes.append({"name": f"corner-{i}", **_xy((x * EXTENT, y * EXTENT)),
                      "symbolSize": 0, "tooltip": {"show": False}})
    return {
        "type": "graph", "layout": "none", "name": ARM_TITLES[arm], "left": left,
        "width": "46%", "top": 58, "bottom": 40, "roam": False, "silent": False,
        "categories": [{"name": area_label(a), "itemStyle": {"color": area_color(j)}}
                       for j, a in enumerate(snap.areas)],
        "lineStyle": {"color": BACKBONE_COLOR, "curveness": 0},
        "emphasis": {"focus": "adjacency", "lineStyle": {"opacity": 0.9}},
        "data": nodes, "links": links,
    }


def network_option(snap: Snapshot) -> dict:
    """Both arms' organizations side by side."""
    titles = []
    for i, arm in enumerate(ARMS):
        orgs = snap.organizations[arm]
        n, taking_part = len(orgs.grant), int(orgs.participating.sum())
        sub = f"{taking_part} of {n:,} organizations take part"
        if taking_part:
            sub += f", mean trust {orgs.trust[orgs.participating].mean():.2f}"
        if n > MAX_DRAWN:
            sub += f" (drawing {len(drawn(n))})"
        titles.append({"text": ARM_TITLES[arm], "subtext": sub, "left": f"{25 + 50 * i}%",
                       "textAlign": "center", "top": 0,
                       "textStyle": {"fontSize": 15, "color": TEXT},
                       "subtextStyle": {"fontSize": 12, "color": MUTED}})
    return {
        "animation": False, "textStyle": {"fontFamily": FONT},
        "title": titles, "tooltip": {"trigger": "item", "confine": True},
        "legend": {"data": [area_label(a) for a in snap.areas], "bottom": 0,
                   "textStyle": {"color": TEXT, "fontSize": 11}, "itemWidth": 12,
                   "itemHeight": 12, "icon": "circle"},
        "series": [_arm_series(snap, arm, f"{2 + 50 * i}%") for i, arm in enumerate(ARMS)],
    }
