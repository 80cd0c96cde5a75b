"""A cheap feasibility probe run before tempering: is S empty (or of volume 0)?

Tempering towards an empty S only says so after every stage has been compiled and run
(half a minute and more on XOR). This probe answers most such cases in seconds, with
two small programs and no NUTS:

1. **Prior draws.** ``num_draws`` exact prior draws (fewer where memory asks); if any
   lies in S, S is not empty and the probe is done (the common case: one small program).
2. **Descents towards the interior of S.** From the ``num_starts`` draws with the
   smallest penalty, Adam (optax) minimises ``h(u) = sum_i relu(slack_i(u) + push)**2``
   in the unconstrained space, where ``slack_i <= 0`` iff point ``i`` fits
   (:meth:`Target.slack`). An iterate with every ``slack_i < 0`` *strictly* is an
   interior point of S: the network is continuous in its weights, so a neighbourhood
   of it lies in S and vol(S) > 0; the probe is done. If instead *every* descent has
   stalled outside (its best ``h`` fell by less than ``rtol`` over the last ``window``
   chunks of ``chunk`` steps), the probe refuses the problem; if the step or time
   budget runs out first it is inconclusive and sampling goes ahead.

Why ``h`` and not the sampler's penalty ``g = sum_i relu(slack_i)**2``: at margin 0 every
network whose outputs are all 0 fits any labels (``y * 0 >= 0``), a null set that a
descent on ``g`` reaches in floating point (a linear model on XOR converges to
``w = 0`` exactly), and for any network ``g`` shrinks by scaling the outputs down.
``push > 0`` makes those points cost ``n * push**2`` instead of 0.

What a refusal means, and what it does not
------------------------------------------
An optimiser that fails to reach S does not prove S empty: every start may sit in a
local minimum of ``h`` while S has volume elsewhere. The probe refuses only when every
descent has converged (not merely run out of steps) outside S; that is a decision, and
``method=cn.SMC(feasibility_probe=False)`` overrides it. What the probe *proves* is the
bound it reports: with no success in ``n`` exact prior draws,
``log vol(S) <= log(1 - 0.05**(1/n))`` at 95 % confidence (the rejection bound, about
``log(3/n)``), whatever the optimiser did. Problems that stall every descent are
typically an architecture that cannot fit the data (a linear model on XOR: S is the
null set above), a margin beyond what the prior's weights can reach, or a tube
tighter than the network can follow; the message suggests the remedy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import check_int, check_positive_float
from .._constraints import SLACK_CAP
from .base import chunk_size_for, prior_chunks
from .population import initial_population
from .rejection import log_upper_bound_no_success
from .result import Infeasible

__all__ = ["PROBE_STREAM", "Probe", "probe", "remedy"]

#: the probe's random stream, ``fold_in(rng_key, PROBE_STREAM)``: the sampler's own is untouched
PROBE_STREAM = 0x5EED


@dataclass(frozen=True)
class Probe:
    """Settings of the feasibility probe (defaults sized for seconds on XOR-scale problems).

    Parameters
    ----------
    num_draws : int
        Exact prior draws (default 2**14).
    num_starts : int
        Descents, from the draws with the smallest penalty (default 32).
    chunk : int
        Adam steps between checks (default 100).
    max_steps : int
        Step budget per descent (default 3000).
    learning_rate : float
        Adam step size in the unconstrained space (default 0.05).
    push : float
        The descent minimises ``h = sum_i relu(slack_i + push)**2`` (default 0.01): it
        aims a little inside S, so that it cannot settle on the boundary of S or on a
        null set such as "every output 0" (which fits any labels at margin 0).
    rtol, window : float, int
        A start has stalled when its best ``h`` fell by less than the fraction ``rtol``
        over the last ``window`` chunks (defaults 1e-3 and 3).
    max_seconds : float
        Wall-clock budget of the descent, after which the probe is inconclusive
        (default 20).
    bound_draws, bound_seconds : int, float
        Before refusing, prior draws are added until ``bound_draws`` in all (default
        2**18: ``log vol(S) <= -11.4``) or for at most ``bound_seconds`` after the first
        chunk (default 2; a run that stops on time bounds less, depending on the machine).
    """

    num_draws: int = 2**14
    num_starts: int = 32
    chunk: int = 100
    max_steps: int = 3000
    learning_rate: float = 0.05
    push: float = 0.01
    rtol: float = 1e-3
    window: int = 3
    max_seconds: float = 20.0
    bound_draws: int = 2**18
    bound_seconds: float = 2.0

    def validate(self):
        for name in ("num_draws", "num_starts", "chunk", "max_steps", "window", "bound_draws"):
            check_int(name, getattr(self, name))
        for name in ("learning_rate", "push", "rtol", "max_seconds", "bound_seconds"):
            check_positive_float(name, getattr(self, name))


def _start(target, settings: Probe, num_draws: int):
    """One program: the prior draws (on the probe's own stream), whether any is in S, and
    the ``num_starts`` draws with the smallest penalty with fresh Adam states."""
    optimiser = optax.adam(settings.learning_rate)
    k = min(settings.num_starts, num_draws)

    def build(t):
        def start(rng_key):
            u, penalty, in_set = initial_population(t, jax.random.fold_in(rng_key, PROBE_STREAM), num_draws)
            u = u[jnp.argsort(penalty)[:k]]
            return jnp.any(in_set), (u, jax.vmap(optimiser.init)(u), jnp.full(k, jnp.inf), jnp.zeros(k, bool))

        return start

    return target.jit(build, ("probe-start", settings, num_draws))


def _descend(target, settings: Probe):
    """``chunk`` Adam steps on ``h`` from every start: positions, optimiser states, best
    ``h`` so far and whether an iterate was in the interior of S."""
    optimiser = optax.adam(settings.learning_rate)

    def build(t):
        def objective(u):
            slack = t.slack(u)
            return jnp.sum(jnp.square(jnp.clip(slack + settings.push, 0.0, SLACK_CAP))), jnp.max(slack)

        value_and_grad = jax.value_and_grad(objective, has_aux=True)

        def one(u, state, best, reached):
            def step(carry, _):
                u, state, best, reached = carry
                (h, worst), grad = value_and_grad(u)
                updates, state = optimiser.update(grad, state, u)
                return (optax.apply_updates(u, updates), state, jnp.minimum(best, h), reached | (worst < 0)), None

            return jax.lax.scan(step, (u, state, best, reached), length=settings.chunk)[0]

        return jax.vmap(one)

    return target.jit(build, ("probe-descend", settings))


def probe(target, rng_key, settings: Probe | None = None) -> Infeasible | None:
    """``Infeasible`` when S looks empty (see the module docstring), else ``None``.

    ``rng_key`` is the sampler's key: the probe draws from ``fold_in(rng_key,
    PROBE_STREAM)``, so the sampler's own stream is the same with or without it.
    """
    if settings is None:
        settings = Probe()
    else:
        settings.validate()
    num_draws = min(settings.num_draws, chunk_size_for(target))
    found, (u, state, best, reached) = _start(target, settings, num_draws)(rng_key)
    if bool(found):
        return None
    descend = _descend(target, settings)
    history, start = [], time.perf_counter()
    for steps in range(settings.chunk, settings.max_steps + 1, settings.chunk):
        u, state, best, reached = descend(u, state, best, reached)
        best_host, reached_host = (np.asarray(a) for a in jax.device_get((best, reached)))
        if reached_host.any():
            return None
        history.append(best_host)
        if len(history) > settings.window and np.all(best_host >= history[-1 - settings.window] * (1.0 - settings.rtol)):
            total = _more_draws(target, rng_key, settings, num_draws)
            if total is None:
                return None  # a further prior draw lies in S after all
            return Infeasible(
                f"S looks empty: none of {total} prior draws lies in S, and "
                f"{u.shape[0]} descents from the best {num_draws} stalled outside S "
                f"(smallest squared violation {float(best_host.min()):.3g} after {steps} Adam "
                f"steps). {remedy(target)}",
                log_upper_bound_no_success(total),
            )
        if time.perf_counter() - start > settings.max_seconds:
            return None
    return None


def _more_draws(target, rng_key, settings: Probe, num_draws: int) -> int | None:
    """Before a refusal: more exact prior draws for the bound (``bound_draws`` in all, at
    most ``bound_seconds``), in the chunks rejection sampling uses. The number of draws
    made, none in S; ``None`` if one is in S."""
    total, start = num_draws, None
    chunks = prior_chunks(target, jax.random.fold_in(rng_key, PROBE_STREAM + 1), chunk_size_for(target))
    while total < settings.bound_draws and (start is None or time.perf_counter() - start < settings.bound_seconds):
        _, _, in_set = next(chunks)
        if bool(np.any(jax.device_get(in_set))):
            return None
        total += int(in_set.shape[0])
        start = start or time.perf_counter()  # the clock starts after the compile
    return total


def remedy(target) -> str:
    """What usually makes S non-empty, for the problem ``target`` was built from."""
    problem = target.problem
    tail = (
        "If you know S is not empty, sample anyway with feasibility_probe=False "
        "(e.g. method=cn.SMC(feasibility_probe=False)). The bound is the 95 % rejection bound of the prior draws"
    )
    if problem is None:
        return f"Likely remedies: a looser constraint (a smaller Margin, a larger Tube eps), a wider network or a wider prior. {tail}"
    net, constraint = problem.net, problem.constraint
    sizes = list(net.sizes)
    if len(sizes) == 2:
        widen = (f"a network with a hidden layer (a linear model cannot fit data that are not "
                 f"linearly separable; e.g. cn.MLP({[sizes[0], 8, sizes[1]]}))")
    else:
        widen = f"a wider network (e.g. cn.MLP({[sizes[0], *(2 * w for w in sizes[1:-1]), sizes[-1]]}))"
    kind = type(constraint).__name__
    if kind == "Margin" and constraint.m > 0:
        first = f"a smaller margin (e.g. cn.Margin({constraint.m / 2:g}); the prior bounds how large outputs can be)"
    elif kind == "Tube":
        first = f"a larger Tube tolerance (e.g. cn.Tube({2 * constraint.eps:g}))"
    else:
        first = None
    options = [o for o in (first, widen, "a wider prior") if o]
    return f"Likely remedies: {', '.join(options[:-1])} or {options[-1]}. {tail}"
