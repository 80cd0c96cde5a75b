"""Which draws depend on each other: blocks, and one draw per block for the tests.

Every p-value check assumes independent draws. A sampler's rows are not: SMC siblings
that share an ancestor sit next to each other in S (and in its symmetry orbits), MCMC
draws are autocorrelated. Testing them as if independent turns a correct but clumped
sample into a false alarm. So the draws are grouped into *blocks* of dependent rows,
and the chord, orbit, reference, mixing and population checks use one draw per block,
chosen at random (:func:`thin`):

* ``sample_stats["lineage"]`` (SMC): a block is the particles that share an ancestor a
  few resamplings back (see :mod:`consistent_nets.samplers.effective`);
* ``attrs["draw_structure"] == "independent"`` (rejection, SGD runs): every row alone;
* otherwise (MCMC chains, and trees from elsewhere): consecutive runs of
  ``round(draws / ESS)`` draws per chain, with ESS ArviZ's bulk ESS of the chain's
  function-space outputs (the draws an autocorrelation time apart).

Whatever the structure, draws with identical function-space outputs (copies, and
symmetric copies of one draw: the same function) join one block, so a sample inflated
by copies gets no credit for them, wherever they sit. The number of blocks is the
sample's effective size for these tests.
"""

from __future__ import annotations

import jax
import numpy as np

from ..samplers.effective import chain_ess

__all__ = ["dependence_blocks", "thin", "describe"]


def dependence_blocks(tree, f: np.ndarray) -> tuple[np.ndarray, str]:
    """Block ids ``(chain, draw)`` (unique across chains) and how they were formed.

    ``f`` are function-space outputs ``(chain, draw, feature)`` of the tree's draws.
    """
    blocks, how = _structure_blocks(tree, f)
    # copies (identical outputs) share a block: the smallest id among their blocks
    flat = blocks.reshape(-1)
    _, copy_group = np.unique(f.reshape(flat.size, -1), axis=0, return_inverse=True)
    copy_group = copy_group.reshape(-1)
    smallest = np.full(copy_group.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, copy_group, flat)
    merged = smallest[copy_group]
    if not np.array_equal(merged, flat):
        how += ", copies merged"
    return merged.reshape(blocks.shape), how


def _structure_blocks(tree, f: np.ndarray) -> tuple[np.ndarray, str]:
    num_chains, num_draws = f.shape[:2]
    offsets = (np.arange(num_chains) * num_draws)[:, None]
    stats = tree["sample_stats"] if "sample_stats" in tree.children else None
    if stats is not None and "lineage" in stats.data_vars:
        lineage = np.asarray(stats["lineage"].transpose("chain", "draw").values, dtype=np.int64)
        return lineage + offsets, "lineage"
    if str(tree.attrs.get("draw_structure", "")) == "independent":
        return np.arange(num_chains * num_draws).reshape(num_chains, num_draws), "independent"
    blocks = np.empty((num_chains, num_draws), dtype=np.int64)
    keep = np.var(f.reshape(-1, f.shape[-1]), axis=0) > 0
    per_chain = chain_ess(f[..., keep]) if num_draws >= 4 and keep.any() else None
    for c in range(num_chains):
        length = 1
        if per_chain is not None:
            ess = float(per_chain[c]) if np.isfinite(per_chain[c]) else 1.0
            length = max(1, round(num_draws / max(min(ess, num_draws), 1.0)))
        blocks[c] = c * num_draws + np.arange(num_draws) // length
    return blocks, "autocorrelation"


def thin(rng_key, blocks: np.ndarray) -> np.ndarray:
    """Flat indices (into ``chain * draw``) of one random draw per block, in order."""
    flat = blocks.reshape(-1)
    order = np.asarray(jax.random.permutation(rng_key, flat.size))
    _, first = np.unique(flat[order], return_index=True)
    return np.sort(order[first])


def describe(blocks: np.ndarray, how: str) -> str:
    """One line for the report: rows, blocks and how the blocks were formed."""
    return f"{np.unique(blocks).size} independent blocks of {blocks.size} draws ({how})"
