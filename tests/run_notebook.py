"""Run one jupytext notebook top to bottom and write the executed notebook (a test job).

``python tests/run_notebook.py NOTEBOOK.py OUT.ipynb``: converts the percent-format file,
executes it with a Jupyter kernel of this environment in OUT's folder, and writes it to
OUT, also when a cell fails (then the error, with its cell and traceback, goes to stderr
and the exit status is 1). ``tests/test_notebooks.py`` runs it in the background with the
notebooks' small-size switch set.
"""

import sys
from pathlib import Path

import jupytext
import nbclient
import nbformat
from nbclient.exceptions import CellExecutionError


def main(source: str, target: str) -> int:
    out = Path(target)
    notebook = jupytext.read(source)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(out.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as err:
        print(err, file=sys.stderr)
        return 1
    finally:
        nbformat.write(notebook, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
