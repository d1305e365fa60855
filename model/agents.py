"""Mesa agents: the organizations and the backbone.

Organizations keep their state in the model's numpy arrays (one row per
organization) so that a quarter of 300 organizations serving 50,000 people is a
handful of vectorized operations; each ``Organization`` agent is the named,
inspectable view of its row. The backbone is a single agent with scalar state.
"""

from __future__ import annotations

import numpy as np
from mesa import Agent

from collective_impact.model.config import BACKBONE_FUNCTIONS

ORG_TYPES = (
    "nonprofit",
    "school_district",
    "government_agency",
    "business",
    "university",
    "funder_program",
)
# Share of each type among organizations, and a multiplier on its grant size:
# a Strive-like mix, many small nonprofits and a few large public bodies.
ORG_TYPE_SHARE = np.array([0.55, 0.08, 0.10, 0.12, 0.05, 0.10])
ORG_TYPE_BUDGET = np.array([1.0, 4.0, 2.5, 0.8, 2.0, 1.2])


class Organization(Agent):
    """One organization working on the problem; a view of row ``index`` of the model's arrays."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def org_type(self) -> str:
        return ORG_TYPES[self.model.org_type[self.index]]

    @property
    def home_areas(self) -> list[str]:
        names = self.model.config.area_names
        return [names[k] for k in np.flatnonzero(self.model.home[self.index])]

    @property
    def main_area(self) -> int:
        """The area this organization spends most on this quarter."""
        return int(np.argmax(self.model.allocation[self.index]))

    @property
    def grant(self) -> float:
        return float(self.model.grants[self.index])

    @property
    def trust(self) -> float:
        return float(self.model.trust[self.index])

    @property
    def participating(self) -> bool:
        return bool(self.model.participating[self.index])

    @property
    def alignment(self) -> float:
        return float(self.model.alignment[self.index])


class Backbone(Agent):
    """The backbone organization: staff bought by its budget, effort split over six functions.

    Coverage is ``min(1, staff * span / participants)``; each function's intensity is
    coverage times its effort share relative to an even split (capped at 1), so
    a backbone that neglects a function delivers less of it.
    """

    def __init__(self, model):
        super().__init__(model)
        self.budget = 0.0
        self.staff = 0.0
        self.coverage = 0.0
        self.intensity = dict.fromkeys(BACKBONE_FUNCTIONS, 0.0)

    def step(self) -> None:
        cfg = self.model.config
        self.budget = cfg.funding.backbone_share * self.model.funding_pool
        self.staff = self.budget / cfg.backbone.cost_per_staff
        participants = int(self.model.participating.sum())
        self.coverage = coverage(self.staff, cfg.backbone.span, participants)
        self.intensity = function_intensity(self.coverage, self.model.effort_shares)


def coverage(staff: float, span: float, participants: int) -> float:
    """Share of participants the backbone can support: ``min(1, staff * span / participants)``."""
    return min(1.0, staff * span / participants) if participants else 1.0


def function_intensity(coverage_share: float, effort_shares: dict[str, float]) -> dict[str, float]:
    """Intensity of each backbone function: coverage times effort relative to an even split.

    ``effort_shares`` holds the enabled functions' shares of effort (summing to 1);
    with an even split every function runs at ``coverage``.
    """
    even = 1.0 / len(effort_shares)
    return {f: coverage_share * min(1.0, effort_shares[f] / even) if f in effort_shares else 0.0
            for f in BACKBONE_FUNCTIONS}
