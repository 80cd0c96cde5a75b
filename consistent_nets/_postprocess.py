"""What ``cn.sample`` adds to every sampler's result: effective draws and symmetrisation.

Both are exact bookkeeping on the returned draws, the same for every method:

* **effective draws** (:mod:`.samplers.effective`) on function-space features — the
  outputs of the consistency sites at the data and, for a ``Problem``, at 16 fixed probe
  inputs — recorded as ``attrs["ess"]`` (and per population as ``effective_draws`` in the stages group);
* **symmetrisation** for a ``Problem`` with an MLP, or a model whose consistency site
  declares ``net=``: each draw gets an independent uniform element of the hidden-unit
  symmetry group (:mod:`.symmetry`) on the network's weight sites. The target is invariant
  under the group, so this maps a sample of it to a sample of it, and it removes the
  orbit clumps that resampled siblings share. Function space, and so the effective
  draws, are unchanged by it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._output import to_tree
from ._problem import Problem
from .samplers.effective import LINEAGE_LAG, effective_draws, lineage_groups
from .symmetry import symmetrize_params

__all__ = ["annotate", "user_tree", "function_space_features", "SYMMETRIZE_SALT"]

#: folded into the user's key for the symmetry draws, apart from the sampler's keys
SYMMETRIZE_SALT = 0x53594D
#: fixed probe inputs: the same features for every run of a problem
_PROBE_KEY = 0
#: draws whose features are computed at once (bounds the network's activations in memory)
FEATURE_CHUNK = 4096


def function_space_features(target, posterior: dict) -> np.ndarray:
    """Outputs ``(chain, draw, feature)`` of every draw at the data (and probes for a
    Problem), computed ``FEATURE_CHUNK`` draws at a time (:func:`in_chunks`)."""
    shape = next(iter(posterior.values())).shape[:2]
    params = {k: np.asarray(v).reshape((-1,) + v.shape[2:]) for k, v in posterior.items()}
    problem = target.problem
    # compiled once per problem structure, or per model and argument values (Target.jit), not per call
    if isinstance(problem, Problem):
        X = jnp.asarray(problem.probe_points(jax.random.key(_PROBE_KEY)))
        outputs = target.jit(lambda t: jax.vmap(t.problem.net.apply, in_axes=(0, None)), ("net-outputs",))
        fn = lambda p: outputs(p, X)  # noqa: E731
    else:
        fn = target.jit(lambda t: jax.vmap(t.consistency_outputs), ("consistency-outputs",))
    f = np.asarray(in_chunks(fn, params), dtype=np.float64)
    return f.reshape(shape + (-1,))


def in_chunks(fn, params: dict):
    """``fn`` over the leading axis of ``params``, ``FEATURE_CHUNK`` rows at a time (the
    last chunk padded to that size, so one compiled program serves every chunk): the
    activations held at once are a chunk's. ``fn``'s outputs are an array or a dict."""
    num_draws = next(iter(params.values())).shape[0]
    if num_draws <= FEATURE_CHUNK:
        return jax.tree.map(np.asarray, fn(params))
    parts = []
    for start in range(0, num_draws, FEATURE_CHUNK):
        rows = np.minimum(np.arange(start, start + FEATURE_CHUNK), num_draws - 1)  # the last chunk padded
        part = fn({k: v[rows] for k, v in params.items()})
        parts.append(jax.tree.map(lambda a: np.asarray(a)[: min(FEATURE_CHUNK, num_draws - start)], part))
    return jax.tree.map(lambda *a: np.concatenate(a), *parts)


def deterministic_sites(target, posterior: dict) -> dict:
    """The model's ``numpyro.deterministic`` sites at every draw, ``(chain, draw, ...)``."""
    if not target.deterministic:
        return {}
    shape = next(iter(posterior.values())).shape[:2]
    params = {k: np.asarray(posterior[k]).reshape((-1,) + tuple(s)) for k, s in target.site_shapes.items()}
    fn = target.jit(lambda t: jax.vmap(t.deterministic_values), ("deterministic-sites",))
    return {k: v.reshape(shape + v.shape[1:]) for k, v in in_chunks(fn, params).items()}


def annotate(result, target, rng_key, symmetrize: bool):
    """The result with its effective draws recorded and, when asked, symmetrised draws."""
    features = function_space_features(target, result.posterior)
    groups = None
    if result.structure == "lineage":
        groups = lineage_groups(result.ancestry, LINEAGE_LAG)
        # which draws count as one: diagnostics test one draw per group
        result.sample_stats["lineage"] = groups.astype(np.int32)
    ess, per_chain, inflation = effective_draws(features, result.structure, groups)
    result.attrs["draw_structure"] = result.structure
    result.attrs["ess"] = ess
    result.attrs["ess_method"] = {
        "independent": "independent draws: every row counts",
        "chains": "ArviZ bulk ESS of function-space features over chains (median over features)",
        "lineage": (
            f"SMC siblings sharing an ancestor {LINEAGE_LAG} resamplings back count once; "
            "between-population spread inflates the variance (median over features)"
        ),
    }[result.structure]
    if np.isfinite(inflation):
        result.attrs["ess_between_population_inflation"] = inflation
    if result.stages:
        chains = next(v for dims, v in result.stages.values() if dims[0] == "chain").shape[0]
        full = np.full(chains, np.nan)  # nan: a population without draws
        full[np.arange(chains) if result.stage_chains is None else result.stage_chains] = per_chain
        result.stages["effective_draws"] = (("chain",), full)
    can = target.symmetry is not None
    if symmetrize and can:  # a Problem's network, or the one a model declares with net=
        net, pairs = target.symmetry
        key = jax.random.fold_in(rng_key, SYMMETRIZE_SALT)
        moved = symmetrize_params({param: result.posterior[site] for param, site in pairs}, net, key)
        result.posterior = result.posterior | {site: moved[param] for param, site in pairs}
    result.attrs["symmetrized"] = int(bool(symmetrize and can))
    return result


def user_tree(result, target, rng_key, symmetrize: bool):
    """The DataTree a user gets from a sampler's result: annotated (:func:`annotate`),
    with the target's data and spec and the model's ``numpyro.deterministic`` sites at
    every draw in the posterior (``cn.sample`` and ``cn.bound_log_volume`` alike)."""
    result = annotate(result, target, rng_key, symmetrize)
    result.posterior = result.posterior | deterministic_sites(target, result.posterior)
    return to_tree(result, target)
