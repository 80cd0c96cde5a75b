"""The driver's progress bar: "compiling…", then stages with the sampler's numbers and an ETA.

Shown only where a person watches: on a terminal (``stderr`` is a TTY) or in a Jupyter
kernel; never in a pipe, a log file or under ``CI``. In Jupyter it is a widget when
``ipywidgets`` is installed and text otherwise (``tqdm.auto`` would warn "IProgress
not found" in every notebook without it).
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time

__all__ = ["Progress", "progress_enabled", "eta_seconds"]


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"


def progress_enabled(progress_bar: bool, stream=None) -> bool:
    """Whether to show a bar: asked for, not under ``CI``, and on a terminal or in Jupyter."""
    if not progress_bar or os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return _in_jupyter() or bool(isatty and isatty())


def eta_seconds(history: list[tuple[float, float]], goal: float) -> float | None:
    """Seconds until a quantity that grows geometrically per stage reaches ``goal``.

    ``history`` holds ``(seconds, value)`` at the end of each stage. The remaining stages
    are extrapolated from the growth of ``log(value)`` over the last three stages, each
    at the mean duration of the stages after the first (which includes compilation).
    ``None`` while that cannot be said (fewer than three stages, a value still 0, or no
    growth).

    Examples
    --------
    >>> eta_seconds([(10.0, 0.01), (11.0, 0.02), (12.0, 0.04)], goal=0.16)
    2.0
    >>> eta_seconds([(10.0, 0.0), (11.0, 0.0), (12.0, 0.0)], goal=0.16) is None
    True
    """
    if len(history) < 3:
        return None
    (_, v0), (_, v1) = history[-3], history[-1]
    if v1 >= goal:
        return 0.0
    if v0 <= 0 or v1 <= v0:
        return None
    per_stage = (history[-1][0] - history[0][0]) / (len(history) - 1)
    stages = math.log(goal / v1) / (math.log(v1 / v0) / 2)
    return stages * per_stage


def _format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds}s"


class Progress:
    """One sampler run's bar (see the module docstring); a no-op when not shown.

    ``stage(position, postfix, goal)`` after every stage: ``position`` moves the bar,
    ``postfix`` (the sampler's numbers) is shown after it, and ``goal = (value, target)``
    (a quantity growing towards ``target``, e.g. the fraction of particles in S) gives
    the ETA where the bar has no total; with a total, tqdm's own ETA is used.
    """

    def __init__(self, progress_bar: bool, desc: str, unit: str, total: int | None):
        self.enabled = progress_enabled(progress_bar)
        self.desc, self.history, self.start = desc, [], time.perf_counter()
        self.bar = None
        if self.enabled:
            self.bar = _tqdm()(desc=f"{desc}: compiling…", unit=unit, total=total, file=sys.stderr, leave=False)
            self.bar.refresh()

    def stage(self, position: int, postfix: dict, goal: tuple[float, float] | None = None) -> None:
        if self.bar is None:
            return
        if not self.history:
            self.bar.set_description(self.desc, refresh=False)
        if goal is not None:
            self.history.append((time.perf_counter() - self.start, goal[0]))
            eta = eta_seconds(self.history, goal[1])
            postfix = {**postfix, "eta": "?" if eta is None else _format_seconds(eta)}
        self.bar.update(position - self.bar.n)
        self.bar.set_postfix(postfix)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _tqdm():
    if _in_jupyter() and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm
