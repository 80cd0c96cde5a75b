"""Consistency constraints: an exact membership test and a penalty that is 0 exactly on S.

Each constraint maps network outputs ``f`` of shape ``(n, d_out)`` and targets ``y`` to

* ``in_set(f, y)``: ``True`` iff every training point is fitted (the definition of S);
* ``penalty(f, y) = g >= 0``: finite everywhere, exactly 0 iff ``in_set``; the tempered
  target is ``prior(w) * exp(-beta * g(w))``;
* ``training_loss(f, y)``: the smooth loss the folk SGD heuristic minimises.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_real, concrete, parse_spec

__all__ = ["Constraint", "Margin", "Tube", "SLACK_CAP"]

#: per-point slack is capped here inside the penalty, so that ``g`` and ``beta * g`` stay
#: finite in float32 for ``beta`` up to ~1e8 and any weights; 0 on S and > 0 off S still hold.
SLACK_CAP = 1e6


@dataclass(frozen=True)
class Constraint:
    """Base class: subclasses define the three functions of ``(outputs, y)``.

    Constraints are frozen dataclasses: they compare and hash by type and parameters,
    ``Margin(0.0) == Margin(0)``.
    """

    def spec(self) -> str:
        """A ``"kind:number"`` string that rebuilds the constraint (:meth:`from_spec`)."""
        raise NotImplementedError

    @staticmethod
    def from_spec(spec: str) -> "Constraint":
        """``"margin:0"`` -> ``Margin(0.0)``, ``"tube:0.1"`` -> ``Tube(0.1)``.

        Examples
        --------
        >>> Constraint.from_spec("tube:0.1")
        Tube(eps=0.1)
        """
        return parse_spec("constraint", spec, {"margin": Margin, "tube": Tube}, "'margin:0' or 'tube:0.1'")

    def prepare_labels(self, y, d_out: int) -> jax.Array:
        """Labels as a user holds them, converted to what the constraint uses and checked.

        The conversions are conveniences of :class:`~consistent_nets.Problem`: binary
        ``{0, 1}`` labels become ``±1`` and one-output ``Tube`` targets of shape ``(n,)``
        become ``(n, 1)``; the result passes :meth:`check_labels`.
        """
        raise NotImplementedError

    def check_labels(self, y, outputs_shape: tuple[int, ...]) -> None:
        """``ValueError`` (starting with ``y``) unless ``y`` is what this constraint needs.

        ``outputs_shape`` is ``(n, d_out)``. Shape and dtype are checked always, the
        label values (domain, finiteness) only where ``y`` is concrete, not traced.
        ``cn.consistent`` calls this at trace time; :meth:`prepare_labels` after its
        conversions.
        """
        raise NotImplementedError

    def point_slack(self, outputs, y) -> jax.Array:
        """Per-point constraint violation ``(n,)``: ``<= 0`` exactly where the point fits."""
        raise NotImplementedError

    def in_set(self, outputs, y) -> jax.Array:
        return jnp.all(self.point_slack(outputs, y) <= 0.0)

    def penalty(self, outputs, y) -> jax.Array:
        """Squared hinge ``g = sum_i min(relu(slack_i), SLACK_CAP)**2``: finite, 0 exactly on S.

        A violation too small for its square to be a normal float (slack below ~1e-19
        in float32) contributes the smallest normal float instead of underflowing to 0,
        and a NaN slack counts as a capped violation, so ``g == 0`` iff ``in_set``.
        """
        return self.slack_penalty(self.point_slack(outputs, y))

    @staticmethod
    def slack_penalty(slack) -> jax.Array:
        """:meth:`penalty` from the per-point slack ``(n,)``."""
        violated = ~(slack <= 0.0)  # NaN counts as violated, as in ``in_set``
        s = jnp.clip(jnp.nan_to_num(slack, nan=SLACK_CAP), 0.0, SLACK_CAP)
        square = jnp.maximum(jnp.square(s), jnp.finfo(s.dtype).tiny)
        return jnp.sum(jnp.where(violated, square, 0.0))

    def contradiction(self, X: np.ndarray, y) -> str | None:
        """Why no ``w`` of positive volume can fit ``(X, y)`` whatever the network, or ``None``.

        Checks only what the data alone decide: identical inputs whose (prepared)
        targets cannot both be met. ``None`` does not mean S is non-empty.
        """
        return None

    def training_loss(self, outputs, y) -> jax.Array:
        raise NotImplementedError


def _duplicate_groups(X) -> list[np.ndarray]:
    """Row indices of each set of identical rows of ``X`` that has more than one member."""
    X = np.asarray(X)
    _, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    return [np.flatnonzero(inverse == g) for g in np.flatnonzero(counts > 1)]


def _check_finite_labels(y: np.ndarray) -> None:
    if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf")


@dataclass(frozen=True)
class Margin(Constraint):
    """Classification with margin ``m >= 0``.

    Binary when the network has one output: labels in {-1, +1} (``cn.Problem`` also
    takes {0, 1} and maps them to ±1; in a model's ``cn.consistent``, pass
    ``2 * y - 1``) and S = {w : y_i f(x_i) >= m for all i}. Multiclass when ``d_out > 1``: integer
    labels in ``0..d_out-1`` and S = {w : f_y(x_i) - max_{k != y} f_k(x_i) >= m}.
    """

    m: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "m", check_real("m", self.m, minimum=0.0, strict=False, what="Margin"))

    def prepare_labels(self, y, d_out: int) -> jax.Array:
        y = np.asarray(y)
        if d_out == 1 and y.dtype.kind in "biuf" and y.ndim == 1 and set(np.unique(y).tolist()) <= {0, 1}:
            y = 2 * y.astype(np.int64) - 1
        self.check_labels(y, (y.shape[0] if y.ndim else 0, d_out))
        return jnp.asarray(y, dtype=jnp.float32 if d_out == 1 else jnp.int32)

    def check_labels(self, y, outputs_shape) -> None:
        n, d_out = outputs_shape
        dtype, shape = np.dtype(y.dtype), tuple(np.shape(y))
        if dtype.kind not in "biuf":
            raise ValueError(f"y must hold numeric labels for Margin, got dtype {dtype}")
        if shape != (n,):
            raise ValueError(
                f"y has shape {shape}, but Margin needs one label per row of the outputs (shape "
                f"{tuple(outputs_shape)}): y of shape ({n},)"
            )
        if d_out > 1 and dtype.kind not in "iu":
            raise ValueError(
                f"y must hold integer class labels 0..{d_out - 1} for multiclass Margin "
                f"(d_out = {d_out}), got dtype {dtype}"
            )
        values = concrete(y)
        if values is None:
            return
        _check_finite_labels(values)
        if d_out == 1:
            found = set(np.unique(values).tolist())
            if not found <= {-1, 1}:
                raise ValueError(
                    "y must hold binary labels -1/+1 for a one-output network with Margin "
                    "(cn.Problem also takes 0/1; in a model pass 2 * y - 1), got values "
                    f"{sorted(found)[:6]}"
                )
        elif values.size and (values.min() < 0 or values.max() >= d_out):
            raise ValueError(
                f"y must hold class labels in 0..{d_out - 1} for a {d_out}-output network, "
                f"got range [{values.min()}, {values.max()}]"
            )

    def contradiction(self, X, y):
        groups = _duplicate_groups(X)
        labels = np.asarray(y).astype(np.int64)  # ±1 (binary) or class indices
        for rows in groups:
            if np.unique(labels[rows]).size > 1:
                return (
                    f"X rows {rows.tolist()} are identical but y has labels "
                    f"{labels[rows].tolist()} there: no network output meets both with margin "
                    f"{self.m:g} (S is empty, or of volume 0 when m = 0)"
                )
        return None

    def _margins(self, outputs, y):
        if outputs.shape[-1] == 1:
            return y * outputs[..., 0]
        f_y = jnp.take_along_axis(outputs, y[:, None], axis=-1)[..., 0]
        others = jnp.where(jax.nn.one_hot(y, outputs.shape[-1], dtype=bool), -jnp.inf, outputs)
        return f_y - jnp.max(others, axis=-1)

    def point_slack(self, outputs, y):
        return self.m - self._margins(outputs, y)

    def training_loss(self, outputs, y):
        if outputs.shape[-1] == 1:
            return jnp.mean(jax.nn.softplus(-(y * outputs[..., 0])))
        log_p = jax.nn.log_softmax(outputs, axis=-1)
        return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=-1))

    def spec(self) -> str:
        return f"margin:{self.m:g}"


@dataclass(frozen=True)
class Tube(Constraint):
    """Regression: S = {w : |f(x_i) - y_i| <= eps for every point and output}, eps > 0."""

    eps: float

    def __post_init__(self):
        object.__setattr__(self, "eps", check_real("eps", self.eps, minimum=0.0, what="Tube"))

    def prepare_labels(self, y, d_out: int) -> jax.Array:
        y = np.asarray(y)
        if y.ndim == 1 and d_out == 1:
            y = y[:, None]
        self.check_labels(y, (y.shape[0] if y.ndim else 0, d_out))
        return jnp.asarray(y, dtype=jnp.float32)

    def check_labels(self, y, outputs_shape) -> None:
        dtype, shape = np.dtype(y.dtype), tuple(np.shape(y))
        if dtype.kind not in "iuf":
            raise ValueError(f"y must be numeric for Tube, got dtype {dtype}")
        if shape != tuple(outputs_shape):
            raise ValueError(
                f"y has shape {shape}, but Tube needs one target per output: y of the outputs' shape "
                f"{tuple(outputs_shape)}"
            )
        values = concrete(y)
        if values is not None:
            _check_finite_labels(values)

    def contradiction(self, X, y):
        targets = np.asarray(y, dtype=np.float64)
        for rows in _duplicate_groups(X):
            spread = np.max(targets[rows].max(axis=0) - targets[rows].min(axis=0))
            if spread >= 2 * self.eps:
                return (
                    f"X rows {rows.tolist()} are identical but their targets differ by "
                    f"{spread:.4g} >= 2 * eps = {2 * self.eps:.4g}: no output is within eps of "
                    "both (S is empty, or of volume 0 at equality)"
                )
        return None

    def point_slack(self, outputs, y):
        return jnp.max(jnp.abs(outputs - y) - self.eps, axis=-1)

    def training_loss(self, outputs, y):
        return jnp.mean(jnp.square(outputs - y))

    def spec(self) -> str:
        return f"tube:{self.eps:g}"
