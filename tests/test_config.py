"""Scenario files: every shipped file loads; every user mistake names field, value, range."""

from pathlib import Path

import pytest

from collective_impact.experiments.cli import main
from collective_impact.model import Config, ConfigError, load_config
from collective_impact.model.config import SCHEMA, parameter_table_markdown

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load(path):
    config = load_config(path)
    assert config.scenario.name == path.stem


def test_strive_scale():
    config = load_config(CONFIGS / "strive.toml")
    assert config.organizations.count == 300
    assert config.population.size == 300_000
    assert config.population.areas == 6
    assert config.run.steps == 40


def write(tmp_path, text):
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, expected", [
    ("[funding]\nbackbone_share = 1.5\n",
     "funding.backbone_share = 1.5 is out of range: allowed 0.0 <= value <= 0.9"),
    ("[funding]\nbackbone_shar = 0.1\n", "did you mean 'backbone_share'"),
    ("[fundng]\npool = 1.0\n", "unknown section [fundng] (did you mean 'funding'?)"),
    ("[organizations]\ncount = \"many\"\n", "organizations.count = 'many': must be a number"),
    ("[organizations]\ncount = 2.5\n", "organizations.count = 2.5: must be a whole number"),
    ("[conditions]\nbackbone = 1\n", "conditions.backbone = 1: must be true or false"),
    ("[funding]\npool = 0.0\n", "funding.pool = 0.0 is out of range: allowed 0.0 < value"),
    ("[population]\nareas = 2\n[organizations]\nhome_areas = 3\n",
     "organizations.home_areas = 3 is out of range"),
    ("[funding\n", "not valid TOML"),
])
def test_bad_values_are_named(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert expected in str(err.value)
    assert "scenario.toml" in str(err.value)


def test_missing_file():
    with pytest.raises(ConfigError, match="scenario file not found"):
        load_config("no/such/file.toml")


def test_cli_reports_a_bad_value_in_one_line_without_traceback(tmp_path, capsys):
    path = write(tmp_path, "[collaboration]\nmetric_agreement = -0.2\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "collaboration.metric_agreement = -0.2 is out of range" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_toml_round_trip(tmp_path):
    config = Config.from_dict({}).with_values({"funding.backbone_share": 0.12,
                                               "scenario.name": "roundtrip"})
    path = tmp_path / "roundtrip.toml"
    path.write_text(config.to_toml())
    assert load_config(path) == config


def test_with_values_validates():
    with pytest.raises(ConfigError, match="collaboration.control_tightness = 2"):
        Config.from_dict({}).with_values({"collaboration.control_tightness": 2})
    with pytest.raises(ConfigError, match="unknown parameter 'funding.nope'"):
        Config.from_dict({}).with_values({"funding.nope": 1})


def test_parameter_table_lists_every_parameter():
    table = parameter_table_markdown()
    for section, items in SCHEMA.items():
        for name in items:
            assert f"`{section}.{name}`" in table
