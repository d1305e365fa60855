"""Serving the dashboard: Solara's own server, run in this process, local assets only."""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path

from collective_impact.dashboard.levers import CONFIGS_ENV, SAVE_DIR_ENV

APP = "collective_impact.dashboard.app"
DEFAULT_PORT = 8765


class ServeError(Exception):
    """The server cannot start (e.g. the port is taken); the message says what to do."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind((host, port))
        except OSError as err:
            raise ServeError(f"cannot listen on {host}:{port} ({err.strerror}); "
                             f"choose another port with --port, or --port 0 for any free one"
                             ) from None


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, configs: str | Path | None = None,
          open_browser: bool = False, save_to: str | Path | None = None) -> None:
    """Run the dashboard until interrupted. Prints the URL first.

    Solara runs in production mode (no auto-reload, minified front end). With the pinned
    ``solara-assets`` package every script, style and font is served by this server, so the
    page works without internet access. Solara's version check and usage telemetry are off.
    """
    if configs is not None:
        directory = Path(configs).resolve()
        if not directory.is_dir():
            raise ServeError(f"scenario folder not found: {directory}")
        os.environ[CONFIGS_ENV] = str(directory)
    if save_to is not None:
        folder = Path(save_to).expanduser().resolve()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ServeError(f"cannot use {folder} for saved scenarios: "
                             f"{err.strerror or err}") from None
        os.environ[SAVE_DIR_ENV] = str(folder)
    else:
        os.environ.pop(SAVE_DIR_ENV, None)  # saving on the server stays off
    # Read by solara.server.settings at import, so set before solara is imported.
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("SOLARA_THEME_TITLE", "Isolated vs collective impact")
    # Served over plain http on this machine, Solara falls back to SameSite=Lax cookies,
    # which is right here; its warning about it would print for every new browser.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    if port == 0:
        port = free_port(host)
    _check_port(host, port)

    from solara.__main__ import run  # lazy: solara is an optional dependency

    print(f"collective-impact dashboard: open {url_for(host, port)} in your browser "
          f"(Ctrl+C to stop)", flush=True)
    args = [APP, "--host", host, "--port", str(port), "--production", "--no-check-version",
            "--open" if open_browser else "--no-open", "--log-level", "warning"]
    run.main(args=args, prog_name="solara run", standalone_mode=False)
