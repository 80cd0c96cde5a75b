"""Compiled programs reused between targets: :meth:`consistent_nets._target.Target.jit`.

A program is ``jax.jit(build(target))`` for a ``build`` the caller describes by a
hashable ``key`` (the sampler and its static settings). It is kept in one LRU of
:data:`_SHARED_MAX` entries, under one of two keys:

- a ``Problem``'s structure (:func:`~consistent_nets._model_sites.structure_key`):
  the data go in as arguments, so problems of the same shapes (a new planted teacher,
  another dataset of the same size) share the program;
- a hand-written model and the values of its arguments
  (:func:`~consistent_nets._model_sites.model_key`): the arguments stay compile-time
  constants (they may steer Python control flow), so the program is reused only by the
  same model on equal arguments, as ``jax.jit`` reuses a function's.

Anything else (a key or argument that cannot be hashed) compiles afresh every call.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Callable

import jax

from ._compile import compiler_options, prepare, program

__all__ = ["shared_jit"]

#: compiled programs kept between calls (LRU)
_SHARED: OrderedDict = OrderedDict()
_SHARED_MAX = 32


def shared_jit(target, build: Callable, key) -> Callable:
    """``jax.jit(build(target))``, or the program an equal earlier call compiled."""
    prepare()  # the persistent compilation cache, at the first compile
    options = compiler_options(target.work)
    shared = target.cache_key is not None  # data as arguments; else baked in, keyed by value
    full = (key, target.cache_key if shared else target.constants_key, tuple(sorted((options or {}).items())))
    try:
        hash(full)
    except TypeError:  # e.g. a sampler holding an unhashable schedule
        full = None
    if key is None or full is None or full[1] is None:
        raw = build(target)
        return program(partial(jax.jit(raw, compiler_options=options)), raw, options)
    fn = _SHARED.get(full)
    if fn is None and not shared:
        raw = build(target)
        fn = program(partial(jax.jit(raw, compiler_options=options)), raw, options)
    elif fn is None:
        template = target

        def with_data(args, *xs):
            return build(template.with_args(args))(*xs)

        if isinstance(key, tuple) and key and isinstance(key[0], str):  # names in profiles and logs
            with_data.__name__ = with_data.__qualname__ = key[0].replace("-", "_")
        fn = jax.jit(with_data, compiler_options=options)
    _SHARED[full] = fn
    _SHARED.move_to_end(full)
    while len(_SHARED) > _SHARED_MAX:
        _SHARED.popitem(last=False)
    if not shared:
        return fn
    return program(partial(fn, target.args), partial(fn.__wrapped__, target.args), options)
