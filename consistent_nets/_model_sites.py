"""One seeded trace of a model: its latent sites, supports and consistency sites.

:func:`model_sites` is what :func:`consistent_nets._target.make_target` learns from the
model before anything samples: compiled as one program (NumPyro's supports and
transforms are pytrees), and kept per problem structure so that problems of the same
shape share it.
"""

from __future__ import annotations

import hashlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from numpyro import handlers
from numpyro.distributions import biject_to
from numpyro.infer.util import transform_fn
from numpyro.primitives import Messenger

from ._plugin import is_consistent_site

__all__ = ["check_traced", "model_key", "model_sites", "structure_key"]

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
    latent site's support, unconstrained values, labels of each consistency site, whether
    its outputs are finite))``.

    The static information is a dict: ``shapes`` ({latent name: shape}), ``consistent``
    (consistency site names), ``constraints`` ({site: constraint}), ``output_shapes``
    ({site: shape of its outputs}), ``symmetry`` (the
    first ``net=`` a consistency site declares, or ``None``; checked against ``shapes``),
    ``observed`` (other observed sites) and ``deterministic`` ({name: shape}). Discrete
    latent sites, ``numpyro.param`` sites and distributions that cannot be sampled (an
    improper prior) raise ``ValueError`` naming the site. Compiled (``jax.jit``;
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
        tr = _seeded_trace(model, args, kwargs)
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
        params = [n for n, s in tr.items() if s["type"] == "param"]
        if params:
            raise ValueError(
                f"model sites {params} are numpyro.param: they would stay at their initial values; make "
                "each a sample site with a prior (it is then sampled) or pass the value as an argument"
            )
        found["consistent"] = tuple(s["name"] for s in sites)
        found["constraints"] = {s["name"]: s["infer"]["constraint"] for s in sites}
        found["output_shapes"] = {s["name"]: tuple(jnp.shape(s["infer"]["outputs"])) for s in sites}
        found["symmetry"] = next((s["infer"]["symmetry"] for s in sites if "symmetry" in s["infer"]), None)
        found["shapes"] = {name: tuple(site["value"].shape) for name, site in latent.items()}
        found["observed"] = tuple(
            n for n, s in tr.items() if s["type"] == "sample" and s["is_observed"] and not is_consistent_site(s)
        )
        found["deterministic"] = {
            n: tuple(jnp.shape(s["value"])) for n, s in tr.items() if s["type"] == "deterministic"
        }
        _check_declared_symmetry(sites, found["shapes"])
        transforms = {name: biject_to(site["fn"].support) for name, site in latent.items()}
        z = transform_fn(transforms, {k: s["value"] for k, s in latent.items()}, invert=True)
        labels = {s["name"]: jnp.asarray(s["infer"]["y"]) for s in sites}
        finite = {s["name"]: jnp.all(jnp.isfinite(s["infer"]["outputs"])) for s in sites}
        return transforms, z, labels, finite

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


def check_traced(found, labels, finite) -> None:
    """``ValueError`` naming the consistency site whose outputs at the seeded prior draw are
    not finite (a NaN in the data would otherwise surface as an empty S after the whole
    annealing run) or whose labels' values its constraint refuses (``cn.consistent``
    checks them only where they are concrete at trace time); a ``UserWarning`` naming
    other observed sites."""
    if found["observed"]:
        warnings.warn(
            f"model sites {list(found['observed'])} are observed (a likelihood or numpyro.factor): they count "
            "in the target, so the draws are the prior times their likelihood restricted to S, and log_volume "
            "is the log of its integral over S, not the prior volume of S",
            UserWarning,
            stacklevel=4,
        )
    for name, ok in finite.items():
        if not bool(ok):
            raise ValueError(
                f"consistency site {name!r} has non-finite outputs (NaN or inf) at a prior draw: check the "
                "model's arguments (e.g. a NaN in X) and its arithmetic"
            )
    for name, y in labels.items():  # their values again, concrete now: labels computed in the model were traced
        try:
            found["constraints"][name].check_labels(np.asarray(y), found["output_shapes"][name])
        except ValueError as err:
            raise ValueError(f"{err} (consistency site {name!r})") from None


def _seeded_trace(model, args, kwargs):
    """The model's trace at a prior draw (seed 0); a site whose distribution cannot be
    sampled (an improper prior) is named in a ``ValueError``."""
    names = _SiteNames()
    try:
        with names:
            return handlers.trace(handlers.seed(model, rng_seed=0)).get_trace(*args, **kwargs)
    except NotImplementedError as err:
        site = names.last
        raise ValueError(
            f"model site {site!r} cannot be sampled ({str(err) or 'its distribution has no sample method'}): "
            "an improper prior (e.g. ImproperUniform) has no volume to measure and no draws to start "
            "from; give it a proper prior, e.g. dist.Uniform(-a, a)"
        ) from err


class _SiteNames(Messenger):
    """Remembers the name of the last site the model reached."""

    last = None

    def process_message(self, msg):
        self.last = msg.get("name")


def _check_declared_symmetry(sites, shapes) -> None:
    """``ValueError`` when a ``net=`` declaration does not match the model's latent sites."""
    for site in sites:
        if "symmetry" not in site["infer"]:
            continue
        net, pairs = site["infer"]["symmetry"]
        for param, name in pairs:
            want = tuple(net.param_shapes[param])
            if name not in shapes:
                raise ValueError(
                    f"consistency site {site['name']!r} declares net={net!r}, whose parameter {param!r} is "
                    f"site {name!r}, but the model has no latent sample site {name!r} (sites=... maps them)"
                )
            if shapes[name] != want:
                raise ValueError(
                    f"consistency site {site['name']!r} declares net={net!r}, whose parameter {param!r} has "
                    f"shape {want}, but site {name!r} has shape {shapes[name]}"
                )


def _remember(key, value):
    _SITES[key] = value
    while len(_SITES) > _MAX:
        _SITES.pop(next(iter(_SITES)))
