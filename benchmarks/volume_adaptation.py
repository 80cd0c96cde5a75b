"""Which part of ``smc``'s adaptation makes its small-population log volumes low.

``volume_bias.py`` measured that a population of 500 particles estimates log vol(S) about
0.13 nats low on random labels (0.2-0.4 on the teacher), more than Jensen's ``σ²/2``
explains. Each population adapts its own path: the next beta (ESS bisection), the stop
(fraction in S), the NUTS step size (after every move), the diagonal mass (the
resampled population's variance) and the number of moves (until the jump target). Ẑ is
exactly unbiased only for a path fixed in advance.

A pilot run (``--pilot-seed``; ``cn.SMC(mass=--mass)``, as the runs) records its first population's path:
per stage the beta, the step size it ended the stage with, the mass its moves used and
the number of moves. A variant replaces parts of every population's adaptation with the
pilot's values — ``b`` the betas (and the stop: the pilot's last beta), ``h`` the step
size (held through the stage's moves), ``m`` the mass, ``n`` the moves per stage — and
``--variant default`` runs the library unchanged (``--mass own``: with each population's
own mass, the earlier default; parts not replaced use what ``--mass`` says). With ``bhmn`` the sampler is a
non-adaptive SMC on the pilot's path, whose Ẑ is unbiased whatever the path. The
replacements are made in this process, in :mod:`consistent_nets.samplers.tempered`
(``next_beta`` and ``mutate``), before the first compile; one variant per invocation,
since the library caches its compiled programs by settings. Records: every population's
log Ẑ, the pooled estimate ± SE, gradients and effective draws, per key; the summary
line gives the mean over populations and ``log mean exp``.

    python benchmarks/volume_adaptation.py --rung random-labels --variant bhmn --seeds 5000 5001 5002 5003
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import RUNGS, get_rung  # noqa: E402
from consistent_nets._target import make_target  # noqa: E402
from consistent_nets.samplers import moves, tempered  # noqa: E402
from consistent_nets.samplers.driver import run as drive  # noqa: E402
from consistent_nets.samplers.tempering import population_scale  # noqa: E402

FLAGS = set("bhmn")


def parse_variant(text: str) -> str:
    if text == "default":
        return ""
    if not text or set(text) - FLAGS or "b" not in text:
        raise argparse.ArgumentTypeError(
            f"--variant {text!r}: 'default', or letters of 'bhmn' including 'b' (the other parts are looked up by beta)")
    return "".join(sorted(set(text), key="bhmn".index))


def pilot_path(problem, key, num_particles: int, config) -> dict:
    """Population 0's path in a default run: beta, end-of-stage step size, mass, moves."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = drive(config, make_target(problem), key, 4 * num_particles, 4, False)
    rows = [(float(np.asarray(b)[0]), float(np.asarray(h)[0]), np.asarray(m)[0])
            for b, h, m, active in result.schedule if bool(np.asarray(active)[0])]
    return {
        "beta": np.array([r[0] for r in rows], np.float32),
        "step_size": np.array([r[1] for r in rows], np.float32),
        "mass": np.stack([r[2] for r in rows]).astype(np.float32),
        "moves": np.asarray(result.stages["num_moves"][1])[0][: len(rows)].astype(np.int32),
        "log_volume": float(result.log_volume),
    }


def install(flags: str, path: dict) -> None:
    """Replace the parts of every population's adaptation named in ``flags`` by the path's."""
    B, H, M, NM = (jnp.asarray(path[k]) for k in ("beta", "step_size", "mass", "moves"))

    def next_beta(beta, penalty, target_ess, beta_max, num_bisection=60):
        return B[jnp.clip(jnp.searchsorted(B, beta, side="right"), 0, B.size - 1)]

    def mutate(target, config, rng_key, u, beta, step_size, restrict_to_set, max_moves, jump_target,
               inverse_mass=None, axis_name=None):
        i = jnp.clip(jnp.searchsorted(B, beta, side="left"), 0, B.size - 1)
        own = population_scale(u) if inverse_mass is None else inverse_mass  # the library's choice (cn.SMC.mass)
        mass = M[i] if "m" in flags else own
        h = H[i] if "h" in flags else step_size
        kwargs = dict(max_num_doublings=config.max_tree_depth, target_accept=config.target_accept,
                      restrict_to_set=restrict_to_set, batch_size=config.batch_size, kernel=config.kernel)
        logdensity = lambda x: target.tempered_logdensity(x, beta)  # noqa: E731
        if not ("h" in flags or "n" in flags):  # the library's own moves, with the chosen mass
            return moves.nuts_moves(rng_key, u, logdensity, target.in_set, h, mass, min_moves=config.min_moves,
                                    max_moves=max_moves, jump_target=jump_target, **kwargs)
        scale = jnp.sqrt(mass)

        def more(carry):
            j, _, _, _, jump = carry
            if "n" in flags:
                return j < NM[i]
            return (j < config.min_moves) | ((j < max_moves) & (jump < jump_target))

        def one(carry):  # one move; the step size adapted after it unless held
            j, x, hh, acc, _ = carry
            new, h_new, info = moves.nuts_moves(jax.random.fold_in(rng_key, j), x, logdensity, target.in_set, hh, mass,
                                                min_moves=1, max_moves=1, jump_target=1e9, **kwargs)
            acc = jax.tree.map(lambda a, b: a + b, acc, info)
            return j + 1, new, hh if "h" in flags else h_new, acc, jnp.mean(jnp.square((new - u) / scale))

        f, i32 = jnp.zeros(()), jnp.zeros((), jnp.int32)
        start = (i32, u, h, moves.MoveInfo(f, i32, i32, i32, i32, f, i32), f)
        j, new, h_out, info, jump = jax.lax.while_loop(more, one, start)
        return new, h_out, info._replace(acceptance=info.acceptance / jnp.maximum(j, 1), num_moves=j, jump=jump)

    if "b" in flags:
        tempered.next_beta = next_beta
    tempered.mutate = mutate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="random-labels")
    parser.add_argument("--variant", type=parse_variant, default="")
    parser.add_argument("--seeds", type=int, nargs="+", default=[5000, 5001, 5002, 5003])
    parser.add_argument("--num-particles", type=int, default=500)
    parser.add_argument("--pilot-seed", type=int, default=4242)
    parser.add_argument("--mass", choices=["other", "own"], default="other",
                        help="cn.SMC(mass=...) of the runs and the pilot (default: the library's default)")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.rung, args.seeds, args.num_particles = "xor", args.seeds[:2], 16
    problem = get_rung(args.rung).build()
    kwargs, pilot = {"mass": args.mass}, None
    if args.variant:
        pilot = pilot_path(problem, jax.random.key(args.pilot_seed), args.num_particles, cn.SMC(mass=args.mass))
        install(args.variant, pilot)
        # the stop: the pilot's last beta (a fraction in S of 0.999 is never reached first)
        kwargs |= {"beta_max": float(pilot["beta"][-1]), "min_fraction_in_set": 0.999}
    name = (args.variant or "default") + ("-own-mass" if args.mass == "own" else "")
    records = []
    for seed in args.seeds:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tree = cn.sample(problem, method=cn.SMC(**kwargs), num_samples=4 * args.num_particles,
                             rng_key=jax.random.key(seed), progress_bar=False)
        records.append({
            "rung": args.rung, "variant": name, "seed": seed, "num_particles": args.num_particles,
            "mass": tree.attrs["mass"],
            "log_volume_per_population": tree["smc_stages"]["log_volume"].values.tolist(),
            "log_volume": float(tree.attrs["log_volume"]), "log_volume_se": float(tree.attrs["log_volume_se"]),
            "num_stages": int(tree.attrs["num_stages"]), "grad_evals": int(tree.attrs["num_grad_evals"]),
            "ess": float(tree.attrs["ess"]), "seconds": time.perf_counter() - start,
        })
        print(f"[volume_adaptation] {name} key {seed}: {records[-1]['log_volume']:.3f} "
              f"± {records[-1]['log_volume_se']:.3f}", file=sys.stderr, flush=True)
    lz = np.concatenate([r["log_volume_per_population"] for r in records])
    summary = {"populations": int(lz.size), "mean": float(np.mean(lz)), "sd": float(np.std(lz, ddof=1)),
               "se_of_mean": float(np.std(lz, ddof=1) / np.sqrt(lz.size)),
               "log_mean_exp": float(np.max(lz) + np.log(np.mean(np.exp(lz - np.max(lz)))))}
    for r in records:
        r["summary"] = summary
    print(f"[volume_adaptation] {name}: {summary['populations']} populations, mean log Ẑ {summary['mean']:.3f} "
          f"± {summary['se_of_mean']:.3f} (SD {summary['sd']:.3f}), log mean exp {summary['log_mean_exp']:.3f}",
          file=sys.stderr)
    meta = machine_info() | {"tiny": args.tiny, "rung_description": get_rung(args.rung).description,
                             "pilot_seed": args.pilot_seed if pilot else None,
                             "pilot": None if pilot is None else {
                                 "log_volume": pilot["log_volume"], "beta": pilot["beta"].tolist(),
                                 "step_size": pilot["step_size"].tolist(), "moves": pilot["moves"].tolist()}}
    save_results(args.out, f"volume-adaptation-{args.rung}-{name}", "volume-adaptation", meta, records)


if __name__ == "__main__":
    main()
