"""What to try when checks fail: one line per cause, from the failing checks and the tree's attrs.

A failed report says *that* the draws are not (yet) uniform on S; this says what has
helped on the benchmarks' ladder (see BENCHMARKS.md) for the kind of sample the tree is
(its ``attrs["method"]``). Nothing here changes a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..samplers.population import MEASURED_LOG_VOLUME_BIAS
from .report import CheckResult

__all__ = ["advise"]

#: populations that weight S's regions differently: what was measured on random labels
_POPULATIONS = (
    "the {chains} populations weight S's regions differently{inflation}: the sample's mode weights "
    "are uncertain, and tree.attrs['ess'] counts it - use that many draws' worth, or {remedy}"
)
#: the remedy while the tempering steps are coarser than the measured fix (BENCHMARKS.md, "Finer tempering steps")
_FINER = (
    "temper in finer steps (method=cn.SMC(target_ess=0.9)): each stage's reweighting moves the "
    "populations' mode weights apart once S's regions have separated, and on the random-labels rung "
    "0.9 made them agree and the report pass on 8 of 8 keys (1 of 8 at 0.5), with 1.6x the effective "
    "draws at 2.6x the gradients (cn.SMC(target_ess_in_set=0.9), finer only once a population reached S: "
    "6 of 8 at 1.8x; the teacher rung's two failing keys passed with it at 1.6x, and 9 of its 10 keys with "
    "kernel='rhmc' added, at 0.9x); more particles "
    "(num_particles={more}) raise the effective draws but not the agreement, and more or longer moves "
    "did neither"
)
#: the remedy once the steps in S were fine (by option, or the moves stalled there) but coarse before S
_THROUGHOUT = (
    "temper in finer steps from the start (method=cn.SMC(target_ess=0.9)): this run stepped finely "
    "only in S (target_ess_in_set, or its moves stalled there); on the random-labels rung 0.9 "
    "throughout made the populations agree and the report pass on 8 of 8 keys at 2.6x the gradients "
    "of 0.5; more particles "
    "(num_particles={more}) raise the effective draws but not the agreement"
)
_MORE = (
    "sample more (method=cn.SMC(num_particles={more}), or a target_ess nearer 1): more particles raise "
    "the effective draws; on the random-labels rung they did not make the populations agree"
)
#: tempering at least this fine is what the measured fix used
FINE_TARGET_ESS = 0.9

_CHAINS = (
    "the chains sit in different regions of S: chains started from the prior rarely cross between "
    "S's components; method='smc' moves populations of particles through a tempering schedule"
)


def advise(checks: Mapping[str, CheckResult], attrs: Mapping, num_chains: int, num_rows: int) -> tuple[str, ...]:
    """One line of advice per cause of failure, in the order a user should act on them.

    ``num_chains`` populations or chains holding ``num_rows`` draws in all (``report.info``).
    """
    failed = {name for name, c in checks.items() if c.passed is False}
    method = str(attrs.get("method", ""))
    out = []
    if "membership" in failed:
        out.append(
            "draws outside S: the sampler stopped before every draw was consistent "
            "(tree.attrs['complete'] and 'stop_reason' say why); a NumPyro model must declare "
            "its constraints with cn.consistent"
        )
    if "chord" in failed:
        out.append(
            "the draws are not uniform within S (the SGD heuristic's sit near S's boundary): "
            "method='smc' samples uniformly"
            if method == "sgd"
            else "the draws are not uniform within S along random chords: compare the method "
            "with method='smc' (its defaults), or with method='rejection' on a smaller problem"
        )
    if failed & {"rhat", "populations"} and num_chains >= 2:
        if method == "smc":
            inflation = attrs.get("ess_between_population_inflation")
            said = f" ({float(inflation):.2g}x the variance their lineages explain)" if _finite(inflation) else ""
            more = 2 * num_rows // num_chains
            # the steps once S was reached (older trees record only target_ess), finer where the
            # moves stalled in S (target_ess_stalled, in trees since it became the default)
            early = attrs.get("target_ess")
            late = attrs.get("target_ess_in_set", early)
            stalled = attrs.get("target_ess_stalled")
            if _finite(stalled) and int(attrs.get("num_populations_stalled", 0)) > 0:
                late = max(float(late), float(stalled)) if _finite(late) else float(stalled)
            if not _finite(late) or float(late) < FINE_TARGET_ESS:
                remedy = _FINER
            elif not _finite(early) or float(early) < FINE_TARGET_ESS:
                remedy = _THROUGHOUT
            else:
                remedy = _MORE
            out.append(_POPULATIONS.format(chains=num_chains, inflation=said, remedy=remedy.format(more=more)))
        else:
            out.append(_CHAINS)
    if "ess" in failed:
        ess = checks["ess"].statistic
        if method != "smc" and ess < 0.1 * num_rows:  # MCMC draws that barely move
            out.append(f"{ess:.0f} effective draws of {num_rows} rows: the chains barely move; method='smc'")
        else:
            more = " or more particles per population" if method == "smc" else ""
            out.append(f"{ess:.0f} effective draws of {num_rows} rows: ask for more draws (num_samples){more}")
    if "orbit" in failed and not int(attrs.get("symmetrized", 0)):
        out.append(
            "the draws favour some hidden-unit permutations or sign flips: for a cn.Problem, "
            "cn.symmetrize(tree, problem, rng_key) makes them orbit-uniform exactly (cn.sample "
            "does it by default)"
        )
    if "volume" in failed:
        out.append(
            "the log-volume estimates disagree beyond their standard errors: SMC's can sit low "
            f"at small populations ({MEASURED_LOG_VOLUME_BIAS}): compare runs with num_particles >= 1000"
        )
    if "weights" in failed:
        out.append(
            "the importance weights are heavy-tailed (Pareto k-hat above the PSIS threshold): "
            "estimates from the weighted draws are unreliable"
        )
    if "reference" in failed and not out:
        out.append(
            "the draws differ from the reference sample in function space "
            "(report['reference'].detail names the feature): more particles, moves or draws"
        )
    return tuple(out)


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
