"""One seeded trace of a model: its latent sites, supports and consistency sites.

:func:`model_sites` is what :func:`consistent_nets._target.make_target` learns from the
model before anything samples: compiled as one program (NumPyro's supports and
transforms are pytrees), and kept per problem structure so that problems of the same
shape share it.
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
from numpyro import handlers
from numpyro.distributions import biject_to
from numpyro.infer.util import transform_fn

from ._plugin import is_consistent_site

__all__ = ["model_key", "model_sites", "structure_key"]

#: a Problem's structure -> (compiled seeded trace of its model, static site information)
_SITES: dict = {}
_MAX = 32


def structure_key(problem, args):
    """What a Problem's programs depend on besides the data values (``None``: no sharing)."""
    if problem is None:
        return None
    key = (problem.net, problem.prior, problem.constraint, tuple((tuple(a.shape), str(a.dtype)) for a in args))
    try:
        hash(key)
    except TypeError:  # a user-defined prior or constraint without value equality
        return None
    return key


def model_key(model, args, kwargs):
    """What a hand-written model's programs depend on, or ``None`` (no reuse).

    The model's arguments stay compile-time constants (they may steer Python control
    flow), so a program is reused only for the same model, as ``jax.jit`` keys a
    function (the object, not its code), and arguments equal in value: arrays by shape,
    dtype and contents, and Python numbers, strings and ``None`` by value. An argument of
    any other type (or a tracer) gives ``None``. Like ``jax.jit``, a model that reads a
    global variable keeps the value it read first: pass such values as arguments.
    """
    leaves, treedef = jax.tree.flatten((tuple(args), dict(kwargs)))
    values = []
    for leaf in leaves:
        if isinstance(leaf, jax.core.Tracer):
            return None
        if isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
            a = np.ascontiguousarray(leaf)
            if a.dtype.hasobject:
                return None
            values.append((a.shape, a.dtype.str, hashlib.blake2b(a.tobytes(), digest_size=20).digest()))
        elif isinstance(leaf, float):
            values.append((float, leaf.hex()))  # -0.0 and nan as themselves
        elif isinstance(leaf, (bool, int, str)):
            values.append((type(leaf), leaf))
        else:
            return None
    try:
        hash(model)
    except TypeError:
        return None
    return ("model", model, treedef, tuple(values))


def model_sites(model, args, kwargs, key, compile: bool = True, constants=None):
    """Trace ``model`` once (seeded): ``(static site information, (transforms to each
    latent site's support, unconstrained values, labels of each consistency site))``.

    The static information is a dict: ``shapes`` ({latent name: shape}), ``consistent``
    (consistency site names), ``constraints`` ({site: constraint}) and ``symmetry`` (the
    first ``net=`` a consistency site declares, or ``None``). Compiled (``jax.jit``;
    NumPyro's supports and transforms are pytrees, so they come back with concrete
    parameters), with the model's arguments as inputs and the program kept per ``key``
    (a Problem's structure) so that problems of the same shape share it. A hand-written
    model's result is kept per ``constants`` (:func:`model_key`, the arguments baked in).
    """
    if key is not None and key in _SITES:
        fn, found = _SITES[key]
        return found, fn(*args)
    if constants is not None and constants in _SITES:
        out, found = _SITES[constants]
        return found, out
    found = {}

    def trace(*args):
        tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace(*args, **kwargs)
        latent = {n: s for n, s in tr.items() if s["type"] == "sample" and not s["is_observed"]}
        sites = [s for s in tr.values() if is_consistent_site(s)]
        if not sites:
            raise ValueError(
                "model has no consistency site: call cn.consistent(...) inside it, with labels "
                "(y=None only records outputs, for cn.predict)"
            )
        if not latent:
            raise ValueError("model has no latent sample sites to sample")
        for name, site in latent.items():
            if site["fn"].support.is_discrete:
                raise ValueError(f"model site {name!r} is discrete; only continuous weights are supported")
        found["consistent"] = tuple(s["name"] for s in sites)
        found["constraints"] = {s["name"]: s["infer"]["constraint"] for s in sites}
        found["symmetry"] = next((s["infer"]["symmetry"] for s in sites if "symmetry" in s["infer"]), None)
        found["shapes"] = {name: tuple(site["value"].shape) for name, site in latent.items()}
        transforms = {name: biject_to(site["fn"].support) for name, site in latent.items()}
        z = transform_fn(transforms, {k: s["value"] for k, s in latent.items()}, invert=True)
        return transforms, z, {s["name"]: jnp.asarray(s["infer"]["y"]) for s in sites}

    if not compile:
        out = trace(*args)
    elif key is None:  # a hand-written model: its arguments may steer Python control flow
        out = jax.jit(lambda: trace(*args))()
        if constants is not None:  # the same model on equal arguments: the same trace
            _remember(constants, (out, found))
    else:
        fn = jax.jit(trace)
        out = fn(*args)
        _remember(key, (fn, found))
    return found, out


def _remember(key, value):
    _SITES[key] = value
    while len(_SITES) > _MAX:
        _SITES.pop(next(iter(_SITES)))
