"""How the log-volume estimate depends on the population size N: bias against 1/N.

SMC's ``Ẑ`` is unbiased for vol(S), so ``log Ẑ`` is biased low (Jensen), by an amount
that shrinks as the population grows; with rare populations that find more of S the
distribution of ``Ẑ`` is skewed, and a few populations underestimate it typically.
For each N in ``--sizes``, ``--populations`` independent populations of N particles
(one ``cn.sample`` call with ``num_chains`` = populations and ``num_particles`` = N, or
one tuned BlackJAX run per population), recording every population's ``log Ẑ``. The
record gives, per N: the mean and SD of ``log Ẑ`` over populations, the pooled
``log mean Ẑ`` with its delta-method SE (what ``cn.sample`` reports for that many
populations), and gradient evaluations. A straight-line fit of the mean ``log Ẑ``
against ``1/N`` extrapolates to ``N = ∞``; BENCHMARKS.md compares each default
estimate with it.

    python benchmarks/volume_bias.py --rung random-labels --sizes 250 500 1000 2000 4000 --populations 8
    python benchmarks/volume_bias.py --rung xor --sizes 500 --populations 64 --smc '{"kernel": "rhmc"}'

``--smc`` passes other ``cn.SMC`` settings (a kernel's volume against an exact value).
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results, smc_keywords  # noqa: E402
from benchmarks.rungs import RUNGS, get_rung  # noqa: E402
from consistent_nets.samplers.population import log_volume_from_chains  # noqa: E402


def smc_populations(problem, size, populations, key, settings=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        method = cn.SMC(**(settings or {}), num_particles=size)
        tree = cn.sample(problem, method=method, num_samples=size * populations,
                         num_chains=populations, rng_key=key, progress_bar=False)
    stages = tree["smc_stages"]
    per_population = stages["log_volume"].values
    return per_population, int(tree.attrs["num_grad_evals"]), float(tree.attrs["ess"]), tree.attrs["mass"], stage_paths(stages)


def stage_paths(stages):
    """Each population's path through its tempering stages (the stages it was active in):
    beta, fraction in S and log Z_beta after each stage, and the moves' step size, acceptance,
    number, gradients and whitened jump, so that a population whose estimate falls far below
    the others can be read back (where it entered S, how fast beta rose, whether it moved)."""
    names = ("beta", "fraction_in_set", "log_z", "ess", "step_size", "acceptance", "num_moves",
             "num_grad_evals", "num_divergent", "jump", "num_ancestors", "num_distinct")
    paths = []
    for c in range(stages.sizes["chain"]):
        active = np.asarray(stages["active"].values[c], bool)
        paths.append({name: np.asarray(stages[name].values[c], np.float64)[active].tolist()
                      for name in names if name in stages})
    return paths


def peer_populations(problem, size, populations, key, settings=None):
    from benchmarks.peers.blackjax_smc import TUNED, run_blackjax_smc

    settings = TUNED.__class__(**{**TUNED.__dict__, "num_particles": size})
    _, stats = run_blackjax_smc(problem, key, settings, num_runs=populations)
    return np.asarray(stats["log_volume_per_run"]), int(stats["grad_evals"]), float("nan"), None, None


def smc_settings(text: str) -> dict:
    """``--smc``: ``cn.SMC`` keyword arguments as JSON, checked before anything compiles."""
    return smc_keywords(text, f"--smc {text!r}", refused={"num_particles": "--sizes"})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="random-labels")
    parser.add_argument("--method", choices=["smc", "blackjax-tuned"], default="smc")
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000, 4000])
    parser.add_argument("--populations", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smc", type=smc_settings, default={},
                        help="cn.SMC keyword arguments as JSON (not num_particles), e.g. '{\"kernel\": \"rhmc\"}'")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.smc and args.method != "smc":
        parser.error("--smc applies to --method smc only")
    if args.tiny:
        args.rung, args.sizes, args.populations = "xor", [16, 32], 2
    problem = get_rung(args.rung).build()
    run = smc_populations if args.method == "smc" else peer_populations
    records = []
    for i, size in enumerate(args.sizes):
        start = time.perf_counter()
        log_z, grads, ess, mass, paths = run(problem, size, args.populations, jax.random.key(args.seed + i), args.smc)
        finite = log_z[np.isfinite(log_z)]
        pooled, pooled_se = log_volume_from_chains(log_z)
        records.append({
            "rung": args.rung, "method": args.method, "num_particles": size, "populations": args.populations,
            "smc_settings": args.smc,
            "log_volume_per_population": log_z.tolist(),
            "populations_without_draws": int(np.sum(~np.isfinite(log_z))),
            "mean": float(np.mean(finite)), "sd": float(np.std(finite, ddof=1)) if finite.size > 1 else None,
            "pooled": pooled, "pooled_se": pooled_se, "grad_evals": grads, "ess": ess,
            "mass": mass,  # where smc's moves took their mass matrix (cn.SMC.mass)
            "seconds": time.perf_counter() - start,
            "stages": paths,  # smc: each population's path per stage (beta, fraction in S, log Z_beta, moves)
        })
        print(f"[volume_bias] {args.rung} {args.method} N={size}: mean {records[-1]['mean']:.3f} "
              f"sd {records[-1]['sd'] or float('nan'):.3f} pooled {pooled:.3f} ± {pooled_se:.3f} "
              f"({records[-1]['seconds']:.0f} s)", file=sys.stderr, flush=True)
    x = 1.0 / np.array([r["num_particles"] for r in records])
    y = np.array([r["mean"] for r in records])
    if len(records) >= 2:
        w = np.array([args.populations / max(r["sd"] or 1e-3, 1e-3) ** 2 for r in records])
        slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(w))
        for r in records:
            r["extrapolated_log_volume"] = float(intercept)
            r["slope_per_inverse_n"] = float(slope)
        print(f"[volume_bias] extrapolated to N = inf: {intercept:.3f} (slope {slope:.1f} / N)", file=sys.stderr)
    meta = machine_info() | {"tiny": args.tiny, "rung_description": get_rung(args.rung).description}
    save_results(args.out, f"volume-bias-{args.rung}-{args.method}", "volume-bias", meta, records)


if __name__ == "__main__":
    main()
