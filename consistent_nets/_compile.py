"""How the library's programs compile: JAX's persistent cache and XLA's cheap pipeline.

Nothing here runs on import. :func:`prepare` is called by the library just before it
compiles something (``Target.jit``, ``cn.predict``, ``cn.diagnose``), so importing the
package configures nothing.

Persistent compilation cache
    Compiled programs are kept on disk and reused by later processes (the first run of
    the XOR quickstart compiles, the next one mostly loads). On by default, in
    ``$XDG_CACHE_HOME/consistent-nets/jax`` (``~/.cache/consistent-nets/jax``). The
    environment variable ``CONSISTENT_NETS_CACHE`` switches it: ``0`` (or ``off``,
    ``false``, ``no``) leaves JAX's cache off, a path puts it there. A cache the user
    configured (``JAX_COMPILATION_CACHE_DIR``, ``jax.config.update(
    "jax_compilation_cache_dir", ...)`` or ``jax_enable_compilation_cache=False``
    before the first ``cn.sample``) is left alone. JAX has one cache per process: once
    the library has switched it on, the user's other programs are cached there too.

Cheaper XLA pipeline
    On the CPU backend, programs of problems with ``dim * num_data`` at most
    :data:`SMALL_WORK` compile with ``xla_backend_optimization_level=1`` and
    ``xla_llvm_disable_expensive_passes`` (per program, through ``jax.jit``'s
    ``compiler_options``). Measured on XOR and moons: 12-24 % less time to the first
    call of ``smc``'s move (compile plus one run) and no slower moves; level 0 compiles
    faster still but made the NUTS moves 3-4x slower (BENCHMARKS.md, "Time to first
    result"). Larger problems (the planted teacher and up, not measured) keep XLA's
    defaults. An ``XLA_FLAGS`` that sets ``xla_backend_optimization_level`` is left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "SMALL_WORK", "cache_dir", "compiler_options", "prepare", "program"]

#: environment variable: ``0``/``off`` turns the library's persistent cache off, a path moves it
CACHE_ENV = "CONSISTENT_NETS_CACHE"
#: the largest ``dim * num_data`` compiled with the cheaper CPU pipeline (digits: 1057 * 128)
SMALL_WORK = 140_000
#: programs that compile faster than this are not written to the persistent cache (0: all,
#: so that a warm process compiles nothing; each entry is read back in milliseconds)
MIN_COMPILE_SECONDS = 0.0
_CHEAP_XLA = {"xla_backend_optimization_level": 1, "xla_llvm_disable_expensive_passes": True}
_OFF = {"0", "off", "false", "no"}


def cache_dir() -> Path | None:
    """The directory of the library's persistent cache, or ``None`` when switched off.

    Examples
    --------
    >>> import os
    >>> os.environ["CONSISTENT_NETS_CACHE"] = "off"
    >>> cache_dir() is None
    True
    >>> del os.environ["CONSISTENT_NETS_CACHE"]
    """
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(home) / "consistent-nets" / "jax"


def prepare() -> None:
    """Switch JAX's persistent compilation cache on, unless configured or switched off.

    Called before the library's compiles; cheap after the first call.
    """
    import jax

    if jax.config.jax_compilation_cache_dir or not jax.config.jax_enable_compilation_cache:
        return  # the user's cache (or the user's "no cache"), or ours from an earlier call
    path = cache_dir()
    if path is None:
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)


def compiler_options(work: int | None) -> dict | None:
    """``jax.jit`` compiler options for a program whose size is ``work`` (``dim * num_data``).

    XLA's cheap pipeline on CPU when ``work <= SMALL_WORK``; ``None`` (XLA's defaults)
    for larger or unknown sizes, on other backends, and when ``XLA_FLAGS`` chooses the
    optimisation level itself.
    """
    if work is None or work > SMALL_WORK or "xla_backend_optimization_level" in os.environ.get("XLA_FLAGS", ""):
        return None
    import jax

    return dict(_CHEAP_XLA) if jax.default_backend() == "cpu" else None


def program(call, unjitted, options: dict | None):
    """``call`` (a compiled program) carrying what wrapping it in another ``jax.jit``
    needs: the function before ``jax.jit`` and its compiler options (JAX accepts those
    only on the outermost ``jax.jit``; see :func:`.samplers.distributed.per_device`)."""
    call.unjitted, call.compiler_options = unjitted, options
    return call
