"""Every notebook in notebooks/ runs top to bottom at toy size and draws at least one plot.

The notebooks are jupytext percent-format ``.py`` files; ``run_notebook.py`` converts
each to a notebook and executes it with a Jupyter kernel of this environment with
``CN_NOTEBOOK_SMALL=1`` (the notebooks shrink their sizes when it is set). The runs are
background jobs (``background.py``): they start when collection ends and run beside the
in-process tests; each test here waits for its notebook and checks what it wrote.
"""

import sys
from pathlib import Path

import pytest

import background

pytest.importorskip("jupytext")
pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9]*.py"))
JOBS = {
    path: background.register(
        f"notebook-{path.stem}", sys.executable, Path(__file__).with_name("run_notebook.py"), path,
        "{out}/" + path.stem + ".ipynb",
        CN_NOTEBOOK_SMALL="1",
        CI="true",  # no progress bars in the outputs
        MPLBACKEND="module://matplotlib_inline.backend_inline",  # figures as outputs
    )
    for path in NOTEBOOKS
}


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=pytest.mark.background(JOBS[p]), id=p.stem) for p in NOTEBOOKS]
)
def test_notebook_runs_and_plots(path):
    out = background.done(JOBS[path])  # a failing cell: its traceback
    notebook = nbformat.read(out / f"{path.stem}.ipynb", as_version=4)
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{path.name} produced no plot"
