"""The ``consistent-nets`` command line: ``demo``, ``sample`` and ``diagnose``.

Arguments are parsed and checked (specs, files, paths) before JAX is imported, so
``--help`` and every argument error return at Python's own start-up speed.

Exit status: 0 success (``diagnose``: the sample passed), 1 ``diagnose``: the sample
failed, 2 bad input, 3 the solution set is empty or was not reached (InfeasibleError),
141 the reader of the output went away (``... | head``: the status a shell gives a process
killed by SIGPIPE), without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .._errors import InfeasibleError
from ._data import FORMATS, check_data_paths
from ._specs import DEFAULT_ARCH, check_spec, parse_arch

__all__ = ["main", "make_parser", "EXIT_OK", "EXIT_FAILED", "EXIT_BAD_INPUT", "EXIT_INFEASIBLE", "EXIT_BROKEN_PIPE"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as `yes | head` leaves `yes`
# the same names and defaults as consistent_nets.datasets (importing it would import JAX)
DATASETS = ("xor", "moons", "random-labels", "teacher", "digits")
DEFAULT_N = {"moons": 100, "random-labels": 40, "teacher": 100, "digits": 128}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (exit 2) instead of usage + error."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _configure_jax() -> None:
    # CLI-level configuration (never done by the library on import): use both CPU cores
    # as JAX devices. Compiled programs are cached across runs by the library itself
    # (consistent_nets._compile: ~/.cache/consistent-nets/jax, CONSISTENT_NETS_CACHE=0
    # turns it off, a cache the caller configured is left alone).
    os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")


def _arch_arg(spec: str) -> str:
    try:
        parse_arch(spec)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--arch ")) from None
    return spec


def _spec_arg(argument: str):
    def check(spec: str) -> str:
        try:
            check_spec(argument, spec)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        return spec

    check.__name__ = argument  # argparse names the type in some messages
    return check


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


DESCRIPTION = """\
Sample neural-network weights uniformly from S, the set of weights with which the
network fits the training data exactly, and measure how far a sample is from uniform
on S.

  consistent-nets demo                 XOR in under a minute: uniform vs the SGD heuristic
  consistent-nets sample --out run.nc  sample a problem, save the draws (netCDF DataTree)
  consistent-nets diagnose run.nc      is that sample uniform on S? (exit 0 yes, 1 no)

Run 'consistent-nets COMMAND --help' for a command's options."""

EPILOG = """\
exit status: 0 done (diagnose: the sample passed), 1 diagnose: the sample failed or
the verdict is inconclusive, 2 bad input (arguments, files), 3 no solutions found: S is
empty or the sampler did not reach it (the message bounds log vol(S))."""

SAMPLE_EXAMPLES = """\
your own data (--data): one .npz with arrays X (n, d) and y (n,), two .npy files
(X then y), or one .csv with the label in the last column (a header row is skipped).
Labels: -1/+1 or 0/1 for one output, 0..K-1 for K classes (margin), numbers (tube).

examples:
  consistent-nets sample --dataset xor --out xor.nc
  consistent-nets sample --dataset moons --arch 2-16-16-1 --num-samples 1000 --out moons.nc
  consistent-nets sample --data points.csv --arch 2-8-1 --out mine.nc
  consistent-nets sample --data X.npy y.npy --constraint tube:0.1 --out regression.nc
  consistent-nets sample --dataset xor --method sgd --out xor-sgd.nc && consistent-nets diagnose xor-sgd.nc
"""


def make_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="consistent-nets", description=DESCRIPTION, epilog=EPILOG, formatter_class=raw, allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        help="XOR end to end: uniform sampling (smc) vs the SGD heuristic, a table and a PNG",
        description="XOR with a 2-3-1 tanh network, box prior [-3, 3]: sample S with the default\n"
        "method (smc) and with the SGD heuristic (sgd), diagnose both, print a table and\n"
        "write demo.png. About a minute the first time (compilation), less afterwards.",
        epilog=EPILOG, formatter_class=raw, allow_abbrev=False,
    )
    demo.add_argument("--out-dir", default=".", metavar="DIR", help="where demo.png goes (default: the current directory)")
    demo.add_argument("--num-samples", type=_positive_int, default=1000, metavar="N", help="draws per method (default 1000)")
    demo.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    demo.set_defaults(command_module="_demo")

    sample = sub.add_parser(
        "sample",
        help="sample one problem and write the draws to a netCDF file",
        description="Draw weights from S for a shipped dataset or your own data (--data) and write an\n"
        "ArviZ DataTree (netCDF, with the data) that 'consistent-nets diagnose' reads back.\n"
        "A progress bar shows on a terminal.",
        epilog=SAMPLE_EXAMPLES + "\n" + EPILOG, formatter_class=raw, allow_abbrev=False,
    )
    sample.add_argument("--dataset", choices=DATASETS, help="a shipped dataset (default xor)")
    sample.add_argument("--data", nargs="+", metavar="FILE",
                        help=f"your own data instead of --dataset: {FORMATS}")
    sample.add_argument("--arch", type=_arch_arg, metavar="WIDTHS",
                        help="layer widths incl. input and output, e.g. 2-16-16-1 (default per dataset: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_ARCH.items()) + ")")
    sample.add_argument("--activation", default="tanh", choices=("tanh", "relu", "gelu", "sigmoid", "identity"),
                        help="hidden-layer activation (default tanh)")
    sample.add_argument("--prior", type=_spec_arg("prior"), default="box:3", metavar="SPEC", help="box:A (uniform on [-A, A]) or normal:S (default box:3)")
    sample.add_argument("--constraint", type=_spec_arg("constraint"), default="margin:0", metavar="SPEC",
                        help="margin:M (every point classified right with margin M) or tube:EPS (regression; default margin:0)")
    sample.add_argument("--method", default="smc", choices=("smc", "anneal", "rejection", "sgd"),
                        help="smc (default, uniform + volume), anneal, rejection (exact, small problems), sgd (biased baseline)")
    sample.add_argument("--num-samples", type=_positive_int, default=2000, metavar="N", help="draws in S over all chains (default 2000)")
    sample.add_argument("--num-chains", type=_positive_int, default=4, metavar="C", help="independent chains (default 4)")
    sample.add_argument("--n", type=_positive_int, metavar="N",
                        help="number of data points of a shipped dataset other than xor (default: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_N.items()) + ")")
    sample.add_argument("--data-seed", type=int, metavar="S", help="seed of a shipped dataset (default 0)")
    sample.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the sampler (default 0)")
    sample.add_argument("--out", required=True, metavar="FILE", help="netCDF file to write, e.g. run.nc (required)")
    sample.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    sample.set_defaults(command_module="_sample")

    diagnose = sub.add_parser(
        "diagnose",
        help="how far a saved run is from uniform on S (exit 0 pass, 1 fail)",
        description="Rebuild the problem a run was drawn for (cn.load: from the tree's spec and data),\n"
        "run every check of cn.diagnose (membership, R-hat/ESS of network outputs, chord, orbit,\n"
        "volume, weights, reference) and print the report: exit 0 when the sample passes, 1 when\n"
        "it fails or the verdict is inconclusive (a hand-written model's tree: its code is not\n"
        "in the file, so only the checks that read the tree alone run: weights, and volume agreement\n"
        "with other runs; diagnose it in Python instead).",
        epilog=EPILOG, formatter_class=raw, allow_abbrev=False,
    )
    diagnose.add_argument("run", metavar="RUN.nc",
                          help="a tree written by 'consistent-nets sample' or saved from Python (tree.to_netcdf)")
    diagnose.add_argument("--reference", metavar="REF",
                          help="a run of the same problem known to be uniform (e.g. --method rejection), "
                          "or 'rejection' to draw one now, or 'auto' (rejection when affordable)")
    diagnose.add_argument("--json", action="store_true", help="print the report as JSON")
    diagnose.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the diagnostics (default 1)")
    diagnose.set_defaults(command_module="_diagnose")
    return parser


def _check_split(args, parser) -> None:
    """--num-samples must split evenly over the chains (4 for demo), as cn.sample needs."""
    if getattr(args, "num_samples", None) is None:
        return
    chains = getattr(args, "num_chains", 4)
    if args.num_samples < chains or args.num_samples % chains:
        low = max(chains, args.num_samples - args.num_samples % chains)
        parser.error(f"--num-samples ({args.num_samples}) must be a multiple of the {chains} chains (e.g. {low})")


def _check_sample_args(args, parser) -> None:
    """Options that do not apply are refused (exit 2), never ignored; defaults filled in."""
    if args.data is not None:
        why = check_data_paths(args.data)
        if args.dataset is not None:
            why = "--data and --dataset are alternatives: give one"
        elif args.n is not None:
            why = "--n does not apply to --data (the file holds its points)"
        elif args.data_seed is not None:
            why = "--data-seed does not apply to --data (the file holds its points)"
        if why:
            parser.error(why)
        return
    args.dataset = args.dataset or "xor"
    if args.dataset == "xor" and args.n is not None:
        parser.error("--n does not apply to xor (it always has 4 points)")
    args.data_seed = 0 if args.data_seed is None else args.data_seed


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("consistent-nets")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # the output's reader went away (`consistent-nets diagnose run.nc | head`): nothing more can be
        # written there, which is not an error of the run; no traceback, and Python's own flush at exit
        # must not raise again, so stdout now goes nowhere
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # an in-process stdout without a file descriptor
            pass
        return EXIT_BROKEN_PIPE


def _main(argv: list[str] | None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        _check_split(args, parser)
        if args.command_module == "_sample":
            _check_sample_args(args, parser)
    except SystemExit as done:  # --help, --version, or a bad argument (message already printed)
        return done.code if isinstance(done.code, int) else EXIT_BAD_INPUT
    command = importlib.import_module(f"{__name__}.{args.command_module}")
    try:
        command.check(args)  # files and paths, still without JAX
    except ValueError as err:
        print(f"consistent-nets: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _configure_jax()
    try:
        return command.run(args)
    except InfeasibleError as err:
        print(f"consistent-nets: no solutions: {err}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except ValueError as err:
        print(f"consistent-nets: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
