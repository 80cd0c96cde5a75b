"""A NumPyro model with consistency sites, as pure functions of a flat unconstrained vector.

One path from the user's model to every sampler: the densities are NumPyro's own. For an
unconstrained flat vector ``u`` (constrained values ``w = T(u)``, ``T`` NumPyro's
``biject_to`` of each latent site's support, the registry its inference uses)

    log pi_beta(u) = -potential_energy(temper(model, beta), args, kwargs, unravel(u))
                   = log_prior(u) - beta * g(u),

where :func:`numpyro.infer.util.potential_energy` substitutes ``T(u)`` at every latent
site and adds ``log |det J_T(u)|`` as factor sites, its ``log_density`` applies site
scales (``plate`` subsampling, ``handlers.scale``, masks), ``cn.temper`` scales only the
consistency sites' ``-g`` by ``beta``, and every other site (priors of any
distribution with a bijective support transform, ordinary likelihoods) counts in
``log_prior``. A :class:`~consistent_nets.Problem` is one such model, written by the
library.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro import handlers
from numpyro.infer.util import potential_energy, transform_fn

from ._compile import prepare
from ._plugin import is_consistent_site, temper
from ._model_sites import check_traced, model_key, model_sites, structure_key
from ._problem import Problem
from ._reuse import shared_jit
from .symmetry import check_declared

__all__ = ["Target", "Fit", "make_target"]


class Fit(NamedTuple):
    """What the consistency sites say about one draw, every site's points concatenated."""

    in_set: jax.Array  # bool: every site fitted
    slack: jax.Array  # (n,) per-point violation, <= 0 exactly where a point fits
    outputs: jax.Array  # (n * d_out,) the network outputs the sites constrain


def _consistency_sites(tr) -> list[dict]:
    return [site for site in tr.values() if is_consistent_site(site)]


@dataclass(frozen=True, eq=False)
class Target:
    """Pure-function view of a model; build it with :func:`make_target`.

    Attributes
    ----------
    site_shapes : dict
        Shape of every latent sample site, in the model's order.
    transforms : dict
        NumPyro's ``biject_to(support)`` of every latent site: ``w = T(u)``.
    dim : int
        Length of the flat unconstrained vector ``u``.
    problem : Problem or None
        The problem when the model is a ``cn.Problem``'s.
    symmetry : tuple or None
        ``(net, ((param, site), ...))`` declared by ``cn.consistent(..., net=...)`` (or
        the ``Problem``'s network): the hidden-unit group acting on the sites.
    labels, constraints : dict
        Each consistency site's labels and constraint, as the model was built with.
    """

    model: Callable
    args: tuple
    kwargs: dict
    site_shapes: dict[str, tuple[int, ...]]
    transforms: dict[str, Any]
    unravel: Callable[[jax.Array], dict]
    dim: int
    problem: Problem | None = None
    consistent_sites: tuple[str, ...] = field(default=())
    symmetry: tuple | None = None
    labels: dict = field(default_factory=dict)
    constraints: dict = field(default_factory=dict)
    #: a hand-written model's :func:`~consistent_nets._model_sites.model_key` (``None``: no reuse)
    constants_key: Any = None
    #: shape of every ``numpyro.deterministic`` site (``cn.sample`` adds them to the posterior)
    deterministic: dict = field(default_factory=dict)

    # -- compiled programs shared across data ------------------------------------------
    @property
    def cache_key(self):
        """Everything a compiled program of this target depends on except the data values.

        For a ``Problem``: its network, prior and constraint and the shapes and dtypes of
        ``(X, y)``. ``None`` for a hand-written model (its arguments may steer Python
        control flow, so they stay compile-time constants).
        """
        return structure_key(self.problem, self.args)

    @property
    def work(self) -> int:
        """``dim * num_data``: the size of one density evaluation, which sets how hard
        XLA optimises the programs (:func:`consistent_nets._compile.compiler_options`).
        ``num_data`` is the leading axis of the largest array argument (1 if none)."""
        rows = [a.shape[0] for a in (*self.args, *self.kwargs.values()) if getattr(a, "ndim", 0) >= 1]
        return self.dim * max(rows, default=1)

    def with_args(self, args) -> "Target":
        """The same target on other model arguments of the same structure (e.g. traced data)."""
        constants = None if self.problem is not None else model_key(self.model, args, self.kwargs)
        return dataclasses.replace(self, args=tuple(args), constants_key=constants)

    def jit(self, build: Callable[["Target"], Callable], key) -> Callable:
        """``jax.jit(build(self))``, shared between targets that differ only in their data.

        ``build(target)`` returns a function of arrays that reaches the data only through
        ``target``. Targets with equal :attr:`cache_key` (a new planted teacher, another
        dataset of the same size) and equal ``key`` (the caller's description of ``build``,
        e.g. the sampler and its static settings) reuse one compiled program: the data go
        in as arguments instead of being baked in as constants. A hand-written model's
        programs bake its arguments in and are reused for the same model on equal
        arguments (:attr:`constants_key`), as ``jax.jit`` reuses a function's.
        """
        return shared_jit(self, build, key)

    # -- constrained <-> unconstrained (NumPyro's transform_fn) -------------------------
    def constrain(self, u: jax.Array) -> dict[str, jax.Array]:
        return transform_fn(self.transforms, self.unravel(u))

    def constrain_draws(self, u: jax.Array) -> dict[str, jax.Array]:
        """:meth:`constrain` over the leading ``(chain, draw)`` axes of ``u``, compiled once."""
        return self.jit(lambda t: jax.vmap(jax.vmap(t.constrain)), ("constrain-draws",))(u)

    def unconstrain(self, params: dict[str, jax.Array]) -> jax.Array:
        z = transform_fn(self.transforms, {k: params[k] for k in self.site_shapes}, invert=True)
        return ravel_pytree(z)[0]

    # -- densities (NumPyro's potential_energy under cn.temper) --------------------------
    def tempered_logdensity(self, u: jax.Array, beta) -> jax.Array:
        """``log pi_beta(u) = log_prior(u) - beta * g(u)``, Jacobians included."""
        return -potential_energy(temper(self.model, beta), self.args, self.kwargs, self.unravel(u))

    def terms(self, u: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(log_prior(u), penalty(u), in_set(u))`` in one model evaluation.

        NumPyro's potential is one number; the samplers need its two parts (to choose
        the next ``beta`` and to weight particles) and membership. ``log pi_beta`` is
        affine in ``beta``, so one forward-mode derivative at ``beta = 0`` gives both
        parts: the value is ``log_prior`` and the derivative is ``-g``. Membership is
        read from the consistency sites of the same evaluation's trace.
        """
        params = self.unravel(u)

        def log_density(beta):
            with handlers.trace() as tr:
                value = -potential_energy(temper(self.model, beta), self.args, self.kwargs, params)
            return value, _all_in_set(_consistency_sites(tr))

        zero, one = jnp.zeros((), u.dtype), jnp.ones((), u.dtype)
        log_prior, minus_g, in_set = jax.jvp(log_density, (zero,), (one,), has_aux=True)
        return log_prior, -minus_g, in_set

    def log_prior(self, u):
        return self.tempered_logdensity(u, 0.0)

    def penalty(self, u):
        return self.terms(u)[1]

    def in_set(self, u):
        return self.in_set_params(self.constrain(u))

    # -- the consistency sites at constrained values ------------------------------------
    def _trace(self, params):
        model = handlers.substitute(handlers.seed(self.model, rng_seed=0), data=params)
        return handlers.trace(model).get_trace(*self.args, **self.kwargs)

    def deterministic_values(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """The model's ``numpyro.deterministic`` sites at constrained ``params``."""
        tr = self._trace(params)
        return {name: tr[name]["value"] for name in self.deterministic}

    def training_loss(self, params: dict[str, jax.Array]) -> jax.Array:
        """Sum of the consistency sites' smooth training losses at constrained ``params``."""
        return sum((s["infer"]["training_loss"] for s in _consistency_sites(self._trace(params))), jnp.zeros(()))

    def consistency_outputs(self, params: dict[str, jax.Array]) -> jax.Array:
        """The outputs of every consistency site at constrained ``params``, flattened."""
        return self.fit(params).outputs

    def slack(self, u: jax.Array) -> jax.Array:
        """Per-point violations of every consistency site, concatenated: ``u`` is in S iff
        all are ``<= 0``, and in S's interior (a neighbourhood of positive volume) where
        all are ``< 0``."""
        return self.fit(self.constrain(u)).slack

    def in_set_params(self, params: dict[str, jax.Array]) -> jax.Array:
        return _all_in_set(_consistency_sites(self._trace(params)))

    def fit(self, params: dict[str, jax.Array]) -> Fit:
        """Membership, per-point slack and outputs of every consistency site at ``params``."""
        sites = _consistency_sites(self._trace(params))
        return Fit(
            _all_in_set(sites),
            jnp.concatenate([jnp.ravel(s["infer"]["slack"]) for s in sites]),
            jnp.concatenate([jnp.ravel(s["infer"]["outputs"]) for s in sites]),
        )

    # -- exact prior draws --------------------------------------------------------------
    def prior_draw(self, rng_key: jax.Array) -> tuple[dict[str, jax.Array], jax.Array]:
        """One exact draw from the model's prior and whether it lies in S."""
        tr = handlers.trace(handlers.seed(self.model, rng_key)).get_trace(*self.args, **self.kwargs)
        params = {k: tr[k]["value"] for k in self.site_shapes}
        return params, _all_in_set(_consistency_sites(tr))


def _all_in_set(sites) -> jax.Array:
    in_set = jnp.array(True)
    for site in sites:
        in_set &= site["infer"]["in_set"]
    return in_set


def make_target(model_or_problem, *model_args, **model_kwargs) -> Target:
    """Build a :class:`Target` from a ``Problem`` or a NumPyro model and its arguments.

    The model is traced once with a prior draw (one small program, shared per problem
    structure: :mod:`._model_sites`): that checks the consistency sites' labels (a
    ``ValueError`` before any sampler compiles; a ``Problem`` checks its own when built)
    and gives the latent sites, their shapes and supports. The densities are then
    NumPyro's ``potential_energy`` (see the module docstring). NumPyro's
    ``initialize_model`` is not used: it evaluates the potential eagerly at an initial
    point (about 150 small XLA compilations on XOR, seconds of start-up) that the
    samplers do not need, since they start from exact prior draws; the potential it
    returns is ``potential_energy`` of the same model, which :class:`Target` calls.

    Raises
    ------
    ValueError
        When the model has no ``cn.consistent`` site with labels, has discrete latent
        sites, ``numpyro.param`` sites or an improper prior, a ``net=`` that does not fit
        its sites or that it does not honour at a prior draw, or a consistency site's labels do not fit its outputs or its outputs
        are not finite at a prior draw.

    Warns
    -----
    UserWarning
        When the model has observed sites besides the consistency sites: they count in
        the target, so ``log_volume`` is not the prior volume of S.
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
    key = structure_key(problem, model_args)
    constants = model_key(model, model_args, model_kwargs) if problem is None else None
    try:  # one compiled program instead of dozens of eagerly compiled operations
        found, (transforms, z0, labels, finite) = model_sites(model, model_args, model_kwargs, key, constants=constants)
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - e.g. a transform that is not a pytree: trace eagerly
        found, (transforms, z0, labels, finite) = model_sites(model, model_args, model_kwargs, None, compile=False)
    check_traced(found, labels, finite)
    flat, unravel = ravel_pytree(jax.device_get(z0))
    symmetry = found["symmetry"]
    if symmetry is None and problem is not None:
        symmetry = (problem.net, tuple((k, k) for k in problem.net.param_shapes))
    target = Target(
        model=model,
        args=tuple(model_args),
        kwargs=dict(model_kwargs),
        site_shapes=found["shapes"],
        transforms=transforms,
        unravel=unravel,
        dim=int(flat.shape[0]),
        problem=problem,
        consistent_sites=found["consistent"],
        symmetry=symmetry,
        labels={k: np.asarray(v) for k, v in labels.items()},
        constraints=found["constraints"],
        constants_key=constants,
        deterministic=found["deterministic"],
    )
    if problem is None and symmetry is not None:  # cn.sample will symmetrize on the declared sites
        check_declared(target, flat)
    return target
