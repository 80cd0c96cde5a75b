"""The final phase of ``smc`` moved at lower betas, on one tempering run (a measurement, not a setting).

The final phase resamples a population's in-S particles and moves them with a restricted
kernel: a ``pi_beta``-reversible move whose proposals outside S are refused is reversible
for the prior restricted to S at *any* beta (``g = 0`` on S). The library moves at the
last tempering stage's beta, whose penalty walls are steep where S is thin (the
teacher's last step sizes are ~1e-3 whitened, its final jump ~0.004 of the 1.0 target).
Would a softer wall (``beta_move = factor * beta_final``, the step size started at
``h / sqrt(factor)``) let the copies move apart?

One tempering run (``cn.SMC()`` defaults, the ladder's ``smc`` key for ``--seed``) is kept
and its final phase replayed once per factor through ``cn.sample`` (the same tempering,
the same final-phase key; only the moves' beta and first step size differ). Per factor:
effective draws (the library's and ArviZ's), final jumps, refused proposals, gradients,
and the ``cn.diagnose`` verdict. The volume does not change (it is fixed before the
final phase). Reaches into ``SMC.finish``; for measurement only.

``--slice-moves M ...`` replays the final phase once more per ``M`` with a move that needs
no gradient instead of NUTS: ``M`` shrinkage slice moves (Neal 2003) on the prior
restricted to S, each along one line through the particle, the level drawn under the
prior density and the bracket shrunk towards the particle until a point in S above the
level is found (at most 16 tries, else the particle stays: still reversible). The line's
direction is the difference of two particles of the population as the phase starts
(with probability 0.8) or a Gaussian draw with the population's standard deviations;
both are fixed for the phase, so every move is exact for the prior restricted to S.
Is a cheap move that never leaves S better than NUTS's refused trajectories where S is thin?

``--kernel-replays KERNEL:MOVES ...`` replays the final phase with one of the library's
move kernels (``nuts``, ``hmc``, ``rhmc``) for at most ``MOVES`` moves, the same jump
target, started at the last stage's step size: the final phase leaves the volume as it
is, so a kernel there changes the draws' diversity and the time, not log Z.
``--final-kernel`` sets the first run's own final kernel (``cn.SMC(final_kernel=...)``;
default: the library's ``"auto"``; the records name the kernel that ran).

    python benchmarks/final_phase.py --rung teacher --seed 0 --factors 1 0.3 0.1 0.01
    python benchmarks/final_phase.py --rung moons --factors 1 --slice-moves 12 48 96
    python benchmarks/final_phase.py --rung moons --factors 1 1 --final-kernel nuts --kernel-replays hmc:12 hmc:6
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import consistent_nets as cn  # noqa: E402
from benchmarks.harness import machine_info, save_results  # noqa: E402
from benchmarks.rungs import RUNGS, get_rung  # noqa: E402
from consistent_nets.samplers.distributed import device_get  # noqa: E402
from consistent_nets.samplers.moves import MoveInfo  # noqa: E402
from consistent_nets.samplers.smc import SMC  # noqa: E402
from consistent_nets.samplers.smc_programs import final_program, move_masses, place_keys, smc_programs  # noqa: E402
from consistent_nets.samplers.tempering import population_scale  # noqa: E402
from methods import effective_draws_record, method_key  # noqa: E402


#: the slice moves' settings: most bracket shrinkages per move, and how often the line's
#: direction is the difference of two particles rather than a Gaussian draw
SLICE_MAX_SHRINK, SLICE_DIFFERENCE_PROB = 16, 0.8


def slice_moves(target, rng_key, u, num_moves: int):
    """``num_moves`` shrinkage slice moves of one population ``u`` (N, dim) on the prior
    restricted to S (see the module's docstring); the final phase's ``MoveInfo`` with
    forward evaluations (``target.terms``) in place of gradients."""
    n, dim = u.shape
    scale = jnp.sqrt(population_scale(u))  # the NUTS move's whitening: the same jump on both sides
    log_prior0 = jax.vmap(target.terms)(u)[0]

    def one(key, x, log_prior):
        k_dir, k_pair, k_mix, k_level, k_pos, k_loop = jax.random.split(key, 6)
        a, b = jax.random.choice(k_pair, n, (2,), replace=False)
        use_pair = jax.random.uniform(k_mix) < SLICE_DIFFERENCE_PROB
        d = jnp.where(use_pair, u[a] - u[b], jax.random.normal(k_dir, (dim,)) * scale)
        level = log_prior - jax.random.exponential(k_level)
        t0 = jax.random.uniform(k_pos)

        def body(s):
            lo, hi, _, tries, x_new, lp_new, key = s
            key, sub = jax.random.split(key)
            t = jax.random.uniform(sub, minval=lo, maxval=hi)
            lp, _, in_set = target.terms(x + t * d)
            good = in_set & (lp > level)
            lo = jnp.where(good | (t >= 0), lo, t)  # shrink towards the particle (t = 0)
            hi = jnp.where(good | (t < 0), hi, t)
            return lo, hi, good, tries + 1, jnp.where(good, x + t * d, x), jnp.where(good, lp, log_prior), key

        start = (-t0, 1.0 - t0, jnp.asarray(False), jnp.asarray(0), x, log_prior, k_loop)
        _, _, found, tries, x_new, lp_new, _ = jax.lax.while_loop(
            lambda s: ~s[2] & (s[3] < SLICE_MAX_SHRINK), body, start)
        return x_new, lp_new, tries, found

    def move(carry, key):
        x, lp, evals, executed, failed = carry
        x, lp, tries, found = jax.vmap(one)(jax.random.split(key, n), x, lp)
        return (x, lp, evals + jnp.sum(tries), executed + jnp.max(tries) * n, failed + jnp.sum(~found)), None

    zero = jnp.zeros((), jnp.int32)
    (x, _, evals, executed, failed), _ = jax.lax.scan(move, (u, log_prior0, zero, zero, zero),
                                                     jax.random.split(rng_key, num_moves))
    jump = jnp.mean(jnp.square((x - u) / scale))
    accepted = 1.0 - failed / (n * num_moves)
    return x, MoveInfo(accepted, evals, executed, zero, jnp.asarray(num_moves), jump, failed)


class Replay(SMC):
    """``cn.SMC()`` whose first run is kept (and finished by ``SMC.finish`` itself); later
    runs replay its final phase at ``factor * beta_final`` (set on the class before each
    ``cn.sample``): at factor 1 a replay must repeat the library's own result. With
    ``num_slice_moves`` set, a replay moves with that many slice moves instead of NUTS;
    with ``move_kernel`` set, with that library kernel for at most ``kernel_moves`` moves."""

    factor = 1.0
    num_slice_moves: int | None = None
    move_kernel: str | None = None
    kernel_moves = 12
    final_seconds = float("nan")
    kept: dict = {}

    def start(self, target, rng_key, num_samples, num_chains):
        return self.kept["run"] if self.kept else super().start(target, rng_key, num_samples, num_chains)

    def stop(self, run):
        return "done" if self.kept else super().stop(run)

    def finish(self, run, stop_reason):
        if not self.kept:  # the first run ends as the library's does: what every replay is compared with
            self.kept.update(run=run, ancestors=list(run.ancestors))
            return super().finish(run, stop_reason)
        run.ancestors = list(self.kept["ancestors"])  # the tempering's resamplings; the final one is added
        states, num_chains = run.states, run.num_chains
        fraction = np.asarray(device_get(jnp.mean(states.in_set, axis=1)), dtype=np.float64)
        log_z = np.asarray(device_get(states.log_z), dtype=np.float64)
        p = run.programs
        keys = place_keys(jax.random.split(run.k_final, num_chains), num_chains, run.mesh)
        u, num_ancestors, k_move, parents = p["select"](keys, states)
        run.ancestors.append(np.asarray(device_get(parents)))
        factor, num_slice, kernel = type(self).factor, type(self).num_slice_moves, type(self).move_kernel
        run.final_kernel, mutate = final_program(self, p, run.infos, int(u.shape[1]))  # the library's choice
        final_moves = self.final_moves
        mass, _ = move_masses(self, p["scale"], u, num_chains, run.mesh)  # as the library's final phase
        if kernel is not None:  # the same pieces compiled for another move kernel; compiled and run once, untimed
            run.final_kernel, other = kernel, dataclasses.replace(self, kernel=kernel, final_kernel=None)
            mutate, final_moves = smc_programs(other, run.target, u.shape[1], run.mesh)["mutate"], type(self).kernel_moves
            jax.block_until_ready(mutate(k_move, u, states.beta, states.step_size, True, final_moves, self.final_jump_target,
                                         mass))
        if num_slice is not None:  # compiled and run to completion once, untimed (JAX dispatches asynchronously)
            moves = jax.jit(jax.vmap(lambda k, x: slice_moves(run.target, k, x, num_slice)))
            jax.block_until_ready(moves(k_move, u))
        start = time.perf_counter()
        if num_slice is None:
            # the stiffness of the penalty grows with beta: start the step size where it would sit
            moved = mutate(k_move, u, states.beta * factor, states.step_size / math.sqrt(factor), True,
                           final_moves, self.final_jump_target, mass)
        else:
            x, info = moves(k_move, u)
            moved = (x, states.step_size, info)
        jax.block_until_ready(moved)
        type(self).final_seconds = time.perf_counter() - start
        final, info = p["final"](states, num_ancestors, moved)
        return self._result(run, final, device_get(info), log_z + np.log(fraction), fraction, stop_reason)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rung", choices=list(RUNGS), default="teacher")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--factors", type=float, nargs="+", default=[1.0, 0.3, 0.1, 0.01])
    parser.add_argument("--slice-moves", type=int, nargs="*", default=[],
                        help="replay the final phase with this many slice moves (one replay per number)")
    parser.add_argument("--kernel-replays", nargs="*", default=[], metavar="KERNEL:MOVES",
                        help="replay the final phase with this library kernel (nuts, hmc, rhmc) for at most MOVES moves")
    parser.add_argument("--final-kernel", choices=["auto", "nuts", "hmc", "rhmc"], default=None,
                        help="the first run's own final kernel (default: the library's)")
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--tiny", action="store_true", help="XOR, 40 draws, factors 1, 1 and 0.1, 4 slice moves: checks the harness (a replay at 1 repeats the run)")
    parser.add_argument("--out", default=None, help="a .json file or a directory (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rung, args.num_samples, args.factors, args.slice_moves = "xor", 40, [1.0, 1.0, 0.1], [4]
        args.kernel_replays = ["rhmc:4"]
    if args.factors[0] != 1.0 or any(not 0 < f <= 1 for f in args.factors):
        parser.error("--factors: the first must be 1 (the library's final phase), all in (0, 1]")
    replays = []
    for spec in args.kernel_replays:
        kernel, _, moves = spec.partition(":")
        if kernel not in ("nuts", "hmc", "rhmc") or not moves.isdigit() or int(moves) < 1:
            parser.error(f"--kernel-replays: KERNEL:MOVES with KERNEL nuts, hmc or rhmc and MOVES >= 1, got {spec!r}")
        replays.append((kernel, int(moves)))
    own_kernel = args.final_kernel or SMC().final_kernel
    machine = machine_info()
    problem = get_rung(args.rung).build()
    records = []
    Replay.kept = {}
    runs = ([(factor, None, None) for factor in args.factors] + [(1.0, m, None) for m in args.slice_moves]
            + [(1.0, None, r) for r in replays])
    for factor, num_slice, replay in runs:
        Replay.factor, Replay.num_slice_moves, Replay.final_seconds = factor, num_slice, float("nan")
        Replay.move_kernel, Replay.kernel_moves = replay if replay else (None, 12)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tree = cn.sample(problem, method=Replay(feasibility_probe=False, final_kernel=own_kernel), num_samples=args.num_samples,
                             rng_key=method_key(args.seed, "smc"), progress_bar=False)
        seconds = time.perf_counter() - start
        stages, a = tree["smc_stages"].ds, tree.attrs
        grads = int(a["num_grad_evals"])
        ess = effective_draws_record(problem, tree, {"run_s": seconds, "grad_evals": grads})
        report = cn.diagnose(tree, problem, rng_key=jax.random.key(args.seed + 1))
        records.append({
            "factor": factor, "kernel": "slice" if num_slice is not None else (replay[0] if replay else tree.attrs["final_kernel"]),
            "slice_moves": num_slice, "kernel_moves": replay[1] if replay else None, "seed": args.seed, "seconds": seconds,
            "final_seconds": Replay.final_seconds, "grad_evals": grads,
            # the slice moves' forward evaluations (target.terms) stand where NUTS's gradients do
            "final_grad_evals": grads - int(np.sum(np.asarray(stages["num_grad_evals"], dtype=np.int64))),
            "ess": ess["ess"], "ess_arviz": ess["ess_arviz"],
            "inflation": float(a.get("ess_between_population_inflation", float("nan"))),
            "final_jump": np.asarray(stages["final_jump"]).tolist(),
            "final_num_refused": np.asarray(stages["final_num_refused"]).tolist(),
            "final_acceptance": np.asarray(stages["final_acceptance"]).tolist(),
            "log_volume": float(a["log_volume"]), "passed": bool(report.passed),
            "all_in_set": bool(np.all(tree["sample_stats"]["in_set"].values)),
            "failing": [n for n, c in report.checks.items() if c.passed is False],
            "p_values": {n: float(c.p_value) for n, c in report.checks.items() if c.p_value is not None},
        })
        r = records[-1]
        print(f"[final_phase] {r['kernel']} factor {factor} slice moves {num_slice} kernel moves {r['kernel_moves']}: ess {r['ess']:.0f} (ArviZ {r['ess_arviz']:.0f}) final jump "
              f"{np.mean(r['final_jump']):.4f} refused {sum(r['final_num_refused'])}", file=sys.stderr, flush=True)
    meta = machine | {"rung": args.rung, "description": get_rung(args.rung).description, "seed": args.seed,
                      "num_samples": args.num_samples, "tiny": args.tiny,
                      "note": ("the first record's seconds include the tempering run; the others replay only the final "
                               "phase; final_seconds: the final phase's moves alone (nan for the first record); "
                               "for slice records final_grad_evals counts forward evaluations")}
    save_results(args.out, f"final-phase-{args.rung}", "final-phase", meta, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
