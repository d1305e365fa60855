"""Scenario parameters: defaults, allowed ranges, validation and TOML input/output.

A scenario is a TOML file with one table per section below. Every field has a
default, so a scenario file only names what differs from the defaults. Fields
are addressed as ``section.field`` (``funding.backbone_share``) in error
messages, sweeps and overrides.
"""

from __future__ import annotations

import difflib
import math
import numbers
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from collective_impact.model.scenarios import find_scenario, shipped_scenarios

AREA_NAMES_6 = (
    "kindergarten_readiness",
    "early_reading",
    "middle_grade_math",
    "high_school_graduation",
    "postsecondary_enrolment",
    "postsecondary_completion",
)

BACKBONE_FUNCTIONS = (
    "strategic_direction",
    "facilitating_dialogue",
    "data_management",
    "communication",
    "community_outreach",
    "mobilizing_funding",
)

CONDITIONS = (
    "common_agenda",
    "shared_measurement",
    "mutually_reinforcing",
    "continuous_communication",
    "backbone",
)


# Parameters that act only through a collaborative (participants, a backbone, pooled data);
# trust_decay is not among them, since trust decays in isolation too, nor are the funders'
# responses to evidence (pool growth, grant tilt), which both arms face on equal terms.
COLLABORATIVE_ONLY = (
    *(f"backbone.{name}" for name in ("cost_per_staff", "span", "data_maturity_rate",
                                      "initial_participation", "join_rate", "leave_rate",
                                      "outreach_reach", "data_decay")),
    *(f"effort.{name}" for name in BACKBONE_FUNCTIONS),
    *(f"collaboration.{name}" for name in (
        "metric_agreement", "agreement_ceiling", "agreement_rate", "control_tightness",
        "participation_cost", "cost_salience",
        "trust_growth", "control_trust_penalty", "trust_share_threshold", "alignment_rate",
        "referral_uptake", "initial_expectation", "expectation_rate")),
)


class ConfigError(ValueError):
    """A scenario value is wrong; the message names the field, the value and what is allowed."""


def spec(default, lo=None, hi=None, doc="", lo_open=False, plausible=None, basis=""):
    """A parameter: its default, the closed (or left-open) range it may take, its meaning,
    and for uncertain ones the plausible range that robustness and sensitivity work sample,
    with the basis of default and range (a source, or 'modelling choice')."""
    return {"default": default, "lo": lo, "hi": hi, "doc": doc, "lo_open": lo_open,
            "plausible": plausible, "basis": basis}


CHOICE = "modelling choice; no field figure found"

# Each section is a table in the TOML file. The order here is the order in docs/ODD.md.
SCHEMA: dict[str, dict[str, dict]] = {
    "scenario": {
        "name": spec("default", doc="Short name; results go to results/<name>/."),
        "description": spec("", doc="Free text shown in reports and the dashboard."),
    },
    "run": {
        "steps": spec(40, 1, 400, "Quarters simulated after the collaborative starts "
                      "(40 = 10 years)."),
        "burn_in": spec(60, 0, 400, "Quarters of isolated work before the collaborative "
                        "starts, the same in both arms; outputs begin when it ends.",
                        basis="long enough that the isolated arm is near its steady state "
                              "(docs/ODD.md, 'Initialization')"),
        "seed": spec(1, 0, 2**63 - 1, "Seed of the run's random number generator."),
    },
    "population": {
        "size": spec(30_000, 10, 2_000_000, "Beneficiaries M, held as numpy arrays (in a "
                     "pipeline rounded to whole yearly cohorts)."),
        "areas": spec(6, 1, 12, "Outcome areas K; 6 = cradle-to-career pipeline."),
        "pipeline": spec(True, doc="Areas are life stages: each person is in one stage at a "
                         "time by age, cohorts enter, age and leave. False: everyone is in "
                         "every area at once (problems whose areas are not stages)."),
        "stage_years": spec(2, 1, 10, "Years a person spends in each stage of a pipeline.",
                            basis="six stages from birth to college completion compressed "
                                  "to 12 years; " + CHOICE),
        "trend": spec(0.0, -0.05, 0.05, "Secular trend: change per year in everyone's status "
                      "target from the collaborative's start (both arms).",
                      plausible=(-0.005, 0.005), basis=CHOICE),
        "baseline_mean": spec(0.5, 0.0, 1.0, "Mean status people drift back to."),
        "risk_effect": spec(0.3, 0.0, 1.0, "How far high risk lowers a person's baseline."),
        "baseline_sd": spec(0.08, 0.0, 0.5, "Person-and-area noise of the baseline."),
        "drift_rate": spec(0.1, 0.0, 1.0, "Share of the gap to baseline closed each quarter "
                           "(fade-out of program effects).", plausible=(0.05, 0.2),
                           basis="fade-out of half a program effect within 1-3 years; "
                                 + CHOICE),
        "on_track_threshold": spec(0.6, 0.0, 1.0, "Status at or above which a person is "
                                   "'on track' in an area."),
        "high_need_share": spec(0.2, 0.0, 1.0, "Share of people in each area, lowest by "
                                "baseline, counted as high need (for unmet need).",
                                lo_open=True),
    },
    "problem": {
        "complementarity": spec(0.5, 0.0, 1.0, "c: how much progress in an area depends on "
                                "status in its prerequisite area, and in a pipeline how much "
                                "of a stage's result a person carries into the next (0 "
                                "independent, 1 strict pipeline).",
                                plausible=(0.0, 1.0), basis=CHOICE),
        "interventions": spec(4, 1, 20, "Candidate interventions per area."),
        "effect_mean": spec(0.01, 0.0, 1.0, "Mean true effectiveness theta of an intervention "
                            "(share of headroom closed by one quarter of service).",
                            plausible=(0.005, 0.02),
                            basis="a year of the median intervention moves a person ~0.1 SD "
                                  "of status (median of ~750 education RCTs, Kraft 2020; "
                                  "docs/ODD.md 'Calibration')"),
        "context_sd": spec(0.005, 0.0, 1.0, "Spread of an intervention's effectiveness "
                           "between organizations' contexts.", plausible=(0.0, 0.01),
                           basis="half the mean effect; " + CHOICE),
        "duplication_decay": spec(0.3, 0.0, 1.0, "Value of each further service to the same "
                                  "person-area in a quarter, relative to the previous one.",
                                  plausible=(0.0, 0.6), basis=CHOICE),
    },
    "organizations": {
        "count": spec(60, 1, 5000, "Organizations N."),
        "budget_sigma": spec(1.0, 0.0, 3.0, "Sigma of the lognormal spread of grant sizes."),
        "home_areas": spec(2, 1, 12, "Areas in an organization's mission focus."),
        "home_expertise": spec(0.9, 0.0, 1.0, "Expertise in home areas."),
        "other_expertise": spec(0.4, 0.0, 1.0, "Expertise outside home areas."),
        "catchment_share": spec(0.08, 0.0, 1.0, "Share of the population an organization of "
                                "average size reaches on its own (its catchment; larger "
                                "organizations reach proportionally more).", lo_open=True),
        "intake_ratio": spec(2.0, 1.0, 20.0, "Applicants an organization screens for each "
                             "service it can give in a quarter.", plausible=(1.0, 4.0),
                             basis="afterschool: three children waiting for each one "
                                   "enrolled (America After 3PM 2020) gives 4 at most"),
        "exploration": spec(0.1, 0.0, 1.0, "Chance per area and quarter of trying an "
                            "intervention at random."),
        "initial_trust": spec(0.25, 0.0, 1.0, "Mean trust toward the collaborative when it "
                              "starts.", plausible=(0.1, 0.5), basis=CHOICE),
    },
    "funding": {
        "pool": spec(5_000_000.0, 0.0, 1e12, "Funding per quarter, in dollars.", lo_open=True),
        "backbone_share": spec(0.05, 0.0, 0.9, "s: share of the pool paid to the backbone "
                               "(0 = isolated impact)."),
        "cost_per_service": spec(400.0, 0.0, 1e7, "Dollars per person-area served for a "
                                 "quarter.", lo_open=True),
        "max_pool_growth": spec(0.0, 0.0, 2.0, "Most the pool can grow, as a share, when "
                                "funders see credible progress (either arm; 0 = off)."),
        "evidence_weight": spec(0.0, 0.0, 5.0, "How strongly funders shift grants toward "
                                "organizations whose evidence shows effective programs (either "
                                "arm; 0 = off)."),
        "own_report_credibility": spec(0.5, 0.0, 1.0, "How far funders credit an "
                                       "organization's own, non-comparable reports, against "
                                       "1 for mature pooled data on agreed metrics.",
                                       plausible=(0.2, 0.8), basis=CHOICE),
    },
    "backbone": {
        "cost_per_staff": spec(30_000.0, 0.0, 1e9, "Dollars per staff member per quarter.",
                               lo_open=True, plausible=(20_000.0, 45_000.0),
                               basis="$120,000 a year with benefits and overhead; a "
                                     "StriveTogether grant of $3.6M over four years "
                                     "(~$0.9M a year) pays 7-8 such staff; " + CHOICE),
        "span": spec(6.0, 0.0, 1000.0, "Organizations one staff member can support.",
                     lo_open=True, plausible=(3.0, 12.0), basis=CHOICE),
        "data_maturity_rate": spec(0.06, 0.0, 1.0, "Share of the remaining gap to a mature "
                                   "data system closed per quarter at full effort, with every "
                                   "partner sharing.", plausible=(0.03, 0.12),
                                   basis="shared indicators chosen ~10 months after the "
                                         "backbone's start, first results report after "
                                         "~3 years (Road Map Project)"),
        "initial_participation": spec(0.3, 0.0, 1.0, "Share of organizations in the "
                                      "collaborative at start."),
        "join_rate": spec(0.15, 0.0, 1.0, "Chance per quarter that recruiting at full effort "
                          "brings in an organization that expects to gain.",
                          plausible=(0.05, 0.3), basis=CHOICE),
        "leave_rate": spec(0.3, 0.0, 1.0, "Chance per quarter that a participant whose costs "
                           "exceed its expected benefits by the whole scale leaves.",
                           plausible=(0.1, 0.5), basis=CHOICE),
        "outreach_reach": spec(0.2, 0.0, 1.0, "Share of all people whom community outreach at "
                               "full intensity reaches and assesses each quarter, so the data "
                               "system holds a record of them.", plausible=(0.05, 0.4),
                               basis="about one young person in three grows up without a "
                                     "mentor (MENTOR 2014); " + CHOICE),
        "data_decay": spec(0.02, 0.0, 1.0, "Share of the data system's maturity lost per "
                           "quarter (records age, staff turn over), whatever is fed in.",
                           plausible=(0.0, 0.05), basis=CHOICE),
        "volunteer_coverage": spec(0.0, 0.0, 1.0, "Coverage partners give each other on their "
                                   "own time when the backbone condition is switched off; the "
                                   "staff time it takes comes out of their capacity."),
    },
    "effort": {
        f: spec(1.0, 0.0, 100.0, f"Relative effort on {f.replace('_', ' ')}.")
        for f in BACKBONE_FUNCTIONS
    },
    "collaboration": {
        "metric_agreement": spec(0.2, 0.0, 1.0, "m at the collaborative's start: how far "
                                 "partners already count things the same way (it then grows "
                                 "only by the work of agreeing).", plausible=(0.0, 0.5),
                                 basis="before shared measurement, over half of 121 Boston "
                                       "afterschool providers tracked attendance in "
                                       "spreadsheets and 40% on paper (2010); " + CHOICE),
        "agreement_ceiling": spec(0.8, 0.0, 1.0, "Most metric agreement the partners can "
                                  "reach (the rest stays their own way of counting).",
                                  plausible=(0.5, 1.0), basis=CHOICE),
        "agreement_rate": spec(0.15, 0.0, 1.0, "Share of the gap to the ceiling closed per "
                               "quarter at full strategic direction, data management and "
                               "willingness to share.", plausible=(0.05, 0.4),
                               basis="Road Map Project: shared indicators chosen ~10 months "
                                     "after the backbone's start; " + CHOICE),
        "control_tightness": spec(0.1, 0.0, 1.0, "How far the backbone dictates areas and "
                                  "interventions instead of aligning them."),
        "participation_cost": spec(0.05, 0.0, 0.5, "Share of a participant's program capacity "
                                   "spent in working groups.", plausible=(0.02, 0.1),
                                   basis="biweekly network meetings (Strive); no figure for "
                                         "hours found; " + CHOICE),
        "cost_salience": spec(4.0, 0.0, 100.0, "Weight of participation cost in an "
                              "organization's stay-or-leave judgement.", plausible=(2.0, 8.0),
                              basis=CHOICE),
        "trust_growth": spec(0.12, 0.0, 1.0, "Trust gained per quarter at full communication.",
                             plausible=(0.04, 0.25), basis=CHOICE),
        "trust_decay": spec(0.03, 0.0, 1.0, "Trust lost per quarter.", plausible=(0.01, 0.08),
                            basis=CHOICE),
        "control_trust_penalty": spec(2.0, 0.0, 20.0, "How much dictation speeds trust decay."),
        "trust_share_threshold": spec(0.35, 0.0, 0.99, "Trust below which a partner shares "
                                      "no data.", plausible=(0.2, 0.6), basis=CHOICE),
        "alignment_rate": spec(0.15, 0.0, 1.0, "Speed at which alignment to the common "
                               "agenda follows its target."),
        "referral_uptake": spec(0.6, 0.0, 1.0, "Chance that a referred person takes up the "
                                "service; a declined slot goes to the organization's own "
                                "intake.", plausible=(0.3, 0.9), basis=CHOICE),
        "initial_expectation": spec(0.3, 0.0, 2.0, "What organizations expect the "
                                    "collaborative to give back when it starts (same scale as "
                                    "benefits).", plausible=(0.1, 0.6), basis=CHOICE),
        "expectation_rate": spec(0.1, 0.0, 1.0, "Share of the gap between expected and actual "
                                 "benefit closed each quarter.", plausible=(0.03, 0.3),
                                 basis=CHOICE),
    },
    "learning": {
        "observation_noise": spec(0.3, 0.0, 10.0, "Noise of one service's measured result "
                                  "(in units of effectiveness theta).", plausible=(0.15, 0.6),
                                  basis="a person's measured change is the difference of two "
                                        "assessments with screening noise 0.1 (sqrt(2) x 0.1 "
                                        "= 0.14 of status); one service at home-area "
                                        "expertise moves status by about 0.45 theta, so "
                                        "0.14 / 0.45 = 0.3 in theta (0.7 outside home areas, "
                                        "where expertise is 0.4)"),
        "metric_bias_sd": spec(0.005, 0.0, 1.0, "Spread of each organization's own-yardstick "
                               "bias.", plausible=(0.0, 0.01),
                               basis="half the mean effect; " + CHOICE),
        "agreed_metric_bias_sd": spec(0.005, 0.0, 1.0, "Spread of the agreed metric's bias "
                                      "(shared by every partner using it).",
                                      plausible=(0.0, 0.01),
                                      basis="as an own yardstick's, so agreement buys "
                                            "comparability, not accuracy; " + CHOICE),
        "prior_sd": spec(0.0075, 0.0, 1.0, "Uncertainty of initial beliefs about "
                         "effectiveness.", lo_open=True,
                         basis="three quarters of the mean effect; " + CHOICE),
        "forgetting": spec(0.05, 0.0, 1.0, "Share of evidence discounted each quarter."),
        "screening_noise": spec(0.1, 0.0, 1.0, "Noise of one assessment of a person's status "
                                "(intake screening, outreach, the report card's survey; a "
                                "shared record is the mean of the screens it holds).",
                                plausible=(0.05, 0.2),
                                basis="near the spread of status between people "
                                      "(correlation ~0.7); " + CHOICE),
        "indicator_sample": spec(400, 2, 1_000_000, "People sampled in each area's stage "
                                 "each year for the report card's indicators (what the common "
                                 "agenda and funders see)."),
    },
    "shock": {
        "start": spec(9, 1, 400, "Quarter after the collaborative's start in which the shock "
                      "(a recession) begins."),
        "duration": spec(0, 0, 400, "Quarters the shock lasts (0 = no shock)."),
        "pool_cut": spec(0.15, 0.0, 0.9, "Share of the funding pool cut while it lasts "
                         "(budget cuts; both arms).", plausible=(0.05, 0.3), basis=CHOICE),
        "status_drop": spec(0.02, 0.0, 0.5, "How far it lowers everyone's status target "
                            "while it lasts (families under strain; both arms).",
                            plausible=(0.0, 0.05), basis="0.2 SD of status; " + CHOICE),
    },
    "conditions": {c: spec(True, doc=f"Switch for the {c.replace('_', ' ')} condition.")
                   for c in CONDITIONS},
}


def _section_class(name: str, section: dict[str, dict]):
    ns = {"__annotations__": {k: type(v["default"]) for k, v in section.items()}}
    ns.update({k: v["default"] for k, v in section.items()})
    return dataclass(frozen=True)(type(name.title().replace("_", "") + "Params", (), ns))


_SECTION_CLASSES = {name: _section_class(name, sec) for name, sec in SCHEMA.items()}


@dataclass(frozen=True)
class Config:
    """A fully resolved, validated scenario. Build it with ``load_config`` or ``from_dict``."""

    scenario: Any
    run: Any
    population: Any
    problem: Any
    organizations: Any
    funding: Any
    backbone: Any
    effort: Any
    collaboration: Any
    learning: Any
    shock: Any
    conditions: Any

    @classmethod
    def from_dict(cls, data: dict | None = None) -> Config:
        return from_dict(data or {})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {s: {f.name: getattr(getattr(self, s), f.name) for f in fields(getattr(self, s))}
                for s in SCHEMA}

    def get(self, key: str):
        section, name = _split_key(key)
        return getattr(getattr(self, section), name)

    def with_values(self, values: dict[str, Any]) -> Config:
        """A copy with ``{"section.field": value}`` replaced, validated like a file."""
        data = self.to_dict()
        for key, value in values.items():
            section, name = _split_key(key)
            data[section][name] = value
        return from_dict(data)

    def isolated(self) -> Config:
        """The same world with no connective tissue: no backbone money, no volunteer
        coordination, every condition off.

        Levers that cannot act without a collaborative are reset to their defaults, so
        that scenarios differing only in them share one isolated run (sweeps run it once).
        """
        values = {key: _default(key) for key in COLLABORATIVE_ONLY}
        values.update({"funding.backbone_share": 0.0, "backbone.volunteer_coverage": 0.0})
        values.update({f"conditions.{c}": False for c in CONDITIONS})
        return self.with_values(values)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @property
    def area_names(self) -> tuple[str, ...]:
        k = self.population.areas
        return AREA_NAMES_6 if k == 6 else tuple(f"area_{i + 1}" for i in range(k))


def _default(key: str):
    section, name = _split_key(key)
    return SCHEMA[section][name]["default"]


def _split_key(key: str) -> tuple[str, str]:
    section, _, name = key.partition(".")
    if section not in SCHEMA or name not in SCHEMA[section]:
        raise ConfigError(f"unknown parameter '{key}'{did_you_mean(key, all_keys())}")
    return section, name


def field_key(name: str) -> str:
    """The ``section.field`` key of a dotted or flat (``section_field``) name."""
    if "." not in name:
        section, _, field = name.partition("_")
        if section in SCHEMA and field in SCHEMA[section]:
            return f"{section}.{field}"
        flat = [k.replace(".", "_") for k in all_keys()]
        raise ConfigError(f"unknown parameter '{name}'{did_you_mean(name, flat)}: give a "
                          f"scenario field as section_field or 'section.field'")
    _split_key(name)
    return name


def all_keys() -> list[str]:
    return [f"{s}.{f}" for s, sec in SCHEMA.items() for f in sec]


def did_you_mean(word: str, options) -> str:
    """A hint naming the closest allowed word, for error messages ('' if none is close)."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe_range(item: dict) -> str:
    lo, hi = item["lo"], item["hi"]
    left = f"{lo} < value" if item["lo_open"] else f"{lo} <= value"
    return f"{left} <= {hi}"


def _check_value(key: str, value, item: dict):
    """The value as the field's type, or a ConfigError naming the field and what is allowed.
    numpy scalars (values read from pandas, sampled by SALib or EMA Workbench) count as the
    Python numbers and booleans they stand for."""
    default = item["default"]
    kind = type(default)
    if kind is bool:
        if not isinstance(value, bool | np.bool_):
            raise ConfigError(f"{key} = {value!r}: must be true or false")
        return bool(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {value!r}: must be a string")
        return str(value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{key} = {value!r}: must be a number ({_describe_range(item)})")
    value = float(value) if not isinstance(value, numbers.Integral) else int(value)
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{key} = {value!r}: must be a whole number "
                              f"({_describe_range(item)})")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r}: must be a finite number "
                              f"({_describe_range(item)})")
    lo, hi = item["lo"], item["hi"]
    too_low = value <= lo if item["lo_open"] else value < lo
    if too_low or value > hi:
        raise ConfigError(f"{key} = {value!r} is out of range: allowed {_describe_range(item)}")
    return value


def from_dict(data: dict) -> Config:
    """Validate a nested ``{section: {field: value}}`` mapping and fill in defaults."""
    if not isinstance(data, dict):
        raise ConfigError("a scenario must be a table of sections")
    sections = {}
    for section, given in data.items():
        if section not in SCHEMA:
            raise ConfigError(f"unknown section [{section}]{did_you_mean(section, SCHEMA)}; "
                              f"allowed: {', '.join(SCHEMA)}")
        if not isinstance(given, dict):
            raise ConfigError(f"[{section}] must be a table of values, got {given!r}")
        for name in given:
            if name not in SCHEMA[section]:
                raise ConfigError(f"unknown key '{section}.{name}'"
                                  f"{did_you_mean(name, SCHEMA[section])}; allowed in [{section}]: "
                                  f"{', '.join(SCHEMA[section])}")
    for section, items in SCHEMA.items():
        given = data.get(section, {})
        values = {name: _check_value(f"{section}.{name}", given[name], item)
                  for name, item in items.items() if name in given}
        sections[section] = replace(_SECTION_CLASSES[section](), **values)
    config = Config(**sections)
    _check_consistency(config)
    return config


# Most services a quarter's money may buy per person-area. Beyond a few, duplication makes a
# service worth almost nothing; the bound keeps a mistyped pool (1e12) from running for hours.
MAX_SERVICES_PER_PERSON_AREA = 100


def _check_consistency(config: Config) -> None:
    fund, pop = config.funding, config.population
    if pop.pipeline and pop.size < pop.areas * pop.stage_years:
        raise ConfigError(f"population.size = {pop.size} is out of range for a pipeline of "
                          f"{pop.areas} stages of {pop.stage_years} years: allowed "
                          f"population.size >= {pop.areas * pop.stage_years} (one person "
                          f"per yearly cohort)")
    person_areas = pop.size * (1 if pop.pipeline else pop.areas)
    most_pool = fund.pool * (1.0 + fund.max_pool_growth)
    if most_pool / fund.cost_per_service > MAX_SERVICES_PER_PERSON_AREA * person_areas:
        allowed = (MAX_SERVICES_PER_PERSON_AREA * person_areas * fund.cost_per_service
                   / (1.0 + fund.max_pool_growth))
        raise ConfigError(
            f"funding.pool = {fund.pool:g} is out of range for this population: at "
            f"funding.cost_per_service = {fund.cost_per_service:g} (and pool growth up to "
            f"{fund.max_pool_growth:g}) it buys {most_pool / fund.cost_per_service:.3g} "
            f"services a quarter, more than {MAX_SERVICES_PER_PERSON_AREA} for each of the "
            f"{person_areas:,} person-areas; allowed here: funding.pool <= {allowed:.4g}")
    if config.organizations.home_areas > config.population.areas:
        raise ConfigError(f"organizations.home_areas = {config.organizations.home_areas} is out "
                          f"of range: allowed 1 <= value <= population.areas "
                          f"({config.population.areas})")
    if sum(getattr(config.effort, f) for f in BACKBONE_FUNCTIONS) <= 0:
        raise ConfigError("[effort]: at least one backbone function needs effort above 0")


def load_config(path: str | Path) -> Config:
    """Read and validate a scenario TOML file, or a shipped scenario by name (``"default"``)."""
    found = find_scenario(path)
    if found is None:
        names = list(shipped_scenarios())
        raise ConfigError(f"scenario file not found: {path}{did_you_mean(Path(path).stem, names)}"
                          f"; shipped scenarios: {', '.join(names)}")
    path = found
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    try:
        config = from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    if "name" not in data.get("scenario", {}):
        config = config.with_values({"scenario.name": path.stem})
    return config


def parameter_table_markdown() -> str:
    """The parameter table of docs/ODD.md, generated from SCHEMA so the two cannot drift."""
    lines = ["| parameter | default | allowed | plausible | meaning | basis |",
             "|---|---|---|---|---|---|"]
    for section, items in SCHEMA.items():
        for name, item in items.items():
            default = item["default"]
            allowed = "true / false" if isinstance(default, bool) else (
                "text" if isinstance(default, str) else _describe_range(item))
            plausible = "{} to {}".format(*item["plausible"]) if item["plausible"] else ""
            lines.append(f"| `{section}.{name}` | {default!r} | {allowed} | {plausible} | "
                         f"{item['doc']} | {item['basis']} |")
    return "\n".join(lines)


def plausible_ranges() -> dict[str, tuple[float, float]]:
    """``section.field`` -> (low, high) of every uncertain parameter, for robustness sweeps."""
    return {f"{s}.{f}": item["plausible"] for s, sec in SCHEMA.items()
            for f, item in sec.items() if item["plausible"]}
