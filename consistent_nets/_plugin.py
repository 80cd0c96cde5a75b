"""The NumPyro plugin: a tagged consistency factor and the ``temper`` effect handler."""

from __future__ import annotations

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.primitives import Messenger

from ._constraints import Constraint

__all__ = ["consistent", "temper", "CONSISTENT"]

#: key set in a site's ``infer`` dict to mark it as a consistency constraint.
CONSISTENT = "consistent"


def consistent(name: str, outputs: jax.Array, y: jax.Array, constraint: Constraint) -> None:
    """Add the consistency constraint ``outputs ~ y`` as a tagged factor site.

    The site contributes ``-g(outputs, y)`` to the log density, where ``g >= 0`` is the
    constraint's penalty (exactly 0 on S). Its ``infer`` dict carries
    ``{"consistent": True, "in_set": bool, "training_loss": float, "slack": (n,)}``
    (``slack``: the per-point violation, ``<= 0`` where a point fits) so samplers and
    handlers can find it. Under :func:`temper` only these sites are scaled by ``beta``.

    Parameters
    ----------
    name : str
        Site name.
    outputs : array, shape (n, d_out)
        Network outputs on the training inputs.
    y : array
        Targets, as the constraint expects them (see ``Constraint.prepare_labels``).
    constraint : Margin or Tube

    Examples
    --------
    >>> import jax, numpyro, numpyro.distributions as dist, consistent_nets as cn
    >>> X, y = cn.datasets.xor()
    >>> def model(X, y):
    ...     w = numpyro.sample("w", dist.Uniform(-3, 3).expand([2, 1]).to_event(2))
    ...     cn.consistent("fit", X @ w, y, cn.Margin(0.0))
    >>> tr = numpyro.handlers.trace(numpyro.handlers.seed(model, 0)).get_trace(X, y)
    >>> tr["fit"]["infer"]["consistent"]
    True
    """
    if not isinstance(constraint, Constraint):
        raise ValueError(f"constraint must be a Margin or Tube, got {constraint!r}")
    g = constraint.penalty(outputs, y)
    unit = dist.Unit(-g)
    numpyro.sample(
        name,
        unit,
        obs=unit.sample(None),
        infer={
            CONSISTENT: True,
            "in_set": constraint.in_set(outputs, y),
            "training_loss": constraint.training_loss(outputs, y),
            "slack": constraint.point_slack(outputs, y),
        },
    )


def is_consistent_site(site: dict) -> bool:
    return site["type"] == "sample" and bool((site.get("infer") or {}).get(CONSISTENT, False))


class temper(Messenger):
    """Scale the log density of consistency sites (and only those) by ``beta``.

    ``temper(0.0)`` turns a model into its prior exactly; ``temper(beta)`` gives the
    tempered target ``prior * exp(-beta * g)``. ``beta`` may be a traced value, so a
    jitted potential can be re-used across an annealing schedule.

    Parameters
    ----------
    fn : callable, optional
        A NumPyro model.
    beta : float or array
        Inverse temperature, ``>= 0``.

    Examples
    --------
    >>> import jax, consistent_nets as cn
    >>> from numpyro.infer.util import log_density
    >>> X, y = cn.datasets.xor()
    >>> problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    >>> params = {k: jax.numpy.zeros(s) for k, s in problem.net.param_shapes.items()}
    >>> lp, _ = log_density(cn.temper(problem.model, 0.0), problem.model_args, {}, params)
    >>> round(float(lp), 3)  # 13 independent Uniform(-3, 3) densities
    -23.293
    """

    def __init__(self, fn=None, beta=1.0):
        try:
            value = np.asarray(beta, dtype=np.float64)
        except (TypeError, jax.errors.TracerArrayConversionError):
            value = None  # traced inside jit/vmap: checked by whoever chose it
        if value is not None and (value.ndim != 0 or not np.isfinite(value) or value < 0):
            raise ValueError(f"beta must be a finite scalar >= 0, got {beta!r}")
        self.beta = beta
        super().__init__(fn)

    def process_message(self, msg):
        if is_consistent_site(msg):
            msg["scale"] = self.beta if msg.get("scale") is None else self.beta * msg["scale"]
