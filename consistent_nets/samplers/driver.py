"""The one loop every sampler runs under: budgets, progress, Ctrl-C, warnings, errors.

Modelled on NumPyro's ``MCMC`` driver over its kernels: the sampler (see
:class:`.base.Sampler`) says how to start, advance one stage and finish; this module
decides when to stop — the sampler's own reason (``"done"``, a draw budget), the
stage budget, the wall-clock budget (checked between stages) or Ctrl-C (the stages
completed so far are kept and the result is marked incomplete) — shows progress
("compiling…", then the sampler's numbers per stage and an ETA), warns when the result
is incomplete and raises :class:`InfeasibleError` with the sampler's bound when it found
nothing in S. A sampler with ``feasibility_probe=True`` is preceded by the cheap
feasibility probe (:mod:`.feasibility`), which refuses most empty S within seconds.
"""

from __future__ import annotations

import time
import warnings

from .._errors import InfeasibleError
from .distributed import agree
from .feasibility import probe
from .progress import Progress
from .result import Infeasible, Result

__all__ = ["run"]


def run(sampler, target, rng_key, num_samples: int, num_chains: int, progress_bar: bool) -> Result:
    """Run ``sampler`` on ``target`` to completion or budget; see the module docstring.

    Returns the sampler's :class:`Result` with ``attrs`` ``method``, ``stop_reason``
    and ``complete`` filled in.
    """
    max_stages, max_seconds = sampler.budget()
    bar = Progress(progress_bar, desc=sampler.name, unit=sampler.unit, total=sampler.progress_total(num_samples))
    stage, reason, start = 0, None, time.perf_counter()
    try:
        sampler.check_sizes(num_samples, num_chains)  # before the probe compiles anything
        if getattr(sampler, "feasibility_probe", False):
            refused = probe(target, rng_key)
            if refused is not None:
                raise InfeasibleError(f"{sampler.name}: {refused.message}", refused.log_volume_upper_bound)
        state = sampler.start(target, rng_key, num_samples, num_chains)
    except BaseException:
        bar.close()
        raise
    try:
        while True:
            reason = sampler.stop(state)
            if reason is None and max_stages is not None and stage >= max_stages:
                reason = "max_stages"
            if reason is None and max_seconds is not None and time.perf_counter() - start > max_seconds:
                reason = "max_seconds"
            reason = agree(reason)  # over several processes: process 0's clock decides
            if reason is not None:
                break
            state, info = sampler.advance(state, stage)
            stage += 1
            bar.stage(*sampler.progress(state, info), sampler.progress_goal(state, info))
    except KeyboardInterrupt:
        reason = "interrupted"
        warnings.warn(f"{sampler.name} interrupted: keeping the {stage} completed stages", RuntimeWarning, stacklevel=3)
    finally:
        bar.close()
    outcome = sampler.finish(state, reason)
    if isinstance(outcome, Infeasible):
        raise InfeasibleError(f"{sampler.name}: {outcome.message}", outcome.log_volume_upper_bound)
    if not outcome.complete:
        stopped = f"budget ({reason}) exhausted" if reason.startswith("max_") else f"stopped ({reason})"
        warnings.warn(
            f"{sampler.name} {stopped}: {outcome.note} (attrs['complete'] = 0)", RuntimeWarning, stacklevel=3
        )
    outcome.attrs = {"method": sampler.name, **outcome.attrs, "complete": bool(outcome.complete), "stop_reason": reason}
    return outcome
