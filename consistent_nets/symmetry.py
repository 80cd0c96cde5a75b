"""Hidden-unit symmetries of an MLP: pure-JAX group actions, canonical forms, augmentation.

For a hidden layer ``l`` of width ``H`` the group acts by a permutation ``pi`` of the units
and, when the activation is odd (``act(-x) = -act(x)``: tanh, identity), a sign ``s_j`` per
unit. The new unit ``j`` is the old unit ``pi[j]`` times ``s_j``::

    w_l'[:, j] = s_j w_l[:, pi[j]],   b_l'[j] = s_j b_l[pi[j]],   w_{l+1}'[j, :] = s_j w_{l+1}[pi[j], :]

This leaves ``f_w`` unchanged, and a box or normal prior is invariant, so the uniform
distribution on S is invariant too: under it, the group element that maps a draw to its
canonical form (its *orbit index*) is uniform on the group and independent of the
canonical form. Group elements are tuples ``(perms, signs)`` with one ``(H,)`` integer
permutation and one ``(H,)`` array of ``±1`` per hidden layer (signs are all ``+1`` for
activations that are not odd).

Examples
--------
>>> import jax, consistent_nets as cn
>>> net = cn.MLP([2, 3, 1], activation="tanh")
>>> params = {k: v[0] for k, v in cn.BoxPrior(3.0).sample(jax.random.key(0), net.param_shapes, 1).items()}
>>> element = random_element(jax.random.key(1), net)
>>> moved = transform(params, net, *element)
>>> X = jax.numpy.ones((2, 2))
>>> bool(jax.numpy.allclose(net.apply(moved, X), net.apply(params, X), atol=1e-5))
True
>>> group_size(net)
48
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_key
from ._nets import MLP, ODD_ACTIVATIONS
from ._trees import posterior_params

__all__ = [
    "hidden_widths",
    "group_size",
    "transform",
    "random_element",
    "canonicalize",
    "orbit_index",
    "symmetrize",
    "symmetrize_params",
]


def _check_net(net) -> MLP:
    if not isinstance(net, MLP):
        raise ValueError(f"net must be a cn.MLP, got {type(net).__name__}")
    return net


def hidden_widths(net: MLP) -> tuple[int, ...]:
    """Widths ``H_l`` of the hidden layers (empty for a linear model)."""
    return tuple(_check_net(net).sizes[1:-1])


def has_sign_flips(net: MLP) -> bool:
    return _check_net(net).activation in ODD_ACTIVATIONS


def format_size(size: int) -> str:
    """``size`` to three significant digits (beyond a float's range its first three
    digits: three layers of ``64! * 2**64`` elements overflow ``float``)."""
    if size < 10**300:
        return f"{size:.3g}"
    digits = str(size)
    return f"{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"


def group_size(net: MLP) -> int:
    """``prod_l H_l! * 2**H_l`` (odd activations) or ``prod_l H_l!`` (others)."""
    size = 1
    for width in hidden_widths(net):
        size *= math.factorial(width) * (2**width if has_sign_flips(net) else 1)
    return size


def transform(params: dict, net: MLP, perms, signs) -> dict:
    """Apply the group element ``(perms, signs)`` to one parameter dict (see module doc)."""
    widths = hidden_widths(net)
    if len(perms) != len(widths) or len(signs) != len(widths):
        raise ValueError(f"perms and signs must hold one array per hidden layer ({len(widths)})")
    out = dict(params)
    for layer, (perm, sign) in enumerate(zip(perms, signs)):
        out = _transform_layer(out, layer, perm, jnp.asarray(sign))
    return out


def random_element(rng_key: jax.Array, net: MLP):
    """A uniformly random group element ``(perms, signs)``."""
    perms, signs = [], []
    keys = jax.random.split(rng_key, 2 * max(1, len(hidden_widths(net))))
    for layer, width in enumerate(hidden_widths(net)):
        perms.append(jax.random.permutation(keys[2 * layer], width))
        if has_sign_flips(net):
            signs.append(jax.random.rademacher(keys[2 * layer + 1], (width,), dtype=jnp.int32))
        else:
            signs.append(jnp.ones((width,), dtype=jnp.int32))
    return tuple(perms), tuple(signs)


def canonicalize(params: dict, net: MLP):
    """The canonical representative of a draw's orbit and the element that maps it there.

    Layer by layer from the input, each hidden unit is first flipped (odd activations
    only) so that its incoming bias is positive, then the units are sorted by incoming
    bias. The incoming bias of layer ``l`` is untouched by the other layers' actions, so
    the result is a fundamental-domain representative (almost surely unique).

    Returns
    -------
    canonical : dict
        ``transform(params, net, perms, signs)``.
    element : tuple
        ``(perms, signs)``: the group element mapping ``params`` to ``canonical``.
    """
    perms, signs = [], []
    current = dict(params)
    for layer, width in enumerate(hidden_widths(net)):
        bias = current[f"b{layer}"]
        if has_sign_flips(net):
            flip = jnp.where(bias < 0, -1, 1).astype(jnp.int32)
        else:
            flip = jnp.ones((width,), dtype=jnp.int32)
        perm = jnp.argsort(bias * flip)
        sign = flip[perm]
        current = _transform_layer(current, layer, perm, sign)
        perms.append(perm)
        signs.append(sign)
    return current, (tuple(perms), tuple(signs))


def _transform_layer(params, layer, perm, sign):
    out = dict(params)
    sign = sign.astype(out[f"w{layer}"].dtype)
    out[f"w{layer}"] = out[f"w{layer}"][:, perm] * sign
    out[f"b{layer}"] = out[f"b{layer}"][perm] * sign
    out[f"w{layer + 1}"] = out[f"w{layer + 1}"][perm, :] * sign[:, None]
    return out


def _lehmer_rank(perm: np.ndarray) -> np.ndarray:
    """Rank in ``0..H!-1`` of each permutation row of ``perm`` (shape ``(N, H)``)."""
    n, width = perm.shape
    rank = np.zeros(n, dtype=np.int64)
    for i in range(width):
        smaller_after = np.sum(perm[:, i + 1 :] < perm[:, i : i + 1], axis=1)
        rank = rank * (width - i) + smaller_after
    return rank


def orbit_index(element, net: MLP) -> np.ndarray:
    """Integer code in ``0..group_size(net)-1`` of batched group elements.

    ``element`` is ``(perms, signs)`` with arrays of shape ``(N, H_l)``; the code is a
    mixed-radix number of the per-layer permutation ranks and sign bits.

    Raises
    ------
    ValueError
        When the group has ``2**62`` elements or more (use per-unit statistics instead),
        or ``net`` has no hidden layer (its elements are empty: no number of draws to index).
    """
    if not hidden_widths(net):
        raise ValueError(f"net {net} has no hidden layer: its symmetry group is trivial, with nothing to index")
    if group_size(net) >= 2**62:
        raise ValueError(f"net's symmetry group has {format_size(group_size(net))} elements: too many to index")
    perms, signs = element
    index = None
    for layer, width in enumerate(hidden_widths(net)):
        perm = np.asarray(perms[layer]).reshape(-1, width)
        code = _lehmer_rank(perm)
        if has_sign_flips(net):
            bits = (np.asarray(signs[layer]).reshape(-1, width) < 0).astype(np.int64)
            code = code * 2**width + bits @ (2 ** np.arange(width, dtype=np.int64))
            radix = math.factorial(width) * 2**width
        else:
            radix = math.factorial(width)
        index = code if index is None else index * radix + code
    return index


def symmetrize_params(posterior: dict, net: MLP, rng_key) -> dict:
    """Apply an independent uniform group element to every draw of ``(chain, draw, ...)`` sites."""
    shape = next(iter(posterior.values())).shape[:2]
    flat = {k: jnp.asarray(np.asarray(posterior[k]).reshape((-1,) + tuple(s))) for k, s in net.param_shapes.items()}
    keys = jax.random.split(rng_key, shape[0] * shape[1])
    moved = _symmetrize_fn(net)(flat, keys)
    return {k: np.asarray(v).reshape(shape + v.shape[1:]) for k, v in moved.items()}


@functools.lru_cache(maxsize=16)
def _symmetrize_fn(net: MLP):
    return jax.jit(jax.vmap(lambda p, k: transform(p, net, *random_element(k, net))))


def symmetrize(tree, problem, rng_key):
    """Exact augmentation: apply an independent uniform group element to every draw.

    The target is invariant under the group, so a sample from it stays a sample from it;
    a sample stuck in one orbit becomes orbit-uniform (the tree is marked
    ``attrs["symmetrized"]`` and ``diagnose`` skips the orbit test, which could only
    false-alarm: run ``diagnose`` on a tree sampled with ``symmetrize=False`` to see
    orbit problems). ``cn.sample`` does this by default for a ``cn.Problem``.

    Parameters
    ----------
    tree : xarray.DataTree
        With a ``posterior`` group holding the weight sites ``w0, b0, ...``.
    problem : Problem
    rng_key : jax.random key

    Returns
    -------
    xarray.DataTree
        A copy of ``tree`` with the posterior replaced by the transformed draws.
    """
    net = getattr(problem, "net", None)
    if not isinstance(net, MLP):
        raise ValueError(f"problem must be a cn.Problem with a cn.MLP, got {type(problem).__name__}")
    rng_key = check_key(rng_key)
    params, shape = posterior_params(tree, net.param_shapes, owner=repr(net))
    moved = symmetrize_params({k: v.reshape(shape + v.shape[1:]) for k, v in params.items()}, net, rng_key)
    out = tree.copy()
    post = out["posterior"].to_dataset()
    for name, value in moved.items():
        post[name] = (post[name].dims, np.asarray(value).reshape(post[name].shape))
    out["posterior"] = post
    out.attrs["symmetrized"] = 1
    return out


#: group elements tried on the seeded draw, and the relative change that counts as a change
_DECLARED_TRIES, _DECLARED_RTOL = 4, 1e-4


def check_declared(target, u) -> None:
    """``ValueError`` when a model's ``net=`` declaration fails at its seeded prior draw ``u``.

    ``cn.sample`` symmetrizes a model's draws on the sites ``net=`` names, which is exact
    only if the consistency outputs and the prior are invariant under the network's
    hidden-unit group. Checked for :data:`_DECLARED_TRIES` random group elements (one
    compiled program, kept per model like the samplers'): the outputs and the log prior
    (constrained space) must not change beyond float32 rounding.
    """
    from numpyro.infer.util import log_density

    from ._plugin import temper

    net, pairs = target.symmetry

    def build(t):
        def gaps(u, keys):
            params = t.constrain(u)

            def scores(p):
                return t.fit(p).outputs, log_density(temper(t.model, 0.0), t.args, t.kwargs, p)[0]

            f0, l0 = scores(params)

            def moved(key):
                m = transform({a: params[s] for a, s in pairs}, net, *random_element(key, net))
                other = params | {s: m[a] for a, s in pairs}
                f1, l1 = scores(other)
                inside = jnp.all(jnp.isfinite(t.unconstrain(other)))  # a flip out of a one-sided support
                prior = jnp.where(inside, jnp.abs(l1 - l0) / (1 + jnp.abs(l0)), jnp.inf)
                return jnp.max(jnp.abs(f1 - f0)) / (1 + jnp.max(jnp.abs(f0))), prior

            return jax.vmap(moved)(keys)

        return gaps

    keys = jax.random.split(jax.random.key(0), _DECLARED_TRIES)
    outputs, prior = (float(np.max(g)) for g in target.jit(build, ("declared-symmetry",))(u, keys))
    for what, gap in (("outputs", outputs), ("log prior", prior)):
        if not gap <= _DECLARED_RTOL:  # nan counts as a change
            raise ValueError(
                f"net={net!r} is declared, but the model's {what} change under its hidden-unit symmetries at a "
                f"prior draw (relative change {gap:.2g}): the outputs and each declared site's prior must be "
                "invariant (i.i.d. weights, symmetric about 0 for odd activations); fix the model or drop net="
            )
