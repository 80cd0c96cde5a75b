"""Is the reported effective sample size honest? Checked against independent runs.

For a rung, ``--runs`` independent ``cn.sample`` runs with the same settings (keys
``seed..seed+runs-1``). Each run reports ``attrs["ess"]``: the effective number of
independent draws in function space (``consistent_nets/samplers/effective.py``). The
truth it estimates is measured from the runs themselves: for every function-space
feature ``f_k`` (outputs at the data and at 16 fixed probes),

    ESS_implied,k = Var(f_k) / Var_runs(run mean of f_k),

the median over features (``Var(f_k)`` pooled over all draws, ``Var_runs`` the sample
variance of the runs' means, ``runs - 1`` degrees of freedom). The same with the
``runs x chains`` population means (more degrees of freedom, per population) is
``ess_implied_per_population``. For SMC the script also recomputes the reported number
at other lineage lags (resamplings back at which siblings count once), which is how the
default lag was chosen.

    python benchmarks/effective_draws.py --rung xor --runs 8
    python benchmarks/effective_draws.py --rung moons --runs 6 --num-samples 2000
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import RUNGS, get_rung  # noqa: E402
from consistent_nets._api import resolve_method  # noqa: E402
from consistent_nets._postprocess import function_space_features  # noqa: E402
from consistent_nets.extend import make_target, run  # noqa: E402
from consistent_nets.samplers.effective import LINEAGE_LAG, effective_draws, lineage_groups  # noqa: E402

LAGS = (1, 2, 3, 5, 10**6)


def implied_ess(means: np.ndarray, pooled_var: np.ndarray) -> float:
    """Median over features of ``pooled_var / var(means)`` (means: (replicates, feature))."""
    between = np.var(means, axis=0, ddof=1)
    keep = (between > 0) & (pooled_var > 0)
    return float(np.median(pooled_var[keep] / between[keep]))


def one_run(problem, method, key, num_samples, num_chains):
    sampler = resolve_method(method)
    target = make_target(problem)
    start = time.perf_counter()
    result = run(sampler, target, key, num_samples, num_chains, False)
    seconds = time.perf_counter() - start
    features = function_space_features(target, result.posterior)
    lags = {}
    if result.structure == "lineage":
        for lag in LAGS:
            lags[lag] = effective_draws(features, "lineage", lineage_groups(result.ancestry, lag))
        reported = lags[LINEAGE_LAG]
    else:
        reported = effective_draws(features, result.structure)
    return {
        "features": features,
        "seconds": seconds,
        "grad_evals": int(result.attrs.get("num_grad_evals", 0)),
        "log_volume": float(result.log_volume),
        "log_volume_se": float(result.log_volume_se),
        "num_distinct": int(result.attrs.get("num_distinct", 0)),
        "reported": reported,
        "lags": lags,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="xor")
    parser.add_argument("--method", default="smc")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--num-chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: checks the script, not numbers")
    parser.add_argument("--out", default=None)
    parser.add_argument(
        "--cache", default=None, help="folder keeping each finished run, so that a rerun with the same arguments resumes"
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.runs, args.num_samples, args.num_chains = 3, 64, 2
    rung = get_rung(args.rung)
    problem = rung.build()
    runs = []
    for r in range(args.runs):
        cached = None
        if args.cache:
            name = f"{args.rung}-{args.method}-{args.num_samples}x{args.num_chains}-key{args.seed + r}.pkl"
            cached = Path(args.cache) / name
        if cached is not None and cached.exists():
            out = pickle.loads(cached.read_bytes())
        else:
            out = one_run(problem, args.method, jax.random.key(args.seed + r), args.num_samples, args.num_chains)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(pickle.dumps(out))
        print(
            f"[effective_draws] {args.rung} run {r}: ess {out['reported'][0]:.0f} (inflation {out['reported'][2]:.2f}), "
            f"distinct {out['num_distinct']}, log vol {out['log_volume']:.3f} ± {out['log_volume_se']:.3f}, "
            f"{out['seconds']:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        runs.append(out)
    # runs may differ in their number of chains (an SMC population that found no draw in S)
    flat = [o["features"].reshape(-1, o["features"].shape[-1]) for o in runs]
    pooled_var = np.var(np.concatenate(flat), axis=0)
    run_means = np.stack([x.mean(axis=0) for x in flat])
    pop_means = np.concatenate([o["features"].mean(axis=1) for o in runs])
    features = runs[0]["features"]
    reported = np.array([o["reported"][0] for o in runs])
    per_population = np.array([np.median(o["reported"][1]) for o in runs])
    record = {
        "rung": args.rung,
        "method": args.method,
        "runs": args.runs,
        "num_samples": args.num_samples,
        "num_chains": args.num_chains,
        "rows_per_run": [int(x.shape[0]) for x in flat],
        "num_features": int(features.shape[-1]),
        "ess_reported_median": float(np.median(reported)),
        "ess_reported": reported.tolist(),
        "ess_implied_between_runs": implied_ess(run_means, pooled_var),
        "ess_reported_per_population_median": float(np.median(per_population)),
        "ess_implied_per_population": implied_ess(pop_means, pooled_var),
        "inflation": [o["reported"][2] for o in runs],
        "num_distinct": [o["num_distinct"] for o in runs],
        "grad_evals": [o["grad_evals"] for o in runs],
        "seconds": [o["seconds"] for o in runs],
        "log_volume": [o["log_volume"] for o in runs],
        "log_volume_se": [o["log_volume_se"] for o in runs],
    }
    if runs[0]["lags"]:
        record["lag_default"] = LINEAGE_LAG
        record["by_lag"] = {
            str(lag): {
                "ess_reported_median": float(np.median([o["lags"][lag][0] for o in runs])),
                "per_population_median": float(np.median([np.median(o["lags"][lag][1]) for o in runs])),
            }
            for lag in LAGS
        }
    ratio = record["ess_reported_median"] / record["ess_implied_between_runs"]
    print(
        f"[effective_draws] {args.rung}: reported {record['ess_reported_median']:.0f} vs implied by "
        f"{args.runs} runs {record['ess_implied_between_runs']:.0f} (ratio {ratio:.2f}); per population "
        f"{record['ess_reported_per_population_median']:.0f} vs {record['ess_implied_per_population']:.0f}",
        file=sys.stderr,
    )
    meta = machine_info() | {"tiny": args.tiny, "rung_description": rung.description}
    save_results(args.out, f"effective-draws-{args.rung}-{args.method}", "effective-draws", meta, [record])


if __name__ == "__main__":
    main()
