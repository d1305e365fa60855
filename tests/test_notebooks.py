"""The notebooks in notebooks/ run top to bottom, and are committed clean.

Each notebook is executed with nbclient at reduced sizes: its first code cell reads
NOTEBOOK_QUICK=1 and shrinks seeds, grids and population. Results the notebooks write
go to a temporary folder (NOTEBOOK_RESULTS), not to results/. Any error fails the test.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = (
    "01_isolated_vs_collective.ipynb",
    "02_funding_connective_tissue.ipynb",
    "03_sensitivity_analysis.ipynb",
)
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell
QUICK_BUDGET = 120  # seconds a whole notebook may take in quick mode (a guard, not a target)


def _read(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def test_every_notebook_is_there():
    assert sorted(p.name for p in NOTEBOOKS) == sorted(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path):
    nb = _read(path)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name}: cell {index} has outputs; strip them"
        assert cell.execution_count is None, (
            f"{path.name}: cell {index} has an execution count; strip it")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_holds_the_quick_switch(path: Path):
    code = [cell.source for cell in _read(path).cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code"
    assert 'QUICK = os.environ.get("NOTEBOOK_QUICK") == "1"' in code[0], (
        f"{path.name}: the first code cell must set QUICK from NOTEBOOK_QUICK")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_top_to_bottom_in_quick_mode(path: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("NOTEBOOK_RESULTS", str(tmp_path))
    nb = _read(path)
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{path.name} failed in quick mode:\n{err}", pytrace=False)
    elapsed = time.monotonic() - start
    assert elapsed < QUICK_BUDGET, (
        f"{path.name} took {elapsed:.0f} s in quick mode (budget {QUICK_BUDGET} s): "
        f"shrink its QUICK sizes")
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0]}"
