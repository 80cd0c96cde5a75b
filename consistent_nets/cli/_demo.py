"""``consistent-nets demo``: XOR end to end, uniform sampling against the SGD heuristic."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from ._specs import build_problem

__all__ = ["check", "run"]


def _summary_row(name, tree, report) -> dict:
    return {
        "method": name,
        "draws_in_S": int(tree.sample_stats["in_set"].sum()),
        "effective": float(tree.attrs["ess"]),
        "log_volume": float(tree.attrs["log_volume"]),
        "log_volume_se": float(tree.attrs["log_volume_se"]),
        "log_volume_ci": (
            (tree.attrs["log_volume_ci_lower"], tree.attrs["log_volume_ci_upper"], tree.attrs.get("log_volume_se_dof"))
            if "log_volume_ci_lower" in tree.attrs
            else None
        ),
        "distance": float(report.distance),
        "failed": [c.name for c in report.checks.values() if c.passed is False],
        "verdict": report.verdict,
        "inconclusive": report.inconclusive,
    }


def _verdict(row) -> str:
    """The table's last column, from ``report.verdict``: an inconclusive report is not "NOT uniform"."""
    return {
        "passed": "uniform on S",
        "failed": f"NOT uniform (failed: {', '.join(row['failed'])})",
        "inconclusive": f"inconclusive ({row['inconclusive']})",
    }[row["verdict"]]


def _table(rows) -> str:
    header = f"{'method':<7} {'draws in S':>10} {'effective':>9} {'log vol(S) ± SE':>17} {'distance':>8}  verdict"
    lines = [header, "-" * (len(header) + 24)]
    for r in rows:
        if math.isnan(r["log_volume"]):
            vol = "no estimate"
        elif math.isnan(r["log_volume_se"]):
            vol = f"{r['log_volume']:.3f} ± ?"
        else:
            vol = f"{r['log_volume']:.3f} ± {r['log_volume_se']:.3f}"
        verdict = _verdict(r)
        lines.append(f"{r['method']:<7} {r['draws_in_S']:>10} {r['effective']:>9.0f} {vol:>17} {r['distance']:>8.3f}  {verdict}")
    for r in rows:
        if r.get("log_volume_ci") is not None:
            lower, upper, dof = r["log_volume_ci"]
            basis = "normal" if dof is None else f"Student t with {int(dof)} degrees of freedom, the SE's"
            lines.append(f"{r['method']}: log vol(S) 95 % interval {lower:.3f} to {upper:.3f} ({basis})")
    return "\n".join(lines)


def check(args) -> None:
    """``--out-dir`` is not a file (before JAX starts)."""
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out-dir {out_dir} is a file, not a directory")


def run(args) -> int:
    import time

    import jax
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import consistent_nets as cn
    from consistent_nets import plots

    out_dir = Path(args.out_dir)
    start = time.perf_counter()
    problem = build_problem("xor", "2-3-1", "tanh", "box:3", "margin:0", None, 0)
    print(
        f"XOR, {problem.net} with prior {problem.prior}, constraint {problem.constraint}:\n"
        f"drawing {args.num_samples} weight vectors that fit the 4 points, two ways "
        "(the first run compiles; later runs reuse the compilation cache) ...",
        file=sys.stderr,
    )
    key = jax.random.key(args.seed)
    progress = sys.stderr.isatty()
    methods = {"smc": "uniform on S (tempered SMC, the default)", "sgd": "SGD heuristic (train from a random init until it fits)"}
    trees, rows = {}, []
    for i, name in enumerate(methods):
        tree = cn.sample(
            problem, method=name, num_samples=args.num_samples, rng_key=jax.random.fold_in(key, i), progress_bar=progress
        )
        trees[name] = tree
        report = cn.diagnose(trees[name], problem, rng_key=jax.random.fold_in(key, 10 + i))
        rows.append(_summary_row(name, trees[name], report))
    print(_table(rows))
    for name, tree in trees.items():
        # e.g. a small --num-samples: populations far apart (as `sample`, only beside an estimate)
        if "log_volume_note" in tree.attrs and not math.isnan(float(tree.attrs["log_volume"])):
            print(f"note on {name}'s volume: {tree.attrs['log_volume_note']}")
    print(
        "\nsmc draws uniformly from S and estimates its prior volume; sgd keeps wherever training\n"
        "stopped, which piles draws up at the edge of S (the 'chord' check sees it).\n"
        "effective: independent draws the sample is worth (SMC siblings sharing an ancestor\n"
        "count once). distance: estimated lower bound on the total-variation distance to\n"
        "uniform on S. cn.sample symmetrizes the draws (a random hidden-unit relabelling per\n"
        "draw, exact), so the verdicts are about the functions, not which copy was drawn.\n"
        "More: consistent-nets diagnose --help, and the notebooks in notebooks/."
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), constrained_layout=True, height_ratios=[1.3, 1])
    for col, ((name, tree), row) in enumerate(zip(trees.items(), rows)):
        plots.decision_regions(tree, problem, num_grid=60, ax=axes[0, col])
        verdict = {"passed": "passes", "failed": "fails", "inconclusive": "is inconclusive on"}[row["verdict"]]
        axes[0, col].set_title(f"{name}: {methods[name]}\n{verdict} cn.diagnose, distance {row['distance']:.2f}", fontsize=10)
        plots.chord_histogram(tree, problem, jax.random.fold_in(key, 20), max_draws=500, ax=axes[1, col])
        axes[1, col].set_title(f"{name}: where draws sit on random chords of S (flat = uniform)", fontsize=10)
    fig.suptitle("XOR with a 2-3-1 tanh network: every draw fits the data; are they uniform on S?")
    path = out_dir / "demo.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return 0
