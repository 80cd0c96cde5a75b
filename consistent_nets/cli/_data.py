"""``sample --data FILE``: the user's own data from ``.npz``, a ``.npy`` pair or ``.csv``.

NumPy only (no JAX): the formats are

* ``data.npz`` with arrays ``X`` (n, d) and ``y`` (n,) or (n, d_out);
* ``X.npy y.npy``: two files, inputs then labels;
* ``data.csv``: comma-separated numbers, one row per point, the last column the label;
  a first row that is not all numbers is a header and is skipped.

Labels that are all whole numbers are read as integers (class labels), others as floats.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["FORMATS", "check_data_paths", "load_data", "default_arch"]

FORMATS = "one .npz (arrays X and y), two .npy files (X then y), or one .csv (label last)"


def check_data_paths(paths: list[str]) -> str | None:
    """Why ``paths`` are not one of the accepted layouts, or ``None`` (no file access)."""
    suffixes = [Path(p).suffix.lower() for p in paths]
    if suffixes in ([".npz"], [".csv"], [".npy", ".npy"]):
        return None
    return f"--data takes {FORMATS}, got {' '.join(paths)}"


def _integral_labels(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    return y


def _read(path: str, what: str):
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--data {path}: no such file")
    try:
        if file.suffix.lower() == ".csv":
            return _read_csv(file)
        return np.load(file, allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"--data {path}: not a readable {what} ({err})") from None
    except OSError as err:
        raise ValueError(f"--data {path}: not a readable {what} ({type(err).__name__})") from None


def _read_csv(file: Path) -> np.ndarray:
    with file.open(newline="") as fh:
        rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    if rows:
        try:
            [float(cell) for cell in rows[0]]
        except ValueError:
            rows = rows[1:]  # a header
    if not rows:
        raise ValueError("no data rows")
    widths = {len(row) for row in rows}
    if len(widths) != 1 or widths.pop() < 2:
        raise ValueError("every row needs the same number (>= 2) of columns: inputs, then the label")
    return np.array([[float(cell) for cell in row] for row in rows])


def load_data(paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` from the ``--data`` files; ``ValueError`` naming ``--data`` otherwise."""
    why = check_data_paths(paths)
    if why:
        raise ValueError(why)
    suffix = Path(paths[0]).suffix.lower()
    if suffix == ".npz":
        archive = _read(paths[0], ".npz archive")
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            raise ValueError(f"--data {paths[0]}: the archive lacks the arrays {missing} (it has {archive.files})")
        X, y = archive["X"], archive["y"]
    elif suffix == ".npy":
        X, y = _read(paths[0], ".npy array"), _read(paths[1], ".npy array")
    else:
        table = _read(paths[0], "CSV file")
        X, y = table[:, :-1], table[:, -1]
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"--data: X must have shape (n, d), got {X.shape}")
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"--data: y must have one entry per row of X ({X.shape[0]}), got shape {y.shape}")
    return X, _integral_labels(y)


def default_arch(X: np.ndarray, y: np.ndarray, constraint: str) -> str:
    """``d-16-d_out``: one output for binary labels and 1-D targets, one per class otherwise."""
    if constraint.startswith("tube"):
        d_out = y.shape[1] if y.ndim == 2 else 1
    else:
        values = set(np.unique(y).tolist())
        d_out = 1 if values <= {-1, 0, 1} else int(np.max(y)) + 1
    return f"{X.shape[1]}-16-{d_out}"
