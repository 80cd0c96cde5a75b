"""Priors over network weights: NumPyro sample sites and exact vectorised samplers."""

from __future__ import annotations

import jax
import numpyro
import numpyro.distributions as dist

from ._errors import check_real, parse_spec

__all__ = ["BoxPrior", "NormalPrior", "Prior"]


class Prior:
    """Independent prior over every weight and bias of a network.

    Priors compare (and hash) by type and parameters: ``BoxPrior(3.0) == BoxPrior(3)``.
    """

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))

    def distribution(self, shape: tuple[int, ...]) -> dist.Distribution:
        raise NotImplementedError

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

    def log_density(self, params: dict[str, jax.Array]) -> jax.Array:
        return sum(
            self.distribution(v.shape).log_prob(v) for v in params.values()
        )


class BoxPrior(Prior):
    """Uniform on ``[-a, a]`` for every weight and bias.

    Restricted to S this is the uniform distribution on S ∩ box, and
    ``P(w in S)`` is the box-normalised volume of S.
    """

    def __init__(self, a: float = 3.0):
        self.a = check_real("a", a, minimum=0.0, what="BoxPrior half-width")

    def distribution(self, shape):
        return dist.Uniform(-self.a, self.a).expand(shape).to_event(len(shape))

    def __repr__(self):
        return f"BoxPrior({self.a})"

    def spec(self) -> str:
        return f"box:{self.a:g}"


class NormalPrior(Prior):
    """Independent ``N(0, s²)`` on every weight and bias."""

    def __init__(self, s: float = 1.0):
        self.s = check_real("s", s, minimum=0.0, what="NormalPrior scale")

    def distribution(self, shape):
        return dist.Normal(0.0, self.s).expand(shape).to_event(len(shape))

    def __repr__(self):
        return f"NormalPrior({self.s})"

    def spec(self) -> str:
        return f"normal:{self.s:g}"


def parse_prior(spec: str) -> Prior:
    """``"box:3"`` -> ``BoxPrior(3.0)``, ``"normal:1"`` -> ``NormalPrior(1.0)``."""
    return parse_spec("prior", spec, {"box": BoxPrior, "normal": NormalPrior}, "'box:3' or 'normal:1'")
