"""The dashboard: fast tests of its logic, and browser tests of the served page.

The browser tests start ``collective-impact dashboard`` on a free local port (as a user
would, through the CLI), drive the page in headless Debian Chromium with Playwright, and
always stop the server. Chromium missing is a failure, not a skip: ``make test`` installs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from collective_impact.dashboard import charts, network
from collective_impact.dashboard.arms import ARMS, PairedRun
from collective_impact.dashboard.levers import (
    LEVER_BY_KEY,
    LEVERS,
    SAVE_DIR_ENV,
    SEED,
    apply_typed,
    apply_value,
    check_live,
    exported_config,
    load_scenario,
    parse_number,
    safe_name,
    save_path,
    save_scenario,
    scenario_files,
)
from collective_impact.dashboard.screenshot import (
    CHROMIUM,
    CHROMIUM_ARGS,
    start_server,
    stop_server,
    wait_until_serving,
)
from collective_impact.experiments.cli import build_parser
from collective_impact.model import ConfigError, load_config, run_model

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
START_TIMEOUT = 120  # seconds for the server to answer
UI_TIMEOUT = 60_000  # milliseconds for the page to show something


@pytest.fixture
def small(tiny_config):
    return tiny_config


# ------------------------------------------------------------------ levers and typed values
@pytest.mark.parametrize("text, value", [
    ("5", 5.0), (" 5.5 ", 5.5), ("5,000,000", 5e6), ("1e6", 1e6), ("2_000", 2000.0),
    ("$12", 12.0), ("40%", 0.4), ("-3", -3.0), (".5", 0.5),
])
def test_parse_number_reads_what_people_type(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "5 M", "1..2", "--1", "nan", "inf"])
def test_parse_number_refuses_non_numbers(text):
    with pytest.raises(ConfigError, match="not a number"):
        parse_number(text)


def test_typed_funding_is_in_millions(small):
    lever = LEVER_BY_KEY["funding.pool"]
    assert apply_typed(small, lever, "10").funding.pool == 10_000_000.0
    assert lever.shown(apply_typed(small, lever, "2.5")) == 2.5


@pytest.mark.parametrize("key, text, words", [
    ("funding.backbone_share", "1.5", "is out of range. Allowed: from 0 to 0.9."),
    ("funding.backbone_share", "-0.1", "is out of range"),
    ("funding.pool", "0", "is out of range. Allowed: above 0 and up to 400"),
    ("funding.pool", "1000", "too much for a live run"),
    ("organizations.count", "12.5", "not a whole number. Allowed: from 1 to 1,000."),
    ("organizations.count", "2000", "too much for a live run"),
    ("organizations.count", "0", "is out of range"),
    ("collaboration.metric_agreement", "2", "is out of range. Allowed: from 0 to 1."),
    ("run.steps", "abc", "'abc' is not a number. Allowed: from 1 to 400 (quarters)."),
])
def test_typed_values_out_of_range_are_explained(small, key, text, words):
    lever = LEVER_BY_KEY[key]
    # the default population, which the model lets buy up to ~$1,200 M of services a quarter
    world = small.with_values({"population.size": 30_000})
    with pytest.raises(ConfigError) as err:
        apply_typed(world, lever, text)
    message = str(err.value)
    assert message.startswith(f"{lever.label}: ")
    assert words in message


def test_model_words_name_field_value_and_range(small):
    with pytest.raises(ConfigError, match=r"\(funding\.backbone_share = 1\.5 is out of range"):
        apply_typed(small, LEVER_BY_KEY["funding.backbone_share"], "1.5")


def test_every_lever_slider_lies_inside_the_models_range(small):
    for lever in (*LEVERS, SEED):
        lo, hi, step = lever.slider
        assert lo < hi and step > 0
        for shown in (lo, hi):
            config = apply_value(small, lever.key, lever.stored(shown))
            assert lever.shown(config) == pytest.approx(shown)
        assert lever.describe(small)


def test_live_limit_refuses_runs_too_big_to_watch(small):
    with pytest.raises(ConfigError, match="too many to run live"):
        check_live(small.with_values({"population.size": 30_000, "funding.pool": 1e9}))
    assert check_live(small) is small


# ------------------------------------------------------------------ scenarios and export
def test_scenario_files_are_listed_default_first_then_saved_ones(tmp_path):
    for name in ("strive", "default", "another"):
        (tmp_path / f"{name}.toml").write_text(f'[scenario]\nname = "{name}"\n')
    saved = tmp_path / "saved_here"
    saved.mkdir()
    (saved / "mine.toml").write_text("")
    assert list(scenario_files(tmp_path, saved)) == ["default", "another", "strive",
                                                     "saved/mine"]
    assert list(scenario_files(tmp_path, tmp_path / "missing")) == ["default", "another",
                                                                    "strive"]


def test_every_shipped_scenario_loads_for_the_dashboard():
    files = scenario_files(CONFIGS)
    assert "default" in files
    for path in files.values():
        assert load_scenario(path).run.steps >= 1


@pytest.mark.parametrize("text, name", [
    ("my scenario!", "my_scenario"), ("a/b\\c", "a_b_c"), ("ok-name_2", "ok-name_2"),
    ("écoles de Montréal", "écoles_de_Montréal"), ("../../etc/passwd", "etc_passwd"),
    ("~/x", "x"), ("/tmp/x", "tmp_x"), ("configs/default", "configs_default"),
    ("default.toml", "default_toml")])
def test_safe_name_keeps_a_readable_name_that_cannot_leave_its_folder(text, name):
    assert safe_name(text) == name


def test_safe_name_refuses_empty():
    with pytest.raises(ConfigError):
        safe_name(" !! ")


def test_saved_scenario_round_trips_to_an_equal_config(tmp_path):
    base = load_config(CONFIGS / "default.toml")
    changed = base.with_values({"funding.backbone_share": 0.12, "funding.pool": 7.5e6,
                                "organizations.count": 80, "problem.complementarity": 0.9,
                                "collaboration.control_tightness": 0.3, "run.seed": 42})
    config = exported_config(changed, "my test", base)
    path = save_scenario(config, "my test", tmp_path)
    assert path == tmp_path / "my_test.toml" == save_path("my test", tmp_path)
    loaded = load_config(path)
    assert loaded == config
    assert loaded.scenario.name == "my_test"
    assert "funding.backbone_share = 0.12" in loaded.scenario.description
    assert loaded.with_values({"scenario.name": "default",
                               "scenario.description": base.scenario.description}) == changed


def test_saving_never_overwrites_and_never_leaves_its_folder(tmp_path, small):
    folder = tmp_path / "saved"
    save_scenario(small, "mine", folder)
    before = (folder / "mine.toml").read_text()
    with pytest.raises(ConfigError, match="exists already"):
        save_scenario(small.with_values({"funding.backbone_share": 0.9}), "mine", folder)
    assert (folder / "mine.toml").read_text() == before
    for attack in ("../outside", "~/home_file", "/tmp/absolute", "configs/default"):
        path = save_scenario(small, attack, folder)
        assert path.parent == folder
    assert sorted(p.name for p in tmp_path.rglob("*.toml")) == sorted(
        p.name for p in folder.glob("*.toml"))


def test_saved_file_reproduces_the_dashboard_run_exactly(tmp_path, small):
    run = PairedRun(small)
    run.run_to_end()
    shown = run.snapshot()
    path = save_scenario(exported_config(small, "repro", small), "repro", tmp_path)
    loaded = load_config(path)
    # what `collective-impact run` and `run --isolated` compute from the file
    collective = run_model(loaded)
    isolated = run_model(loaded.isolated())
    pd.testing.assert_frame_equal(shown.results["collective"], collective)
    pd.testing.assert_frame_equal(shown.results["isolated"], isolated)


# ------------------------------------------------------------------ the two arms and charts
def test_paired_run_steps_both_arms_and_stops_at_the_horizon(small):
    run = PairedRun(small)
    assert run.step_count == 0 and not run.at_end
    assert run.step(3) == 3
    snap = run.snapshot()
    assert snap.step == 3 and all(len(snap.results[a]) == 4 for a in ARMS)
    assert run.run_to_end() == small.run.steps - 3
    assert run.at_end and run.step() == 0
    snap = run.snapshot()
    assert snap.at_end and snap.step == small.run.steps
    # one world: both arms start from the same state
    assert snap.first("isolated").composite_index == snap.first("collective").composite_index
    assert snap.organizations["isolated"].backbone_budget is None
    assert snap.organizations["collective"].backbone_budget > 0
    assert not snap.organizations["isolated"].participating.any()


def test_money_by_area_adds_up_to_program_spending(small):
    run = PairedRun(small)
    run.step(2)
    snap = run.snapshot()
    for arm in ARMS:
        assert snap.money_by_area[arm].sum() == pytest.approx(
            snap.latest(arm).program_spending, rel=1e-9)


def _all_options(snap):
    return {
        "composite": charts.composite_option(snap),
        "areas": charts.areas_option(snap, "on_track"),
        "areas_mean": charts.areas_option(snap, "mean"),
        "money": charts.money_option(snap),
        "trust": charts.trust_option(snap),
        "report_card": charts.report_card_option(snap),
        "network": network.network_option(snap),
    }


def test_chart_options_follow_the_run(small):
    run = PairedRun(small)
    before = _all_options(run.snapshot())
    run.step(4)
    snap = run.snapshot()
    after = _all_options(snap)
    for name in before:
        json.dumps(after[name])  # sent to the browser as JSON
        assert after[name] != before[name], name
    lines = {s["name"]: s["data"] for s in after["composite"]["series"]}
    for arm in ARMS:
        data = lines[charts.ARM_TITLES[arm]]
        assert [p[0] for p in data] == list(range(5))
        assert data[-1][1] == pytest.approx(snap.latest(arm).composite_index, abs=1e-4)
    areas = after["areas"]["baseOption"]  # as drawn wide; a phone's layout in "media"
    area_series = [s for s in areas["series"] if s["type"] == "line"]
    assert len(area_series) == 2 * len(small.area_names)
    narrow = after["areas"]["media"][0]
    assert narrow["query"] == {"maxWidth": charts.NARROW}
    assert len(narrow["option"]["grid"]) == len(areas["grid"]) == len(small.area_names)
    assert len(after["money"]["media"][0]["option"]["grid"]) == 2


def test_report_card_shows_the_trending_share_and_the_stage_profile(small):
    run = PairedRun(small)
    run.step(4)  # a year: the second survey
    snap = run.snapshot()
    option = charts.report_card_option(snap)
    lines = {s["name"]: s["data"] for s in option["series"] if s["type"] == "line"}
    for arm in ARMS:
        assert lines[charts.ARM_TITLES[arm]][-1][1] == pytest.approx(
            100 * snap.latest(arm).indicators_trending_share, abs=0.1)
    (bars,) = [s for s in option["series"] if s["type"] == "bar"]
    expected = [1000 * (snap.latest("collective")[f"mean_{a}"]
                        - snap.latest("isolated")[f"mean_{a}"]) for a in small.area_names]
    assert [b["value"] for b in bars["data"]] == pytest.approx(expected, abs=0.01)
    assert option["yAxis"][1]["data"][0] == "Kindergarten readiness"


def test_network_links_participants_to_the_backbone_only(small):
    run = PairedRun(small)
    run.step(3)
    snap = run.snapshot()
    isolated, collective = network.network_option(snap)["series"]
    assert isolated["links"] == []
    assert not any(n["name"] == "backbone" for n in isolated["data"])
    taking_part = np.flatnonzero(snap.organizations["collective"].participating)
    assert sorted(link["target"] for link in collective["links"]) == sorted(
        f"org-{o}" for o in taking_part)
    trust = snap.organizations["collective"].trust
    widths = {link["target"]: link["lineStyle"]["width"] for link in collective["links"]}
    o_low, o_high = taking_part[np.argmin(trust[taking_part])], taking_part[
        np.argmax(trust[taking_part])]
    assert widths[f"org-{o_low}"] <= widths[f"org-{o_high}"]
    orgs = [n for n in collective["data"] if n["name"].startswith("org-")]
    assert len(orgs) == small.organizations.count


def test_network_draws_at_most_a_fixed_spread_of_organizations():
    assert list(network.drawn(5)) == [0, 1, 2, 3, 4]
    many = network.drawn(1000)
    assert len(many) == network.MAX_DRAWN and many[0] == 0 and many[-1] == 999
    assert list(many) == list(network.drawn(1000))  # the same ones every quarter


def test_network_layout_groups_organizations_by_main_area(small):
    run = PairedRun(small)
    orgs = run.snapshot().organizations["isolated"]
    g = network.graph(orgs)
    pos = network.layout(g, len(small.area_names))
    for o in range(len(orgs.grant)):
        k = orgs.main_area[o]
        angle = network.area_angle(k, len(small.area_names))
        centre = np.array([np.cos(angle), np.sin(angle)]) * network.RING
        assert np.linalg.norm(np.array(pos[o]) - centre) <= network.CLUSTER + 1e-9


# ------------------------------------------------------------------ the command line
def test_dashboard_subcommand_is_added_next_to_the_others():
    parser = build_parser()
    args = parser.parse_args(["dashboard"])
    assert (args.port, args.host, args.configs, args.open, args.save_to) == (
        8765, "127.0.0.1", None, False, None)
    args = parser.parse_args(["dashboard", "--port", "0", "--host", "127.0.0.1"])
    assert args.port == 0
    for other in (["run", "x.toml"], ["compare", "x.toml"], ["params"]):
        assert parser.parse_args(other).command == other[0]
    with pytest.raises(SystemExit):
        parser.parse_args(["dashboard", "--port", "70000"])


def test_dashboard_refuses_a_port_in_use(capsys):
    from collective_impact.experiments.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    assert "cannot listen on" in capsys.readouterr().err


# ------------------------------------------------------------------ the page in a browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory):
    """The dashboard served by the CLI on a free port, with a copy of the scenario files
    (so exports land in a temporary folder); stopped however the tests end."""
    configs = tmp_path_factory.mktemp("configs")
    for path in CONFIGS.glob("*.toml"):
        shutil.copy(path, configs / path.name)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with open(log_path, "w") as log:
        server = start_server(port, configs, log=log)
    try:
        try:
            wait_until_serving(server, url, timeout=START_TIMEOUT)
        except (RuntimeError, TimeoutError) as err:
            pytest.fail(f"{err}:\n{log_path.read_text()}")
        assert url in log_path.read_text(), "the command should print the URL"
        yield {"url": url, "configs": configs, "log": log_path}
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests need Debian's "
                    f"chromium (apt-get install -y chromium, or `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, dashboard_url):
    """A fresh session of the page (its own runs), opened and ready at quarter 0; records
    requests that leave this machine and errors in the page's console."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    page.outside = []
    page.errors = []
    page.on("request", lambda r: page.outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto(dashboard_url["url"])
    page.get_by_text("Quarter 0 of 40").wait_for()
    _wait_drawn(page, "composite")
    yield page
    context.close()


def _wait_drawn(page, chart: str, more_than: int = 0) -> int:
    """Wait until the chart has been drawn more than ``more_than`` times; return the count."""
    selector = f".ci-chart-{chart}"
    page.wait_for_function(
        "([sel, n]) => { const e = document.querySelector(sel);"
        " return e && Number(e.dataset.renders || 0) > n; }", arg=[selector, more_than])
    return int(page.locator(selector).get_attribute("data-renders"))


def _canvas(page, chart: str) -> str:
    return page.locator(f".ci-chart-{chart} canvas").first.evaluate("c => c.toDataURL()")


def _number(page, css: str) -> float:
    return float(page.locator(css).inner_text().replace("$", "").replace("M", "").strip())


def _type(page, lever: str, text: str) -> None:
    box = page.locator(f".ci-input-{lever} input")
    box.fill(text)
    box.press("Enter")


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_page_runs_both_arms_and_updates_live(page, tmp_path):
    from playwright.sync_api import expect

    expect(page.locator(".ci-step")).to_have_text("Quarter 0 of 40")
    expect(page.locator(".ci-robustness")).to_contain_text("plausible worlds")
    start = _number(page, ".ci-composite-collective")
    assert start == _number(page, ".ci-composite-isolated")  # one world for both arms
    for chart in ("composite", "areas", "report_card", "money", "trust", "network"):
        _wait_drawn(page, chart)
    pictures = {chart: _canvas(page, chart)
                for chart in ("composite", "network", "money", "report_card")}

    # type a value: a backbone share of 20% of $5 M buys a $1 M backbone
    _type(page, "backbone_share", "0.2")
    expect(page.locator(".ci-lever-backbone_share .ci-lever-value")).to_have_text(
        "20% of funding")
    expect(page.locator(".ci-collective-backbone")).to_have_text("$1.00 M")

    # move a slider with the keyboard: metric agreement 0.20 -> 0.10
    # (one key at a time: the page re-renders the slider after each change)
    for shown in ("0.15", "0.10"):
        page.locator(".ci-slider-metric_agreement [role=slider]").focus()
        page.keyboard.press("ArrowLeft")
        expect(page.locator(".ci-lever-metric_agreement .ci-lever-value")).to_have_text(shown)
    expect(page.locator(".ci-step")).to_have_text("Quarter 0 of 40")  # a change restarts

    # step a few quarters: counter, numbers and pictures move
    drawn = _wait_drawn(page, "composite")
    for quarter in (1, 2, 3):
        page.locator(".ci-step-button").click()
        expect(page.locator(".ci-step")).to_have_text(f"Quarter {quarter} of 40")
    _wait_drawn(page, "composite", drawn)
    page.wait_for_timeout(300)
    assert _number(page, ".ci-composite-collective") != start
    assert _number(page, ".ci-composite-isolated") != start
    for chart, before in pictures.items():
        assert _canvas(page, chart) != before, f"the {chart} chart did not change"
    expect(page.get_by_text(re.compile(
        r"After 3 quarters \(0.75 years\), collective impact is"))).to_be_visible()

    # play, then pause: the counter keeps moving on its own
    page.locator(".ci-play").click()
    expect(page.locator(".ci-step")).to_have_text(re.compile(r"Quarter ([6-9]|\d\d) of 40"))
    page.locator(".ci-play").click()
    expect(page.locator(".ci-play")).to_have_text(re.compile("Play", re.I))

    # run to the end; step and run-to-end are then off
    page.locator(".ci-run-end").click()
    expect(page.locator(".ci-step")).to_have_text("Quarter 40 of 40", timeout=UI_TIMEOUT)
    expect(page.locator(".ci-step-button")).to_be_disabled()
    expect(page.locator(".ci-collective-indicators")).to_have_text(re.compile(r"\d+ of 18"))
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000

    # reset: the same runs start over
    page.locator(".ci-reset").click()
    expect(page.locator(".ci-step")).to_have_text("Quarter 0 of 40")
    assert page.outside == [], f"the page fetched from outside this machine: {page.outside}"


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_out_of_range_value_is_explained_and_the_page_keeps_working(page, tmp_path):
    from playwright.sync_api import expect

    _type(page, "backbone_share", "1.5")
    error = page.locator(".ci-lever-backbone_share .ci-error")
    expect(error).to_contain_text("Backbone share (connective tissue): 1.5 is out of range")
    expect(error).to_contain_text("Allowed: from 0 to 0.9")
    expect(page.locator(".ci-lever-backbone_share .ci-lever-value")).to_have_text(
        "5% of funding")  # the last good value stays

    _type(page, "count", "lots")
    expect(page.locator(".ci-lever-count .ci-error")).to_contain_text("'lots' is not a number")
    page.screenshot(path=str(tmp_path / "dashboard-error.png"))

    # the page still works: it steps, and a good value clears the message
    page.locator(".ci-step-button").click()
    expect(page.locator(".ci-step")).to_have_text("Quarter 1 of 40")
    _type(page, "backbone_share", "0.1")
    expect(page.locator(".ci-lever-backbone_share .ci-lever-value")).to_have_text(
        "10% of funding")
    expect(page.locator(".ci-lever-backbone_share .ci-error")).to_have_count(0)
    # ...and the refused text of another lever does not stay in its box
    expect(page.locator(".ci-lever-count .ci-error")).to_have_count(0)
    expect(page.locator(".ci-input-count input")).to_have_value("60")
    expect(page.locator(".ci-step")).to_have_text("Quarter 0 of 40")
    assert not [e for e in page.errors if "Traceback" in e or "Error" in e], page.errors


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_scenario_choice_and_download(page, dashboard_url, tmp_path):
    from playwright.sync_api import expect

    # choose another scenario from the list of configs/*.toml
    others = [name for name in scenario_files(dashboard_url["configs"]) if name != "default"]
    assert others, "configs/ should hold more than the default scenario"
    wanted = load_config(dashboard_url["configs"] / f"{others[0]}.toml")
    page.locator(".ci-scenario").click()
    page.get_by_role("option", name=others[0], exact=True).click()
    expect(page.locator(".ci-step")).to_have_text(f"Quarter 0 of {wanted.run.steps}")
    share = f"{wanted.funding.backbone_share:.0%} of funding"
    expect(page.locator(".ci-lever-backbone_share .ci-lever-value")).to_have_text(share)

    # change a lever: the download holds exactly the page's settings, and without
    # --save-to nothing can be written on the server (no save button, no path to type)
    _type(page, "complementarity", "0.9")
    expect(page.locator(".ci-lever-complementarity .ci-lever-value")).to_have_text("0.90")
    page.locator(".ci-export-name input").fill("from_the_browser")
    assert page.locator(".ci-export").count() == 0
    assert page.locator(".ci-export-path").count() == 0
    with page.expect_download() as download:
        page.locator(".ci-download").click()
    assert download.value.suggested_filename == "from_the_browser.toml"
    downloaded = tmp_path / "from_the_browser.toml"
    download.value.save_as(downloaded)
    assert load_config(downloaded) == exported_config(
        wanted.with_values({"problem.complementarity": 0.9}), "from_the_browser", wanted)
    assert sorted(p.name for p in dashboard_url["configs"].rglob("*")) == sorted(
        p.name for p in CONFIGS.glob("*.toml"))
    assert "samesite" not in dashboard_url["log"].read_text().lower(), "a cookie warning"


@pytest.fixture(scope="module")
def sharing_dashboard(tmp_path_factory):
    """The dashboard started with --save-to, as a teacher would for a class."""
    configs = tmp_path_factory.mktemp("shared_configs")
    for path in CONFIGS.glob("*.toml"):
        shutil.copy(path, configs / path.name)
    saved = tmp_path_factory.mktemp("class_folder")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = tmp_path_factory.mktemp("shared_server") / "server.log"
    with open(log_path, "w") as log:
        server = start_server(port, configs, log=log, save_to=saved)
    try:
        try:
            wait_until_serving(server, url, timeout=START_TIMEOUT)
        except (RuntimeError, TimeoutError) as err:
            pytest.fail(f"{err}:\n{log_path.read_text()}")
        yield {"url": url, "configs": configs, "saved": saved, "log": log_path}
    finally:
        stop_server(server)


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_saving_on_a_shared_server_cannot_touch_anything_but_new_files(browser,
                                                                        sharing_dashboard):
    """Every attack a visitor might try by name: absolute paths, ~, .., an existing shipped
    scenario, an existing saved one. Only new files in the --save-to folder appear."""
    from playwright.sync_api import expect

    shipped = {p.name: p.read_bytes() for p in sharing_dashboard["configs"].glob("*.toml")}
    home_before = set(Path.home().iterdir())
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    page.goto(sharing_dashboard["url"])
    page.get_by_text("Quarter 0 of 40").wait_for()
    name = page.locator(".ci-export-name input")
    for attack in ("configs/default", "/tmp/absolute", "~/x", "../../outside", "default",
                   "écoles de Montréal"):
        file_name = f"{safe_name(attack)}.toml"
        name.fill(attack)
        # the page has the new name (it says which file it will make) before saving
        expect(page.get_by_text(f"Saves a new file {file_name}")).to_be_visible()
        page.locator(".ci-export").click()
        expect(page.locator(".ci-export-done")).to_contain_text(f"Saved {file_name}")
    name.fill("default")  # saved once already: refused, not overwritten
    expect(page.get_by_text("Saves a new file default.toml")).to_be_visible()
    page.locator(".ci-export").click()
    expect(page.locator(".ci-error")).to_contain_text("exists already")
    saved = sorted(p.name for p in sharing_dashboard["saved"].iterdir())
    assert saved == sorted(["configs_default.toml", "tmp_absolute.toml", "x.toml",
                            "outside.toml", "default.toml", "écoles_de_Montréal.toml"])
    assert {p.name: p.read_bytes() for p in sharing_dashboard["configs"].glob("*.toml")} == \
        shipped
    assert set(Path.home().iterdir()) == home_before
    assert not Path("/tmp/absolute.toml").exists()
    # a saved scenario is in the list at once, without reloading the page
    page.locator(".ci-scenario").click()
    option = page.get_by_role("option", name="saved/écoles_de_Montréal")
    option.scroll_into_view_if_needed()
    option.click()
    expect(page.locator(".ci-step")).to_have_text("Quarter 0 of 40")
    expect(page.locator(".ci-help").first).to_contain_text("Exported from the dashboard")
    context.close()


def test_serving_without_save_to_turns_saving_off(monkeypatch):
    """A server started without --save-to must not inherit a save folder from its
    environment."""
    from collective_impact.dashboard import server

    monkeypatch.setenv(SAVE_DIR_ENV, "/somewhere")
    monkeypatch.setattr(server, "_check_port", lambda host, port: (_ for _ in ()).throw(
        server.ServeError("stop here")))
    with pytest.raises(server.ServeError, match="stop here"):
        server.serve(port=8765)
    assert SAVE_DIR_ENV not in os.environ


def test_a_percentage_is_refused_where_the_lever_is_not_a_share(small):
    with pytest.raises(ConfigError, match=r"'40%' is a percentage; type the value in \$ M"):
        apply_typed(small, LEVER_BY_KEY["funding.pool"], "40%")
    assert apply_typed(small, LEVER_BY_KEY["funding.backbone_share"], "12%") \
        .funding.backbone_share == pytest.approx(0.12)


def test_headline_says_the_gap_and_what_the_connective_tissue_cost(small):
    from collective_impact.dashboard.app import headline_words

    run = PairedRun(small)
    run.step(4)
    words = headline_words(run.snapshot())
    assert "After 4 quarters (1 years)" in words or "After 4 quarters (1 year" in words
    assert re.search(r"collective impact is \*\*(ahead of|behind|level with)\*\*", words)
    assert re.search(r"took \d+% of the funding", words)
    assert re.search(r"gained \d+(\.\d)?% (more|less) over their baselines", words)


def test_a_run_without_collaborative_says_so_for_the_cards(small):
    without = PairedRun(small.with_values({"funding.backbone_share": 0.0})).snapshot()
    assert not without.organizations["collective"].collaborative
    with_one = PairedRun(small).snapshot()
    assert with_one.organizations["collective"].collaborative
    assert not with_one.organizations["isolated"].collaborative


def test_headline_words_name_the_lead_and_the_relative_gain_by_hand():
    from collective_impact.dashboard.app import lead_word, per_dollar_words

    assert lead_word(0.0004) == "ahead of" and lead_word(-0.0001) == "behind"
    assert lead_word(0.00001) == "level with"  # shown as 0.0000 on the page
    assert "gained 3.0% less" in per_dollar_words(97.0, 100.0)
    assert "gained 25% more" in per_dollar_words(125.0, 100.0)
    assert per_dollar_words(5.0, 0.0) == ""  # no relative change against nothing


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_controls_never_keep_stale_values_and_long_runs_show_progress(page):
    from playwright.sync_api import expect

    funding = page.locator(".ci-slider-pool [role=slider]")
    # a scenario beyond the slider's window, then back: the slider follows the value
    page.locator(".ci-scenario").click()
    page.get_by_role("option", name="strive", exact=True).click()
    # (300,000 young people: both arms' fifteen years of burn-in take a few seconds)
    expect(page.locator(".ci-lever-pool .ci-lever-value")).to_have_text("$50.0 M per quarter",
                                                                        timeout=90_000)
    expect(funding).to_have_attribute("aria-valuenow", "40")  # the end of its window
    page.locator(".ci-scenario").click()
    page.get_by_role("option", name="default", exact=True).click()
    expect(page.locator(".ci-lever-pool .ci-lever-value")).to_have_text("$5.0 M per quarter")
    expect(funding).to_have_attribute("aria-valuenow", "5")

    # a refused text and a refused seed do not survive Reset
    _type(page, "count", "lots")
    expect(page.locator(".ci-lever-count .ci-error")).to_be_visible()
    page.locator(".ci-input-seed input").fill("-5")
    page.locator(".ci-input-seed input").press("Enter")
    expect(page.locator(".ci-lever-seed .ci-error")).to_be_visible()
    page.locator(".ci-reset").click()
    expect(page.locator(".ci-error")).to_have_count(0)
    expect(page.locator(".ci-input-count input")).to_have_value("60")
    expect(page.locator(".ci-input-seed input")).to_have_value("1")

    # '40%' in total funding is refused, not read as $0.4 M
    _type(page, "pool", "40%")
    expect(page.locator(".ci-lever-pool .ci-error")).to_contain_text("is a percentage")
    expect(page.locator(".ci-lever-pool .ci-lever-value")).to_have_text("$5.0 M per quarter")

    # a long run: the page says it is running, buttons are off, the counter moves
    _type(page, "steps", "400")
    expect(page.locator(".ci-step")).to_have_text("Quarter 0 of 400")
    page.locator(".ci-run-end").click()
    expect(page.locator(".ci-run-end")).to_contain_text("Running")
    expect(page.locator(".ci-step-button")).to_be_disabled()
    expect(page.locator(".ci-play")).to_be_disabled()
    expect(page.locator(".ci-pin")).to_be_disabled()
    expect(page.locator(".ci-spread")).to_be_disabled()
    expect(page.locator(".ci-step")).to_have_text(re.compile(r"Quarter [1-9]\d* of 400"))
    expect(page.locator(".ci-step")).to_have_text("Quarter 400 of 400", timeout=180_000)
    expect(page.locator(".ci-run-end")).to_contain_text("Run to the end")


def test_gap_story_marks_the_dip_and_the_quarter_collective_pulls_ahead():
    from types import SimpleNamespace

    def snap_of(gaps):
        steps = list(range(len(gaps)))
        iso = pd.DataFrame({"step": steps, "composite_index": [0.5] * len(gaps)})
        col = pd.DataFrame({"step": steps, "composite_index": [0.5 + g for g in gaps]})
        return SimpleNamespace(results={"isolated": iso, "collective": col}, step=len(gaps) - 1,
                               horizon=len(gaps) - 1)

    story = charts.gap_story(snap_of([0.0, -0.001, -0.003, -0.002, 0.001, -0.0005, 0.002,
                                      0.004]))
    assert story["dip"] == (2, pytest.approx(-0.003))
    assert story["ahead_from"] == 6  # ahead from quarter 6 on, after a relapse at 5
    never = charts.gap_story(snap_of([0.0, -0.001, -0.002, -0.002]))
    assert never["ahead_from"] is None and never["dip"] == (2, pytest.approx(-0.002))
    option = charts.gap_option(snap_of([0.0, -0.001, 0.002]))
    colors = [bar["itemStyle"]["color"] for bar in option["series"][0]["data"]]
    assert colors == [charts.ARM_COLORS["isolated"], charts.ARM_COLORS["collective"]]
    labels = [m["label"]["formatter"] for m in option["series"][0]["markPoint"]["data"]]
    assert labels == ["dip: -0.0010 at quarter 1", "ahead from quarter 2"]
    assert not [g for g in option["graphic"] if "not ahead" in g["style"]["text"]]
    behind = charts.gap_option(snap_of([0.0, -0.001, -0.002]))
    assert [g["style"]["text"] for g in behind["graphic"]] == ["collective not ahead at quarter 2"]


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_the_five_conditions_are_switches(page):
    from playwright.sync_api import expect

    expect(page.locator(".ci-condition")).to_have_count(5)
    expect(page.locator(".ci-collective-backbone")).to_have_text("$0.25 M")
    page.locator(".ci-condition-backbone input").click(force=True)
    # no backbone and no volunteer coordination: no collaborative, so the collective card
    # shows no backbone, trust or taking part, as the isolated card does not
    expect(page.locator(".ci-collective-backbone")).to_have_count(0)
    expect(page.locator(".ci-collective-trust")).to_have_count(0)
    expect(page.locator(".ci-collective-services")).to_have_count(1)
    expect(page.locator(".ci-step")).to_have_text("Quarter 0 of 40")  # a change restarts
    page.locator(".ci-condition-backbone input").click(force=True)
    expect(page.locator(".ci-collective-backbone")).to_have_text("$0.25 M")


@pytest.mark.browser
@pytest.mark.timeout(600)
@pytest.mark.parametrize("size", ["projector", "tablet", "phone"])
def test_layout_works_on_projector_tablet_and_phone(browser, dashboard_url, tmp_path, size):
    from playwright.sync_api import expect

    width, height = {"projector": (1280, 720), "tablet": (1024, 768), "phone": (390, 844)}[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    page.goto(dashboard_url["url"])
    page.get_by_text("Quarter 0 of 40").wait_for()
    menu = page.locator(".v-app-bar__nav-icon")
    if size == "phone":
        # the menu drawer leaves its button and part of the page in view
        drawer = page.locator(".v-navigation-drawer").first
        if drawer.bounding_box()["x"] >= 0 and drawer.is_visible():
            assert drawer.bounding_box()["width"] < width
        menu.click()  # fails if something covers the button
        page.wait_for_timeout(500)
    page.locator(".ci-run-end").scroll_into_view_if_needed()
    page.locator(".ci-run-end").click()
    expect(page.locator(".ci-step")).to_have_text("Quarter 40 of 40", timeout=UI_TIMEOUT)
    _wait_drawn(page, "composite")
    page.screenshot(path=str(tmp_path / f"{size}.png"))
    chart = page.locator(".ci-chart-composite").bounding_box()
    headline = page.locator(".ci-headline").bounding_box()
    number = page.locator(".ci-isolated-indicators").bounding_box()
    if size == "projector":  # the result is on the first screen after Run to the end
        assert headline["y"] + headline["height"] <= height
    if size in ("projector", "tablet"):
        assert chart["width"] >= 380, chart
    assert number["width"] >= 40 and number["height"] < 40, number  # not a letter per line
    assert chart["width"] <= width
    # the many-panel charts stack their panels in a narrow panel, and are taller there
    for name, tall, short in (("areas", 1100, 470), ("money", 720, 360)):
        box = page.locator(f".ci-chart-{name}").bounding_box()
        assert box["width"] <= width, (name, box)
        narrow = box["width"] < charts.NARROW
        assert narrow == (size != "projector"), (name, box)
        assert box["height"] == pytest.approx(tall if narrow else short, abs=1), (name, box)
    page.locator(".ci-panel-areas").screenshot(path=str(tmp_path / f"{size}-areas.png"))
    context.close()


def test_a_run_is_labelled_by_what_differs_from_its_scenario(small):
    from collective_impact.dashboard.levers import run_label

    assert run_label(small, small) == "tiny as loaded"
    changed = small.with_values({"funding.backbone_share": 0.2, "run.seed": 7,
                                 "conditions.common_agenda": False})
    assert run_label(changed, small) == ("Seed 7, Backbone share 20% of funding, "
                                         "common agenda off")


def test_pinned_runs_are_drawn_on_the_gap_chart(small):
    run = PairedRun(small)
    run.step(3)
    pins = (("first", [[1, -0.001], [2, 0.0]]), ("second", [[1, 0.001]]))
    option = charts.gap_option(run.snapshot(), (pins, None))
    assert [s["name"] for s in option["series"][1:]] == ["first", "second"]
    assert option["legend"]["data"] == ["first", "second"]
    json.dumps(option)


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_runs_can_be_pinned_for_comparison(page):
    from playwright.sync_api import expect

    expect(page.locator(".ci-pin")).to_be_disabled()  # nothing to pin at quarter 0
    page.locator(".ci-run-end").click()
    expect(page.locator(".ci-step")).to_have_text("Quarter 40 of 40", timeout=UI_TIMEOUT)
    page.locator(".ci-pin").click()
    expect(page.locator(".ci-clear-pins")).to_be_visible()
    _type(page, "backbone_share", "0.01")
    page.locator(".ci-run-end").click()
    expect(page.locator(".ci-step")).to_have_text("Quarter 40 of 40", timeout=UI_TIMEOUT)
    page.locator(".ci-pin").click()
    page.locator(".ci-clear-pins").click()
    expect(page.locator(".ci-clear-pins")).to_have_count(0)


def test_settings_round_trip_through_a_link(small):
    from collective_impact.dashboard.levers import settings_from_query, settings_query

    base = load_config(CONFIGS / "default.toml")
    changed = base.with_values({"funding.backbone_share": 0.12, "run.seed": 7,
                                "conditions.common_agenda": False, "funding.pool": 7.5e6})
    query = settings_query("default", changed, base)
    assert query.startswith("scenario=default&")
    name, loaded, config = settings_from_query(query, scenario_files(CONFIGS))
    assert (name, loaded, config) == ("default", base, changed)
    assert settings_from_query("", scenario_files(CONFIGS)) is None
    for bad, words in (("scenario=nowhere", "not in the list"),
                       ("scenario=default&funding.nope=1", "not a scenario field"),
                       ("scenario=default&run.seed=abc", "not a int"),
                       ("scenario=default&funding.backbone_share=2", "out of range")):
        with pytest.raises(ConfigError, match=words):
            settings_from_query(bad, scenario_files(CONFIGS))


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_the_address_holds_the_settings_and_a_link_reproduces_them(browser, dashboard_url):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    page.goto(dashboard_url["url"] + "?scenario=default&funding.backbone_share=0.2&run.seed=7")
    page.get_by_text("Quarter 0 of 40").wait_for()
    expect(page.locator(".ci-lever-backbone_share .ci-lever-value")).to_have_text(
        "20% of funding")
    expect(page.locator(".ci-input-seed input")).to_have_value("7")
    _type(page, "complementarity", "0.9")
    expect(page).to_have_url(re.compile(r"problem\.complementarity=0\.9"))
    link = page.url
    other = context.new_page()
    other.goto(link)
    other.get_by_text("Quarter 0 of 40").wait_for()
    expect(other.locator(".ci-lever-complementarity .ci-lever-value")).to_have_text("0.90")
    expect(other.locator(".ci-lever-backbone_share .ci-lever-value")).to_have_text(
        "20% of funding")
    context.close()


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_a_lever_can_change_mid_run_without_restarting(page):
    from playwright.sync_api import expect

    page.locator(".ci-intervene input").click(force=True)
    for quarter in (1, 2, 3, 4):
        page.locator(".ci-step-button").click()
        expect(page.locator(".ci-step")).to_have_text(f"Quarter {quarter} of 40")
    _type(page, "backbone_share", "0")
    expect(page.locator(".ci-intervened")).to_contain_text("Changed from quarter 4 on")
    expect(page.locator(".ci-step")).to_have_text("Quarter 4 of 40")  # no restart
    page.locator(".ci-step-button").click()
    expect(page.locator(".ci-step")).to_have_text("Quarter 5 of 40")
    # the backbone is gone, and with it the collaborative: its card says nothing of either
    expect(page.locator(".ci-collective-backbone")).to_have_count(0)
    expect(page.locator(".ci-collective-trust")).to_have_count(0)
    _type(page, "count", "80")  # part of the world: the run starts again, and says so
    expect(page.locator(".ci-intervened")).to_contain_text("started again")
    expect(page.locator(".ci-step")).to_have_text("Quarter 0 of 40")


def test_spread_over_worlds_gives_the_mean_gap_and_its_interval(small):
    from collective_impact.dashboard.arms import gap_spread

    seeds = [small.run.seed, 11, 12]
    spread = gap_spread(small, seeds)
    one = (run_model(small, seed=11).composite_index
           - run_model(small.isolated(), seed=11).composite_index).to_numpy()
    np.testing.assert_allclose(spread["gaps"][1], one)
    np.testing.assert_allclose(spread["mean"], spread["gaps"].mean(axis=0))
    assert (spread["lo"] <= spread["mean"]).all() and (spread["mean"] <= spread["hi"]).all()
    run = PairedRun(small)
    run.step(2)
    option = charts.gap_option(run.snapshot(), ((), spread))
    assert [s["name"] for s in option["series"][1:]] == ["mean over worlds", "95% interval",
                                                         "95% interval"]
    json.dumps(option)


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_the_gap_can_be_spread_over_several_worlds(page):
    from playwright.sync_api import expect

    before = _wait_drawn(page, "gap")
    picture = _canvas(page, "gap")
    page.locator(".ci-spread").click()
    expect(page.locator(".ci-spread")).to_be_enabled(timeout=120_000)
    _wait_drawn(page, "gap", before)
    page.wait_for_timeout(300)
    assert _canvas(page, "gap") != picture  # the mean and its interval are drawn


def test_robustness_words_name_the_nearest_share_studied_and_where_it_fails():
    from collective_impact.dashboard.robustness import robustness_words, shipped_study

    study = pd.DataFrame({"policy": ["2.5%", "10%"], "backbone_share": [0.025, 0.1],
                          "worlds": [500, 500], "share_beats_isolated": [0.12, 0.02],
                          "gain_q05": [-0.001, -0.004], "gain_q50": [-0.0003, -0.0015],
                          "gain_q95": [0.0002, 0.0], "loses_where": ["", "it loses here"],
                          "wins_where": ["it wins there", ""]})
    words = robustness_words(0.03, study)
    assert "a backbone of 2.5% of the funding (the nearest share studied to your 3.0%)" in words
    assert "beats working alone in **12%** of them" in words
    assert "median -0.0003" in words and "Where it pays: it wins there." in words
    assert "Where it fails: it loses here." in robustness_words(0.1, study)
    assert "no collaborative" in robustness_words(0.0, study)
    vague = study.assign(loses_where=["no rule of up to 3 conditions sets these worlds apart "
                                      "(the best: ...)", ""])
    words = robustness_words(0.025, vague)
    assert "Where it fails" not in words and "no simple rule" in words
    shipped = shipped_study()
    assert shipped is not None and {"backbone_share", "share_beats_isolated"} <= set(shipped)


def test_the_dashboard_finds_the_shipped_scenarios_from_any_folder(tmp_path, monkeypatch):
    """Started in a folder without configs/ (a plain install), the list holds the scenarios
    shipped in the package; a configs/ folder where it starts takes their place."""
    from collective_impact.dashboard import levers

    monkeypatch.delenv(levers.CONFIGS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    shipped = levers.scenario_files()
    assert list(shipped)[0] == "default" and {"strive", "recession"} <= set(shipped)
    assert all(path.parent == levers.CONFIGS_DIR for path in shipped.values())
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "mine.toml").write_text('[scenario]\nname = "mine"\n')
    assert list(levers.scenario_files()) == ["mine"]
