"""Every notebook in notebooks/ runs top to bottom at toy size and draws at least one plot.

The notebooks are jupytext percent-format ``.py`` files; each is converted to a notebook
in memory and executed by a Jupyter kernel of this environment with
``CN_NOTEBOOK_SMALL=1`` (the notebooks shrink their sizes when it is set).
"""

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9]*.py"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_plots(path, tmp_path, monkeypatch):
    monkeypatch.setenv("CN_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("CI", "true")  # no progress bars in the outputs
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # figures as outputs
    notebook = jupytext.read(path)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{path.name} produced no plot"
