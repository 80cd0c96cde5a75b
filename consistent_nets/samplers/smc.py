"""Adaptive tempered SMC with NUTS moves (``method="smc"``, the default): configuration and driver hooks.

The algorithm is two pure kernels, :mod:`.tempered` (one adaptive tempering stage) and :mod:`.restricted`
(the final phase on the prior restricted to S), run on ``num_chains`` populations (independent but for
the mass each moves with: see ``SMC.mass``). This module holds the configuration, compiles the kernels'
pieces (vectorised over populations and placed on the devices) and turns the final populations into a
:class:`.Result`: ``log vol(S) = log Z_beta + log(fraction in S)`` per population, pooled over populations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_fraction, check_int, check_positive_float
from .._trees import count_distinct_rows
from . import tempered
from .base import Sampler
from .distributed import device_get
from .moves import MOVE_KERNELS
from .population import log_volume_attrs, log_volume_from_chains, stack_infos
from .result import Infeasible, Result
from .smc_programs import final_program, move_masses, particle_mesh, place_keys, smc_programs

__all__ = ["SMC"]


@dataclass(frozen=True)
class SMC(Sampler):
    """Adaptive tempered SMC with NUTS moves (``method="smc"``).

    Parameters
    ----------
    target_ess : float
        Relative ESS the next beta is chosen to reach, in (0, 1) (default 0.5).
    target_ess_in_set : float, optional
        ``target_ess`` once a population holds a particle in S (default ``None``: ``target_ess`` throughout).
    target_ess_stalled : float, optional
        ``target_ess`` (never coarser) once a population holds a particle in S and a stage's moves ran to
        ``max_moves`` short of ``jump_target`` (default 0.9; ``None``: off): there S's regions have separated and
        coarse reweightings drift the populations' mode weights apart. Runs that never stall (XOR, moons, digits)
        are unchanged; random labels passed 8 of 8 keys (1 of 8 without) for 1.7x the gradients, the teacher's
        two failing keys for 1.6x (BENCHMARKS.md, "Finer steps where the moves stall in S").
    min_fraction_in_set, beta_max : float
        Stop tempering once this fraction of a population lies in S (default 0.25), or at this beta (1e8).
    max_beta_ratio : float
        Cap on ``beta' / beta`` per stage (default 10): a huge jump late in the schedule makes the penalty
        walls steep and the NUTS steps tiny.
    min_moves, max_moves : int
        NUTS moves per stage (default 2 to 12); moves stop early once the mean squared whitened jump
        reaches ``jump_target``.
    jump_target : float
        Mean squared jump per coordinate, in population standard deviations, that counts as decorrelated
        (default 0.15; 0.3 cost 5-15 % more gradients for the same effective draws beyond XOR).
    final_moves : int
        Most restricted NUTS moves for the final population (default 12; >= ``min_moves``, to ``final_jump_target``).
    final_jump_target : float
        ``jump_target`` of the final phase, which moves the resampled copies of the in-S particles apart
        (default 1.0: one population variance per coordinate, after which copies lie about as far apart as
        independent draws; 1.0 doubled 0.3's effective draws of a planted 3-class relu problem at 400 draws).
    max_tree_depth : int
        NUTS maximum number of doublings (default 6: at most 63 leapfrog steps).
    kernel : {"nuts", "hmc", "rhmc"}
        The move (default ``"nuts"``). ``"hmc"``: HMC of ``2**max_tree_depth - 1`` steps, NUTS's saturated work
        without the tree, log volumes 0.3-0.6 nats below NUTS's on the teacher. ``"rhmc"``: HMC of a random length
        (uniform on ``1..2**max_tree_depth - 1``, shared by the population): with finer steps in S it passed 9 of
        the teacher's 10 keys at 1.44x the tuned BlackJAX SMC (3 of its keys); random labels 2 of 8 (1 at the defaults). Opt-in.
    mass : {"other", "own"}
        Whose per-coordinate variance is a population's diagonal mass (default ``"other"``: population
        ``c`` moves with population ``c + 1``'s, cyclically; one population uses its own; ``attrs["mass"]``
        says which ran). A mass from the particles it moves biases ``Ẑ``: ``"own"`` left 500 particles 0.12
        nats low on random labels (BENCHMARKS.md).
    final_kernel : {"auto", "hmc", "nuts", "rhmc"} or None
        The final phase's move, which cannot change ``log vol(S)`` (default ``"auto"``: HMC where ``kernel``
        is NUTS and its last stage's trees saturated, >= 90 % of the cap's steps a move, else ``kernel``;
        ``None``: ``kernel``): as many or more effective draws in half the time where trees saturate (BENCHMARKS.md).
    target_accept : float
        Step-size adaptation target (default 0.8).
    max_stages, max_seconds : int, float or None
        Stage budget (default 500); wall-clock budget in seconds, checked between stages (default none).
    num_particles : int, optional
        Particles per chain; default ``num_samples // num_chains``.
    batch_size : int, optional
        Move particles in chunks of this size to bound memory on large populations or networks (default:
        all particles of a chain at once).
    split_particles : bool
        Split every population's particles over all devices (of all processes) instead of placing whole
        populations on devices (default False): the moves' memory and work are split; the positions are
        gathered whole at each resampling, so must fit on one device. Starts as the unsplit run, then is
        another exact sample. The population size must be a multiple of the devices.
    feasibility_probe : bool
        Before tempering, refuse an S that looks empty within seconds (default True;
        see :mod:`consistent_nets.samplers.feasibility`).
    """

    target_ess: float = 0.5
    target_ess_in_set: float | None = None
    target_ess_stalled: float | None = 0.9
    min_fraction_in_set: float = 0.25
    beta_max: float = 1e8
    max_beta_ratio: float = 10.0
    min_moves: int = 2
    max_moves: int = 12
    jump_target: float = 0.15
    final_moves: int = 12
    final_jump_target: float = 1.0
    max_tree_depth: int = 6
    kernel: str = "nuts"
    mass: str = "other"
    final_kernel: str | None = "auto"
    target_accept: float = 0.8
    max_stages: int = 500
    max_seconds: float | None = None
    num_particles: int | None = None
    batch_size: int | None = None
    split_particles: bool = False
    feasibility_probe: bool = field(default=True, compare=False)  # not part of the compiled programs' keys
    name = "smc"

    @property
    def final_move(self) -> str:
        """The final phase's other kernel (``"auto"``: HMC after NUTS; ``None``: ``kernel``)."""
        if self.final_kernel == "auto":
            return "hmc" if self.kernel == "nuts" else self.kernel
        return self.kernel if self.final_kernel is None else self.final_kernel

    def validate(self):
        for name in ("target_ess", "min_fraction_in_set", "target_accept", "target_ess_in_set", "target_ess_stalled"):
            if getattr(self, name) is not None:  # target_ess_in_set and target_ess_stalled may be None
                check_fraction(name, getattr(self, name))
        check_positive_float("beta_max", self.beta_max)
        check_positive_float("jump_target", self.jump_target)
        check_positive_float("final_jump_target", self.final_jump_target)
        check_positive_float("max_beta_ratio", self.max_beta_ratio)
        if self.max_beta_ratio <= 1:
            raise ValueError(f"max_beta_ratio must be > 1, got {self.max_beta_ratio!r}")
        check_positive_float("max_seconds", self.max_seconds, allow_none=True)
        check_int("min_moves", self.min_moves)
        check_int("max_moves", self.max_moves, minimum=self.min_moves)
        check_int("final_moves", self.final_moves)
        check_int("max_tree_depth", self.max_tree_depth)
        if self.kernel not in MOVE_KERNELS:
            raise ValueError(f"kernel must be one of {MOVE_KERNELS}, got {self.kernel!r}")
        if self.final_move not in MOVE_KERNELS:
            raise ValueError(f"final_kernel must be one of {('auto', *MOVE_KERNELS)} or None, "
                             f"got {self.final_kernel!r}")
        if self.mass not in ("other", "own"):
            raise ValueError(f"mass must be 'other' or 'own', got {self.mass!r}")
        check_int("max_stages", self.max_stages)
        if self.num_particles is not None:
            check_int("num_particles", self.num_particles, minimum=2)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size)
        if not isinstance(self.split_particles, bool):
            raise ValueError(f"split_particles must be True or False, got {self.split_particles!r}")

    def check_sizes(self, num_samples, num_chains):
        num_particles = self.num_particles or num_samples // num_chains
        if num_particles < 2:
            raise ValueError(f"num_samples must give >= 2 particles per chain, got {num_particles}")
        if self.split_particles and num_particles % jax.device_count():
            given = "" if self.num_particles else f" = num_samples // num_chains = {num_samples} // {num_chains}"
            raise ValueError(f"num_particles ({num_particles} per population{given}) must be a multiple of the "
                             f"{jax.device_count()} devices its particles are split over (split_particles=True)")
        return num_particles

    # -- driver hooks -------------------------------------------------------------------
    def start(self, target, rng_key, num_samples, num_chains):
        num_particles = self.check_sizes(num_samples, num_chains)
        k_init, k_run, k_final = jax.random.split(rng_key, 3)
        mesh = particle_mesh() if self.split_particles else None
        programs = smc_programs(self, target, num_particles, mesh)
        states = programs["init"](place_keys(jax.random.split(k_init, num_chains), num_chains, mesh))
        chain_keys = place_keys(jax.random.split(k_run, num_chains), num_chains, mesh)
        return _Run(target, programs, states, chain_keys, k_final, num_chains, [], mesh)

    def stop(self, run):
        return "done" if bool(np.all(device_get(run.states.done))) else None

    def advance(self, run, stage):
        p = run.programs
        r = p["reweight"](p["fold"](run.chain_keys, stage), run.states)
        mass, used = move_masses(self, p["scale"], r.u, run.num_chains, run.mesh)
        moved = p["mutate"](r.move_key, r.u, r.beta, run.states.step_size, False, self.max_moves, self.jump_target, mass)
        run.states, info = p["update"](run.states, r, moved)
        info = device_get(info)
        run.infos.append(info)
        # parents only of populations still tempering (a done population passes through)
        active = np.asarray(info.active)[:, None]
        run.ancestors.append(np.where(active, np.asarray(device_get(r.ancestors)), np.arange(r.u.shape[1])))
        # the path each population took (beta, adapted step size, the moves' diagonal mass):
        # a fixed schedule for whoever retraces it (cn.bound_log_volume runs it in reverse)
        run.schedule.append((info.beta, info.step_size, used, info.active))
        return run, info

    def progress(self, run, info):
        postfix = dict(beta=f"{float(np.min(info.beta)):.3g}", in_S=f"{float(np.mean(info.fraction_in_set)):.2f}",
                       eff_draws=int(np.sum(info.ess) * run.states.u.shape[1]),  # relative ESS x particles
                       distinct=int(np.sum(info.num_distinct)), acc=f"{float(np.mean(info.acceptance)):.2f}")
        return len(run.infos), postfix

    def progress_goal(self, run, info):
        return float(np.min(info.fraction_in_set)), self.min_fraction_in_set

    def finish(self, run, stop_reason):
        states, num_chains = run.states, run.num_chains
        fraction = np.asarray(device_get(jnp.mean(states.in_set, axis=1)), dtype=np.float64)
        log_z = np.asarray(device_get(states.log_z), dtype=np.float64)
        with np.errstate(divide="ignore"):
            chain_log_volume = log_z + np.log(fraction)
        if not np.any(fraction > 0):
            return Infeasible(
                f"no particle reached S after {len(run.infos)} stages "
                f"(beta = {float(np.max(device_get(states.beta))):.3g}, stopped by {stop_reason}); "
                "the bound is the tempered evidence log Z_beta >= log vol(S)",
                float(log_volume_from_chains(log_z)[0]),
            )
        p = run.programs
        u, num_ancestors, k_move, parents = p["select"](place_keys(jax.random.split(run.k_final, num_chains), num_chains, run.mesh), states)
        run.ancestors.append(np.asarray(device_get(parents)))
        run.final_kernel, mutate = final_program(self, p, run.infos, int(u.shape[1]))
        mass, _ = move_masses(self, p["scale"], u, num_chains, run.mesh)
        moved = mutate(k_move, u, states.beta, states.step_size, True, self.final_moves, self.final_jump_target, mass)
        final, final_info = p["final"](states, num_ancestors, moved)
        return self._result(run, final, device_get(final_info), chain_log_volume, fraction, stop_reason)

    def _result(self, run, states, final_info, chain_log_volume, fraction, stop_reason) -> Result:
        # a population that found no particle in S estimates Z_c = 0 (unbiased, and
        # counted in the pooled volume) but has no draws: only the others' are returned
        found = fraction > 0
        u = device_get(states.u)[found]
        params = run.target.constrain_draws(jax.numpy.asarray(u))
        log_volume, log_volume_se = log_volume_from_chains(chain_log_volume)
        stages = stack_infos(run.infos, tempered.StageInfo._fields)
        chain = ("chain",)
        records = {k: (("chain", "stage"), v) for k, v in stages.items()} | {
            "log_volume": (chain, chain_log_volume),
            "final_fraction_in_set": (chain, fraction),
            "final_beta": (chain, np.asarray(device_get(states.beta), dtype=np.float64)),
            "final_moves": (chain, np.asarray(final_info.num_moves)),
            **{f"final_{name}": (chain, np.asarray(getattr(final_info, name)))
               for name in ("acceptance", "num_distinct", "num_ancestors", "jump", "num_divergent", "num_refused")},
        }

        def total(name):
            n = int(np.sum(np.asarray(stages[name], dtype=np.int64))) if stages else 0
            return n + int(np.sum(np.asarray(getattr(final_info, name), dtype=np.int64)))

        attrs = {
            "num_stages": len(run.infos),
            "num_grad_evals": total("num_grad_evals"),
            "num_grad_evals_executed": total("num_grad_evals_executed"),  # a batch's trees: as long as its longest
            "num_divergent": total("num_divergent"),
            "num_distinct": count_distinct_rows(u.reshape(-1, u.shape[-1])),
            # the in-S particles the final moves started from: a floor on real diversity
            "num_distinct_ancestors": int(np.sum(np.asarray(final_info.num_ancestors)[found])),
            "num_populations_without_draws": int(np.sum(~found)),
            "final_jump": float(np.mean(np.asarray(final_info.jump))),
            "kernel": self.kernel, "final_kernel": run.final_kernel,
            "mass": self.mass if run.num_chains > 1 else "own",
            "target_ess": self.target_ess, "target_ess_in_set": self.target_ess_in_set or self.target_ess,
            "target_ess_stalled": np.nan if self.target_ess_stalled is None else self.target_ess_stalled,
            "num_populations_stalled": int(np.sum(np.asarray(device_get(states.stalled)))),
            "min_fraction_in_set": self.min_fraction_in_set,
            **log_volume_attrs(chain_log_volume, num_particles=int(u.shape[1])),
        }
        complete = stop_reason == "done" and bool(found.all())
        notes = []
        if stop_reason != "done":
            notes.append(f"not every chain reached min_fraction_in_set={self.min_fraction_in_set}; "
                         "returning the in-S particles of the last completed stage")
        if not found.all():
            notes.append(f"{int(np.sum(~found))} of {found.size} populations found no particle in S (S is hard to "
                         "reach: raise num_samples or max_stages); their volume estimate 0 is counted in "
                         "log_volume, their draws are missing")
        return Result(
            posterior={k: np.asarray(v) for k, v in params.items()},
            # the draws are unweighted: the final phase resamples the in-S particles with
            # equal weights (the last stage's incremental weights belong to other particles)
            sample_stats={"in_set": np.asarray(device_get(states.in_set))[found]},  # from the final step
            log_volume=log_volume, log_volume_se=log_volume_se, complete=complete, note="; ".join(notes),
            attrs=attrs, stages=records, structure="lineage",
            ancestry=[a[found] for a in run.ancestors],
            stage_chains=np.flatnonzero(found),
            schedule=run.schedule,
        )


class _Run:
    """Host-side record of one ``smc`` run: compiled programs, populations, stage infos."""

    def __init__(self, target, programs, states, chain_keys, k_final, num_chains, infos, mesh):
        self.target, self.programs, self.states, self.mesh = target, programs, states, mesh
        self.chain_keys, self.k_final, self.num_chains, self.infos = chain_keys, k_final, num_chains, infos
        self.ancestors = []  # (chain, N) parent indices of every resampling, the final one last
        self.schedule = []  # per stage: (beta, step size, inverse mass (chain, dim), active)
        self.final_kernel = None  # the final phase's, once chosen
