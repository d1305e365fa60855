"""The model of isolated versus collective impact: public interface.

    from model import CollectiveImpactModel, load_config
    config = load_config("configs/default.toml")
    collective = CollectiveImpactModel(config).run()
    isolated = CollectiveImpactModel(config.isolated()).run()
"""

from model.agents import Backbone, Organization
from model.config import (
    BACKBONE_FUNCTIONS,
    CONDITIONS,
    Config,
    ConfigError,
    load_config,
)
from model.model import CollectiveImpactModel, run_model

__all__ = [
    "BACKBONE_FUNCTIONS",
    "CONDITIONS",
    "Backbone",
    "CollectiveImpactModel",
    "Config",
    "ConfigError",
    "Organization",
    "load_config",
    "run_model",
]
