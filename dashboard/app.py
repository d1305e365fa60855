"""The dashboard page: isolated and collective impact side by side, live in the browser.

Serve it with ``collective-impact dashboard`` (or ``solara run dashboard.app --production``).

Why a Solara page of our own rather than Mesa's ``SolaraViz``: SolaraViz drives one model
instance built from one parameter dict. Here two models, the isolated and the collective arm
of one seed, must step in lockstep and restart together; the page also needs a "run to the
end" button, a scenario picker, typed values validated by the model's ``Config`` (with the
error shown in the page) and scenario export. The page keeps SolaraViz's conventions:
Reset / Play / Step, a play loop in a thread, and changing a parameter restarts the run.

The page holds no simulation logic: ``dashboard.levers`` validates and exports settings,
``dashboard.arms`` runs the two arms, ``dashboard.charts`` and ``dashboard.network`` draw,
``dashboard.captions`` holds the words.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from pathlib import Path

import markdown
import solara

from collective_impact.dashboard import charts, network
from collective_impact.dashboard.arms import ARM_TITLES, ARMS, PairedRun, Snapshot, gap_spread
from collective_impact.dashboard.captions import CAPTIONS, HOW_IT_WORKS, HOW_TO, INTRO, LEAD
from collective_impact.dashboard.levers import (
    LEVERS,
    SEED,
    Lever,
    apply_typed,
    apply_value,
    configs_dir,
    exported_config,
    load_scenario,
    run_label,
    safe_name,
    save_dir,
    save_path,
    save_scenario,
    scenario_files,
    scenario_text,
    settings_from_query,
    settings_query,
)
from collective_impact.dashboard.robustness import robustness_words
from collective_impact.dashboard.widgets import Echarts
from collective_impact.experiments.compare import comparison_seeds
from collective_impact.model import Config, ConfigError

RUSH_SLICE = 0.4  # seconds of stepping between redraws while running to the end
MAX_PINS = 5
SPREAD_WORLDS = 8
# Counts scenarios saved from any page (with --save-to); the scenario lists read it, so each
# open page lists a newly saved file at once.
SAVED_FILES = solara.reactive(0)
# Play speeds: (quarters per picture, seconds between pictures). "narrate" leaves a teacher
# a second a quarter; each step up is about three times faster than the one below.
SPEEDS = {"narrate": (1, 1.0), "slow": (1, 0.3), "medium": (2, 0.15), "fast": (6, 0.05)}
DEFAULT_SPEED = "slow"

CSS = """
.ci-page { max-width: 1280px; margin: 0 auto; padding: 4px 12px 40px 12px; }
.ci-intro { font-size: 14.5px; line-height: 1.5; color: #2b2b2b; }
.ci-intro p, .ci-intro li { margin-bottom: 4px; }
.ci-numbers table { width: 100%; border-collapse: collapse; }
.ci-numbers th, .ci-numbers td { padding: 4px 6px; border-bottom: 1px solid #eee; }
.ci-numbers th:not(:first-child), .ci-numbers td:not(:first-child) {
    text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci-card { border-radius: 10px !important; padding: 14px 18px !important;
           margin: 8px 0 !important; }
.ci-caption { font-size: 13.5px; color: #3c3c3c; line-height: 1.45; }
.ci-caption p { margin-bottom: 4px; }
.ci-prose strong { font-weight: 700; }
.ci-label { font-size: 12px; color: #666; text-transform: uppercase; letter-spacing: .04em; }
.ci-big { font-size: 30px; font-weight: 600; line-height: 1.15;
          font-variant-numeric: tabular-nums; }
.ci-num { font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
.ci-sub { font-size: 13px; color: #555; }
.ci-arm-isolated { border-top: 5px solid #D55E00 !important; }
.ci-arm-collective { border-top: 5px solid #0072B2 !important; }
.ci-step { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.ci-headline { font-size: 16px; margin: 12px 4px 0 4px; }
.ci-headline p { margin: 0; }
.ci-lever { margin-bottom: 10px; }
.ci-lever-title { font-size: 14px; font-weight: 600; }
.ci-lever-value { font-size: 13px; color: #0072B2; font-weight: 600; }
.ci-help { font-size: 12px; color: #666; line-height: 1.35; }
.ci-input { max-width: 96px; }
/* Phones: the menu drawer leaves part of the page and its menu button in view. */
@media (max-width: 600px) {
  .v-navigation-drawer { width: 85vw !important; min-width: 0 !important;
                         max-width: 340px !important; top: 56px !important;
                         height: calc(100vh - 56px) !important;
                         background-color: #fff !important; }
  .v-app-bar { z-index: 10 !important; }  /* above the drawer's shade: the menu button works */
  .ci-big { font-size: 24px; }
  .ci-page { padding: 4px 4px 40px 4px; }
}
/* In a narrow panel (a phone, or a tablet beside the menu) the many-panel charts stack
   their panels (charts.NARROW, the chart's width, plus the card's padding): taller. */
.ci-panel-areas, .ci-panel-money { container-type: inline-size; }
@container (max-width: 592px) {
  .ci-chart-areas { height: 1100px !important; }
  .ci-chart-money { height: 720px !important; }
}
.ci-lead { margin: 6px 4px 2px 4px; }
/* The typed boxes' names are for screen readers; the lever's title is shown above them. */
.ci-input .v-label { position: absolute !important; width: 1px; height: 1px;
                     overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.ci-side-title { font-size: 13px; font-weight: 700; color: #444; text-transform: uppercase;
                 letter-spacing: .05em; margin: 14px 0 6px 0; }
"""


# ------------------------------------------------------------------ small building blocks
def _typed_text(lever: Lever, config: Config) -> str:
    value = lever.shown(config)
    return str(value) if lever.integer else f"{value:g}"


@solara.component
def Prose(text: str, classes: list[str] | None = None):
    """Our own markdown, turned into HTML on the server (solara.Markdown would fetch KaTeX
    from a CDN this page must not depend on)."""
    html = solara.use_memo(lambda: markdown.markdown(text, extensions=["tables"]), [text])
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["ci-prose", *(classes or [])])


@solara.component
def Caption(key: str):
    c = CAPTIONS[key]
    Prose(f"**What you see.** {c.what}\n\n**Notice.** {c.notice}\n\n**Try.** {c.try_}",
          classes=["ci-caption"])


@solara.component
def Panel(title: str, caption: str, children=[]):  # noqa: B006 - reacton's children idiom
    """A card: title, whatever is inside the ``with`` block, then the plain-language caption."""
    with solara.Card(classes=["ci-card", f"ci-panel-{caption}"], elevation=1):
        solara.HTML(tag="h3", unsafe_innerHTML=title, style="margin: 0 0 6px 0;")
        solara.Column(children=children, gap="6px")
        Caption(caption)


@solara.component
def Chart(build: Callable, snap: Snapshot, name: str, height: int, option=None):
    """An ECharts chart drawn by the browser; its option is rebuilt when the run moves."""
    figure = solara.use_memo(lambda: build(snap) if option is None else build(snap, option),
                             [snap, option])
    Echarts(figure, attributes={"class": f"ci-chart ci-chart-{name}",
                                "style": f"height: {height}px; width: 100%;"})


# ------------------------------------------------------------------ the sidebar
def _try_change(make_config: Callable[[], Config], error, on_config, label: str = "") -> None:
    """Apply a change the model validates; a refused value becomes a message instead."""
    try:
        new = make_config()
    except ConfigError as err:
        error.set(f"{label}: {err}" if label else str(err))
        return
    error.set(None)
    on_config(new)


@solara.component
def LeverControl(lever: Lever, config: Config, on_config: Callable[[Config], None],
                 resets: int = 0):
    """A slider for quick moves and a box for exact values; a refused value is explained.
    A good change of any lever or a Reset (``resets`` counts them) clears the message and
    the refused text in the box."""
    error = solara.use_reactive(None)
    cleared = solara.use_reactive(0)  # refusals cleared: each makes the box a new widget

    def clear_refusal():
        if error.value is not None:
            error.set(None)
            cleared.set(cleared.value + 1)

    solara.use_effect(clear_refusal, [config, resets])
    lo, hi, step = lever.slider

    def set_value(shown):
        _try_change(lambda: apply_value(config, lever.key, lever.stored(shown)), error,
                    on_config, lever.label)

    def typed(text):
        _try_change(lambda: apply_typed(config, lever, text or ""), error, on_config)

    name = lever.key.split(".")[1]
    with solara.Column(gap="0px", classes=["ci-lever", f"ci-lever-{name}"]):
        with solara.Row(justify="space-between", style={"align-items": "baseline"}):
            solara.Text(lever.label, classes=["ci-lever-title"])
            solara.Text(lever.describe(config), classes=["ci-lever-value"])
        with solara.Row(style={"align-items": "center"}, gap="10px"):
            # The slider is held inside its window (a value beyond it, like Strive's $50 M,
            # puts it at the end, where the browser would clamp it behind our back and keep
            # it there); the typed box is a new widget when its value changes or a refusal
            # is cleared, so it never keeps a refused text.
            shown = lever.shown(config)
            slider = solara.v.Slider(v_model=min(max(shown, lo), hi), min=lo, max=hi,
                                     step=step, hide_details=True, thumb_label=True,
                                     class_=f"ci-slider ci-slider-{name}",
                                     style_="flex: 1 1 auto;",
                                     attributes={"aria-label": lever.label})
            solara.v.use_event(slider, "change", lambda *args: set_value(args[-1]))
            solara.InputText(f"{lever.label} (type a value)", value=_typed_text(lever, config),
                             on_value=typed, dense=True, error=bool(error.value),
                             classes=["ci-input", f"ci-input-{name}"],
                             hide_details=True).key(
                                 f"input-{name}-{shown}-{resets}-{cleared.value}")
        solara.Text(lever.help, classes=["ci-help"])
        if error.value:
            solara.Error(error.value, dense=True, classes=["ci-error"])


@solara.component
def ScenarioPicker(name: str, description: str, on_pick: Callable[[str], None], message):
    SAVED_FILES.value  # noqa: B018 - read, so a file saved from any page re-lists the files
    names = list(scenario_files())
    if name not in names:
        names = [name, *names]
    solara.Select("Start from (a scenario file)", values=names, value=name,
                  on_value=on_pick, classes=["ci-scenario"])
    if description:
        solara.Text(description, classes=["ci-help"])
    if message:
        solara.Error(message, dense=True, classes=["ci-error"])


CONDITION_WORDS = {
    "common_agenda": ("Common agenda", "partners agree where to push"),
    "shared_measurement": ("Shared measurement", "one data system, matched records"),
    "mutually_reinforcing": ("Mutually reinforcing activities",
                             "referrals; each partner where it is good"),
    "continuous_communication": ("Continuous communication", "dialogue that builds trust"),
    "backbone": ("Backbone organization", "paid staff for all of this"),
}


@solara.component
def InterveneSwitch(intervening, notice: str | None):
    """Whether a lever change restarts the runs or changes them from the current quarter."""
    box = solara.v.Switch(label="Change levers from this quarter on (no restart)",
                          v_model=intervening.value, dense=True, hide_details=True,
                          class_="ci-intervene")
    solara.v.use_event(box, "change", lambda *args: intervening.set(bool(args[-1])))
    solara.Text("For example: run five years, switch this on, cut the backbone share to 0, "
                "and run on.", classes=["ci-help"])
    if notice:
        solara.Info(notice, dense=True, classes=["ci-intervened"])


@solara.component
def ConditionSwitches(config: Config, on_config: Callable[[Config], None]):
    """Kania and Kramer's five conditions, each a switch (the collective side only)."""
    for condition in CONDITION_WORDS:
        ConditionSwitch(condition, config, on_config)


@solara.component
def ConditionSwitch(condition: str, config: Config, on_config: Callable[[Config], None]):
    label, words = CONDITION_WORDS[condition]
    key = f"conditions.{condition}"
    box = solara.v.Checkbox(label=f"{label}: {words}", v_model=bool(config.get(key)),
                            dense=True, hide_details=True,
                            class_=f"ci-condition ci-condition-{condition}")
    solara.v.use_event(box, "change",
                       lambda *args: on_config(config.with_values({key: bool(args[-1])})))


@solara.component
def SeedControl(config: Config, on_config: Callable[[Config], None], resets: int = 0):
    error = solara.use_reactive(None)
    solara.use_effect(lambda: error.set(None), [config, resets])  # as for the levers

    def typed(text):
        _try_change(lambda: apply_typed(config, SEED, text or ""), error, on_config)

    def new_world():
        error.set(None)
        on_config(config.with_values({"run.seed": random.randrange(10_000)}))

    with solara.Column(gap="0px", classes=["ci-lever", "ci-lever-seed"]):
        with solara.Row(style={"align-items": "center"}, gap="10px"):
            solara.InputText("Seed", value=str(config.run.seed), on_value=typed, dense=True,
                             error=bool(error.value), classes=["ci-input-seed"],
                             hide_details=True, style={"max-width": "140px"}).key(
                f"seed-{config.run.seed}-{resets}")
            solara.Button("New world", icon_name="mdi-dice-multiple", on_click=new_world,
                          text=True, color="primary")
        solara.Text(SEED.help, classes=["ci-help"])
        if error.value:
            solara.Error(error.value, dense=True, classes=["ci-error"])


@solara.component
def ExportPanel(config: Config, base: Config):
    """Download the scenario as a TOML file. Saving it on the server is offered only when
    the dashboard was started with ``--save-to DIR``, and then only as a new file in DIR,
    named from the scenario's name (never a path typed by the visitor)."""
    name = solara.use_reactive(f"{base.scenario.name}_custom")
    result = solara.use_reactive(None)  # (ok, text)
    folder = save_dir()

    def current() -> Config:
        return exported_config(config, name.value, base)

    def save():
        try:
            written = save_scenario(current(), name.value, folder)
        except ConfigError as err:
            result.set((False, str(err)))
            return
        result.set((True, written.name))
        SAVED_FILES.set(SAVED_FILES.value + 1)  # every open page lists the new file

    try:
        toml_text = scenario_text(current())
        filename = f"{safe_name(name.value)}.toml"
    except ConfigError:
        toml_text, filename = "", "scenario.toml"

    solara.InputText("Name", value=name, dense=True, classes=["ci-export-name"],
                     continuous_update=True)
    with solara.Row(gap="8px", style={"flex-wrap": "wrap"}):
        with solara.FileDownload(toml_text, filename=filename, mime_type="application/toml"):
            solara.Button("Download", icon_name="mdi-download", color="primary",
                          outlined=True, disabled=not toml_text, classes=["ci-download"])
        if folder is not None:
            solara.Button("Save on the server", icon_name="mdi-content-save", on_click=save,
                          text=True, color="primary", disabled=not toml_text,
                          classes=["ci-export"])
    if folder is not None and toml_text:
        solara.Text(f"Saves a new file {save_path(name.value, folder).name} in the shared "
                    f"folder; it never overwrites one.", classes=["ci-help"])
    if result.value:
        ok, text = result.value
        if ok:
            solara.Success(f"Saved {text}; it is in the scenario list as saved/"
                           f"{Path(text).stem}. Reproduce this run with `collective-impact "
                           f"run {text}` (add `--isolated` for the left side).", dense=True,
                           classes=["ci-export-done"])
        else:
            solara.Error(text, dense=True, classes=["ci-error"])


# ------------------------------------------------------------------ the main area
@solara.component
def Controls(snap: Snapshot, playing, speed, on_step, on_end, on_reset,
             rushing: bool = False):
    with solara.Card(classes=["ci-card"], elevation=1):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="10px"):
            with solara.Column(gap="0px", style={"min-width": "170px"}):
                solara.Text(f"Quarter {snap.step} of {snap.horizon}", classes=["ci-step"])
                solara.Text(f"year {snap.step / 4:g} of {snap.horizon / 4:g}",
                            classes=["ci-sub"])
            solara.Button("Reset", icon_name="mdi-restart", on_click=on_reset, outlined=True,
                          classes=["ci-reset"], small=True)
            solara.Button("Step", icon_name="mdi-step-forward", on_click=on_step,
                          color="primary", disabled=playing.value or snap.at_end or rushing,
                          classes=["ci-step-button"], small=True)
            solara.Button("Pause" if playing.value else "Play",
                          icon_name="mdi-pause" if playing.value else "mdi-play",
                          on_click=lambda: playing.set(not playing.value), color="primary",
                          disabled=(snap.at_end and not playing.value) or rushing,
                          classes=["ci-play"], small=True)
            solara.Button("Running…" if rushing else "Run to the end",
                          icon_name="mdi-skip-forward", on_click=on_end, color="primary",
                          disabled=playing.value or snap.at_end or rushing,
                          loading=rushing, classes=["ci-run-end"], small=True)
            solara.v.Spacer()
            with solara.Row(style={"align-items": "center"}, gap="6px"):
                solara.Text("Speed", classes=["ci-sub"])
                solara.ToggleButtonsSingle(value=speed, values=list(SPEEDS), dense=True)
        solara.v.ProgressLinear(value=100 * snap.step / max(snap.horizon, 1), height=4,
                                color="primary", background_color="#e6eef5",
                                style_="margin-top: 12px;")


@solara.component
def ArmCard(snap: Snapshot, arm: str):
    now, start = snap.latest(arm), snap.first(arm)
    orgs = snap.organizations[arm]
    change = now.composite_index - start.composite_index
    bb = orgs.backbone_budget
    with solara.Card(classes=["ci-card", f"ci-arm-{arm}"], elevation=1):
        solara.Text(ARM_TITLES[arm], classes=["ci-label"])
        with solara.Row(style={"align-items": "baseline"}, gap="12px"):
            solara.Text(f"{now.composite_index:.4f}", classes=["ci-big", f"ci-composite-{arm}"])
            solara.Text(f"composite index ({change:+.4f} since quarter 0)", classes=["ci-sub"])
        indicators = ("indicators trending the right way",
                      f"{int(now.indicators_trending)} of {int(now.indicators_total)}")
        if not orgs.collaborative:  # no collaborative to trust or join, no backbone
            cells = (indicators, ("services this quarter", f"{int(now.services):,}"),
                     ("programs", f"${now.program_spending / 1e6:,.2f} M"))
        else:
            cells = (indicators, ("trust", f"{now.trust:.2f}"),
                     ("taking part", f"{now.participation:.0%}"),
                     ("backbone", "none" if bb is None else f"${bb / 1e6:,.2f} M"))
        with solara.Row(gap="14px", style={"flex-wrap": "wrap"}):
            for label, value in cells:
                with solara.Column(gap="0px", style={"min-width": "88px"}):
                    solara.Text(value, classes=["ci-num", f"ci-{arm}-{label.split()[0]}"])
                    solara.Text(label, classes=["ci-sub"])


def headline_words(snap: Snapshot) -> str:
    """The result in plain, relative words: who is ahead, by how much for each dollar spent
    so far (young people's gains over their baselines per $1 M, against working alone), and
    what the connective tissue cost."""
    iso_now, col_now = snap.latest("isolated"), snap.latest("collective")
    return (f"After {snap.step} quarters ({snap.step / 4:g} years), collective impact is "
            f"**{lead_word(col_now.composite_index - iso_now.composite_index)}** isolated "
            f"impact: composite index {col_now.composite_index:.4f} against "
            f"{iso_now.composite_index:.4f}. "
            f"{per_dollar_words(col_now.outcome_per_million, iso_now.outcome_per_million)}"
            f"{cost_words(col_now, iso_now)}")


def lead_word(gap: float) -> str:
    """'ahead of' or 'behind' for any gap the page shows (four decimals), else 'level with'."""
    return "ahead of" if gap >= 0.00005 else "behind" if gap <= -0.00005 else "level with"


def per_dollar_words(collective: float, isolated: float) -> str:
    """How much more or less the young people gained per dollar, relative to working alone."""
    if isolated <= 0:
        return ""
    change = collective / isolated - 1.0
    amount = f"{abs(change):.1%}" if abs(change) < 0.1 else f"{abs(change):.0%}"
    more = "more" if change > 0 else "less"
    return (f"For each $1 M spent so far, the young people gained {amount} {more} over "
            f"their baselines than with every organization working alone. ")


def cost_words(col_now, iso_now) -> str:
    cost = float(col_now.backbone_spending + col_now.participation_cost_spending)
    pool = float(col_now.funding_pool) or 1.0
    return (f"This quarter the connective tissue (backbone and partners' working-group "
            f"time) took {cost / pool:.0%} of the funding, so collective impact bought "
            f"{int(col_now.services):,} services against {int(iso_now.services):,}.")


@solara.component
def Scoreboard(snap: Snapshot):
    if snap.step == 0:
        headline = ("Quarter 0: both sides start from the same world. "
                    "Press Step, Play or Run to the end.")
    else:
        headline = headline_words(snap)
    Prose(headline, classes=["ci-headline"])
    with solara.ColumnsResponsive(12, medium=6):  # side by side from tablet width up
        for arm in ARMS:
            ArmCard(snap, arm)
    Prose("**Across plausible worlds.** " + robustness_words(snap.config.funding.backbone_share),
          classes=["ci-caption", "ci-robustness"])


@solara.component
def Page():
    solara.Title("Isolated vs collective impact: a funder's sandbox")
    solara.Style(CSS)

    # ---- state of this browser session
    router = solara.use_router()
    start = solara.use_memo(lambda: _starting_scenario(router.search), [])
    scenario = solara.use_reactive(start[0])
    base = solara.use_reactive(start[1])  # the scenario as loaded from its file
    config = solara.use_reactive(start[2])  # what the levers make of it
    pick_error = solara.use_reactive(start[3])
    paired = solara.use_reactive(solara.use_memo(lambda: PairedRun(start[2]), []))
    version = solara.use_reactive(0)  # bumped after every step, so the page redraws
    playing = solara.use_reactive(False)
    rushing = solara.use_reactive(False)  # "Run to the end" under way
    resets = solara.use_reactive(0)  # Reset re-creates the controls: no refusal survives it
    pins = solara.use_reactive([])  # (label, gap by quarter) of runs pinned for comparison
    intervening = solara.use_reactive(False)  # lever changes apply from now on, no restart
    spread = solara.use_reactive(None)  # (config, gap over several worlds) for the gap chart
    spreading = solara.use_reactive(False)
    notice = solara.use_reactive(None)  # what the last lever change did
    speed = solara.use_reactive(DEFAULT_SPEED)
    measure = solara.use_reactive("on_track")

    def restart(new: Config):
        playing.set(False)
        rushing.set(False)
        config.set(new)
        paired.set(PairedRun(new))

    def pick(name: str):
        files = scenario_files()
        try:
            loaded = load_scenario(files[name])
        except (ConfigError, KeyError) as err:
            pick_error.set(f"Could not load scenario '{name}': {err}")
            return
        pick_error.set(None)
        scenario.set(name)
        base.set(loaded)
        restart(loaded)

    def change(new: Config):
        """A lever moved: start both runs again, or, with 'from now on' switched on and a
        run under way, change it from the current quarter (a mid-run intervention)."""
        run = paired.value
        if not (intervening.value and 0 < run.step_count < run.horizon):
            notice.set(None)
            restart(new)
            return
        try:
            run.intervene(new)
        except ConfigError as err:
            notice.set(f"{err}. The run started again.")
            restart(new)
            return
        notice.set(f"Changed from quarter {run.step_count} on.")
        config.set(new)
        version.set(version.value + 1)

    def pin():
        story = charts.gap_story(snap)
        gap = [[int(q), round(float(g), 5)] for q, g in
               zip(story["steps"][1:], story["gap"][1:], strict=True)]
        pins.set([*pins.value, (run_label(config.value, base.value), gap)][-MAX_PINS:])

    def reset():
        resets.set(resets.value + 1)
        restart(config.value)

    def step_once():
        paired.value.step(1)
        version.set(version.value + 1)

    def run_to_end():
        playing.set(False)
        rushing.set(True)

    async def play_loop():
        # On the server's event loop, not in a thread: between frames the loop is free to
        # handle the user's clicks (Pause, Reset) right away.
        run = paired.value
        while playing.value:
            quarters, pause = SPEEDS[speed.value]
            if run.step(quarters) == 0:
                playing.set(False)
                break
            version.set(version.value + 1)
            await asyncio.sleep(pause)

    async def rush_loop():
        # "Run to the end" in slices of about RUSH_SLICE seconds, redrawing between them,
        # so a long run shows its progress and the page stays responsive.
        run = paired.value
        while rushing.value and not run.at_end:
            started = time.monotonic()
            while not run.at_end and time.monotonic() - started < RUSH_SLICE:
                run.step(1)
            version.set(version.value + 1)
            await asyncio.sleep(0)
        rushing.set(False)

    async def spread_worlds():
        if not spreading.value:
            return
        made_for = config.value
        seeds = comparison_seeds(made_for.run.seed, SPREAD_WORLDS)
        # In a worker thread: the page stays live while the worlds run.
        result = await asyncio.get_running_loop().run_in_executor(
            None, gap_spread, made_for, seeds)
        spread.set((made_for, result))
        spreading.set(False)

    solara.lab.use_task(play_loop, dependencies=[playing.value, paired.value],
                        prefer_threaded=False)
    solara.lab.use_task(spread_worlds, dependencies=[spreading.value], prefer_threaded=False)
    solara.lab.use_task(rush_loop, dependencies=[rushing.value, paired.value],
                        prefer_threaded=False)
    snap = solara.use_memo(lambda: paired.value.snapshot(), [paired.value, version.value])

    def share_in_url():
        # The page's settings in its address, so a copied link reproduces them.
        query = settings_query(scenario.value, config.value, base.value)
        if router.search != query:
            router.push(f"{router.path or '/'}?{query}")

    solara.use_effect(share_in_url, [config.value, scenario.value])

    # ---- the sidebar: what a funder decides
    with solara.Sidebar():
        with solara.Column(gap="0px", style={"padding": "0 6px"}):
            solara.Text("Scenario", classes=["ci-side-title"])
            ScenarioPicker(scenario.value, base.value.scenario.description, pick,
                           pick_error.value)
            solara.Text("Funder's levers", classes=["ci-side-title"])
            InterveneSwitch(intervening, notice.value)
            for lever in LEVERS:
                LeverControl(lever, config.value, change, resets.value)
            solara.Text("The five conditions", classes=["ci-side-title"])
            ConditionSwitches(config.value, change)
            solara.Text("World", classes=["ci-side-title"])
            SeedControl(config.value, restart, resets.value)
            solara.Text("Export this scenario", classes=["ci-side-title"])
            ExportPanel(config.value, base.value).key(f"export-{scenario.value}")

    # ---- the main area: what happens
    with solara.Column(classes=["ci-page"], gap="0px"):
        # The question in one line; the full introduction folds away, so that the controls
        # and the result fit the first screen of a projector (1280 x 720).
        Prose(LEAD, classes=["ci-intro", "ci-lead"])
        with solara.Details(summary="About this page: what it shows and how to use it",
                            expand=False):
            with solara.ColumnsResponsive(12, large=[7, 5]):
                Prose(INTRO + HOW_IT_WORKS, classes=["ci-intro"])
                with solara.Card(classes=["ci-card"], elevation=0,
                                 style={"background": "#f4f7fa"}):
                    solara.Text("How to use this page", classes=["ci-label"])
                    Prose(HOW_TO, classes=["ci-caption"])
        Controls(snap, playing, speed, step_once, run_to_end, reset, rushing.value)
        Scoreboard(snap)
        with solara.ColumnsResponsive(12, xlarge=6):  # two charts a row only when wide
            with Panel("Composite index over time", "composite"):
                Chart(charts.composite_option, snap, "composite", 300)
                shown_spread = spread.value[1] if spread.value and spread.value[0] == \
                    config.value else None
                Chart(charts.gap_option, snap, "gap", 190,
                      option=(tuple(pins.value), shown_spread))
                with solara.Row(gap="8px", style={"align-items": "center"}):
                    solara.Button("Pin this run", icon_name="mdi-pin", on_click=pin,
                                  text=True, small=True, color="primary",
                                  disabled=(snap.step == 0 or len(pins.value) >= MAX_PINS
                                            or rushing.value),
                                  classes=["ci-pin"])
                    if pins.value:
                        solara.Button("Clear pins", on_click=lambda: pins.set([]), text=True,
                                      small=True, classes=["ci-clear-pins"])
                    solara.Button(f"Spread over {SPREAD_WORLDS} worlds",
                                  icon_name="mdi-chart-bell-curve",
                                  on_click=lambda: spreading.set(True), text=True, small=True,
                                  color="primary", disabled=spreading.value or rushing.value,
                                  loading=spreading.value, classes=["ci-spread"])
                solara.Text("Pinned runs stay on the gap chart while you change levers. The "
                            f"spread runs the same settings in {SPREAD_WORLDS} worlds (those "
                            "of collective-impact compare) and draws the mean gap and its "
                            "95% interval: is what one world shows luck?",
                            classes=["ci-help"])
            with Panel("More numbers", "scoreboard"):
                NumbersTable(snap)
        with Panel("Organizations: silos and connective tissue", "network"):
            Chart(network.network_option, snap, "network", 560)
        with Panel("Indicators by area", "areas"):
            with solara.ToggleButtonsSingle(value=measure, dense=True):
                solara.Button("share on track", value="on_track", text=True)
                solara.Button("average status", value="mean", text=True)
            Chart(charts.areas_option, snap, "areas", 470, option=measure.value)
        with Panel("Report card and stage profile", "report_card"):
            Chart(charts.report_card_option, snap, "report_card", 330)
        with Panel("Where the money goes", "money"):
            Chart(charts.money_option, snap, "money", 360)
        with Panel("Trust and participation", "trust"):
            Chart(charts.trust_option, snap, "trust", 310)


@solara.component
def NumbersTable(snap: Snapshot):
    """More outputs of both arms, as a small markdown table."""
    rows = [
        ("composite index", "composite_index", "{:.4f}"),
        ("indicators trending the right way", "indicators_trending", "{:.0f}"),
        ("unmet need (high-need cases not served)", "unmet_need", "{:.0%}"),
        ("duplicated services", "duplication", "{:.1%}"),
        ("equity gap (top vs bottom fifth)", "equity_gap", "{:.3f}"),
        ("learning error (how far from the best programs)", "learning_error", "{:.4f}"),
        ("outcome per $ million (so far)", "outcome_per_million", "{:.2f}"),
        ("program money this quarter", "program_spending", "${:,.0f}"),
        ("backbone money this quarter", "backbone_spending", "${:,.0f}"),
    ]
    lines = ["| | Isolated | Collective |", "|---|---:|---:|"]
    for label, column, fmt in rows:
        values = [_cell(fmt, float(snap.latest(arm)[column])) for arm in ARMS]
        lines.append(f"| {label} | {values[0]} | {values[1]} |")
    Prose("\n".join(lines), classes=["ci-caption", "ci-numbers"])


def _cell(fmt: str, value: float) -> str:
    """A number for the table; '–' where there is none yet (before the first quarter)."""
    return "–" if value != value else fmt.format(value)  # NaN is not equal to itself


def _starting_scenario(search: str | None = None) -> tuple[str, Config, Config, str | None]:
    """The scenario the page opens with: the one in its address (a shared link), else
    'default' from the scenario folder, else the model's defaults; with the scenario as
    loaded, the settings to start from, and the reason if a link or file was refused."""
    files = scenario_files()
    problem = None
    try:
        linked = settings_from_query(search, files)
    except ConfigError as err:
        linked, problem = None, f"This link's settings were not used: {err}"
    if linked is not None:
        return (*linked, None)
    name = "default" if "default" in files else next(iter(files), None)
    if name is not None:
        try:
            loaded = load_scenario(files[name])
            return name, loaded, loaded, problem
        except ConfigError as err:
            defaults = Config.from_dict({})
            return "defaults", defaults, defaults, f"Could not load '{name}': {err}"
    defaults = Config.from_dict({})
    return "defaults", defaults, defaults, f"No scenario files found in {configs_dir()}"
