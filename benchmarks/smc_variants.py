"""Settings of ``cn.SMC`` against the defaults on one rung, over several keys.

For each variant (a name and ``cn.SMC`` keyword arguments, where ``num_chains`` goes to
``cn.sample``: the number of populations, default 4) and each key, one
``cn.sample`` of ``--num-samples`` draws with the ladder's ``smc`` key for that seed, then
``cn.diagnose`` without a reference (``rng_key = key(seed + 1)``, as ``ladder.py --seed``
does). A record: rows, effective draws (``tree.attrs["ess"]``, and ArviZ's bulk ESS of the
same outputs as the ladder computes it) and the between-population inflation, gradient
evaluations, log vol ± SE (and each population's), run seconds, the verdict and the failing
checks. Which settings buy effective draws, passing reports or unbiased volumes, and at
what cost — the evidence behind the defaults and behind ``report.advice``.

    python benchmarks/smc_variants.py --rung random-labels --seeds 0 1 2 3 \\
        --variant default={} --variant particles1000='{"num_particles": 1000}'
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results, smc_keywords  # noqa: E402
from benchmarks.rungs import RUNGS, get_rung  # noqa: E402
from methods import effective_draws_record, method_key  # noqa: E402

TINY = {"num_samples": 40, "variants": {"default": {}, "particles40": {"num_particles": 40}}}


def smc_settings(kwargs: dict) -> dict:
    """A variant's ``cn.SMC`` keywords: all but ``num_chains``, which goes to ``cn.sample``."""
    return {k: v for k, v in kwargs.items() if k != "num_chains"}


def variant(text: str) -> tuple[str, dict]:
    """``NAME=JSON`` (keyword arguments of ``cn.SMC``) as ``(name, kwargs)``."""
    name, sep, kwargs = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME={{...}}")
    return name, smc_keywords(kwargs, f"--variant {text!r}", elsewhere=("num_chains",))


def run_one(problem, name, kwargs, seed, num_samples):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tree = cn.sample(problem, method=cn.SMC(**smc_settings(kwargs)), num_samples=num_samples,
                         num_chains=kwargs.get("num_chains", 4), rng_key=method_key(seed, "smc"), progress_bar=False)
    seconds = time.perf_counter() - start
    report = cn.diagnose(tree, problem, rng_key=jax.random.key(seed + 1))
    a = tree.attrs
    rows = int(tree.posterior.sizes["chain"] * tree.posterior.sizes["draw"])
    grads = int(a["num_grad_evals"])
    # the library's count and ArviZ's bulk ESS of the same features, as the ladder records them
    ess = effective_draws_record(problem, tree, {"run_s": seconds, "grad_evals": grads})
    return {
        "variant": name, "settings": kwargs, "seed": seed, "rows": rows,
        "ess": ess["ess"], "inflation": float(a.get("ess_between_population_inflation", float("nan"))),
        "grad_evals": grads, "grads_per_ess": ess["grad_evals_per_ess"],
        "log_volume": float(a["log_volume"]), "log_volume_se": float(a["log_volume_se"]),
        "log_volume_per_population": tree["smc_stages"]["log_volume"].values.tolist(),
        "seconds": seconds, "passed": bool(report.passed),
        "failing": [n for n, c in report.checks.items() if c.passed is False],
        # each check's statistic, p-value and threshold: why a key failed, and by how much
        "checks": {n: {"statistic": float(c.statistic), "p_value": float(c.p_value), "threshold": float(c.threshold),
                       "passed": c.passed} for n, c in report.checks.items()},
        "ess_arviz": ess["ess_arviz"], "grads_per_ess_arviz": ess["grad_evals_per_ess_arviz"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="random-labels")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--variant", type=variant, action="append", default=None,
                        help="NAME=JSON of cn.SMC keyword arguments (repeatable; default: the defaults)")
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--tiny", action="store_true", help="XOR, 40 draws, one key: checks the harness")
    parser.add_argument("--out", default=None, help="a .json file or a directory (default benchmarks/results/)")
    args = parser.parse_args(argv)
    variants = dict(args.variant or [("default", {})])
    if args.tiny:
        args.rung, args.seeds, args.num_samples, variants = "xor", [0], TINY["num_samples"], TINY["variants"]
    machine = machine_info()  # the load average as the runs start
    problem = get_rung(args.rung).build()
    records = []
    for name, kwargs in variants.items():
        for seed in args.seeds:
            records.append(run_one(problem, name, kwargs, seed, args.num_samples))
            r = records[-1]
            print(f"[smc_variants] {name} seed {seed}: ess {r['ess']:.0f} (x{r['inflation']:.2f}) "
                  f"log vol {r['log_volume']:.3f} ± {r['log_volume_se']:.3f} "
                  f"{'pass' if r['passed'] else 'FAIL ' + ','.join(r['failing'])}", file=sys.stderr, flush=True)
    meta = machine | {"rung": args.rung, "num_samples": args.num_samples, "seeds": args.seeds,
                      "tiny": args.tiny, "variants": variants}
    save_results(args.out, f"smc-variants-{args.rung}", "smc-variants", meta, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
