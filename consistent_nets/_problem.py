"""``Problem``: data, an architecture, a prior and a constraint, as a NumPyro model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import InfeasibleError
from ._constraints import Constraint
from ._nets import MLP
from ._plugin import consistent
from ._priors import Prior

__all__ = ["Problem"]


class Problem:
    """The standard problem: sample ``w ~ prior`` restricted to S = {w : net_w fits (X, y)}.

    Parameters
    ----------
    net : MLP
    X : array, shape (n, d_in)
    y : array
        Labels or targets, checked against ``constraint`` (see ``Margin``, ``Tube``).
    prior : BoxPrior or NormalPrior
    constraint : Margin or Tube

    Raises
    ------
    ValueError
        A bad argument (the message starts with its name): wrong types or shapes,
        NaN/inf, ``X`` width != ``net.d_in``, labels outside the constraint's domain.
    InfeasibleError
        The data contradict themselves (identical rows of ``X`` with labels no output
        can meet together, see ``Constraint.contradiction``): S is empty or of volume 0,
        ``log_volume_upper_bound = -inf``.

    Attributes
    ----------
    model : callable
        A NumPyro model ``model(X, y)`` with one site per weight array and one
        consistency site ``"data"``; ``model_args`` are ``(X, y)`` as prepared.

    Examples
    --------
    >>> import consistent_nets as cn
    >>> X, y = cn.datasets.xor()
    >>> problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, prior=cn.BoxPrior(3.0), constraint=cn.Margin(0.0))
    >>> problem.num_params, problem.num_data
    (13, 4)
    """

    def __init__(self, net: MLP, X, y, prior: Prior, constraint: Constraint):
        if not isinstance(net, MLP):
            raise ValueError(f"net must be a cn.MLP, got {type(net).__name__}")
        if not isinstance(prior, Prior):
            raise ValueError(f"prior must be cn.BoxPrior or cn.NormalPrior, got {prior!r}")
        if not isinstance(constraint, Constraint):
            raise ValueError(f"constraint must be cn.Margin or cn.Tube, got {constraint!r}")
        try:
            X_np = np.asarray(X)
        except (TypeError, ValueError) as err:
            raise ValueError(f"X must be a numeric array of shape (n, d_in): {err}") from None
        if X_np.dtype.kind not in "iuf":
            raise ValueError(f"X must be numeric, got dtype {X_np.dtype}")
        if X_np.ndim != 2:
            raise ValueError(f"X must have shape (n, d_in), got {X_np.shape}")
        if X_np.shape[0] == 0:
            raise ValueError("X must hold at least one data point")
        if not np.all(np.isfinite(X_np)):
            raise ValueError("X contains NaN or inf")
        if X_np.shape[1] != net.d_in:
            raise ValueError(
                f"X has {X_np.shape[1]} features but net expects d_in = {net.d_in}"
            )
        try:
            y_np = np.asarray(y)
        except (TypeError, ValueError) as err:
            raise ValueError(f"y must be an array with one entry per row of X: {err}") from None
        if y_np.ndim == 0 or y_np.shape[0] != X_np.shape[0]:
            raise ValueError(
                f"y must have one entry per row of X ({X_np.shape[0]}), got shape {y_np.shape}"
            )
        self.net = net
        self.prior = prior
        self.constraint = constraint
        with np.errstate(over="ignore"):
            X32 = X_np.astype(np.float32)
        if not np.all(np.isfinite(X32)):
            raise ValueError("X contains values too large for float32")
        self.X = jnp.asarray(X32)
        self.y = constraint.prepare_labels(y_np, net.d_out)
        # data that no network can fit: S is empty (or null) whatever the architecture
        found = constraint.contradiction(X32, self.y)
        if found is not None:
            raise InfeasibleError(f"contradictory data: {found}", float("-inf"))

    @property
    def num_data(self) -> int:
        return int(self.X.shape[0])

    @property
    def num_params(self) -> int:
        return self.net.num_params

    @property
    def model_args(self) -> tuple:
        return (self.X, self.y)

    def model(self, X, y):
        """The NumPyro model: prior sites ``w0, b0, ...`` and the consistency site."""
        params = self.prior.sample_sites(self.net.param_shapes)
        consistent("data", self.net.apply(params, X), y, self.constraint)

    def probe_points(self, rng_key: jax.Array, num_random: int = 16) -> np.ndarray:
        """The training inputs followed by ``num_random`` uniform points in their bounding
        box widened by 10 % on each side: where function-space summaries look."""
        X = np.asarray(self.X)
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-3)
        u = np.asarray(jax.random.uniform(rng_key, (num_random, X.shape[1])))
        random = (lo - pad) + u * (hi - lo + 2 * pad)
        return np.concatenate([X, random.astype(np.float32)], axis=0)

    def outputs(self, params: dict[str, jax.Array], X=None) -> jax.Array:
        return self.net.apply(params, self.X if X is None else X)

    def __repr__(self):
        return (
            f"Problem({self.net!r}, n={self.num_data}, prior={self.prior!r}, "
            f"constraint={self.constraint!r})"
        )
