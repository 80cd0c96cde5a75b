"""Shared plumbing of the benchmark scripts: timing, memory, counting, JSON records.

Nothing here configures JAX; each script sets ``XLA_FLAGS`` before it imports JAX.

What is measured, and how
-------------------------
* ``wall_s``: ``time.perf_counter`` around the call, results pulled back to the host.
* ``compile_s``: JAX's own monitoring events during the call (tracing to jaxpr, lowering
  to MLIR, XLA backend compile), summed; ``run_s = wall_s - compile_s``. Nested traces
  are not double counted (checked: an inner ``jit`` traced inside an outer one adds once).
* ``peak_rss_mb``: peak resident set size of the process during the call minus the RSS
  at its start, polled every 20 ms by a thread (``psutil`` if importable, else
  ``/proc/self/statm``). On CPU every JAX buffer lives in this RSS; tracemalloc would
  miss XLA's allocations, so it is not used. Methods share one process, and memory an
  earlier method freed is reused without growing the RSS, so this growth is a lower
  bound for all but the first method; ``process_maxrss_mb`` (``getrusage`` high-water
  mark after the call) is the upper bound.
* ``distinct_in_set``: unique rows of the flattened weights of the returned draws
  (exact equality; resampling duplicates count once).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = [
    "Measurement",
    "measure",
    "distinct_rows",
    "flat_draws",
    "machine_info",
    "write_results",
    "read_results",
    "clean",
]

_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_compile_seconds = [0.0]
_listener_installed = [False]


def _install_compile_listener() -> None:
    if _listener_installed[0]:
        return
    import jax

    def listener(event, duration, **_):
        if event in _COMPILE_EVENTS:
            _compile_seconds[0] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)
    _listener_installed[0] = True


def _rss_bytes() -> int:
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:  # pragma: no cover - Linux fallback
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _maxrss_bytes() -> int:
    """The process's RSS high-water mark so far (``getrusage``; kB on Linux)."""
    import resource

    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class Measurement:
    """Filled in by :func:`measure`: ``wall_s``, ``compile_s``, ``run_s``, ``peak_rss_mb``."""

    wall_s = compile_s = run_s = peak_rss_mb = process_maxrss_mb = float("nan")

    def as_dict(self) -> dict:
        return {
            "wall_s": self.wall_s,
            "compile_s": self.compile_s,
            "run_s": self.run_s,
            "peak_rss_mb": self.peak_rss_mb,
            "process_maxrss_mb": self.process_maxrss_mb,
        }


@contextmanager
def measure():
    """Time a block, split JAX compile time from run time, and track peak RSS growth."""
    _install_compile_listener()
    m = Measurement()
    base = _rss_bytes()
    peak = [base]
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            stop.wait(0.02)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    compile0 = _compile_seconds[0]
    start = time.perf_counter()
    try:
        yield m
    finally:
        m.wall_s = time.perf_counter() - start
        stop.set()
        thread.join()
        peak[0] = max(peak[0], _rss_bytes())
        m.compile_s = min(_compile_seconds[0] - compile0, m.wall_s)
        m.run_s = m.wall_s - m.compile_s
        m.peak_rss_mb = (peak[0] - base) / 2**20
        m.process_maxrss_mb = _maxrss_bytes() / 2**20


def flat_draws(tree) -> np.ndarray:
    """Posterior draws as rows ``(chain * draw, num_weights)``, sites in name order."""
    post = tree["posterior"]
    parts = []
    for name in sorted(post.data_vars):
        value = np.asarray(post[name].values)
        parts.append(value.reshape(value.shape[0] * value.shape[1], -1))
    return np.concatenate(parts, axis=1)


def distinct_rows(rows: np.ndarray) -> int:
    """Number of distinct rows (exact equality)."""
    if rows.shape[0] == 0:
        return 0
    return int(np.unique(np.ascontiguousarray(rows), axis=0).shape[0])


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_detail() -> str | None:
    """CPU family and model numbers and the widest vector units (``/proc/cpuinfo``): machines
    that all call themselves "AMD EPYC" differ by generation, and JAX's speed with them."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("cpu family", "model", "flags") and key not in fields:
                    fields[key] = value.strip()
                if not line.strip() and fields:
                    break
    except OSError:
        return None
    if not fields:
        return None
    flags = set(fields.get("flags", "").split())
    vector = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else "below avx2"
    return f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}, {vector}"


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (``None`` where the OS has none)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _start_state() -> dict:
    state = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "git_commit": _git_commit()}
    if (load := _load_average()) is not None:
        state["load_avg_start"] = load
    return state


#: the date, commit and load average when this process imported the harness, i.e. as the
#: script started: a script that builds its meta after its runs still records the code it
#: ran and the load it started under (``write_results`` adds the load at the end)
_START = _start_state()


def machine_info() -> dict:
    """What the numbers were measured on (no host names, no paths); ``date``,
    ``git_commit`` and ``load_avg_start`` as the script started."""
    import jax

    info = {
        "date": _START["date"],
        "cpu": _cpu_model(),
        "cpu_detail": _cpu_detail(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jax_devices": jax.device_count(),
        "jax_backend": jax.default_backend(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "git_commit": _START["git_commit"],
    }
    try:
        import blackjax

        info["blackjax"] = blackjax.__version__
    except ImportError:  # pragma: no cover
        pass
    if "load_avg_start" in _START:
        info["load_avg_start"] = _START["load_avg_start"]
    return info


def smc_keywords(text: str, label: str, *, elsewhere=(), refused: Mapping[str, str] | None = None) -> dict:
    """``cn.SMC`` keyword arguments given as JSON on a command line, checked by building
    ``cn.SMC`` from them before anything compiles; a bad one is an ``argparse`` type error
    (a usage error naming ``label``). Keys in ``elsewhere`` go to another call (kept, not
    checked here); a key of ``refused`` is an error saying which option sets it instead."""
    import argparse

    import consistent_nets as cn

    try:
        keywords = json.loads(text)
        if not isinstance(keywords, dict):
            raise ValueError("expected a JSON object")
        for key, option in (refused or {}).items():
            if key in keywords:
                raise ValueError(f"{key} is set by {option}")
        cn.SMC(**{k: v for k, v in keywords.items() if k not in elsewhere}).validate()
    except (json.JSONDecodeError, TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(f"{label}: {err}") from err
    return keywords


def clean(value):
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    return value


def output_path(out: str | None, default_name: str, default_dir: Path) -> Path:
    """``--out`` is a ``.json`` file or a directory (then ``default_name`` inside it)."""
    if out is None:
        return default_dir / default_name
    path = Path(out)
    if path.suffix == ".json":
        return path
    return path / default_name


def save_results(out: str | None, stem: str, kind: str, meta: dict, records: list[dict]) -> Path:
    """A script's results: ``<stem>[-tiny].json`` in ``--out`` (a file or a directory) or
    ``benchmarks/results/``; says where on stderr."""
    name = f"{stem}{'-tiny' if meta.get('tiny') else ''}.json"
    path = write_results(output_path(out, name, Path(__file__).resolve().parent / "results"), kind, meta, records)
    print(f"[{Path(sys.argv[0]).stem}] wrote {path.name}", file=sys.stderr)
    return path


def write_results(path: Path, kind: str, meta: dict, records: list[dict]) -> Path:
    """One JSON file per invocation: ``{"kind", "meta", "records"}``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(meta)
    # absolute paths (an --out or --cache folder) are this machine's: only their last part is kept
    args = [f".../{Path(a).name}" if os.path.isabs(a) else a for a in sys.argv[1:]]
    meta["command"] = " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *args])
    if (load := _load_average()) is not None:
        meta["load_avg_end"] = load
    payload = {"kind": kind, "meta": clean(meta), "records": clean(records)}
    path.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n")
    return path


def read_results(paths) -> list[dict]:
    """Load result files (or every ``*.json`` under given directories)."""
    files = []
    for p in paths:
        p = Path(p)
        files.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return [json.loads(f.read_text()) | {"file": f.name} for f in files]
