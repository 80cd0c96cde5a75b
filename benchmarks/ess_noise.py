"""How far the reported effective draws of an exact sample move with the number of populations.

An SMC tree's ``attrs["ess"]`` divides the lineage estimate of the pooled mean's
variance by nothing when the populations agree and multiplies it by
``max(1, V_between / V_lineage)`` when they spread more than their lineages predict
(``consistent_nets/samplers/effective.py``). ``V_between`` comes from the populations'
means: ``num_chains - 1`` degrees of freedom. This script measures what that costs a
sample whose populations agree by construction: exact rejection draws, split into
``--num-chains`` populations, each draw copied ``--copies`` times next to itself as SMC
siblings (the copies one lineage group), so the sample is worth exactly
``rows / copies`` independent draws and no more. Per replicate (disjoint draws), the
reported effective draws and the inflation; summarised as quantiles, the mean and the
fraction under ``cn.diagnose``'s ESS threshold (``min(400, rows / 4)``).

    python benchmarks/ess_noise.py --rung xor --num-chains 4 8 --copies 1 5 --replicates 40
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import RUNGS, get_rung  # noqa: E402
from consistent_nets._postprocess import function_space_features  # noqa: E402
from consistent_nets.extend import make_target  # noqa: E402
from consistent_nets.samplers.effective import effective_draws  # noqa: E402


def exact_features(problem, num_draws: int, seed: int) -> np.ndarray:
    """``(draws, feature)`` function-space features of ``num_draws`` exact rejection draws."""
    method = cn.Rejection(max_draws=2**27, max_seconds=None)
    tree = cn.sample(problem, method=method, num_samples=num_draws, num_chains=1, rng_key=jax.random.key(seed),
                     progress_bar=False)
    in_set = np.asarray(tree["sample_stats"]["in_set"].values).reshape(-1)
    if in_set.sum() < num_draws:
        raise RuntimeError(f"rejection returned {int(in_set.sum())} draws in S of {num_draws}: raise its budget")
    target = make_target(problem)
    post = tree["posterior"]
    f = function_space_features(target, {k: post[k].values for k in target.site_shapes})
    return f.reshape(-1, f.shape[-1])[in_set][:num_draws]


def replicate(f: np.ndarray, num_chains: int, copies: int) -> tuple[float, float]:
    """``(reported effective draws, inflation)`` of ``f``'s draws as ``num_chains`` populations of copies."""
    rows = f.shape[0] * copies
    per = rows // num_chains
    x = np.repeat(f, copies, axis=0).reshape(num_chains, per, -1)
    groups = np.broadcast_to(np.arange(per) // copies, (num_chains, per))
    ess, _, inflation = effective_draws(x, "lineage", groups)
    return ess, inflation


def summary(values: np.ndarray, truth: float, threshold: float) -> dict:
    q = np.quantile(values[:, 0], [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "true_ess": truth,
        "ess_mean": float(values[:, 0].mean()),
        "ess_quantiles_5_25_50_75_95": q.tolist(),
        "ess_min": float(values[:, 0].min()),
        "fraction_under_threshold": float(np.mean(values[:, 0] < threshold)),
        "threshold": threshold,
        "inflation_mean": float(values[:, 1].mean()),
        "fraction_inflated": {str(t): float(np.mean(values[:, 1] > t)) for t in (1.0 + 1e-9, 1.25, 1.5, 2.0)},
        "ess": values[:, 0].tolist(),
        "inflation": values[:, 1].tolist(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="xor", help="a rung rejection can sample (xor)")
    parser.add_argument("--num-samples", type=int, default=2000, help="rows per replicate")
    parser.add_argument("--num-chains", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 5], help="siblings per exact draw")
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: checks the script, not numbers")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.num_samples, args.num_chains, args.copies, args.replicates = 64, [2, 4], [1, 2], 3
    for c in args.num_chains:
        for k in args.copies:
            if args.num_samples % c or (args.num_samples // c) % k:
                parser.error(f"--num-samples ({args.num_samples}) must split into {c} populations of whole groups "
                             f"of {k} copies")
    problem = get_rung(args.rung).build()
    exact = args.num_samples // min(args.copies)  # exact draws one replicate needs at most
    f = exact_features(problem, exact * args.replicates, args.seed)
    threshold = float(min(400.0, args.num_samples / 4))
    records = []
    for copies in args.copies:
        n = args.num_samples // copies
        for chains in args.num_chains:
            values = np.array([replicate(f[r * exact: r * exact + n], chains, copies) for r in range(args.replicates)])
            rec = {"rung": args.rung, "num_samples": args.num_samples, "num_chains": chains, "copies": copies,
                   "replicates": args.replicates, "num_features": int(f.shape[-1])} | summary(values, n, threshold)
            q = rec["ess_quantiles_5_25_50_75_95"]
            print(f"[ess_noise] {chains} populations, {copies} copies (truth {n}): reported median {q[2]:.0f} "
                  f"(5-95 % {q[0]:.0f}-{q[4]:.0f}), mean {rec['ess_mean']:.0f}, under {threshold:.0f}: "
                  f"{rec['fraction_under_threshold']:.2f}; inflation mean {rec['inflation_mean']:.2f}", file=sys.stderr)
            records.append(rec)
    meta = machine_info() | {"tiny": args.tiny, "seed": args.seed}
    save_results(args.out, f"ess-noise-{args.rung}", "ess-noise", meta, records)


if __name__ == "__main__":
    main()
