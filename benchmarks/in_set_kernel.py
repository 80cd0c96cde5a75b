"""A prototype, not in the library: NUTS until every population holds a particle in S, then the final kernel.

``smc_variants.py`` with ``cn.SMC`` replaced by a subclass whose tempering stages move with
``final_kernel``'s program (``"rhmc"``, say) once every population still tempering holds a particle
in S, and with NUTS before. On the teacher the stages after S are where the gradients go (every NUTS
tree at its cap), and ``kernel="rhmc"`` throughout put the volume low: this asks whether the cheap
move confined to those stages keeps NUTS's volume. One host decision per stage for all populations
(a vectorised call runs one kernel), so a population's kernel depends on the others' progress too.
Same arguments and output as ``smc_variants.py`` (its ``--variant`` takes ``cn.SMC`` keywords)::

    python benchmarks/in_set_kernel.py --rung random-labels --seeds 0 1 \\
        --variant hybrid='{"final_kernel": "rhmc", "target_ess_in_set": 0.9}'
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import smc_variants  # noqa: E402  (sets XLA_FLAGS before jax is imported)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from consistent_nets.samplers.distributed import device_get  # noqa: E402


@dataclass(frozen=True)
class InSetKernelSMC(cn.SMC):
    """``cn.SMC`` whose stages after S move with the final phase's kernel (see the module)."""

    def advance(self, run, stage):
        fraction = np.asarray(device_get(jnp.mean(run.states.in_set, axis=1)))  # what reweight reads
        active = ~np.asarray(device_get(run.states.done))
        after_s = bool(np.all(fraction[active] > 0))
        run.stages_after_s = getattr(run, "stages_after_s", 0) + int(after_s)
        programs = run.programs  # the stage as cn.SMC runs it, with the final kernel's moves after S
        run.programs = programs | {"mutate": programs["final_mutate"]} if after_s else programs
        try:
            return super().advance(run, stage)
        finally:
            run.programs = programs

    def _result(self, run, *args):
        n = getattr(run, "stages_after_s", 0)
        print(f"[in_set_kernel] {n} of {len(run.infos)} stages moved with {self.final_move}", file=sys.stderr)
        return super()._result(run, *args)


if __name__ == "__main__":
    cn.SMC = InSetKernelSMC  # smc_variants builds every variant with cn.SMC(**kwargs)
    raise SystemExit(smc_variants.main())
