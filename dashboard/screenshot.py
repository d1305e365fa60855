"""Take the user guide's screenshot of the dashboard (docs/images/dashboard.png).

    python -m dashboard.screenshot [docs/images/dashboard.png] [--quarters 20]

Starts ``collective-impact dashboard`` on a free local port, opens it in headless Debian
Chromium through Playwright, steps the default scenario a few quarters so every panel has
something to show, saves the picture and stops the server.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from collective_impact.dashboard.server import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def start_server(port: int, configs: Path | None = None, log=subprocess.DEVNULL,
                 save_to: Path | None = None):
    """The dashboard as a child process, in its own process group so it can be stopped."""
    command = [sys.executable, "-m", "collective_impact", "dashboard", "--port", str(port),
               "--host", "127.0.0.1"]
    if configs is not None:
        command += ["--configs", str(configs)]
    if save_to is not None:
        command += ["--save-to", str(save_to)]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            start_new_session=True)


def wait_until_serving(server: subprocess.Popen, url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the dashboard exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the dashboard did not answer at {url} within {timeout:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def take(out: Path, quarters: int = 20, width: int = 1440, height: int = 2400) -> Path:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} not found: apt-get install -y chromium")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_server(port)
    try:
        wait_until_serving(server, url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.get_by_text("Quarter 0 of").wait_for()
            for quarter in range(1, quarters + 1):
                page.locator(".ci-step-button").click()
                page.get_by_text(f"Quarter {quarter} of").wait_for()
            page.wait_for_timeout(1500)  # let the browser finish drawing
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        stop_server(server)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="docs/images/dashboard.png")
    parser.add_argument("--quarters", type=int, default=20, help="quarters to step first")
    args = parser.parse_args(argv)
    print(f"wrote {take(Path(args.out), args.quarters)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
