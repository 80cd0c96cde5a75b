"""A prototype, not in the library: the moves with a dense inverse mass from another population.

``smc_variants.py`` with ``cn.SMC``'s diagonal inverse mass (each coordinate's variance in
population ``c + 1``, ``mass="other"``) replaced by that population's covariance, shrunk
toward its diagonal, ``(1 - s) C + s diag(C)`` with ``s = --shrink``: BlackJAX's kernels
take a dense inverse mass as they take a diagonal one, and a mass from another, independent
population keeps every move exact for the population it moves, as ``mass="other"`` does.
This asks whether moves along S's correlated directions travel further where the trees
saturate and the steps shrink against S's walls. A dense mass costs ``dim**2`` a leapfrog
step per particle (the gradient of the networks measured here costs about as much on random
labels, far less on the teacher); the stages record the diagonal, as before. Same arguments
and output as ``smc_variants.py``::

    python benchmarks/dense_mass.py --rung random-labels --seeds 0 1 --variant dense='{}'
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import smc_variants  # noqa: E402  (sets XLA_FLAGS before jax is imported)

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import consistent_nets.samplers.smc as smc_module  # noqa: E402
from consistent_nets.samplers import distributed  # noqa: E402
from consistent_nets.samplers.smc_programs import place_populations  # noqa: E402

SHRINK = 0.1


def dense_masses(config, scale, u, num_chains, mesh):
    """``move_masses`` with each population's covariance instead of its variances (see the module)."""
    x = np.asarray(distributed.device_get(u), dtype=np.float64)  # (chain, N, dim)
    d = x - x.mean(axis=1, keepdims=True)
    cov = np.einsum("cni,cnj->cij", d, d) / (x.shape[1] - 1)
    diag = np.einsum("cii->ci", cov)
    shrunk = (1 - SHRINK) * cov + SHRINK * np.einsum("ci,ij->cij", diag, np.eye(x.shape[2]))
    own_diag = np.asarray(distributed.device_get(scale(u)))  # the library's variances: what stages record
    roll = config.mass == "other" and x.shape[0] > 1
    used = np.roll(shrunk, -1, axis=0) if roll else shrunk
    recorded = np.roll(own_diag, -1, axis=0) if roll else own_diag
    return place_populations(used.astype(own_diag.dtype), num_chains, mesh), recorded


if __name__ == "__main__":
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--shrink", type=float, default=SHRINK)
    known, rest = pre.parse_known_args()
    SHRINK = known.shrink
    smc_module.move_masses = dense_masses  # cn.SMC's stages and final phase read it from there
    print(f"[dense_mass] dense inverse mass, shrink {SHRINK}", file=sys.stderr)
    raise SystemExit(smc_variants.main(rest))
