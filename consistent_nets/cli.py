"""The ``consistent-nets`` command line: ``demo``, ``sample`` and ``diagnose``.

Exit status: 0 success (``diagnose``: the sample passed), 1 ``diagnose``: the sample
failed, 2 bad input, 3 the solution set is empty or was not reached (InfeasibleError).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3
DATASETS = ("xor", "moons", "random-labels", "teacher", "digits")
DEFAULT_ARCH = {"xor": "2-3-1", "moons": "2-16-16-1", "random-labels": "2-16-1", "teacher": "10-32-32-1", "digits": "64-16-1"}
DEFAULT_N = {"moons": 100, "random-labels": 40, "teacher": 100, "digits": 128}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (exit 2) instead of usage + error."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _configure_jax() -> None:
    # CLI-level configuration (never done by the library on import): use both CPU cores
    # as JAX devices, and cache compiled programs across runs.
    # A cache already configured (JAX_COMPILATION_CACHE_DIR, or a caller such as a test
    # that set it) is left alone; the second `demo` run is about twice as fast with it.
    os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    import jax

    if not jax.config.jax_compilation_cache_dir:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "consistent-nets" / "jax"
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def _arch(spec: str) -> list[int]:
    try:
        sizes = [int(s) for s in spec.split("-")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"--arch must look like 2-16-16-1 (layer widths), got {spec!r}")
    return sizes


def _arch_arg(spec: str) -> str:
    try:
        _arch(spec)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--arch ")) from None
    return spec


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def build_problem(dataset: str, arch: str, activation: str, prior: str, constraint: str, n: int | None, data_seed: int):
    """The Problem a ``sample`` run describes (also rebuilt by ``diagnose`` from attrs)."""
    import consistent_nets as cn
    from consistent_nets.constraints import parse_constraint
    from consistent_nets.priors import parse_prior

    net = cn.MLP(_arch(arch), activation=activation)
    prior_obj, constraint_obj = parse_prior(prior), parse_constraint(constraint)
    n = DEFAULT_N.get(dataset) if n is None else n
    if dataset == "xor":
        X, y = cn.datasets.xor()
    elif dataset == "moons":
        X, y = cn.datasets.moons(n, 0.1, data_seed)
    elif dataset == "random-labels":
        X, y = cn.datasets.random_labels(n, net.d_in, data_seed)
    elif dataset == "teacher":
        X, y, _ = cn.datasets.teacher(net, n, prior_obj, data_seed)
    elif dataset == "digits":
        X, y = cn.datasets.digits(classes=(3, 5), n=n, seed=data_seed)
    else:
        raise ValueError(f"--dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    return cn.Problem(net, X, y, prior=prior_obj, constraint=constraint_obj)


def _summary_row(name, tree, report) -> dict:
    return {
        "method": name,
        "draws_in_S": int(tree.sample_stats["in_set"].sum()),
        "distinct": int(tree.attrs["num_distinct"]) if "num_distinct" in tree.attrs else _distinct(tree),
        "log_volume": float(tree.attrs["log_volume"]),
        "log_volume_se": float(tree.attrs["log_volume_se"]),
        "distance": float(report.distance),
        "passed": bool(report.passed),
        "failed": [c.name for c in report.checks.values() if c.passed is False],
    }


def _distinct(tree) -> int:
    import numpy as np

    post = tree.posterior
    flat = np.concatenate([post[v].values.reshape(post[v].shape[0] * post[v].shape[1], -1) for v in post.data_vars], axis=1)
    return len(np.unique(flat, axis=0))


def _table(rows) -> str:
    header = f"{'method':<7} {'draws in S':>10} {'distinct':>8} {'log vol(S) ± SE':>17} {'distance':>8}  verdict"
    lines = [header, "-" * (len(header) + 24)]
    for r in rows:
        if math.isnan(r["log_volume"]):
            vol = "no estimate"
        elif math.isnan(r["log_volume_se"]):
            vol = f"{r['log_volume']:.3f} ± ?"
        else:
            vol = f"{r['log_volume']:.3f} ± {r['log_volume_se']:.3f}"
        verdict = "uniform on S" if r["passed"] else f"NOT uniform (failed: {', '.join(r['failed'])})"
        lines.append(f"{r['method']:<7} {r['draws_in_S']:>10} {r['distinct']:>8} {vol:>17} {r['distance']:>8.3f}  {verdict}")
    return "\n".join(lines)


def cmd_demo(args) -> int:
    import time

    import jax
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import consistent_nets as cn
    from consistent_nets import plots

    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out-dir {out_dir} is a file, not a directory")
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
        # a random relabelling / sign flip of hidden units per draw: exact (uniform on S is
        # invariant), and it takes SMC's resampling clumps out of the orbit check
        trees[name] = cn.symmetrize(tree, problem, jax.random.fold_in(key, 30 + i))
        report = cn.diagnose(trees[name], problem, rng_key=jax.random.fold_in(key, 10 + i))
        rows.append(_summary_row(name, trees[name], report))
    print(_table(rows))
    print(
        "\nsmc draws uniformly from S and estimates its prior volume; sgd keeps wherever training\n"
        "stopped, which piles draws up at the edge of S (the 'chord' check sees it).\n"
        "distance: estimated lower bound on the total-variation distance to uniform on S.\n"
        "Both samples went through cn.symmetrize (a random hidden-unit relabelling per draw,\n"
        "exact), so the verdicts are about the functions, not which symmetric copy was drawn.\n"
        "More: consistent-nets diagnose --help, and the notebooks in notebooks/."
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), constrained_layout=True, height_ratios=[1.3, 1])
    for col, ((name, tree), row) in enumerate(zip(trees.items(), rows)):
        plots.decision_regions(tree, problem, num_grid=60, ax=axes[0, col])
        verdict = "passes" if row["passed"] else "fails"
        axes[0, col].set_title(f"{name}: {methods[name]}\n{verdict} cn.diagnose, distance {row['distance']:.2f}", fontsize=10)
        plots.chord_histogram(tree, problem, jax.random.fold_in(key, 20), max_draws=500, ax=axes[1, col])
        axes[1, col].set_title(f"{name}: where draws sit on random chords of S (flat = uniform)", fontsize=10)
    fig.suptitle("XOR with a 2-3-1 tanh network: every draw fits the data; are they uniform on S?")
    path = out_dir / "demo.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return EXIT_OK


def cmd_sample(args) -> int:
    import jax

    import consistent_nets as cn

    out = Path(args.out)
    if out.exists() and not args.force:
        raise ValueError(f"--out {out} exists; pass --force to overwrite it")
    if out.is_dir() or not out.parent.is_dir():
        raise ValueError(f"--out {out}: not a file path in an existing directory")
    arch = args.arch or DEFAULT_ARCH[args.dataset]
    problem = build_problem(args.dataset, arch, args.activation, args.prior, args.constraint, args.n, args.data_seed)
    tree = cn.sample(
        problem,
        method=args.method,
        num_samples=args.num_samples,
        num_chains=args.num_chains,
        rng_key=jax.random.key(args.seed),
        progress_bar=sys.stderr.isatty(),
    )
    tree.attrs.update(
        {
            "cli_dataset": args.dataset,
            "cli_arch": arch,
            "cli_activation": args.activation,
            "cli_prior": args.prior,
            "cli_constraint": args.constraint,
            "cli_n": -1 if args.n is None else args.n,
            "cli_data_seed": args.data_seed,
            "cli_seed": args.seed,
        }
    )
    tree.to_netcdf(out)
    vol, se = float(tree.attrs["log_volume"]), float(tree.attrs["log_volume_se"])
    vol_text = f"no volume estimate from {args.method}" if math.isnan(vol) else f"log vol(S) = {vol:.3f} ± {se:.3f}"
    print(f"{int(tree.sample_stats['in_set'].sum())} draws in S by {args.method}; {vol_text}; wrote {out}")
    return EXIT_OK


CLI_ATTRS = ("cli_dataset", "cli_arch", "cli_activation", "cli_prior", "cli_constraint", "cli_n", "cli_data_seed")


def _load(path: str, what: str):
    import xarray as xr

    if not Path(path).is_file():
        raise ValueError(f"{what} {path}: no such file")
    try:
        tree = xr.open_datatree(path)
    except Exception as err:  # noqa: BLE001 - any reader failure is bad input here
        raise ValueError(f"{what} {path}: not a netCDF DataTree ({type(err).__name__})") from err
    missing = [k for k in CLI_ATTRS if k not in tree.attrs]
    if "posterior" not in tree.children or "sample_stats" not in tree.children or missing:
        raise ValueError(f"{what} {path}: not a run written by 'consistent-nets sample'")
    return tree.load()


def _problem_of(tree):
    a = tree.attrs
    n = int(a["cli_n"])
    return build_problem(
        str(a["cli_dataset"]), str(a["cli_arch"]), str(a["cli_activation"]), str(a["cli_prior"]),
        str(a["cli_constraint"]), None if n < 0 else n, int(a["cli_data_seed"]),
    )


def cmd_diagnose(args) -> int:
    import jax

    import consistent_nets as cn

    tree = _load(args.run, "run")
    if args.reference in (None, "rejection", "auto"):
        reference = args.reference
    else:
        reference = _load(args.reference, "--reference")
        differ = [k[4:] for k in CLI_ATTRS if str(reference.attrs[k]) != str(tree.attrs[k])]
        if differ:
            raise ValueError(f"--reference {args.reference} is a run of another problem (its {', '.join(differ)} differ)")
    problem = _problem_of(tree)
    report = cn.diagnose(tree, problem, reference=reference, rng_key=jax.random.key(args.seed))
    if args.json:
        checks = {
            name: {
                "passed": c.passed, "statistic": _num(c.statistic), "p_value": _num(c.p_value),
                "threshold": _num(c.threshold), "null": c.null, "detail": c.detail,
            }
            for name, c in report.checks.items()
        }
        out = {
            "run": args.run,
            "method": str(tree.attrs.get("method")),
            "passed": bool(report.passed),
            "distance": _num(float(report.distance)),
            "distance_noise": _num(float(report.distance_noise)),
            "alpha": float(report.alpha),
            "log_volume": _num(float(tree.attrs.get("log_volume", math.nan))),
            "log_volume_se": _num(float(tree.attrs.get("log_volume_se", math.nan))),
            "checks": checks,
        }
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.run}: {tree.attrs.get('method')} on {tree.attrs['cli_dataset']} ({problem.net})")
        print(report)
    return EXIT_OK if report.passed else EXIT_FAILED


def _num(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


DESCRIPTION = """\
Sample neural-network weights uniformly from S, the set of weights with which the
network fits the training data exactly, and measure how far a sample is from uniform
on S.

  consistent-nets demo                 XOR in under a minute: uniform vs the SGD heuristic
  consistent-nets sample --out run.nc  sample a problem, save the draws (netCDF DataTree)
  consistent-nets diagnose run.nc      is that sample uniform on S? (exit 0 yes, 1 no)

Run 'consistent-nets COMMAND --help' for a command's options."""

EPILOG = """\
exit status: 0 done (diagnose: the sample passed), 1 diagnose: the sample failed,
2 bad input (arguments, files), 3 no solutions found: S is empty or the sampler did
not reach it (the message bounds log vol(S))."""

SAMPLE_EXAMPLES = """\
examples:
  consistent-nets sample --dataset xor --out xor.nc
  consistent-nets sample --dataset moons --arch 2-16-16-1 --num-samples 1000 --out moons.nc
  consistent-nets sample --dataset xor --method sgd --out xor-sgd.nc && consistent-nets diagnose xor-sgd.nc
"""


def make_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="consistent-nets", description=DESCRIPTION, epilog=EPILOG, formatter_class=raw)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        help="XOR end to end: uniform sampling (smc) vs the SGD heuristic, a table and a PNG",
        description="XOR with a 2-3-1 tanh network, box prior [-3, 3]: sample S with the default\n"
        "method (smc) and with the SGD heuristic (sgd), diagnose both, print a table and\n"
        "write demo.png. About a minute the first time (compilation), less afterwards.",
        epilog=EPILOG, formatter_class=raw,
    )
    demo.add_argument("--out-dir", default=".", metavar="DIR", help="where demo.png goes (default: the current directory)")
    demo.add_argument("--num-samples", type=_positive_int, default=1000, metavar="N", help="draws per method (default 1000)")
    demo.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    demo.set_defaults(handler=cmd_demo)

    sample = sub.add_parser(
        "sample",
        help="sample one problem and write the draws to a netCDF file",
        description="Draw weights from S for a shipped dataset and write an ArviZ DataTree (netCDF)\n"
        "that 'consistent-nets diagnose' reads back. A progress bar shows on a terminal.",
        epilog=SAMPLE_EXAMPLES + "\n" + EPILOG, formatter_class=raw,
    )
    sample.add_argument("--dataset", choices=DATASETS, default="xor", help="default xor")
    sample.add_argument("--arch", type=_arch_arg, metavar="WIDTHS",
                        help="layer widths incl. input and output, e.g. 2-16-16-1 (default per dataset: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_ARCH.items()) + ")")
    sample.add_argument("--activation", default="tanh", choices=("tanh", "relu", "gelu", "sigmoid", "identity"),
                        help="hidden-layer activation (default tanh)")
    sample.add_argument("--prior", default="box:3", metavar="SPEC", help="box:A (uniform on [-A, A]) or normal:S (default box:3)")
    sample.add_argument("--constraint", default="margin:0", metavar="SPEC",
                        help="margin:M (every point classified right with margin M) or tube:EPS (regression; default margin:0)")
    sample.add_argument("--method", default="smc", choices=("smc", "anneal", "rejection", "sgd"),
                        help="smc (default, uniform + volume), anneal, rejection (exact, small problems), sgd (biased baseline)")
    sample.add_argument("--num-samples", type=_positive_int, default=2000, metavar="N", help="draws in S over all chains (default 2000)")
    sample.add_argument("--num-chains", type=_positive_int, default=4, metavar="C", help="independent chains (default 4)")
    sample.add_argument("--n", type=_positive_int, metavar="N",
                        help="number of data points (default per dataset: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_N.items()) + ")")
    sample.add_argument("--data-seed", type=int, default=0, metavar="S", help="seed of the dataset (default 0)")
    sample.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the sampler (default 0)")
    sample.add_argument("--out", required=True, metavar="FILE", help="netCDF file to write, e.g. run.nc (required)")
    sample.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    sample.set_defaults(handler=cmd_sample)

    diagnose = sub.add_parser(
        "diagnose",
        help="how far a saved run is from uniform on S (exit 0 pass, 1 fail)",
        description="Rebuild the problem a run was drawn for, run every check of cn.diagnose\n"
        "(membership, R-hat/ESS of network outputs, chord, orbit, volume, weights, reference)\n"
        "and print the report: exit 0 when the sample passes, 1 when it does not.",
        epilog=EPILOG, formatter_class=raw,
    )
    diagnose.add_argument("run", metavar="RUN.nc", help="a file written by 'consistent-nets sample'")
    diagnose.add_argument("--reference", metavar="REF",
                          help="a run of the same problem known to be uniform (e.g. --method rejection), "
                          "or 'rejection' to draw one now, or 'auto' (rejection when affordable)")
    diagnose.add_argument("--json", action="store_true", help="print the report as JSON")
    diagnose.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the diagnostics (default 1)")
    diagnose.set_defaults(handler=cmd_diagnose)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("consistent-nets")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    try:
        args = make_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad argument (message already printed)
        return done.code if isinstance(done.code, int) else EXIT_BAD_INPUT
    _configure_jax()
    import consistent_nets as cn

    try:
        return args.handler(args)
    except cn.InfeasibleError as err:
        print(f"consistent-nets: no solutions: {err}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except ValueError as err:
        print(f"consistent-nets: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
