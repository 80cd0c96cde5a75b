"""tqdm progress bars that stay silent when asked, when piped and under CI."""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm

__all__ = ["progress", "progress_enabled"]


def progress_enabled(progress_bar: bool) -> bool:
    if not progress_bar:
        return False
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        return False
    return True


def progress(progress_bar: bool, **kwargs) -> tqdm:
    return tqdm(disable=not progress_enabled(progress_bar), file=sys.stderr, leave=False, **kwargs)
