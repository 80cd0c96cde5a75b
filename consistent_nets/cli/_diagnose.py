"""``consistent-nets diagnose``: how far a saved run is from uniform on S.

Any tree with a ``posterior`` group is accepted: ``cn.load`` rebuilds a ``cn.Problem``
from the tree's spec attrs and data groups (written by ``cn.sample`` and by ``sample``);
runs written before trees carried their data are rebuilt from their ``cli_*`` attrs. A
hand-written model's code is not in the file: such a tree gets only the checks that read
the tree alone (weights; volume agreement with other runs), and an inconclusive verdict
that says so.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from ._sample import volume_text
from ._specs import build_problem

__all__ = ["check", "run", "load_run"]

#: what runs written by ``sample`` before trees carried their data record instead
CLI_ATTRS = ("cli_dataset", "cli_arch", "cli_activation", "cli_prior", "cli_constraint", "cli_n", "cli_data_seed")


def check(args) -> None:
    """The files exist (before JAX starts; whether they are runs is read by :func:`run`)."""
    _exists(args.run, "run")
    if args.reference not in (None, "rejection", "auto"):
        _exists(args.reference, "--reference")


def _exists(path: str, what: str) -> None:
    if not Path(path).is_file():
        raise ValueError(f"{what} {path}: no such file")


def load_run(path: str, what: str):
    """``(tree, problem or None, why None)`` of a saved run; ``ValueError`` naming ``what``."""
    import consistent_nets as cn

    _exists(path, what)
    try:
        tree, problem = cn.load(path)
    except ValueError as err:
        raise ValueError(f"{what} {str(err).removeprefix('path ')}") from None
    a = tree.attrs
    if problem is None and all(k in a for k in CLI_ATTRS) and a["cli_dataset"] != "file":
        n = int(a["cli_n"])
        problem = build_problem(
            str(a["cli_dataset"]), str(a["cli_arch"]), str(a["cli_activation"]), str(a["cli_prior"]),
            str(a["cli_constraint"]), None if n < 0 else n, int(a["cli_data_seed"]),
        )
    why = ""
    if problem is None:
        if a.get("cn_problem") == "model":
            why = (
                f"{path} holds draws of a hand-written NumPyro model ({a.get('cn_model', '?')}); its code is not "
                "in the file, so only the checks that read the tree alone run (weights; volume agreement with other "
                "runs), not membership, R-hat, ESS, populations, chord or orbit: diagnose it in Python with "
                "cn.diagnose(tree, model, *args)"
            )
        else:
            why = f"{path} does not say what problem it was drawn for (no cn_* spec attrs and data groups)"
    return tree, problem, why


def _same_problem(a, b) -> bool:
    return (
        a.net == b.net and a.prior == b.prior and a.constraint == b.constraint
        and np.array_equal(np.asarray(a.X), np.asarray(b.X)) and np.array_equal(np.asarray(a.y), np.asarray(b.y))
    )


def run(args) -> int:
    import jax

    import consistent_nets as cn

    tree, problem, why = load_run(args.run, "run")
    if args.reference in (None, "rejection", "auto"):
        reference = args.reference
        if problem is None and reference is not None:
            raise ValueError(f"--reference {reference} needs the problem, which the run does not give: {why}")
    else:
        reference, ref_problem, _ = load_run(args.reference, "--reference")
        if problem is not None and (ref_problem is None or not _same_problem(problem, ref_problem)):
            raise ValueError(f"--reference {args.reference} is not a run of the same problem as {args.run}")
    if why:
        print(f"consistent-nets: note: {why}", file=sys.stderr)
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
            "verdict": report.verdict,
            "inconclusive": report.inconclusive,
            "distance": _num(float(report.distance)),
            "distance_noise": _num(float(report.distance_noise)),
            "alpha": float(report.alpha),
            "log_volume": _num(float(tree.attrs.get("log_volume", math.nan))),
            "log_volume_se": _num(float(tree.attrs.get("log_volume_se", math.nan))),
            # the volume's interval (Student t on the SE's degrees of freedom); null without an SE
            "log_volume_ci": (
                [_num(float(tree.attrs["log_volume_ci_lower"])), _num(float(tree.attrs["log_volume_ci_upper"]))]
                if "log_volume_ci_lower" in tree.attrs
                else None
            ),
            "log_volume_ci_prob": _num(tree.attrs.get("log_volume_ci_prob")),
            "checks": checks,
            "advice": list(report.advice),
        }
        print(json.dumps(out, indent=2))
    else:
        what = problem.net if problem is not None else tree.attrs.get("cn_model", "an unknown problem")
        print(f"{args.run}: {tree.attrs.get('method', 'draws')} of {what}")
        if math.isfinite(float(tree.attrs.get("log_volume", math.nan))):
            print(volume_text(tree.attrs))
        print(report)
    return 0 if report.passed else 1


def _num(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)
