"""``consistent-nets diagnose``: how far a saved run is from uniform on S."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ._specs import build_problem

__all__ = ["check", "run", "CLI_ATTRS"]


CLI_ATTRS = ("cli_dataset", "cli_arch", "cli_activation", "cli_prior", "cli_constraint", "cli_n", "cli_data_seed")


def check(args) -> None:
    """The files exist (before JAX starts; whether they are runs is read by :func:`run`)."""
    _exists(args.run, "run")
    if args.reference not in (None, "rejection", "auto"):
        _exists(args.reference, "--reference")


def _exists(path: str, what: str) -> None:
    if not Path(path).is_file():
        raise ValueError(f"{what} {path}: no such file")


def _load(path: str, what: str):
    import xarray as xr

    _exists(path, what)
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


def run(args) -> int:
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
    return 0 if report.passed else 1


def _num(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)
