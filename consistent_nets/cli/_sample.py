"""``consistent-nets sample``: sample one problem and write the draws to netCDF."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from ._data import default_arch, load_data
from ._specs import DEFAULT_ARCH, build_problem, check_arch_for

__all__ = ["check", "run", "volume_text"]


def check(args) -> None:
    """Argument errors JAX is not needed for: ``--out`` and ``--arch`` against the dataset."""
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ValueError(f"--out {out} exists; pass --force to overwrite it")
    if out.is_dir() or not out.parent.is_dir():
        raise ValueError(f"--out {out}: not a file path in an existing directory")
    if args.data is None:
        check_arch_for(args.dataset, args.arch or DEFAULT_ARCH[args.dataset])


def run(args) -> int:
    import jax

    import consistent_nets as cn

    out = Path(args.out)
    if args.data is not None:
        data = load_data(args.data)
        arch = args.arch or default_arch(*data, args.constraint)
        source = {"cli_dataset": "file", "cli_data": " ".join(Path(p).name for p in args.data)}
    else:
        data, arch = None, args.arch or DEFAULT_ARCH[args.dataset]
        source = {"cli_dataset": args.dataset, "cli_n": -1 if args.n is None else args.n, "cli_data_seed": args.data_seed}
    problem = build_problem(
        args.dataset, arch, args.activation, args.prior, args.constraint, args.n, args.data_seed, data=data
    )
    tree = cn.sample(
        problem,
        method=args.method,
        num_samples=args.num_samples,
        num_chains=args.num_chains,
        rng_key=jax.random.key(args.seed),
        progress_bar=sys.stderr.isatty(),
    )
    # provenance; the problem itself travels in the tree's spec attrs and data groups
    tree.attrs.update(source | {"cli_seed": args.seed})
    tree.to_netcdf(out)
    vol = float(tree.attrs["log_volume"])
    vol_text = f"no volume estimate from {args.method}" if math.isnan(vol) else volume_text(tree.attrs)
    print(f"{int(tree.sample_stats['in_set'].sum())} draws in S by {args.method}; {vol_text}; wrote {out}")
    if "log_volume_note" in tree.attrs and not math.isnan(vol):
        print(f"note on the volume: {tree.attrs['log_volume_note']}")
    return 0


def volume_text(attrs) -> str:
    """``log vol(S) = -5.198 ± 0.060 (95 % interval -5.391 to -5.006, t with 3 dof)``: a tree's volume,
    its SE and, where it has one, its interval (Student t on the SE's degrees of freedom; normal
    where a method states none)."""
    se = float(attrs.get("log_volume_se", math.nan))
    text = f"log vol(S) = {float(attrs['log_volume']):.3f} ± " + (f"{se:.3f}" if math.isfinite(se) else "? (no SE)")
    if "log_volume_ci_lower" not in attrs:
        return text
    dof = attrs.get("log_volume_se_dof")
    basis = "normal" if dof is None else f"t with {int(dof)} dof"
    return (
        f"{text} ({100 * float(attrs['log_volume_ci_prob']):g} % interval {float(attrs['log_volume_ci_lower']):.3f} "
        f"to {float(attrs['log_volume_ci_upper']):.3f}, {basis})"
    )
