"""Figures for BENCHMARKS.md from the JSON results (PNG, into benchmarks/figures/).

Usage
-----
    python benchmarks/plots.py
    python benchmarks/plots.py --tiny --results /tmp/bench --out /tmp/bench   # the harness test

Writes
------
* ``cost_vs_n.png``: run time and gradient evaluations per distinct draw in S against
  the number of data points, log-log, one line per method, one column per dataset;
* ``cost_vs_width.png``: the same against hidden width;
* ``distinct_per_second.png``: distinct draws in S per second of run time, per rung and
  method (log scale).
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import read_results  # noqa: E402
from table import METHOD_ORDER, RUNG_ORDER  # noqa: E402

HERE = Path(__file__).resolve().parent
COLORS = dict(zip(METHOD_ORDER, ["#7f7f7f", "#d62728", "#9467bd", "#1f77b4", "#17becf", "#2ca02c", "#ff7f0e", "#8c564b"]))


def _ok(r, key):
    v = r.get(key)
    return r.get("status") in ("ok", "incomplete") and v is not None and v > 0


def cost_figure(records, axis, path, tiny):
    rows = [r for r in records if r.get("axis") == axis]
    datasets = sorted({r["dataset"] for r in rows})
    if not datasets:
        return None
    fig, axes = plt.subplots(2, len(datasets), figsize=(4.5 * len(datasets), 7), squeeze=False)
    for j, dataset in enumerate(datasets):
        sub = [r for r in rows if r["dataset"] == dataset]
        for i, (key, label) in enumerate((("run_s", "run time (s)"), ("grad_evals_per_distinct", "gradient evals / distinct draw"))):
            ax = axes[i, j]
            for method in [m for m in METHOD_ORDER if any(r["method"] == m for r in sub)]:
                pts = sorted((r[axis], r[key]) for r in sub if r["method"] == method and _ok(r, key))
                if pts:
                    x, y = zip(*pts)
                    ax.plot(x, y, "o-", color=COLORS.get(method), label=method)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("data points n" if axis == "n" else "hidden width")
            ax.set_ylabel(label)
            ax.set_title(f"{dataset}{' (tiny)' if tiny else ''}")
            ax.grid(True, which="both", alpha=0.3)
        axes[0, j].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def distinct_rate_figure(ladders, path, tiny):
    rungs = sorted({r["meta"]["rung"] for r in ladders}, key=lambda x: RUNG_ORDER.index(x) if x in RUNG_ORDER else 99)
    if not rungs:
        return None
    methods = [m for m in METHOD_ORDER if any(rec["method"] == m for r in ladders for rec in r["records"])]
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(rungs), 4))
    width = 0.8 / max(len(methods), 1)
    for k, method in enumerate(methods):
        values = []
        for rung in rungs:
            # the most recent run of this method on this rung
            runs = [(r["meta"].get("date", ""), rec) for r in ladders if r["meta"]["rung"] == rung
                    for rec in r["records"] if rec["method"] == method]
            last = max(runs, key=lambda run: run[0])[1] if runs else None
            values.append(last["distinct_per_s"] if last is not None and _ok(last, "distinct_per_s") else np.nan)
        ax.bar(np.arange(len(rungs)) + (k - (len(methods) - 1) / 2) * width, values, width, label=method, color=COLORS.get(method))
    ax.set_xticks(np.arange(len(rungs)), rungs)
    ax.set_yscale("log")
    ax.set_ylabel("distinct draws in S per second (run time)")
    ax.set_title("Distinct draws per second" + (" (tiny)" if tiny else ""))
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", nargs="+", default=[str(HERE / "results")])
    parser.add_argument("--tiny", action="store_true", help="plot (only) tiny results")
    parser.add_argument("--out", default=str(HERE / "figures"), help="directory for the PNGs")
    args = parser.parse_args(argv)
    results = [r for r in read_results(args.results) if bool(r["meta"].get("tiny")) == args.tiny]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scaling = [rec for r in results if r["kind"] == "scaling" for rec in r["records"]]
    ladders = [r for r in results if r["kind"] == "ladder"]
    written = [
        cost_figure(scaling, "n", out / "cost_vs_n.png", args.tiny),
        cost_figure(scaling, "width", out / "cost_vs_width.png", args.tiny),
        distinct_rate_figure(ladders, out / "distinct_per_second.png", args.tiny),
    ]
    written = [p for p in written if p is not None]
    if not written:
        print("no results to plot", file=sys.stderr)
        return 1
    for p in written:
        print(f"[plots] wrote {p.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
