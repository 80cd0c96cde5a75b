"""Markdown tables for BENCHMARKS.md from the JSON results.

Usage
-----
    python benchmarks/table.py                                # benchmarks/results/*.json -> stdout
    python benchmarks/table.py --out BENCHMARKS-tables.md
    python benchmarks/table.py --tiny --results /tmp/bench --out /tmp/bench   # the harness test

Tiny results (``"tiny": true``) are left out unless ``--tiny`` is given.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import read_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RUNG_ORDER = ["xor", "moons", "digits", "teacher", "random-labels"]
METHOD_ORDER = ["rejection", "sgd", "anneal", "smc", "smc-hmc", "smc-rhmc", "blackjax-fixed", "blackjax-tuned", "nested"]


def fmt(value, spec=".3g", missing="–"):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    if isinstance(value, float) and spec == ".3g" and abs(value) >= 1e4:
        return f"{value:.2e}"
    return format(value, spec)


def _log_vol(r):
    lv, se = r.get("log_volume"), r.get("log_volume_se")
    if lv is None:
        if r.get("log_volume_upper_bound") is not None:
            return f"< {r['log_volume_upper_bound']:.2f} (95 %)"
        return "–"
    return f"{lv:.3f} ± {fmt(se, '.3f')}"


def _machine(meta) -> str:
    load = meta.get("load_avg_start")
    load_s = f", load avg at start {load[0]:.2f}" if load else ""
    return (
        f"{meta.get('cpu', '?')}, {meta.get('cpu_count', '?')} cores, {meta.get('jax_backend', '?')} "
        f"with {meta.get('jax_devices', '?')} JAX devices; JAX {meta.get('jax', '?')}, "
        f"BlackJAX {meta.get('blackjax', '?')}; {meta.get('date', '?')}{load_s}; commit {meta.get('git_commit', '?')}"
    )


def ladder_table(result) -> str:
    meta, records = result["meta"], result["records"]
    ref = meta.get("reference_log_volume")
    lines = [
        f"### Rung `{meta['rung']}`{' (tiny)' if meta.get('tiny') else ''}",
        "",
        f"{meta.get('description', '')}. Reference log vol: {fmt(ref, '.3f')} "
        f"({meta.get('reference_note') or 'none'}).",
        f"Machine: {_machine(meta)}.",
        f"Reproduce: `{meta.get('command', '')}`",
        "",
        "| method | status | in S | distinct | ESS | ESS ArviZ | log vol ± SE | error | compile s | run s "
        "| distinct/s | grads/distinct | ESS/s | grads/ESS | time to target s | peak RSS MB | distance | uniform? |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes = []
    for r in sorted(records, key=lambda r: METHOD_ORDER.index(r["method"]) if r["method"] in METHOD_ORDER else 99):
        if r["status"] == "skipped":
            notes.append(f"`{r['method']}` skipped: {r['note']}")
            continue
        passed = r.get("diagnose_passed")
        lines.append(
            "| "
            + " | ".join(
                [
                    r["method"],
                    r["status"],
                    fmt(r.get("draws_in_set"), "d"),
                    fmt(r.get("distinct_in_set"), "d"),
                    fmt(r.get("ess"), ".0f"),
                    fmt(r.get("ess_arviz"), ".0f"),
                    _log_vol(r),
                    fmt(r.get("log_volume_error"), "+.3f"),
                    fmt(r.get("compile_s"), ".1f"),
                    fmt(r.get("run_s"), ".2f"),
                    fmt(r.get("distinct_per_s")),
                    fmt(r.get("grad_evals_per_distinct")),
                    fmt(_own_or_arviz(r, "ess_per_s")),
                    fmt(_own_or_arviz(r, "grad_evals_per_ess")),
                    fmt(r.get("time_to_target_s")),
                    fmt(r.get("peak_rss_mb"), ".0f"),
                    fmt(r.get("distance")),
                    "–" if passed is None else ("pass" if passed else "FAIL"),
                ]
            )
            + " |"
        )
        if r.get("note") and r["status"] != "ok":
            notes.append(f"`{r['method']}`: {r['note'][:300]}")
        if r.get("time_to_target_note") and r["method"] == "rejection":
            notes.append(f"`rejection` time to target: {r['time_to_target_note']}")
        if r.get("grad_evals_executed_per_distinct") is not None and r.get("grad_evals"):
            notes.append(
                f"`{r['method']}` gradient evaluations computed (a vectorised NUTS batch runs until its "
                f"longest tree is built): {fmt(r['grad_evals_executed_per_distinct'])} per distinct draw, "
                f"{r['grad_evals_executed'] / r['grad_evals']:.2f}× those its trajectories used"
            )
        failed = [k for k, v in (r.get("diagnose_checks") or {}).items() if v is False]
        if failed:
            notes.append(f"`{r['method']}` failed diagnostic checks: {', '.join(failed)}")
        if r.get("diagnose_note"):
            notes.append(r["diagnose_note"])
    notes = list(dict.fromkeys(notes)) + _ratio_notes(records)
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _own_or_arviz(r, name):
    """The cost per effective draw by the method's own ESS, else by the common ArviZ one."""
    own = r.get(name)
    return own if own is not None else r.get(name.replace("ess", "ess_arviz"))


def _ratio_notes(records) -> list[str]:
    """Ratios within one process run: distinct/s against the tuned BlackJAX peer and
    rejection, gradients per distinct draw against the peer, time to the target against
    rejection's (measured or extrapolated)."""
    by = {r["method"]: r for r in records if r.get("status") in ("ok", "incomplete")}
    notes = []
    for base in ("blackjax-tuned", "rejection"):
        b = by.get(base)
        if b is None:
            continue
        for method, r in by.items():
            if method == base or (method == "rejection" and base == "blackjax-tuned"):
                continue
            parts = []
            if r.get("distinct_per_s") and b.get("distinct_per_s"):
                parts.append(f"distinct/s {r['distinct_per_s'] / b['distinct_per_s']:.2f}×")
            if base == "blackjax-tuned" and r.get("grad_evals_per_distinct") and b.get("grad_evals_per_distinct"):
                parts.append(f"grads/distinct {r['grad_evals_per_distinct'] / b['grad_evals_per_distinct']:.2f}×")
            if base == "blackjax-tuned" and r.get("grad_evals_per_ess_arviz") and b.get("grad_evals_per_ess_arviz"):
                # like for like: the same ArviZ estimator on both; < 1 means fewer gradients
                parts.append(
                    f"grads per effective draw (ArviZ, both) {r['grad_evals_per_ess_arviz'] / b['grad_evals_per_ess_arviz']:.2f}×, "
                    f"effective draws/s {r['ess_arviz_per_s'] / b['ess_arviz_per_s']:.2f}×"
                )
            if base == "rejection" and b.get("time_to_target_s") and r.get("run_s") and r.get("ess"):
                # rejection's draws are independent: its time to N draws is its time to N effective draws
                target = r.get("num_samples_requested") or r["draws_in_set"]
                time_to = r["run_s"] * target / r["ess"]
                parts.append(f"speed-up to {target} effective draws {b['time_to_target_s'] / time_to:.3g}×")
            if base == "rejection" and b.get("time_to_target_s") and r.get("run_s") and r.get("draws_in_set"):
                target = r.get("num_samples_requested") or r["draws_in_set"]
                if r["draws_in_set"] >= target:
                    parts.append(f"speed-up to {target} draws in S {b['time_to_target_s'] / r['run_s']:.3g}×")
            if parts:
                notes.append(f"`{method}` vs `{base}` (same process): " + ", ".join(parts))
    return notes


def scaling_tables(result) -> str:
    meta, records = result["meta"], result["records"]
    out = [
        f"### Scaling{' (tiny)' if meta.get('tiny') else ''}",
        "",
        f"Machine: {_machine(meta)}.",
        f"Reproduce: `{meta.get('command', '')}`",
        "",
    ]
    methods = [m for m in METHOD_ORDER if any(r["method"] == m for r in records)]
    for axis, label in (("n", "n"), ("width", "width")):
        rows = [r for r in records if r.get("axis") == axis]
        for dataset in sorted({r["dataset"] for r in rows}):
            sub = [r for r in rows if r["dataset"] == dataset]
            xs = sorted({r[label] for r in sub})
            out += [
                f"**{dataset}, cost vs {label}** (run s / gradient evaluations per distinct draw in S)",
                "",
                f"| {label} | params | " + " | ".join(methods) + " |",
                "|---:|---:|" + "---:|" * len(methods),
            ]
            for x in xs:
                cells = []
                params = "–"
                for m in methods:
                    r = next((r for r in sub if r[label] == x and r["method"] == m), None)
                    if r is None or r.get("status") == "skipped":
                        cells.append("skipped" if r else "–")
                        continue
                    params = fmt(r.get("num_params"), "d")
                    cells.append(f"{fmt(r.get('run_s'), '.2f')} / {fmt(r.get('grad_evals_per_distinct'))}")
                out.append(f"| {x} | {params} | " + " | ".join(cells) + " |")
            out.append("")
    dev = [r for r in records if r.get("axis") == "devices"]
    if dev:
        out += [
            "**1 vs 2 devices** (moons, fresh process per point; run time excludes compile)",
            "",
            "| method | run s, 1 device | run s, 2 devices | speed-up |",
            "|---|---:|---:|---:|",
        ]
        for m in methods:
            one = next((r for r in dev if r["method"] == m and r["devices"] == 1), None)
            two = next((r for r in dev if r["method"] == m and r["devices"] == 2), None)
            if one is None or two is None:
                continue
            out.append(
                f"| {m} | {fmt(one.get('run_s'), '.2f')} | {fmt(two.get('run_s'), '.2f')} "
                f"| {fmt(two.get('speedup'), '.2f')} |"
            )
        out.append("")
    return "\n".join(out)


def render(results) -> str:
    ladders = sorted(
        (r for r in results if r["kind"] == "ladder"),
        key=lambda r: RUNG_ORDER.index(r["meta"]["rung"]) if r["meta"]["rung"] in RUNG_ORDER else 99,
    )
    parts = [ladder_table(r) for r in ladders]
    parts += [scaling_tables(r) for r in results if r["kind"] == "scaling"]
    return "\n".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", nargs="+", default=[str(RESULTS)], help="result files or directories")
    parser.add_argument("--tiny", action="store_true", help="include (only) tiny results")
    parser.add_argument("--out", default=None, help="a .md file or a directory (tables.md inside); default stdout")
    args = parser.parse_args(argv)
    results = [r for r in read_results(args.results) if bool(r["meta"].get("tiny")) == args.tiny]
    if not results:
        print("no results to tabulate", file=sys.stderr)
        return 1
    text = render(results)
    if args.out is None:
        print(text)
    else:
        path = Path(args.out)
        path = path if path.suffix == ".md" else path / "tables.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"[table] wrote {path.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
