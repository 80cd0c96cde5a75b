"""Does the populations check see wrong mode weights? ``anneal`` against ``smc`` on a rung.

For ``--keys`` keys: ``cn.sample(problem, method=M, rng_key=key(k))`` for each method and
``cn.diagnose(tree, problem, rng_key=key(10_000 + k))``; records, per run, the
populations check's statistic and p-value (chi-square of function-space cluster
proportions across chains) and the other checks' verdicts. ``anneal`` runs NUTS chains
through a β schedule, which is known to weight the modes of S by where chains happened
to enter them; ``smc`` reweights across modes. The fraction of failing populations
checks is the check's power against ``anneal`` (and its false-alarm rate on ``smc``).

``--drop q [q ...]`` measures the power against a *mode-dropping* sampler instead: per
key, ``smc`` samples the rung (4 populations); on a grid over the inputs, the point whose
minority label the draws give with frequency closest to ``q`` is added to the data with
its majority label, and ``smc`` samples that restricted problem (S minus a region of
about a fraction ``q`` of S) for one population, which replaces population 0. The
combined tree is a sampler whose populations all mix within themselves but one of which
misses a region; ``cn.diagnose`` should fail its populations check. The unmodified tree
of the same key is the null (false alarm) case.

    python benchmarks/populations_power.py --rung moons --keys 3
    python benchmarks/populations_power.py --rung moons --keys 10 --drop 0.1 0.2 0.3
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.default_pipeline import sample_and_diagnose  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import get_rung  # noqa: E402


def record_of(method, k, tree, report, seconds, **extra):
    populations = report.checks["populations"]
    return extra | {
        "method": method, "key": k, "passed": bool(report.passed),
        "populations_passed": populations.passed, "populations_p": getattr(populations, "p_value", None),
        "populations_statistic": getattr(populations, "statistic", None),
        "populations_detail": populations.detail,
        "failed_checks": [n for n, c in report.checks.items() if c.passed is False],
        "ess": float(tree.attrs["ess"]), "seconds": seconds,
    }


def input_grid(X, size=25):
    """A ``size x size`` grid over the first two input coordinates' range (others at their mean)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    a, b = np.meshgrid(np.linspace(lo[0], hi[0], size), np.linspace(lo[1], hi[1], size))
    grid = np.tile(X.mean(axis=0), (size * size, 1))
    grid[:, 0], grid[:, 1] = a.ravel(), b.ravel()
    return grid.astype(np.float32)


def drop_region(problem, tree, q):
    """The problem restricted by one more labelled point: the grid point whose minority
    label the tree's draws give with frequency closest to ``q``, labelled with the
    majority. Returns ``(restricted problem, measured fraction removed)``."""
    grid = input_grid(np.asarray(problem.X))
    positive = (cn.predict(problem, tree, grid)[..., 0] > 0).reshape(-1, len(grid)).mean(axis=0)
    minority = np.minimum(positive, 1 - positive)
    i = int(np.argmin(np.abs(minority - q)))
    label = 1 if positive[i] >= 0.5 else -1
    X = np.vstack([np.asarray(problem.X), grid[i:i + 1]])
    y = np.append(np.asarray(problem.y), label).astype(np.asarray(problem.y).dtype)
    return cn.Problem(problem.net, X, y, problem.prior, problem.constraint), float(minority[i])


def replace_population(tree, other, chain=0):
    """A copy of ``tree`` whose population ``chain`` is ``other``'s first population."""
    tree = tree.copy(deep=True)
    for group in ("posterior", "sample_stats"):
        for name, var in tree[group].data_vars.items():
            if "chain" in var.dims and name in other[group].data_vars:
                values = np.asarray(var.values).copy()
                values[chain] = np.asarray(other[group][name].isel(chain=0).transpose(*var.dims[1:]).values)
                tree[group][name] = var.copy(data=values)
    return tree


def drop_runs(problem, keys, num_samples, qs):
    """For each key: the unmodified ``smc`` tree, then one with population 0 missing a
    region of about each fraction ``q`` of S."""
    records = []
    for k in keys:
        tree, report, seconds = sample_and_diagnose(problem, k, num_samples)
        records.append(record_of("smc", k, tree, report, seconds, q_asked=0.0, q_removed=0.0))
        _log(records[-1])
        per_population = tree.posterior.sizes["draw"]
        for q in qs:
            start = time.perf_counter()
            restricted, removed = drop_region(problem, tree, q)
            other = cn.sample(restricted, num_samples=per_population, num_chains=1, progress_bar=False,
                              rng_key=jax.random.fold_in(jax.random.key(k), round(1000 * q)))
            dropped = replace_population(tree, other)
            report = cn.diagnose(dropped, problem, rng_key=jax.random.key(10_000 + k))
            records.append(record_of("smc-drop", k, dropped, report, time.perf_counter() - start,
                                     q_asked=q, q_removed=removed))
            _log(records[-1])
    return records


def _log(record):
    verdict = {True: "pass", False: "FAIL", None: "n/a"}[record["populations_passed"]]
    dropped = f" q = {record['q_removed']:.2f}" if "q_removed" in record else ""
    print(f"[populations_power] {record['method']}{dropped} key {record['key']}: populations {verdict} "
          f"(p = {record['populations_p']}), failed {record['failed_checks']} ({record['seconds']:.0f} s)",
          file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", default="moons")
    parser.add_argument("--methods", nargs="+", default=["anneal", "smc"])
    parser.add_argument("--keys", type=int, default=3)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--drop", type=float, nargs="+", default=None,
                        help="fractions q of S one population misses (the mode-dropping sampler)")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.rung, args.keys, args.num_samples = "xor", 1, 200
    problem = get_rung(args.rung).build()
    if args.drop and problem.net.d_out != 1:
        parser.error(f"--drop needs a binary rung (one output, labels +-1); {args.rung} has {problem.net.d_out} outputs")
    keys = range(100, 100 + args.keys)
    if args.drop:
        records = drop_runs(problem, keys, args.num_samples, args.drop)
    else:
        records = []
        for method in args.methods:
            for k in keys:
                records.append(record_of(method, k, *sample_and_diagnose(problem, k, args.num_samples, method)))
                _log(records[-1])
    meta = machine_info() | {"tiny": args.tiny, "rung": args.rung, "num_samples": args.num_samples, "drop": args.drop}
    name = f"populations-power-{args.rung}" + ("-drop" if args.drop else "")
    save_results(args.out, name, "populations-power", meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
