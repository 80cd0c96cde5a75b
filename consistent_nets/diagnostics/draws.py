"""What the diagnostics read from a sample: the draws, their fit to the data, and outputs.

Every check works on a :class:`Subject`: the ``cn.Problem`` or NumPyro model that was
sampled, as a :class:`~consistent_nets.extend.Target`. From it, for every draw:

* the *fit* (:meth:`Target.fit`): membership and per-point slack ``slack_i(w)`` of
  every consistency site (``<= 0`` exactly where point ``i`` is fitted), and the
  network outputs those sites constrain, i.e. the outputs at the training inputs;
* *probe outputs*: for a ``Problem`` the network at random points of the data's
  bounding box widened by 10 % on each side (or the inputs given as ``probes``); for a
  model its outputs under :func:`cn.predict <consistent_nets.predict>` at the model
  arguments given as ``probes`` (none by default).

Function-space summaries (outputs at the training inputs and at the probes) are
invariant under the hidden-unit symmetries, so R-hat, ESS and two-sample distances on
them are meaningful where weight-space ones are not. For the two-sample test the
training outputs are replaced by the sorted per-point depths ``-slack_i(w)`` (how far
inside the constraint each training point is, in increasing order), which carry the
same information about the fit up to the order of the points and expose samplers that
stop at the boundary of S.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .._api import predict
from .._checks import check_key
from .._nets import MLP
from .._problem import Problem
from .._target import Target, make_target
from .._trees import check_tree, posterior_params

__all__ = [
    "Subject", "subject_of", "check_key", "get_net", "flat_params", "fit", "probe_outputs",
    "depth_features", "subsample", "check_tree",
]


@dataclass(frozen=True)
class Subject:
    """The problem or model a sample was drawn for, with its target."""

    target: Target
    problem: Problem | None
    model: object
    model_args: tuple
    model_kwargs: dict

    @property
    def owner(self) -> str:
        return repr(self.problem.net) if self.problem is not None else "the model"


def subject_of(problem, model_args: tuple, model_kwargs: dict) -> Subject:
    """``ValueError`` unless ``problem`` is a ``cn.Problem`` or a NumPyro model (callable)."""
    if not isinstance(problem, Problem) and not callable(problem):
        raise ValueError(f"problem must be a cn.Problem or a NumPyro model, got {type(problem).__name__}")
    target = make_target(problem, *model_args, **model_kwargs)
    if isinstance(problem, Problem):
        return Subject(target, problem, problem.model, problem.model_args, {})
    return Subject(target, None, problem, tuple(model_args), dict(model_kwargs))


def get_net(problem) -> MLP:
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a cn.Problem, got {type(problem).__name__}")
    return problem.net


def flat_params(tree, net_or_subject) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    """Latent sites of every draw, flattened to ``(chain * draw, ...)``, and ``(chain, draw)``."""
    if isinstance(net_or_subject, Subject):
        s = net_or_subject
        return posterior_params(tree, s.target.site_shapes, owner=s.owner)
    return posterior_params(tree, net_or_subject.param_shapes, owner=repr(net_or_subject))


def fit(subject: Subject, params: dict[str, np.ndarray]):
    """:class:`~consistent_nets._target.Fit` of every flattened draw, as numpy arrays ``(N, ...)``."""
    fit_draws = subject.target.jit(lambda t: jax.vmap(t.fit), ("fit-draws",))
    found = fit_draws({k: jnp.asarray(v) for k, v in params.items()})
    return jax.tree.map(np.asarray, found)


def probe_outputs(subject: Subject, tree, rng_key, num_probes: int, probes=None) -> tuple[np.ndarray, str]:
    """Outputs of every draw at the probes, ``(N, P)``, and what the probes are.

    ``probes``: for a ``Problem`` inputs ``(m, d_in)`` (default ``num_probes`` random
    points in the widened bounding box); for a model a tuple of its arguments without
    labels, passed to ``cn.predict`` (default: no probes, ``P = 0``).
    """
    if subject.problem is not None:
        problem = subject.problem
        X = problem.probe_points(rng_key, num_probes)[problem.num_data :] if probes is None else np.asarray(probes)
        if X.shape[0] == 0:
            return np.zeros((_num_draws(tree), 0), np.float32), "no probe points"
        f = predict(subject.problem, tree, X)
        what = f"{X.shape[0]} {'random ' if probes is None else ''}probe points"
    elif probes is None:
        return np.zeros((_num_draws(tree), 0), np.float32), "no probe inputs given"
    else:
        if not isinstance(probes, tuple):
            raise ValueError("probes must be a tuple of the model's arguments (labels None), e.g. (X_probe,)")
        f = predict(subject.model, tree, *probes)
        if isinstance(f, dict):
            f = np.concatenate([v.reshape(*v.shape[:2], -1) for v in f.values()], axis=2)
        what = "the model at the probes given"
    f = np.asarray(f)
    return f.reshape(f.shape[0] * f.shape[1], -1), what


def _num_draws(tree) -> int:
    post = check_tree(tree)["posterior"]
    return int(post.sizes["chain"] * post.sizes["draw"])


def depth_features(found, f_probe: np.ndarray) -> np.ndarray:
    """Sorted training depths then probe outputs: ``(N, n + P)``."""
    return np.concatenate([np.sort(-found.slack, axis=1), f_probe], axis=1)


def subsample(rng_key: jax.Array, num: int, size: int) -> np.ndarray:
    """Indices of ``min(num, size)`` draws out of ``num`` without replacement (sorted)."""
    if num <= size:
        return np.arange(num)
    return np.sort(np.asarray(jax.random.choice(rng_key, num, (size,), replace=False)))
