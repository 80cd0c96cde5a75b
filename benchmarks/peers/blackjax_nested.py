"""Peer: BlackJAX nested slice sampling (``blackjax.nss``) for log vol(S).

Nested sampling on the library's own potential (``consistent_nets.extend.make_target``), in the unconstrained
space ``u``: prior log density ``log_prior(u)`` (the box prior through the same transform
the library uses) and log likelihood ``L(u) = -g(u)``. S is the plateau ``L = 0``, so the
run compresses the prior mass ``X`` through the shells ``{L > L*}`` until the live points
sit on the plateau:

* each step deletes the ``num_delete`` lowest-likelihood live points and replaces them by
  constrained slice-sampling walks (``num_inner_steps`` hit-and-run slice moves shaped by
  the live points' covariance) started from survivors;
* the run stops before a step would have to delete a point in S (a replacement would need
  ``L > 0``, which nothing has): i.e. when fewer than ``num_delete`` live points lie
  outside S;
* then ``log vol(S) = log X + log(fraction of live points in S)``. Treating a batch
  deletion of ``k`` points from ``m`` live as ``k`` single deletions from ``m, m-1, ...,
  m-k+1`` (Fowlie, Handley & Su 2021), ``log X`` has mean ``-sum 1/m_j`` and variance
  ``sum 1/m_j^2`` (Skilling 2006); the fraction adds its binomial variance. The SE is the
  square root of the sum. The live points in S are the returned draws: uniform on S
  given the run, like the shell they were drawn in.

Settings: ``num_live`` points, ``num_delete = num_live // 2`` (few, wide steps: each
costs one compiled, vectorised call, which suits a CPU or a GPU), and ``num_inner_steps =
max(5, 2 * dim)`` as BlackJAX's documentation recommends (bare ``dim`` can bias the
evidence upward above 10 dimensions). NS needs no gradients; the cost is counted as
forward (likelihood) evaluations: every slice step's stepping-out expansions and
shrinkage evaluations, plus one per step.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import blackjax
import jax
import numpy as np

__all__ = ["NestedSettings", "NESTED", "run_nested", "tiny"]


@dataclass(frozen=True)
class NestedSettings:
    num_live: int = 1000
    num_delete: int | None = None  # default num_live // 2
    num_inner_steps: int | None = None  # default max(5, 2 * dim)
    max_steps: int = 2000
    max_seconds: float = 3600.0


NESTED = NestedSettings()


def tiny(settings: NestedSettings) -> NestedSettings:
    return NestedSettings(num_live=64, num_delete=32, num_inner_steps=10, max_steps=200, max_seconds=120.0)


def run_nested(target, rng_key, settings: NestedSettings = NESTED) -> dict:
    """One nested-sampling run; returns log vol, its SE, the draws in S and the cost."""
    n = settings.num_live
    k = settings.num_delete or n // 2
    inner = settings.num_inner_steps or max(5, 2 * target.dim)
    algo = blackjax.nss(
        logprior_fn=target.log_prior,
        loglikelihood_fn=lambda u: -target.penalty(u),
        num_inner_steps=inner,
        num_delete=k,
    )
    k_init, k_run = jax.random.split(rng_key)
    params, _ = jax.vmap(target.prior_draw)(jax.random.split(k_init, n))
    u0 = jax.vmap(target.unconstrain)(params)
    init = jax.jit(algo.init)
    step = jax.jit(algo.step)
    in_set_fn = jax.jit(jax.vmap(target.in_set))

    start = time.perf_counter()
    state = init(u0)
    compiled_start = time.perf_counter()
    step.lower(k_run, state).compile()
    compile_s = time.perf_counter() - compiled_start
    log_x, var_log_x, forward, steps, reason = 0.0, 0.0, float(n), 0, "done"
    run_start = time.perf_counter()
    while True:
        in_set = np.asarray(in_set_fn(state.particles.position))
        if np.sum(~in_set) < k:
            break
        if steps >= settings.max_steps:
            reason = "max_steps"
            break
        if time.perf_counter() - run_start > settings.max_seconds:
            reason = "max_seconds"
            break
        state, info = step(jax.random.fold_in(k_run, steps), state)
        live = n - np.arange(k)
        log_x -= float(np.sum(1.0 / live))
        var_log_x += float(np.sum(1.0 / live**2))
        upd = info.update_info
        forward += float(np.sum(np.asarray(upd.num_expansions)) + np.sum(np.asarray(upd.num_shrink))) + k
        steps += 1
    run_s = time.perf_counter() - run_start
    positions = np.asarray(state.particles.position)
    fraction = float(np.mean(in_set))
    if fraction > 0:
        log_volume = log_x + math.log(fraction)
        se = math.sqrt(var_log_x + (1.0 - fraction) / (fraction * n))
    else:
        log_volume, se = None, None
    return {
        "log_volume": log_volume,
        "log_volume_se": se,
        "log_x": log_x,
        "fraction_in_set": fraction,
        "draws_u": positions[in_set],
        "num_steps": steps,
        "forward_evals": forward,
        "stop_reason": reason,
        "compile_s": compile_s + (compiled_start - start),
        "run_s": run_s,
        "settings": asdict(settings) | {"num_delete": k, "num_inner_steps": inner},
    }


def run_nested_peer(problem, rng_key, settings: NestedSettings = NESTED, num_runs: int = 2):
    """``num_runs`` independent runs; ``(tree, stats)`` like ``run_blackjax_smc``.

    The volume is the inverse-variance mean of the runs' estimates with its SE; the runs'
    spread is kept in ``stats`` as a check on the per-run SEs. ``tree``: one chain per
    run, the live points in S (truncated to the smallest run's count), all in S.
    """
    from consistent_nets.extend import make_target

    from .blackjax_smc import runs_to_tree

    target = make_target(problem)
    outs = [run_nested(target, key, settings) for key in jax.random.split(rng_key, num_runs)]
    ok = [o for o in outs if o["log_volume"] is not None]
    if ok:
        w = np.asarray([1.0 / o["log_volume_se"] ** 2 for o in ok])
        lv = np.asarray([o["log_volume"] for o in ok])
        log_volume = float(np.sum(w * lv) / np.sum(w))
        log_volume_se = float(1.0 / math.sqrt(np.sum(w)))
    else:
        log_volume, log_volume_se = float("nan"), float("nan")
    kept = [o["draws_u"] for o in outs]
    counts = [k.shape[0] for k in kept]
    stats = {
        "settings": outs[0]["settings"],
        "num_runs": num_runs,
        "compile_s": float(sum(o["compile_s"] for o in outs)),  # each run compiles its own step
        "run_s": float(sum(o["run_s"] for o in outs)),
        "draws_in_set": int(sum(counts)),
        "draws_in_set_per_run": counts,
        "distinct_in_set": int(np.unique(np.concatenate(kept), axis=0).shape[0]),
        "log_volume_per_run": [o["log_volume"] for o in outs],
        "log_volume_se_per_run": [o["log_volume_se"] for o in outs],
        "log_volume": log_volume,
        "log_volume_se": log_volume_se,
        "log_volume_se_note": "per run: sqrt(Var log X + binomial Var of the fraction in S); pooled by inverse variance",
        "steps_per_run": [o["num_steps"] for o in outs],
        "fraction_in_set_per_run": [o["fraction_in_set"] for o in outs],
        "stop_reason_per_run": [o["stop_reason"] for o in outs],
        "forward_evals": float(sum(o["forward_evals"] for o in outs)),
    }
    tree = runs_to_tree(
        target,
        kept,
        {"method": "nested", "log_volume": log_volume, "log_volume_se": log_volume_se, "num_live": settings.num_live},
    )
    return tree, stats
