"""Reading draws out of a DataTree, probe points, and function-space outputs.

Function-space summaries are the network outputs ``f_w(x)`` at *probe points*: the
training inputs plus points drawn uniformly from the data's bounding box widened by 10 %
on each side. Outputs are invariant under the hidden-unit symmetries, so R-hat, ESS and
two-sample distances on them are meaningful where weight-space ones are not. For the
two-sample test the training outputs are replaced by the sorted per-point depths
``-slack_i(w)`` (how far inside the constraint each training point is, in increasing
order), which carry the same information about the fit up to the order of the points and
expose samplers that stop at the boundary of S.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_key
from .._nets import MLP
from .._problem import Problem
from .._trees import check_tree, posterior_params

__all__ = ["check_key", "get_net", "flat_params", "probe_points", "outputs", "features", "check_tree"]


def get_net(problem) -> MLP:
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a cn.Problem, got {type(problem).__name__}")
    return problem.net


def flat_params(tree, net: MLP) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    """Weight sites of every draw, flattened to ``(chain * draw, ...)``, and ``(chain, draw)``."""
    return posterior_params(tree, net.param_shapes, owner=repr(net))


def probe_points(problem: Problem, rng_key: jax.Array, num_random: int = 16) -> np.ndarray:
    """Training inputs followed by ``num_random`` uniform points in the widened bounding box."""
    return problem.probe_points(rng_key, num_random)


def outputs(problem: Problem, params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """``f_w(X)`` for every flattened draw: shape ``(N, n_probe * d_out)``."""
    apply = jax.jit(jax.vmap(problem.net.apply, in_axes=(0, None)))
    f = np.asarray(apply({k: jnp.asarray(v) for k, v in params.items()}, jnp.asarray(X)))
    return f.reshape(f.shape[0], -1)


def subsample(rng_key: jax.Array, num: int, size: int) -> np.ndarray:
    """Indices of ``min(num, size)`` draws out of ``num`` without replacement (sorted)."""
    if num <= size:
        return np.arange(num)
    return np.sort(np.asarray(jax.random.choice(rng_key, num, (size,), replace=False)))


def features(problem: Problem, params: dict[str, np.ndarray], X_random: np.ndarray) -> np.ndarray:
    """Sorted training depths then outputs at ``X_random``: ``(N, n + n_random * d_out)``."""
    net, constraint = problem.net, problem.constraint

    def one(p):
        depth = jnp.sort(-constraint.point_slack(net.apply(p, problem.X), problem.y))
        return jnp.concatenate([depth, net.apply(p, X_random).ravel()])

    return np.asarray(jax.jit(jax.vmap(one))({k: jnp.asarray(v) for k, v in params.items()}))
