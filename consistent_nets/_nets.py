"""Multi-layer perceptrons as pure functions of a parameter dictionary."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

__all__ = ["MLP", "ACTIVATIONS"]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "sigmoid": jax.nn.sigmoid,
    "identity": lambda x: x,
}
#: activations with act(-x) = -act(x): sign flips of a hidden unit are a symmetry.
ODD_ACTIVATIONS = frozenset({"tanh", "identity"})


@dataclass(frozen=True)
class MLP:
    """A fully connected network ``h <- act(h @ w_l + b_l)``, the last layer linear.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths including input and output, e.g. ``[2, 3, 1]`` (stored as a tuple).
    activation : str
        One of ``"tanh"``, ``"relu"``, ``"gelu"``, ``"sigmoid"``, ``"identity"``.

    Notes
    -----
    Parameters are a dict ``{"w0": (d0, d1), "b0": (d1,), "w1": (d1, d2), ...}``.
    ``sizes=[2, 1]`` is a linear model. A frozen dataclass: networks compare and hash by
    value, so equal networks share compiled programs.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> net = MLP([2, 3, 1])
    >>> net
    MLP(sizes=(2, 3, 1), activation='tanh')
    >>> net.num_params
    13
    >>> params = {k: jnp.zeros(s) for k, s in net.param_shapes.items()}
    >>> net.apply(params, jnp.ones((5, 2))).shape
    (5, 1)
    """

    sizes: tuple[int, ...]
    activation: str = "tanh"

    def __post_init__(self):
        sizes = self.sizes
        try:
            sizes = list(sizes)
        except TypeError:
            raise ValueError(f"sizes must be a sequence of layer widths, got {sizes!r}") from None
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least input and output widths, got {sizes}")
        if any(not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 1 for s in sizes):
            raise ValueError(f"sizes must be positive integers, got {sizes}")
        if not isinstance(self.activation, str) or self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        object.__setattr__(self, "sizes", tuple(int(s) for s in sizes))

    @property
    def d_in(self) -> int:
        return self.sizes[0]

    @property
    def d_out(self) -> int:
        return self.sizes[-1]

    @property
    def num_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the weight sites in layer order: ``w0, b0, w1, b1, ...``."""
        shapes = {}
        for layer, (d_a, d_b) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            shapes[f"w{layer}"] = (d_a, d_b)
            shapes[f"b{layer}"] = (d_b,)
        return shapes

    @property
    def num_params(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def apply(self, params: dict[str, jax.Array], X: jax.Array) -> jax.Array:
        """Network outputs ``(n, d_out)`` for inputs ``X`` of shape ``(n, d_in)``."""
        act = ACTIVATIONS[self.activation]
        h = X
        for layer in range(self.num_layers):
            h = h @ params[f"w{layer}"] + params[f"b{layer}"]
            if layer < self.num_layers - 1:
                h = act(h)
        return h

    __call__ = apply
