"""docs/ODD.md stays true to the code: its parameter table is the generated one, and every
output column the model produces is described in it."""

import re
from pathlib import Path

import pytest

from collective_impact.model import CollectiveImpactModel, Config
from collective_impact.model.config import parameter_table_markdown

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"
BEGIN, END = "<!-- parameters:begin -->", "<!-- parameters:end -->"


@pytest.fixture(scope="module")
def odd_text() -> str:
    return ODD.read_text(encoding="utf-8")


def test_parameter_table_is_the_generated_one(odd_text):
    assert odd_text.count(BEGIN) == 1 and odd_text.count(END) == 1, (
        f"docs/ODD.md needs exactly one {BEGIN} ... {END} block")
    block = odd_text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert block.strip("\n") == parameter_table_markdown(), (
        "the parameter table in docs/ODD.md differs from the code; paste the output of "
        "`collective-impact params` between the markers")


def test_every_output_column_is_documented(odd_text):
    config = Config.from_dict({"population": {"size": 200}, "organizations": {"count": 5},
                               "run": {"steps": 2}})
    columns = CollectiveImpactModel(config).run().columns
    documented = set(re.findall(r"`([a-z0-9_]+)`", odd_text))
    missing = [c for c in columns if c not in documented]
    assert not missing, f"output columns not described in docs/ODD.md: {missing}"


README = ODD.parent.parent / "README.md"


def readme_example(name: str) -> str:
    """The Python block that follows ``<!-- example: NAME -->`` in the README."""
    text = README.read_text(encoding="utf-8")
    marker = f"<!-- example: {name} -->"
    assert text.count(marker) == 1, f"README.md needs one {marker}"
    return text.split(marker, 1)[1].split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_batch_run_example_runs(capsys):
    exec(compile(readme_example("batch_run"), "README.md:batch_run", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.count("0.05") >= 2 and "composite_index" in printed  # 3 shares x 2 runs


def test_readme_ema_workbench_example_runs(capsys):
    pytest.importorskip("ema_workbench", reason="EMA Workbench is the robustness extra")
    exec(compile(readme_example("ema_workbench"), "README.md:ema_workbench", "exec"), {})
    printed = capsys.readouterr().out
    assert "gain" in printed and len(printed.strip().splitlines()) == 9  # header + 8 runs
