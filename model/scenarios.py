"""The scenario and experiment files shipped with the package, found by name or path.

They live in ``configs/`` of the source tree, installed as ``collective_impact/configs``;
both sit next to this package's folder, so one lookup serves a checkout and a wheel.
"""

from __future__ import annotations

from pathlib import Path

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"
EXPERIMENTS_DIR = CONFIGS_DIR / "experiments"


def _listed(directory: Path) -> dict[str, Path]:
    found = {p.stem: p for p in sorted(directory.glob("*.toml"))}
    if "default" in found:
        found = {"default": found.pop("default"), **found}
    return found


def shipped_scenarios() -> dict[str, Path]:
    """Name -> file of every shipped scenario, 'default' first."""
    return _listed(CONFIGS_DIR)


def shipped_experiments() -> dict[str, Path]:
    """Name -> file of every shipped experiment."""
    return _listed(EXPERIMENTS_DIR)


def find_scenario(name_or_path: str | Path) -> Path | None:
    """An existing file at ``name_or_path``, else the shipped scenario of that name
    (``default``, ``default.toml`` or ``configs/default.toml``), else None."""
    return _find(name_or_path, shipped_scenarios(), ("configs",))


def find_experiment(name_or_path: str | Path) -> Path | None:
    """An existing file at ``name_or_path``, else the shipped experiment of that name
    (``funding`` or ``configs/experiments/funding.toml``), else None."""
    return _find(name_or_path, shipped_experiments(), ("configs/experiments", "experiments"))


def _find(name_or_path: str | Path, shipped: dict[str, Path], folders: tuple[str, ...]):
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    # 'configs/default.toml' from a folder with no configs/ of its own means the shipped one.
    if path.parent == Path(".") or str(path.parent) in folders:
        return shipped.get(path.stem if path.suffix == ".toml" else path.name)
    return None
