import pytest

from collective_impact.model import Config


@pytest.fixture
def tiny_config() -> Config:
    """A small world that runs in milliseconds, for mechanism and plumbing tests."""
    return Config.from_dict({
        "scenario": {"name": "tiny"},
        "run": {"steps": 8, "seed": 3, "burn_in": 8},
        "population": {"size": 2400},  # a pipeline of 12 yearly cohorts of 200
        "organizations": {"count": 12, "catchment_share": 0.3},
        "funding": {"pool": 400_000.0, "backbone_share": 0.1},
    })
