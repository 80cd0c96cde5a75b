"""Priors over network weights: NumPyro sample sites and exact vectorised samplers."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpyro
import numpyro.distributions as dist

from ._checks import check_real, parse_spec

__all__ = ["BoxPrior", "NormalPrior", "Prior"]


@dataclass(frozen=True)
class Prior:
    """Independent prior over every weight and bias of a network.

    Priors are frozen dataclasses: they compare and hash by type and parameters,
    ``BoxPrior(3.0) == BoxPrior(3)``.
    """

    def distribution(self, shape: tuple[int, ...]) -> dist.Distribution:
        """The NumPyro distribution of one weight array of ``shape`` (all dims event dims)."""
        raise NotImplementedError

    def spec(self) -> str:
        """A ``"kind:number"`` string that rebuilds the prior (:meth:`from_spec`)."""
        raise NotImplementedError

    @staticmethod
    def from_spec(spec: str) -> "Prior":
        """``"box:3"`` -> ``BoxPrior(3.0)``, ``"normal:1"`` -> ``NormalPrior(1.0)``.

        Examples
        --------
        >>> Prior.from_spec("normal:1.5")
        NormalPrior(s=1.5)
        """
        return parse_spec("prior", spec, {"box": BoxPrior, "normal": NormalPrior}, "'box:3' or 'normal:1'")

    def sample_sites(self, shapes: dict[str, tuple[int, ...]]) -> dict[str, jax.Array]:
        """Declare one NumPyro sample site per weight array and return their values."""
        return {
            name: numpyro.sample(name, self.distribution(shape))
            for name, shape in shapes.items()
        }

    def sample(
        self, rng_key: jax.Array, shapes: dict[str, tuple[int, ...]], num: int
    ) -> dict[str, jax.Array]:
        """``num`` exact prior draws, each site with a leading axis of size ``num``."""
        keys = jax.random.split(rng_key, len(shapes))
        return {
            name: self.distribution(shape).sample(key, (num,))
            for key, (name, shape) in zip(keys, shapes.items())
        }


@dataclass(frozen=True)
class BoxPrior(Prior):
    """Uniform on ``[-a, a]`` for every weight and bias.

    Restricted to S this is the uniform distribution on S ∩ box, and
    ``P(w in S)`` is the box-normalised volume of S.

    Examples
    --------
    >>> BoxPrior(3)
    BoxPrior(a=3.0)
    >>> BoxPrior(3) == BoxPrior(3.0), BoxPrior(3).spec()
    (True, 'box:3')
    """

    a: float = 3.0

    def __post_init__(self):
        object.__setattr__(self, "a", check_real("a", self.a, minimum=0.0, what="BoxPrior half-width"))

    def distribution(self, shape):
        return dist.Uniform(-self.a, self.a).expand(shape).to_event(len(shape))

    def spec(self) -> str:
        return f"box:{self.a:g}"


@dataclass(frozen=True)
class NormalPrior(Prior):
    """Independent ``N(0, s²)`` on every weight and bias."""

    s: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "s", check_real("s", self.s, minimum=0.0, what="NormalPrior scale"))

    def distribution(self, shape):
        return dist.Normal(0.0, self.s).expand(shape).to_event(len(shape))

    def spec(self) -> str:
        return f"normal:{self.s:g}"
