"""The NumPyro plugin: a tagged consistency factor and the ``temper`` effect handler."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.primitives import Messenger, apply_stack

from ._constraints import Constraint
from ._nets import MLP

__all__ = ["consistent", "temper", "CONSISTENT", "is_consistent_site", "is_prediction_site"]

#: key set in a site's ``infer`` dict to mark it as a consistency constraint.
CONSISTENT = "consistent"


def consistent(
    name: str,
    outputs: jax.Array,
    y,
    constraint: Constraint,
    *,
    net: MLP | None = None,
    sites: Mapping[str, str] | None = None,
) -> None:
    """Add the consistency constraint ``outputs ~ y`` as a tagged factor site.

    The site contributes ``-g(outputs, y)`` to the log density, where ``g >= 0`` is the
    constraint's penalty (exactly 0 on S). Its ``infer`` dict carries
    ``{"consistent": True, "in_set": bool, "training_loss": float, "slack": (n,),
    "outputs": (n, d_out), "constraint": constraint}`` so samplers, diagnostics and
    handlers can find it (the outputs are the function-space view of a draw: effective
    draws and mixing are measured on them). Under :func:`temper` only these sites are scaled by ``beta``.

    With ``y=None`` (the NumPyro idiom for prediction: a model called without its
    observations) there is no constraint: the outputs are recorded as a deterministic
    site ``name``, tagged like the constraint, which is what :func:`cn.predict
    <consistent_nets.predict>` returns.

    Parameters
    ----------
    name : str
        Site name.
    outputs : array, shape (n, d_out)
        Network outputs on the training inputs, floating point.
    y : array or None
        Labels exactly as the constraint uses them, checked at trace time
        (:meth:`Constraint.check_labels`): ``Margin`` with one output takes ``(n,)``
        labels in ``{-1, +1}``, with ``d_out > 1`` integer classes ``(n,)``; ``Tube``
        takes targets of the outputs' shape ``(n, d_out)``.
    constraint : Margin or Tube
    net : MLP, optional
        Declares that the model has this network's hidden-unit symmetries acting on its
        weight sites: the outputs do not change under them (e.g. they are this network's,
        possibly scaled) and neither does the prior (each weight site i.i.d. and, for
        odd activations, symmetric about 0). :func:`cn.diagnose
        <consistent_nets.diagnose>` then runs the orbit test on those sites, and
        :func:`cn.sample <consistent_nets.sample>` symmetrizes the draws on them (after
        checking the invariance at a prior draw).
    sites : mapping, optional
        ``net``'s parameter names (``w0, b0, w1, ...``) to the model's site names, when
        they differ (default: the same names).

    Raises
    ------
    ValueError
        At trace time, before anything is compiled: ``outputs`` not a floating
        ``(n, d_out)`` array, ``y`` of another shape, dtype or outside the label domain
        (the message names both shapes), a bad ``constraint``, ``net`` or ``sites``.

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
    >>> numpyro.handlers.seed(model, 0)(X, y[:, None])
    Traceback (most recent call last):
    ...
    ValueError: y has shape (4, 1), but Margin needs one label per row of the outputs (shape (4, 1)): y of shape (4,) (consistency site 'fit')
    """
    if not isinstance(constraint, Constraint):
        raise ValueError(f"constraint must be a Margin or Tube, got {constraint!r}")
    shape = tuple(np.shape(outputs))
    if len(shape) != 2 or not jnp.issubdtype(jnp.result_type(outputs), jnp.floating):
        raise ValueError(
            f"outputs must be a floating-point array of shape (n, d_out), got shape {shape} and "
            f"dtype {jnp.result_type(outputs)} (one output: outputs[:, None])"
        )
    infer = {CONSISTENT: True, "outputs": outputs, "constraint": constraint}
    if net is not None or sites is not None:
        infer["symmetry"] = _declared_symmetry(net, sites, shape)
    if y is None:
        apply_stack({"type": "deterministic", "name": name, "value": outputs, "cond_indep_stack": [], "infer": infer})
        return
    if not hasattr(y, "dtype"):
        y = np.asarray(y)
    try:
        constraint.check_labels(y, shape)
    except ValueError as err:  # the model's own name for its labels may not be y
        raise ValueError(f"{err} (consistency site {name!r})") from None
    slack = constraint.point_slack(outputs, y)
    unit = dist.Unit(-constraint.slack_penalty(slack))
    infer.update(
        in_set=jnp.all(slack <= 0.0),
        slack=slack,
        y=y,
        training_loss=constraint.training_loss(outputs, y),
    )
    numpyro.sample(name, unit, obs=unit.sample(None), infer=infer)


def _declared_symmetry(net, sites, shape) -> tuple:
    """``(net, ((param name, site name), ...))`` after checking the declaration."""
    if not isinstance(net, MLP):
        raise ValueError(f"net must be a cn.MLP whose symmetries the model has, got {net!r}")
    if shape[1] != net.d_out:
        raise ValueError(f"net has d_out = {net.d_out} but the outputs have shape {shape}")
    mapping = {k: k for k in net.param_shapes} if sites is None else dict(sites)
    if sorted(mapping) != sorted(net.param_shapes) or not all(isinstance(v, str) for v in mapping.values()):
        raise ValueError(f"sites must map each of {list(net.param_shapes)} to a site name, got {sites!r}")
    return net, tuple((k, mapping[k]) for k in net.param_shapes)


def is_consistent_site(site: dict) -> bool:
    """A consistency constraint: the factor site :func:`consistent` adds when given labels."""
    return site["type"] == "sample" and bool((site.get("infer") or {}).get(CONSISTENT, False))


def is_prediction_site(site: dict) -> bool:
    """The outputs :func:`consistent` records without labels (``y=None``)."""
    return site["type"] == "deterministic" and bool((site.get("infer") or {}).get(CONSISTENT, False))


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
