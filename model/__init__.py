"""The model of isolated versus collective impact: public interface.

    from collective_impact.model import CollectiveImpactModel, load_config
    config = load_config("default")        # a shipped scenario's name, or a TOML file
    collective = CollectiveImpactModel(config, seed=1).run()
    isolated = CollectiveImpactModel(config.isolated(), seed=1).run()   # same world

Mesa's own tools drive it too: ``mesa.batch_run(CollectiveImpactModel,
parameters={"funding_backbone_share": [0.0, 0.1]}, iterations=2)``.
"""

from collective_impact.model.agents import Backbone, Organization
from collective_impact.model.config import (
    BACKBONE_FUNCTIONS,
    CONDITIONS,
    Config,
    ConfigError,
    load_config,
)
from collective_impact.model.model import (
    BurnIn,
    CollectiveImpactModel,
    burn_in_key,
    fresh_seed,
    run_model,
    run_world,
)
from collective_impact.model.scenarios import (
    find_experiment,
    find_scenario,
    shipped_experiments,
    shipped_scenarios,
)

__all__ = [
    "BACKBONE_FUNCTIONS",
    "BurnIn",
    "CONDITIONS",
    "Backbone",
    "CollectiveImpactModel",
    "Config",
    "ConfigError",
    "Organization",
    "burn_in_key",
    "find_experiment",
    "find_scenario",
    "fresh_seed",
    "load_config",
    "run_model",
    "run_world",
    "shipped_experiments",
    "shipped_scenarios",
]
