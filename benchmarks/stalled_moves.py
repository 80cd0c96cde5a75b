"""A prototype, not in the library: fewer moves a stage once a population's moves stall in S.

``smc_variants.py`` with ``cn.SMC`` replaced by a subclass with one more keyword,
``max_moves_stalled``: a population that holds a particle in S and whose moves have stalled
(a stage ran ``max_moves`` short of ``jump_target``; where the default
``target_ess_stalled=0.9`` makes its steps finer) moves at most ``max_moves_stalled`` times
a stage instead of ``max_moves``. Each population decides from its own state, as
``target_ess_stalled`` does, so the populations stay independent. On the teacher and
random labels the stalled stages are where the gradients go (every NUTS tree at its cap,
tiny jumps): this asks whether the finer steps there need the full ``max_moves``.
One process, populations over its devices (not split, not over processes). Same arguments
and output as ``smc_variants.py``::

    python benchmarks/stalled_moves.py --rung random-labels --seeds 0 1 \\
        --variant stalled6='{"max_moves_stalled": 6}'
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import smc_variants  # noqa: E402  (sets XLA_FLAGS before jax is imported)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from consistent_nets.samplers import distributed, tempered  # noqa: E402
from consistent_nets.samplers.distributed import device_get  # noqa: E402


@dataclass(frozen=True)
class StalledMovesSMC(cn.SMC):
    """``cn.SMC`` whose populations move at most ``max_moves_stalled`` times a stage once
    their moves stalled in S (see the module); ``None``: ``cn.SMC`` itself."""

    max_moves_stalled: int | None = None

    def validate(self):
        super().validate()
        if self.max_moves_stalled is not None and not self.min_moves <= self.max_moves_stalled <= self.max_moves:
            raise ValueError(f"max_moves_stalled must lie in [min_moves, max_moves], got {self.max_moves_stalled!r}")
        if self.max_moves_stalled is not None and (self.split_particles or distributed.is_distributed()):
            raise ValueError("max_moves_stalled: the prototype moves whole populations in one process "
                             "(split_particles=False, not over processes)")

    def advance(self, run, stage):
        if self.max_moves_stalled is None:
            return super().advance(run, stage)
        p = run.programs
        if "mutate_per_population" not in p:  # max_moves per population (the library's: one for all)
            on_chains = partial(jax.vmap, in_axes=(0, 0, 0, 0, None, 0, None, 0))
            p["mutate_per_population"] = run.target.jit(
                lambda t: on_chains(partial(tempered.mutate, t, self)), ("proto-mutate-stalled", self))
        reached = np.asarray(device_get(jnp.mean(run.states.in_set, axis=1))) > 0  # what reweight reads
        stalled = reached & np.asarray(device_get(run.states.stalled)) & ~np.asarray(device_get(run.states.done))
        max_moves = jnp.asarray(np.where(stalled, self.max_moves_stalled, self.max_moves), jnp.int32)
        run.stages_stalled = getattr(run, "stages_stalled", 0) + int(stalled.sum())
        per_population = p["mutate_per_population"]
        run.programs = p | {"mutate": lambda key, u, beta, step, restrict, _, jump, mass:
                            per_population(key, u, beta, step, restrict, max_moves, jump, mass)}
        try:  # the stage as cn.SMC runs it, with each population's own max_moves
            run, info = super().advance(run, stage)
        finally:
            run.programs = p
        moves = np.asarray(info.num_moves)[stalled]  # what the capped populations did
        run.most_moves_capped = max([getattr(run, "most_moves_capped", 0), *moves.tolist()])
        return run, info

    def _result(self, run, *args):
        n = getattr(run, "stages_stalled", 0)
        print(f"[stalled_moves] {n} population-stages of {len(run.infos) * run.num_chains} moved at most "
              f"{self.max_moves_stalled} times (their most: {getattr(run, 'most_moves_capped', 0)})", file=sys.stderr)
        return super()._result(run, *args)


#: ``--tiny`` (XOR, whose moves never stall on their own): a jump target out of reach makes every
#: stage run ``max_moves``, so the populations stall at once and the cap applies from the next stage
TINY_VARIANTS = {"stalled": {"jump_target": 100.0, "max_moves": 4, "max_moves_stalled": 2}}

if __name__ == "__main__":
    smc_variants.TINY["variants"] = TINY_VARIANTS
    cn.SMC = StalledMovesSMC  # smc_variants builds every variant with cn.SMC(**kwargs)
    raise SystemExit(smc_variants.main())
