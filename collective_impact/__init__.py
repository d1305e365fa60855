"""Isolated versus collective impact: an agent-based model on Mesa.

One import namespace for the project's folders (see pyproject.toml):

- ``collective_impact.model``        the Mesa model (folder ``model/``)
- ``collective_impact.experiments``  comparisons, sweeps, sensitivity, figures (``experiments/``)
- ``collective_impact.dashboard``    the Solara dashboard (``dashboard/``)
- ``collective_impact.configs``      the shipped scenario and experiment files (``configs/``)

    from collective_impact import CollectiveImpactModel, load_config
    collective = CollectiveImpactModel(load_config("default")).run()
"""

from importlib import metadata

from collective_impact.model import (
    CollectiveImpactModel,
    Config,
    ConfigError,
    load_config,
    run_model,
)

try:
    __version__ = metadata.version("collective-impact")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CollectiveImpactModel",
    "Config",
    "ConfigError",
    "__version__",
    "load_config",
    "run_model",
]
