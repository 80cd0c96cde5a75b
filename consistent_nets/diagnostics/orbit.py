"""Orbit uniformity: is every symmetry-equivalent copy of a draw equally likely?

The target is invariant under the hidden-unit group G (see :mod:`consistent_nets.symmetry`),
so for a uniform sample on S the element ``g`` with ``g · w = canonical(w)`` is uniform on
G. When ``|G| <= N / 5`` (at least five expected draws per element) the check is
Pearson's chi-square test of the orbit index against the uniform distribution on G,
with ``|G| - 1`` degrees of freedom. For larger groups it tests two marginals per hidden
layer, whose laws are known exactly: the canonical position of unit 0 (uniform on
``0..H-1``, chi-square) and, for odd activations, whether unit 0 is flipped (fair coin,
exact binomial test); their p-values are combined by Bonferroni.

Samplers that never leave one orbit (a chain that cannot cross the ``b_j = 0``
hyperplanes, or draws that were canonicalised) fail it.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from .. import symmetry
from .report import CheckResult, not_applicable

__all__ = ["orbit_elements", "orbit_check", "NULL"]

NULL = "the symmetry element mapping each draw to its canonical form is uniform on the group"


def orbit_elements(net, params: dict):
    """``(perms, signs)`` of every flattened draw of ``net``'s sites, as numpy arrays ``(N, H_l)``."""
    _, element = _canonicalize_fn(net)({k: jnp.asarray(v) for k, v in params.items()})
    perms, signs = element
    return tuple(np.asarray(p) for p in perms), tuple(np.asarray(s) for s in signs)


@functools.lru_cache(maxsize=16)
def _canonicalize_fn(net):
    return jax.jit(jax.vmap(lambda p: symmetry.canonicalize(p, net)))


def orbit_check(net, params: dict) -> tuple[CheckResult, np.ndarray | None]:
    """The orbit test on draws of ``net``'s sites (``w0, b0, ...``).

    Also returns the orbit indices when the group is indexed.
    """
    widths = symmetry.hidden_widths(net)
    if not widths or symmetry.group_size(net) == 1:
        return not_applicable("orbit", NULL, "no hidden-unit symmetry (linear model or width-1 layers)"), None
    perms, signs = orbit_elements(net, params)
    num = perms[0].shape[0]
    size = symmetry.group_size(net)
    if size * 5 <= num:
        index = symmetry.orbit_index((perms, signs), net)
        counts = np.bincount(index, minlength=size)
        stat, p_value = stats.chisquare(counts)
        detail = f"chi-square of the orbit index of {num} draws over |G| = {size} elements"
        return CheckResult("orbit", float(stat), float(p_value), math.nan, True, NULL, detail), index
    p_values, stat = [], 0.0
    for layer, width in enumerate(widths):
        position = np.argmax(perms[layer] == 0, axis=1)  # where unit 0 lands after sorting
        if num >= 5 * width:
            s, p = stats.chisquare(np.bincount(position, minlength=width))
            p_values.append(p)
            stat = max(stat, float(s))
        if symmetry.has_sign_flips(net):
            flipped = signs[layer][np.arange(num), position] < 0
            p_values.append(stats.binomtest(int(flipped.sum()), num, 0.5).pvalue)
    if not p_values:
        return not_applicable("orbit", NULL, f"only {num} draws for layers of width {widths}"), None
    p_value = min(1.0, len(p_values) * min(p_values))
    detail = (
        f"|G| = {symmetry.format_size(size)} > N/5: position and sign of unit 0 per layer, "
        f"{len(p_values)} tests, Bonferroni (statistic: largest chi-square)"
    )
    return CheckResult("orbit", stat, float(p_value), math.nan, True, NULL, detail), None
