"""Time to first result: start-up, compilation, the quickstart, the demo, infeasible problems.

Usage
-----
    python benchmarks/latency.py                          # every case, 3 repeats, cold and warm
    python benchmarks/latency.py --cases import help quickstart --repeats 5
    python benchmarks/latency.py --source before=DIR --source after=.  # two checkouts, interleaved
    python benchmarks/latency.py --tiny --out /tmp/bench  # the harness test (seconds)

Every case runs in a fresh Python process, as a user meets it. **Cold**: an empty cache
directory (``XDG_CACHE_HOME`` points at a new temporary directory, and any
``JAX_COMPILATION_CACHE_DIR`` of the caller is removed from the child's environment, so
the library's own default applies). **Warm**: a second process on the cache the cold run
left behind. Each repeat runs every case cold then warm, and with several ``--source``
checkouts (``LABEL=DIR``: the children import that checkout's ``consistent_nets``) each
case runs for every source in turn, so load drifts on a shared machine hit all alike;
the summary gives the median, min and max over repeats and the 1-minute load average.

Cases (the README's code, verbatim sizes):

* ``import``: ``import jax, numpyro`` then ``import consistent_nets`` (the second number
  is what the library adds); also whether a JAX backend was initialised by the import.
* ``help``, ``bad-arg``: ``consistent-nets --help`` and an argument error, wall time of
  the process, against ``python -c pass``; whether JAX was imported.
* ``quickstart``: XOR, ``cn.sample(method="smc", num_samples=2000)``, ``cn.predict``,
  ``cn.diagnose``: seconds to the tree and to the report.
* ``new-model``: the README's hand-written NumPyro model (XOR size), ``smc``, 1000 draws:
  seconds to the first tree, of a second ``cn.sample`` of the same model and data with
  another key in the same process (``again_s``), then of ``cn.diagnose`` of that tree
  and of a second one with another key (``diagnose_s``, ``diagnose_again_s``).
* ``demo``: ``consistent-nets demo`` (wall time of the process).
* ``infeasible-linear-<method>``: ``cn.MLP([2, 1])`` on XOR (S empty), seconds to
  ``InfeasibleError``; ``infeasible-margin5``: XOR with ``cn.Margin(5)`` and ``smc``.
* ``compile-<method>-<rung>`` (cold only; ask for them with ``--cases``): where one
  call's compile seconds go — tracing to jaxpr, lowering to MLIR, XLA backend compile
  (JAX's monitoring events) — for every method on ``xor`` (2-3-1, 4 points) and for
  ``smc`` and ``sgd`` on ``moons`` (2-16-16-1, 100 points); 2000 draws for ``smc``,
  200 for the others.

Writes ``latency[-<label>].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import save_results  # noqa: E402

_PRELUDE = """
import json, sys, time
T0 = time.perf_counter()
OUT = {}
def done():
    print("LATENCY " + json.dumps(OUT), flush=True)
def compile_listener():
    import jax
    names = {"/jax/core/compile/jaxpr_trace_duration": "trace_s",
             "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
             "/jax/core/compile/backend_compile_duration": "backend_s"}
    for v in names.values():
        OUT[v] = 0.0
    OUT["cache_hits"] = 0
    def on_duration(event, duration, **_):
        if event in names:
            OUT[names[event]] += duration
    def on_event(event, **_):
        if event == "/jax/compilation_cache/cache_hits":
            OUT["cache_hits"] += 1
    jax.monitoring.register_event_duration_secs_listener(on_duration)
    jax.monitoring.register_event_listener(on_event)
"""

_IMPORT = """
import jax, numpyro
OUT["import_jax_numpyro_s"] = time.perf_counter() - T0
t = time.perf_counter()
import consistent_nets as cn
OUT["import_cn_s"] = time.perf_counter() - t
from jax._src import xla_bridge
OUT["backend_initialised"] = bool(xla_bridge._backends)
OUT["heavy_modules"] = sorted(m for m in ("sklearn", "xarray", "arviz_base", "matplotlib", "optax", "blackjax")
                              if m in sys.modules)
done()
"""

_CLI = """
from consistent_nets.cli import main
OUT["rc"] = main({args!r})
OUT["jax_imported"] = "jax" in sys.modules
OUT["in_process_s"] = time.perf_counter() - T0
done()
"""

_XOR = """
import jax
compile_listener()
import consistent_nets as cn
OUT["import_s"] = time.perf_counter() - T0
X, y = cn.datasets.xor()
"""

_QUICKSTART = _XOR + """
net = cn.MLP([2, 3, 1], activation="tanh")
problem = cn.Problem(net, X, y, prior=cn.BoxPrior(3.0), constraint=cn.Margin(0.0))
tree = cn.sample(problem, method="smc", num_samples={n}, rng_key=jax.random.key(0))
OUT["log_volume"] = float(tree.attrs["log_volume"])
OUT["to_tree_s"] = time.perf_counter() - T0
f = cn.predict(problem, tree, X)
OUT["to_predict_s"] = time.perf_counter() - T0
report = cn.diagnose(tree, problem, rng_key=jax.random.key(1))
OUT["passed"] = bool(report.passed)
OUT["to_report_s"] = time.perf_counter() - T0
done()
"""

_NEW_MODEL = _XOR + """
import numpyro, numpyro.distributions as dist, jax.numpy as jnp
def model(X, y):
    w = numpyro.sample("w", dist.Uniform(-3, 3).expand([2, 3]).to_event(2))
    b = numpyro.sample("b", dist.Uniform(-3, 3).expand([3]).to_event(1))
    v = numpyro.sample("v", dist.Normal(0, 1).expand([3, 1]).to_event(2))
    cn.consistent("fit", jnp.tanh(X @ w + b) @ v, y, cn.Margin(0.1))
tree = cn.sample(model, X, y, method="smc", num_samples={n}, rng_key=jax.random.key(0))
OUT["draws"] = int(tree.posterior.sizes["chain"] * tree.posterior.sizes["draw"])
OUT["to_tree_s"] = time.perf_counter() - T0
t = time.perf_counter()
tree = cn.sample(model, X, y, method="smc", num_samples={n}, rng_key=jax.random.key(1))
OUT["again_s"] = time.perf_counter() - t
t = time.perf_counter()
cn.diagnose(tree, model, X, y, rng_key=jax.random.key(2))
OUT["diagnose_s"] = time.perf_counter() - t
t = time.perf_counter()
cn.diagnose(tree, model, X, y, rng_key=jax.random.key(3))
OUT["diagnose_again_s"] = time.perf_counter() - t
done()
"""

_INFEASIBLE = _XOR + """
problem = cn.Problem(cn.MLP({arch}), X, y, cn.BoxPrior(3.0), cn.Margin({margin}))
t = time.perf_counter()
try:
    cn.sample(problem, method="{method}", num_samples={n}, rng_key=jax.random.key(0))
    OUT["raised"] = False
except cn.InfeasibleError as err:
    OUT["raised"] = True
    OUT["bound"] = err.log_volume_upper_bound
    OUT["message"] = str(err)
OUT["to_error_s"] = time.perf_counter() - t
OUT["total_s"] = time.perf_counter() - T0
done()
"""

_COMPILE = _XOR + """
if "{rung}" == "moons":
    X, y = cn.datasets.moons(100, 0.1, 0)
    net = cn.MLP([2, 16, 16, 1])
else:
    net = cn.MLP([2, 3, 1])
problem = cn.Problem(net, X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
t = time.perf_counter()
cn.sample(problem, method="{method}", num_samples={n}, rng_key=jax.random.key(0))
OUT["call_s"] = time.perf_counter() - t
done()
"""


def cases(tiny: bool) -> dict[str, dict]:
    """name -> {"code": child source or None, "argv": console command, "warm": bool}."""
    n = 200 if tiny else 2000
    out = {
        "python": {"code": "pass", "warm": False},
        "import": {"code": _IMPORT, "warm": False},
        "help": {"code": _CLI.format(args=["--help"]), "warm": False},
        "bad-arg": {"code": _CLI.format(args=["sample", "--arch", "2-x-1", "--out", "o.nc"]), "warm": False},
        "quickstart": {"code": _QUICKSTART.format(n=n), "warm": True},
        "new-model": {"code": _NEW_MODEL.format(n=n // 2), "warm": True},
        "demo": {"argv": ["demo", "--num-samples", str(n // 2)], "warm": True},
    }
    for method in ("smc", "rejection", "sgd"):
        out[f"infeasible-linear-{method}"] = {
            "code": _INFEASIBLE.format(arch=[2, 1], margin=0.0, method=method, n=n), "warm": True}
    out["infeasible-margin5"] = {"code": _INFEASIBLE.format(arch=[2, 3, 1], margin=5.0, method="smc", n=n), "warm": True}
    for rung, methods in (("xor", ("smc", "anneal", "rejection", "sgd")), ("moons", ("smc", "sgd"))):
        for method in methods:
            out[f"compile-{method}-{rung}"] = {
                "code": _COMPILE.format(rung=rung, method=method, n=2000 if method == "smc" else 200), "warm": False}
    return out


TINY_CASES = ["python", "import", "help", "bad-arg", "infeasible-linear-smc"]
DEFAULT_CASES = [c for c in cases(False) if not c.startswith("compile-")]


def child_env(cache_home: str, source: str | None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE", "CONSISTENT_NETS_"))}
    env.update(XDG_CACHE_HOME=cache_home, CI="true", MPLBACKEND="Agg")
    env.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    if source:
        env["PYTHONPATH"] = os.pathsep.join([source] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def run_case(spec: dict, env: dict, workdir: str, timeout: float) -> dict:
    if "argv" in spec:
        argv = [sys.executable, "-m", "consistent_nets", *spec["argv"]]
    else:
        argv = [sys.executable, "-c", _PRELUDE + spec["code"]]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, env=env, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"wall_s": time.perf_counter() - start, "status": "timeout", "load_1min": load}
    record = {"wall_s": time.perf_counter() - start, "returncode": proc.returncode, "load_1min": load}
    for line in proc.stdout.splitlines():
        if line.startswith("LATENCY "):
            record.update(json.loads(line[len("LATENCY "):]))
    record["status"] = "ok" if proc.returncode == 0 or "argv" in spec and proc.returncode in (0, 3) else "error"
    if "code" in spec and "LATENCY " not in proc.stdout and spec["code"] != "pass":
        record["status"] = "error"
    if record["status"] != "ok":
        record["stderr_tail"] = proc.stderr[-2000:]
    return record


def summarise(records: list[dict]) -> dict:
    """Median, min and max of every timing per (source, case, mode)."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(f"{r['source']}/{r['case']}/{r['mode']}", []).append(r)
    out = {}
    for name, rows in groups.items():
        keys = sorted({k for r in rows for k, v in r.items() if k.endswith("_s") and isinstance(v, float)})
        out[name] = {
            k: {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}
            for k in keys
            if (v := [r[k] for r in rows if isinstance(r.get(k), float)])
        }
        out[name]["load_1min"] = [r["load_1min"] for r in rows]
    return out


#: the timings a table shows per case (see the module docstring for what each measures)
_SHOWN = {
    "import": ("import_jax_numpyro_s", "import_cn_s"),
    "quickstart": ("wall_s", "to_tree_s"),
    "new-model": ("wall_s", "to_tree_s", "again_s", "diagnose_s", "diagnose_again_s"),
    "compile": ("call_s", "trace_s", "lower_s", "backend_s"),
    "infeasible": ("wall_s", "to_error_s"),
}


def table(data: dict) -> str:
    """A markdown table of medians (min-max) per case, mode and timing, one column per source."""
    summary, sources = data["meta"]["summary"], data["meta"]["sources"]
    lines = ["| case | mode | timing | " + " | ".join(sources) + " |", "|---|---|---|" + "---:|" * len(sources)]
    rows = sorted({tuple(k.split("/", 1)[1].rsplit("/", 1)) for k in summary}, key=lambda r: (
        data["meta"]["cases"].index(r[0]) if r[0] in data["meta"]["cases"] else 99, r[1]))
    for case, mode in rows:
        shown = next((v for k, v in _SHOWN.items() if case.startswith(k)), ("wall_s",))
        for timing in shown:
            cells = []
            for source in sources:
                t = summary.get(f"{source}/{case}/{mode}", {}).get(timing)
                cells.append("–" if t is None else f"{t['median']:.2f} ({t['min']:.2f}–{t['max']:.2f})")
            lines.append(f"| {case} | {mode} | {timing.removesuffix('_s')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", help="cases to run (default: all but compile-*)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--source", action="append", metavar="LABEL=DIR",
                        help="a checkout whose consistent_nets the children import (PYTHONPATH); repeat to "
                        "compare checkouts case by case (default: this checkout, label 'this')")
    parser.add_argument("--label", default="", help="suffix of the results file, e.g. before-after")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child process")
    parser.add_argument("--tiny", action="store_true", help="start-up cases and one small infeasible case, once, cold")
    parser.add_argument("--out", help="a .json file or a directory (default benchmarks/results/)")
    parser.add_argument("--table", metavar="JSON", help="only print the markdown table of a results file")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(Path(args.table).read_text())))
        return 0
    specs = cases(args.tiny)
    names = args.cases or (TINY_CASES if args.tiny else DEFAULT_CASES)
    unknown = sorted(set(names) - set(specs))
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {sorted(specs)}")
    repeats = 1 if args.tiny else args.repeats
    sources = {}
    for item in args.source or ["this="]:
        label, sep, path = item.partition("=")
        if not sep:
            parser.error(f"--source must be LABEL=DIR, got {item!r}")
        sources[label] = str(Path(path).resolve()) if path else None
    records = []
    with tempfile.TemporaryDirectory(prefix="cn-latency-") as tmp:
        for repeat in range(repeats):
            for name in names:
                spec = specs[name]
                for label, source in sources.items():
                    cache = tempfile.mkdtemp(dir=tmp)
                    env = child_env(cache, source)
                    for mode in ("cold", "warm") if spec["warm"] and not args.tiny else ("cold",):
                        record = {"source": label, "case": name, "mode": mode, "repeat": repeat}
                        record |= run_case(spec, env, cache, args.timeout)
                        records.append(record)
                        print(f"[latency] {label:<8} {name:<26} {mode:<4} {record['wall_s']:7.2f} s  "
                              f"load {record['load_1min']:.2f}  {record['status']}", file=sys.stderr, flush=True)
    meta = {
        "tiny": args.tiny,
        "label": args.label,
        "sources": list(sources),
        "repeats": repeats,
        "cases": names,
        "cpu_count": os.cpu_count(),
        "summary": summarise(records),
    }
    meta |= _machine()
    stem = "latency" + (f"-{args.label}" if args.label else "")
    path = save_results(args.out, stem, "latency", meta, records)
    print(table(json.loads(path.read_text())))
    failed = [r for r in records if r["status"] != "ok"]
    for r in failed:
        print(f"[latency] {r['source']} {r['case']} {r['mode']} failed:\n{r.get('stderr_tail', '')}", file=sys.stderr)
    return 1 if failed else 0


def _machine() -> dict:
    # the harness's machine_info imports JAX in this process: children are what is timed
    from harness import machine_info

    return machine_info()


if __name__ == "__main__":
    sys.exit(main())
