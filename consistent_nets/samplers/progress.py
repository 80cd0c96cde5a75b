"""tqdm progress bars that stay silent when asked, when piped and under CI."""

from __future__ import annotations

import importlib.util
import os
import sys

# widgets in Jupyter when ipywidgets is there; otherwise the text bar (tqdm.auto would
# warn "IProgress not found" in every notebook without ipywidgets)
if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm
else:
    from tqdm.std import tqdm

__all__ = ["progress", "progress_enabled"]


def progress_enabled(progress_bar: bool) -> bool:
    if not progress_bar:
        return False
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        return False
    return True


def progress(progress_bar: bool, **kwargs) -> tqdm:
    return tqdm(disable=not progress_enabled(progress_bar), file=sys.stderr, leave=False, **kwargs)
