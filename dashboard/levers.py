"""The funder's levers, the scenario files and scenario export: the dashboard's logic, no Solara.

Everything a user types goes through ``apply_typed``/``apply_value``, which either return a
validated ``Config`` or raise ``ConfigError`` with a message meant for the page; the page
shows that message and keeps the last good settings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from collective_impact.model import Config, ConfigError, load_config
from collective_impact.model.config import SCHEMA
from collective_impact.model.scenarios import CONFIGS_DIR

# A run with more services per quarter than this takes seconds per step: too slow to watch.
# The model itself allows it; use ``collective-impact run`` for such scenarios.
MAX_LIVE_SERVICES = 1_000_000
MAX_LIVE_PEOPLE_AREAS = 2_000_000
MAX_LIVE_ORGANIZATIONS = 1_000
CONFIGS_ENV = "COLLECTIVE_IMPACT_CONFIGS"
# Saving scenarios on the server is off unless the dashboard is started with --save-to DIR;
# then visitors may create new files in DIR, and nowhere else.
SAVE_DIR_ENV = "COLLECTIVE_IMPACT_SAVE_DIR"
SAVED_PREFIX = "saved/"


@dataclass(frozen=True)
class Lever:
    """One control on the page, tied to one scenario field.

    ``scale`` converts the stored value to the unit shown and typed (funding in $ millions).
    The slider spans ``slider`` (a practical window inside the allowed range); a typed value
    may take any value the model allows (``SCHEMA`` lo/hi).
    """

    key: str
    label: str
    slider: tuple[float, float, float]  # lo, hi, step, in shown units
    unit: str = ""
    scale: float = 1.0
    integer: bool = False
    help: str = ""
    percent: bool = False  # a share that may also be typed as a percentage ('12%')

    def shown(self, config: Config) -> float | int:
        """The lever's current value in the unit shown on the page."""
        value = config.get(self.key) / self.scale
        return int(round(value)) if self.integer else float(value)

    def stored(self, shown: float) -> float | int:
        value = shown * self.scale
        return int(round(value)) if self.integer else float(value)

    def describe(self, config: Config) -> str:
        """The current value in words, e.g. '$5.0 M per quarter' or '5 %'."""
        return format_value(self, config.get(self.key))

    def allowed(self, config: Config | None = None) -> str:
        """The values a person may type, in the shown unit: the model's range, capped (for
        funding) by what runs live here."""
        item = schema_item(self.key)
        lo, hi = item["lo"] / self.scale, item["hi"] / self.scale
        if self.integer:
            lo, hi = item["lo"] // int(self.scale), item["hi"] // int(self.scale)
        if self.key == "funding.pool" and config is not None:
            hi = min(hi, MAX_LIVE_SERVICES * config.funding.cost_per_service / self.scale)
        if self.key == "organizations.count":
            hi = min(hi, MAX_LIVE_ORGANIZATIONS)
        unit = f" ({self.unit})" if self.unit else ""
        if item["lo_open"]:
            return f"above {_plain(lo)} and up to {_plain(hi)}{unit}"
        return f"from {_plain(lo)} to {_plain(hi)}{unit}"


def schema_item(key: str) -> dict:
    section, _, name = key.partition(".")
    return SCHEMA[section][name]


def _plain(x: float) -> str:
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"


LEVERS: tuple[Lever, ...] = (
    Lever("funding.pool", "Total funding", (0.5, 40.0, 0.5), unit="$ M per quarter", scale=1e6,
          help="Dollars all funders put in each quarter, for programs and the backbone together."),
    Lever("funding.backbone_share", "Backbone share (connective tissue)", (0.0, 0.9, 0.01),
          percent=True,
          help="Part of the funding paid to a backbone organization that coordinates the "
               "others. 0 means no backbone."),
    Lever("organizations.count", "Number of organizations", (5, 300, 1), integer=True,
          help="Nonprofits, schools, agencies, businesses and universities working on the "
               "problem."),
    Lever("collaboration.metric_agreement", "Metric agreement", (0.0, 1.0, 0.05),
          help="How far partners count things the same way when the collaborative starts; "
               "it then grows through the collaborative's work (shared measurement)."),
    Lever("collaboration.control_tightness", "Control tightness", (0.0, 1.0, 0.05),
          help="How far the backbone dictates what partners do instead of helping them align."),
    Lever("problem.complementarity", "Complementarity", (0.0, 1.0, 0.05),
          help="How much progress in one area depends on the area before it "
               "(0 = independent areas, 1 = a strict cradle-to-career pipeline)."),
    Lever("run.steps", "Horizon", (4, 200, 4), unit="quarters", integer=True,
          help="How many quarters to simulate (40 quarters = 10 years)."),
)
LEVER_BY_KEY = {lever.key: lever for lever in LEVERS}
SEED = Lever("run.seed", "Seed", (0, 9999, 1), integer=True,
             help="Which random world: the same seed gives the same people and organizations "
                  "to both arms.")


def format_value(lever: Lever, value) -> str:
    if lever.key == "funding.pool":
        return f"${value / 1e6:,.1f} M per quarter"
    if lever.key == "funding.backbone_share":
        return f"{value:.0%} of funding"
    if lever.key == "run.steps":
        return f"{value} quarters ({value / 4:g} years)"
    if lever.integer:
        return f"{value:,}"
    return f"{value:.2f}"


def check_live(config: Config) -> Config:
    """Refuse scenarios the model allows but that would run too slowly to watch live."""
    services = config.funding.pool / config.funding.cost_per_service
    if services > MAX_LIVE_SERVICES:
        most = MAX_LIVE_SERVICES * config.funding.cost_per_service / 1e6
        raise ConfigError(f"funding.pool = {config.funding.pool:,.0f} buys {services:,.0f} "
                          f"services a quarter, too many to run live; the dashboard takes up "
                          f"to ${most:,.0f} M per quarter, 'collective-impact run' any amount")
    if config.organizations.count > MAX_LIVE_ORGANIZATIONS:
        raise ConfigError(f"organizations.count = {config.organizations.count:,} is too many "
                          f"to draw live; the dashboard takes up to {MAX_LIVE_ORGANIZATIONS:,} "
                          f"('collective-impact run' takes any number)")
    cells = config.population.size * config.population.areas
    if cells > MAX_LIVE_PEOPLE_AREAS:
        raise ConfigError(f"population.size = {config.population.size:,} is too large to run "
                          f"live here (use 'collective-impact run' for it)")
    return config


def apply_value(config: Config, key: str, stored) -> Config:
    """``config`` with one field changed, validated by the model and for live running."""
    return check_live(config.with_values({key: stored}))


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: str) -> float:
    """A number typed by a person: '5', '5.5', '5,000,000', '1e6', ' 2_000 ', '40%'."""
    cleaned = str(text).strip().replace(",", "").replace("_", "").replace("$", "")
    percent = cleaned.endswith("%")
    cleaned = cleaned.rstrip("%").strip()
    if not _NUMBER.match(cleaned):
        raise ConfigError(f"'{str(text).strip()}' is not a number")
    value = float(cleaned)
    return value / 100 if percent else value


def apply_typed(config: Config, lever: Lever, text: str) -> Config:
    """``config`` with the lever set to a value typed in the lever's shown unit.

    Raises ``ConfigError`` with a message for the page: the lever's label, what is wrong and
    what is allowed, then the model's own words (field, value and range) in brackets.
    """
    typed = str(text).strip()
    allowed = f"Allowed: {lever.allowed(config)}."
    if typed.endswith("%") and not lever.percent:
        unit = f" in {lever.unit}" if lever.unit else ""
        raise ConfigError(f"{lever.label}: '{typed}' is a percentage; type the value{unit}. "
                          f"{allowed}")
    try:
        shown = parse_number(typed)
    except ConfigError:
        raise ConfigError(f"{lever.label}: '{typed}' is not a number. {allowed}") from None
    if lever.integer and not shown.is_integer():
        raise ConfigError(f"{lever.label}: {typed} is not a whole number. {allowed}")
    try:
        new = config.with_values({lever.key: lever.stored(shown)})
    except ConfigError as err:
        raise ConfigError(f"{lever.label}: {typed} is out of range. {allowed} "
                          f"({err})") from None
    try:
        return check_live(new)
    except ConfigError as err:
        raise ConfigError(f"{lever.label}: {typed} is too much for a live run. {allowed} "
                          f"({err})") from None


# ------------------------------------------------------------------ scenario files
def configs_dir() -> Path:
    """Where scenario files live: $COLLECTIVE_IMPACT_CONFIGS (``--configs``), ./configs, or
    the scenarios shipped with the package."""
    if os.environ.get(CONFIGS_ENV):
        return Path(os.environ[CONFIGS_ENV])
    here = Path.cwd() / "configs"
    if here.is_dir():
        return here
    return CONFIGS_DIR


def save_dir() -> Path | None:
    """The one folder visitors may save scenarios into (``--save-to``), or None: saving on
    the server is off and the page offers only the download."""
    folder = os.environ.get(SAVE_DIR_ENV)
    return Path(folder) if folder else None


def scenario_files(directory: Path | None = None, saved: Path | None = None) -> dict[str, Path]:
    """Scenario name -> file: the scenario folder's ``*.toml`` ('default' first), then the
    files saved from the page (``saved/<name>``), listed afresh each time so a file saved
    a moment ago shows up."""
    directory = Path(directory or configs_dir())
    found = {p.stem: p for p in sorted(directory.glob("*.toml"))}
    if "default" in found:
        found = {"default": found.pop("default"), **found}
    saved = saved if saved is not None else save_dir()
    if saved is not None and saved.is_dir():
        found.update({f"{SAVED_PREFIX}{p.stem}": p for p in sorted(saved.glob("*.toml"))})
    return found


def load_scenario(path: Path) -> Config:
    return check_live(load_config(path))


def safe_name(text: str) -> str:
    """A scenario name that is safe as a file name and still readable: letters (accents
    kept), digits, '-' and '_'; anything else, path separators and dots included, becomes
    '_'. So no name can leave the folder it is saved in."""
    name = re.sub(r"[^\w-]+", "_", str(text).strip()).strip("_")
    if not name:
        raise ConfigError("give the scenario a name (letters, digits, '-' or '_')")
    return name[:80]


def changed_fields(config: Config, base: Config) -> dict[str, object]:
    """Fields that differ from ``base`` (the scenario file the user started from)."""
    now, was = config.to_dict(), base.to_dict()
    return {f"{s}.{f}": v for s, sec in now.items() for f, v in sec.items()
            if s != "scenario" and was[s][f] != v}


def settings_query(scenario: str, config: Config, base: Config) -> str:
    """The page's settings as a URL query: the scenario's name and every field that differs
    from its file, so that a link reproduces the page ('?scenario=default&run.seed=7')."""
    pairs = [("scenario", scenario)]
    for key, value in changed_fields(config, base).items():
        pairs.append((key, str(value).lower() if isinstance(value, bool) else repr(value)))
    return urlencode(pairs, safe="./")


def settings_from_query(search: str | None, files: dict[str, Path]):
    """(scenario name, its config as loaded, the config with the query's fields applied)
    from a URL query made by ``settings_query``; None without a query. A wrong scenario,
    field or value raises ``ConfigError`` naming it."""
    if not search:
        return None
    pairs = parse_qsl(search, keep_blank_values=True)
    if not pairs:
        return None
    given = dict(pairs)
    name = given.pop("scenario", "default")
    if name not in files:
        raise ConfigError(f"the link names scenario '{name}', which is not in the list")
    base = load_scenario(files[name])
    values = {}
    for key, text in given.items():
        section, _, field = key.partition(".")
        if section not in SCHEMA or field not in SCHEMA[section]:
            raise ConfigError(f"the link sets '{key}', which is not a scenario field")
        kind = type(SCHEMA[section][field]["default"])
        try:
            if kind is bool:
                if text not in ("true", "false"):
                    raise ValueError(text)
                values[key] = text == "true"
            else:
                values[key] = kind(float(text)) if kind is int else kind(text)
        except ValueError:
            raise ConfigError(f"the link sets {key} = {text!r}, which is not a "
                              f"{kind.__name__}") from None
    return name, base, check_live(base.with_values(values))


def run_label(config: Config, base: Config) -> str:
    """A short name for a run: what differs from the scenario file it started from, in the
    page's words ('Backbone share 10% of funding, Seed 7'), else the scenario's name."""
    words = []
    for key, value in changed_fields(config, base).items():
        lever = LEVER_BY_KEY.get(key) or (SEED if key == SEED.key else None)
        if lever is not None:
            words.append(f"{lever.label.split(' (')[0]} {format_value(lever, value)}")
        elif key.startswith("conditions."):
            words.append(f"{key.split('.')[1].replace('_', ' ')} {'on' if value else 'off'}")
        else:
            words.append(f"{key} = {value}")
    return ", ".join(words) if words else f"{base.scenario.name} as loaded"


def exported_config(config: Config, name: str, base: Config | None = None) -> Config:
    """The config as exported: the current settings, named ``name``, with a description
    saying where it came from."""
    name = safe_name(name)
    origin = base.scenario.name if base is not None else config.scenario.name
    changes = changed_fields(config, base) if base is not None else {}
    text = f"Exported from the dashboard, based on '{origin}'"
    if changes:
        text += " with " + ", ".join(f"{k} = {v!r}" for k, v in changes.items())
    return config.with_values({"scenario.name": name, "scenario.description": text + "."})


def save_path(name: str, directory: Path) -> Path:
    """Where a scenario named ``name`` is saved: ``directory/<safe name>.toml``."""
    return Path(directory) / f"{safe_name(name)}.toml"


def scenario_text(config: Config) -> str:
    """The exported file's text: ``config.to_toml()`` under a one-line header."""
    return "# Scenario exported from the collective-impact dashboard.\n" + config.to_toml()


def save_scenario(config: Config, name: str, directory: Path) -> Path:
    """Save ``config`` as a new file in ``directory`` (the ``--save-to`` folder) and return
    its path. Only a name is taken from the visitor, never a path; an existing file is never
    overwritten, so no visitor can change a scenario another one relies on."""
    directory = Path(directory)
    path = save_path(name, directory)
    if path.resolve().parent != directory.resolve():  # safe_name makes this impossible
        raise ConfigError(f"'{name}' is not a scenario name")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as handle:  # "x": fails if it exists
            handle.write(scenario_text(config))
    except FileExistsError:
        raise ConfigError(f"a saved scenario named '{path.stem}' exists already; choose "
                          f"another name") from None
    except OSError as err:
        raise ConfigError(f"could not save {path.name}: {err.strerror or err}") from None
    return path
