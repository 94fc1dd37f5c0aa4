"""The notebooks run top to bottom on a real Jupyter kernel, so they never rot.

Each notebook runs twice in a row in one kernel and one results folder, as a user who runs
all cells again does: every figure cell must show an image both times (the package must
leave the notebook's inline backend alone) and no cell may fail (each execution writes
runs of its own).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
FIGURE_TAG = "figure"  # set by scripts/make_notebooks.py on every cell that draws
FIGURE_CELLS = {"01_baseline": 2, "02_compare_scenarios": 1, "03_sweeps": 2}


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_baseline.ipynb",
        "02_compare_scenarios.ipynb",
        "03_sweeps.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def _draws(cell) -> bool:
    """A cell that must show an image: tagged, calling ``plt.show()``, or returning a
    figure (whose plain-text form is ``<Figure size ...>``)."""
    returned = any(
        str(o.get("data", {}).get("text/plain", "")).startswith("<Figure")
        for o in cell.get("outputs", [])
    )
    tagged = FIGURE_TAG in cell.metadata.get("tags", [])
    return tagged or "plt.show()" in cell.source or returned


def _images(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def _runs(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("manifest.json"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_twice_and_shows_its_figures(path, tmp_path, monkeypatch):
    monkeypatch.setenv("WSIM_REPLICATIONS", "2")
    monkeypatch.setenv("WSIM_SOBOL_SAMPLES", "4")
    monkeypatch.setenv("WSIM_RESULTS", str(tmp_path))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own default: inline
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    written = []
    with client.setup_kernel():
        for execution in (1, 2):
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)  # raises CellExecutionError on an error
            code = [c for c in notebook.cells if c.cell_type == "code"]
            errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
            assert not errors, f"execution {execution}: {errors}"
            drawing = [c for c in code if _draws(c)]
            assert len(drawing) == FIGURE_CELLS[path.stem], f"execution {execution}"
            blank = [c.source for c in drawing if not _images(c)]
            assert not blank, f"execution {execution}: figure cells without an image: {blank}"
            written.append(_runs(tmp_path))
    assert written[0] > 0, "the notebook wrote its runs where it was told"
    assert written[1] == 2 * written[0], "the second execution wrote runs of its own"
    assert os.listdir(tmp_path)
