"""A NumPyro model with consistency sites, as pure functions of a flat unconstrained vector.

For unconstrained ``u`` (a flat vector; constrained values ``w = T(u)``) the tempered
log density is ``log pi_beta(u) = log_prior(u) - beta * penalty(u)`` where ``log_prior``
includes the Jacobian of ``T`` and every non-consistency site, and ``penalty`` is the sum
of the consistency sites' ``g``. This is what every sampler works on.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from numpyro import handlers
from numpyro.distributions import biject_to

from ._compile import compiler_options, prepare
from ._plugin import is_consistent_site
from ._problem import Problem

__all__ = ["Target", "make_target"]

#: compiled programs shared by targets that differ only in their data (LRU)
_SHARED: OrderedDict = OrderedDict()
_SHARED_MAX = 32
#: a Problem's structure -> (compiled seeded trace of its model, static site information)
_SITES: dict = {}


def _site_log_prob(site) -> jax.Array:
    log_prob = jnp.sum(site["fn"].log_prob(site["value"]))
    if site.get("scale") is not None:
        log_prob = site["scale"] * log_prob
    return log_prob


@dataclass(frozen=True, eq=False)
class Target:
    """Pure-function view of a model; build it with :func:`make_target`."""

    model: Callable
    args: tuple
    kwargs: dict
    site_shapes: dict[str, tuple[int, ...]]
    transforms: dict[str, Any]
    unravel: Callable[[jax.Array], dict]
    dim: int
    problem: Problem | None = None
    consistent_sites: tuple[str, ...] = field(default=())

    # -- compiled programs shared across data ------------------------------------------
    @property
    def cache_key(self):
        """Everything a compiled program of this target depends on except the data values.

        For a ``Problem``: its network, prior and constraint and the shapes and dtypes of
        ``(X, y)``. ``None`` for a hand-written model (its arguments may steer Python
        control flow, so they stay compile-time constants).
        """
        return _structure_key(self.problem, self.args)

    @property
    def work(self) -> int:
        """``dim * num_data``: the size of one density evaluation, which sets how hard
        XLA optimises the programs (:func:`consistent_nets._compile.compiler_options`).
        ``num_data`` is the leading axis of the largest array argument (1 if none)."""
        rows = [a.shape[0] for a in (*self.args, *self.kwargs.values()) if getattr(a, "ndim", 0) >= 1]
        return self.dim * max(rows, default=1)

    def with_args(self, args) -> "Target":
        """The same target on other model arguments of the same structure (e.g. traced data)."""
        return dataclasses.replace(self, args=tuple(args))

    def jit(self, build: Callable[["Target"], Callable], key) -> Callable:
        """``jax.jit(build(self))``, shared between targets that differ only in their data.

        ``build(target)`` returns a function of arrays that reaches the data only through
        ``target``. Targets with equal :attr:`cache_key` (a new planted teacher, another
        dataset of the same size) and equal ``key`` (the caller's description of ``build``,
        e.g. the sampler and its static settings) reuse one compiled program: the data go
        in as arguments instead of being baked in as constants.
        """
        prepare()  # the persistent compilation cache, at the first compile
        options = compiler_options(self.work)
        shape_key = self.cache_key
        full = (key, shape_key, tuple(sorted((options or {}).items())))
        try:
            hash(full)
        except TypeError:  # e.g. a sampler holding an unhashable schedule
            shape_key = None
        if shape_key is None or key is None:
            return jax.jit(build(self), compiler_options=options)
        fn = _SHARED.get(full)
        if fn is None:
            template = self

            def with_data(args, *xs):
                return build(template.with_args(args))(*xs)

            if isinstance(key, tuple) and key and isinstance(key[0], str):  # names in profiles and logs
                with_data.__name__ = with_data.__qualname__ = key[0].replace("-", "_")

            fn = _SHARED[full] = jax.jit(with_data, compiler_options=options)
            while len(_SHARED) > _SHARED_MAX:
                _SHARED.popitem(last=False)
        else:
            _SHARED.move_to_end(full)
        return partial(fn, self.args)

    # -- constrained <-> unconstrained ---------------------------------------------
    def constrain(self, u: jax.Array) -> dict[str, jax.Array]:
        z = self.unravel(u)
        return {k: self.transforms[k](z[k]) for k in self.site_shapes}

    def constrain_draws(self, u: jax.Array) -> dict[str, jax.Array]:
        """:meth:`constrain` over the leading ``(chain, draw)`` axes of ``u``, compiled once."""
        return self.jit(lambda t: jax.vmap(jax.vmap(t.constrain)), ("constrain-draws",))(u)

    def unconstrain(self, params: dict[str, jax.Array]) -> jax.Array:
        z = {k: self.transforms[k].inv(params[k]) for k in self.site_shapes}
        return ravel_pytree(z)[0]

    # -- densities --------------------------------------------------------------------
    def _trace(self, params):
        model = handlers.substitute(handlers.seed(self.model, rng_seed=0), data=params)
        return handlers.trace(model).get_trace(*self.args, **self.kwargs)

    def terms(self, u: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(log_prior(u), penalty(u), in_set(u))`` in one model evaluation."""
        z = self.unravel(u)
        params, log_prior = {}, jnp.zeros(())
        for k in self.site_shapes:
            params[k] = self.transforms[k](z[k])
            log_prior += jnp.sum(self.transforms[k].log_abs_det_jacobian(z[k], params[k]))
        g, in_set = jnp.zeros(()), jnp.array(True)
        for site in self._trace(params).values():
            if site["type"] != "sample":
                continue
            if is_consistent_site(site):
                g += -_site_log_prob(site)
                in_set &= site["infer"]["in_set"]
            else:
                log_prior += _site_log_prob(site)
        return log_prior, g, in_set

    def log_prior(self, u):
        return self.terms(u)[0]

    def penalty(self, u):
        return self.terms(u)[1]

    def in_set(self, u):
        return self.terms(u)[2]

    def tempered_logdensity(self, u, beta):
        log_prior, g, _ = self.terms(u)
        return log_prior - beta * g

    def training_loss(self, params: dict[str, jax.Array]) -> jax.Array:
        """Sum of the consistency sites' smooth training losses at constrained ``params``."""
        loss = jnp.zeros(())
        for site in self._trace(params).values():
            if is_consistent_site(site):
                loss += site["infer"]["training_loss"]
        return loss

    def slack(self, u: jax.Array) -> jax.Array:
        """Per-point violations of every consistency site, concatenated: ``u`` is in S iff
        all are ``<= 0``, and in S's interior (a neighbourhood of positive volume) where
        all are ``< 0``."""
        params = self.constrain(u)
        parts = [jnp.ravel(site["infer"]["slack"]) for site in self._trace(params).values() if is_consistent_site(site)]
        return jnp.concatenate(parts)

    def in_set_params(self, params: dict[str, jax.Array]) -> jax.Array:
        ok = jnp.array(True)
        for site in self._trace(params).values():
            if is_consistent_site(site):
                ok &= site["infer"]["in_set"]
        return ok

    # -- exact prior draws --------------------------------------------------------------
    def prior_draw(self, rng_key: jax.Array) -> tuple[dict[str, jax.Array], jax.Array]:
        """One exact draw from the model's prior and whether it lies in S."""
        tr = handlers.trace(handlers.seed(self.model, rng_key)).get_trace(
            *self.args, **self.kwargs
        )
        params = {k: tr[k]["value"] for k in self.site_shapes}
        in_set = jnp.array(True)
        for site in tr.values():
            if is_consistent_site(site):
                in_set &= site["infer"]["in_set"]
        return params, in_set


def make_target(model_or_problem, *model_args, **model_kwargs) -> Target:
    """Build a :class:`Target` from a ``Problem`` or a NumPyro model and its arguments.

    Raises
    ------
    ValueError
        When the model has no ``cn.consistent`` site or has discrete latent sites.
    """
    problem = None
    if isinstance(model_or_problem, Problem):
        if model_args or model_kwargs:
            raise ValueError("model_args must be empty when a Problem is given")
        problem = model_or_problem
        model, model_args, model_kwargs = problem.model, problem.model_args, {}
    elif callable(model_or_problem):
        model = model_or_problem
    else:
        raise ValueError(
            f"problem must be a cn.Problem or a NumPyro model (callable), got {type(model_or_problem).__name__}"
        )
    prepare()  # the persistent compilation cache, before the first compile
    try:  # one compiled program instead of dozens of eagerly compiled operations
        sites, consistent_sites, (transforms, z0) = _sites(model, model_args, model_kwargs, _structure_key(problem, model_args))
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - e.g. a transform that is not a pytree: trace eagerly
        sites, consistent_sites, (transforms, z0) = _sites(model, model_args, model_kwargs, None, compile=False)
    flat, unravel = ravel_pytree(jax.device_get(z0))
    return Target(
        model=model,
        args=tuple(model_args),
        kwargs=dict(model_kwargs),
        site_shapes=sites,
        transforms=transforms,
        unravel=unravel,
        dim=int(flat.shape[0]),
        problem=problem,
        consistent_sites=consistent_sites,
    )


def _structure_key(problem, args):
    """What a Problem's programs depend on besides the data values (``None``: no sharing)."""
    if problem is None:
        return None
    key = (problem.net, problem.prior, problem.constraint, tuple((tuple(a.shape), str(a.dtype)) for a in args))
    try:
        hash(key)
    except TypeError:  # a user-defined prior or constraint without value equality
        return None
    return key


def _sites(model, args, kwargs, key, compile: bool = True):
    """Trace ``model`` once (seeded): ``({latent name: shape}, consistency site names,
    (transforms to each latent site's support, unconstrained values))``.

    Compiled (``jax.jit``; NumPyro's supports and transforms are pytrees, so they come
    back with concrete parameters), with the model's arguments as inputs and the program
    kept per ``key`` (a Problem's structure) so that problems of the same shape share it.
    """
    if key is not None and key in _SITES:
        fn, found = _SITES[key]
        return found["shapes"], found["consistent"], fn(*args)
    found = {}

    def trace(*args):
        tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace(*args, **kwargs)
        latent = {n: s for n, s in tr.items() if s["type"] == "sample" and not s["is_observed"]}
        found["consistent"] = tuple(n for n, s in tr.items() if is_consistent_site(s))
        if not found["consistent"]:
            raise ValueError("model has no consistency site: call cn.consistent(...) inside it")
        if not latent:
            raise ValueError("model has no latent sample sites to sample")
        for name, site in latent.items():
            if site["fn"].support.is_discrete:
                raise ValueError(f"model site {name!r} is discrete; only continuous weights are supported")
        found["shapes"] = {name: tuple(site["value"].shape) for name, site in latent.items()}
        transforms = {name: biject_to(site["fn"].support) for name, site in latent.items()}
        return transforms, {name: transforms[name].inv(site["value"]) for name, site in latent.items()}

    if not compile:
        out = trace(*args)
    elif key is None:  # a hand-written model: its arguments may steer Python control flow
        out = jax.jit(lambda: trace(*args))()
    else:
        fn = jax.jit(trace)
        out = fn(*args)
        _SITES[key] = (fn, found)
        while len(_SITES) > _SHARED_MAX:
            _SITES.pop(next(iter(_SITES)))
    return found["shapes"], found["consistent"], out
