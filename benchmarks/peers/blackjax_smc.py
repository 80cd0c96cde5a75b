"""Peer: BlackJAX ``adaptive_tempered_smc`` with HMC moves on the same tempered target.

The target is the library's own potential (``consistent_nets.extend.make_target``): in the unconstrained
space ``u``

    log pi_lambda(u) = log_prior(u) - lambda * beta_max * g(u),   lambda in [0, 1],

so BlackJAX's likelihood is ``-beta_max * g`` and its tempering parameter ``lambda``
runs from 0 (the prior) to 1 (``beta = beta_max``). Because ``g = 0`` exactly on S,
the final particles that lie in S carry equal weight (their incremental log weight is
``-delta * beta_max * 0 = 0``) and are exact-in-the-limit draws from the prior
restricted to S, and

    log vol(S) = log Z_{beta_max} + log( sum_i W_i 1[u_i in S] ),

with ``log Z_{beta_max}`` the sum of the SMC's incremental log normalisers and ``W`` the
final normalised weights. Independent runs give the standard error (their spread).

Two configurations:

* :data:`FIXED` (the brief's literal settings): 2000 particles, target ESS 0.5, 10 HMC
  moves per stage of 10 leapfrog steps at step size 0.05, identity mass matrix.
* :data:`TUNED` (what an informed user would do with BlackJAX's own tools, through
  ``blackjax.inner_kernel_tuning``): after every stage the diagonal inverse mass matrix
  is the particles' per-coordinate variance, and the step size follows the previous
  stage's mean acceptance towards 0.65 (``h <- h * exp(2 (acc - 0.65))``, clipped to
  [1/2, 2] per stage, in whitened units so it starts at ``0.5 * dim ** -0.25``);
  10 leapfrog steps, 20 moves per stage. (Tried and dropped: scaling the number of
  leapfrog steps to keep ``h * L`` fixed. Acceptance here is set by trajectories
  running into the penalty wall around S, not by integration error, so longer
  trajectories lower acceptance, the controller shrinks ``h``, and the cost per
  stage grows without better moves: on XOR it tripled gradients per distinct draw.)

Gradient evaluations are counted exactly: every stage re-initialises each particle's
HMC state (one gradient) and runs ``num_mcmc_steps`` moves of ``L`` leapfrog steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.smc import extend_params, resampling

__all__ = ["BlackJAXSettings", "FIXED", "TUNED", "run_blackjax_smc"]


@dataclass(frozen=True)
class BlackJAXSettings:
    """Configuration of the BlackJAX peer (see the module docstring)."""

    num_particles: int = 2000
    target_ess: float = 0.5
    num_mcmc_steps: int = 10
    num_integration_steps: int = 10
    step_size: float = 0.05
    beta_max: float = 1e4
    tuned: bool = False
    target_accept: float = 0.65
    max_stages: int = 1000

    @property
    def name(self) -> str:
        return "blackjax-tuned" if self.tuned else "blackjax-fixed"


FIXED = BlackJAXSettings()
TUNED = BlackJAXSettings(tuned=True, num_mcmc_steps=20)


def _initial_particles(target, rng_key, num_particles):
    keys = jax.random.split(rng_key, num_particles)
    params, _ = jax.vmap(target.prior_draw)(keys)
    return jax.vmap(target.unconstrain)(params)


def _tuned_update(settings: BlackJAXSettings):
    """``mcmc_parameter_update_fn`` for ``inner_kernel_tuning``: mass from particles, h from acceptance."""

    def update(_key, state, info, previous):
        particles = state.particles
        variance = jnp.maximum(jnp.var(particles, axis=0), 1e-8)
        acc = jnp.mean(info.update_info.acceptance_rate)
        factor = jnp.clip(jnp.exp(2.0 * (acc - settings.target_accept)), 0.5, 2.0)
        h = previous["step_size"][0] * factor
        return extend_params(
            {
                "step_size": h,
                "inverse_mass_matrix": variance,
                "num_integration_steps": previous["num_integration_steps"][0],
            }
        )

    return update


def _build(target, settings: BlackJAXSettings):
    """Jitted ``run(key) -> (particles, weights, log_z, stages, grad_evals, mean_acc)``."""
    beta_max = settings.beta_max

    def logprior_fn(u):
        return target.log_prior(u)

    def loglikelihood_fn(u):
        return -beta_max * target.penalty(u)

    hmc_kernel = blackjax.hmc.build_kernel()
    n = settings.num_particles

    if settings.tuned:
        h0 = 0.5 * float(target.dim) ** -0.25
        initial = extend_params(
            {
                "step_size": jnp.asarray(h0, jnp.float32),
                "inverse_mass_matrix": jnp.ones(target.dim),
                "num_integration_steps": jnp.asarray(settings.num_integration_steps, jnp.int32),
            }
        )
        def tuned_algorithm(parameter_update_fn):
            return blackjax.inner_kernel_tuning(
                smc_algorithm=blackjax.adaptive_tempered_smc,
                logprior_fn=logprior_fn,
                loglikelihood_fn=loglikelihood_fn,
                mcmc_step_fn=hmc_kernel,
                mcmc_init_fn=blackjax.hmc.init,
                resampling_fn=resampling.systematic,
                mcmc_parameter_update_fn=parameter_update_fn,
                initial_parameter_value=initial,
                num_mcmc_steps=settings.num_mcmc_steps,
                target_ess=settings.target_ess,
            )

        # inner_kernel_tuning hands the update only (key, state, info); keep the previous
        # step size by reading it back from the state it composes.
        def step_fn(key, state):
            update = _tuned_update(settings)
            algo = tuned_algorithm(lambda k, s, i: update(k, s, i, state.parameter_override))
            new_state, info = algo.step(key, state)
            used = state.parameter_override["num_integration_steps"][0]
            return new_state, info, used

        def init_fn(u):
            return tuned_algorithm(lambda k, s, i: initial).init(u)

        def smc_state(state):
            return state.sampler_state

    else:
        params = extend_params(
            {
                "step_size": jnp.asarray(settings.step_size, jnp.float32),
                "inverse_mass_matrix": jnp.ones(target.dim),
                "num_integration_steps": jnp.asarray(settings.num_integration_steps, jnp.int32),
            }
        )
        algo = blackjax.adaptive_tempered_smc(
            logprior_fn,
            loglikelihood_fn,
            hmc_kernel,
            blackjax.hmc.init,
            params,
            resampling.systematic,
            target_ess=settings.target_ess,
            num_mcmc_steps=settings.num_mcmc_steps,
        )

        def step_fn(key, state):
            new_state, info = algo.step(key, state)
            return new_state, info, jnp.asarray(settings.num_integration_steps, jnp.int32)

        init_fn = algo.init

        def smc_state(state):
            return state

    def run(rng_key):
        k_init, k_loop = jax.random.split(rng_key)
        state = init_fn(_initial_particles(target, k_init, n))
        zero = jnp.zeros((), jnp.float32)
        zero_i = jnp.zeros((), jnp.int32)

        def cond(carry):
            state, _, _, stages, _, _ = carry
            return (smc_state(state).tempering_param < 1.0) & (stages < settings.max_stages)

        def body(carry):
            state, key, log_z, stages, grads, acc_sum = carry
            key, sub = jax.random.split(key)
            new_state, info, steps_used = step_fn(sub, state)
            grads = grads + n * (settings.num_mcmc_steps * steps_used + 1).astype(jnp.float32)
            acc = jnp.mean(info.update_info.acceptance_rate)
            return new_state, key, log_z + info.log_likelihood_increment, stages + 1, grads, acc_sum + acc

        carry = (state, k_loop, zero, zero_i, zero, zero)
        state, _, log_z, stages, grads, acc_sum = jax.lax.while_loop(cond, body, carry)
        final = smc_state(state)
        in_set = jax.vmap(target.in_set)(final.particles)
        frac = jnp.sum(jnp.where(in_set, final.weights, 0.0))
        return {
            "particles": final.particles,
            "in_set": in_set,
            "log_z_beta_max": log_z,
            "fraction_in_set": frac,
            "final_lambda": final.tempering_param,
            "stages": stages,
            "grad_evals": grads,
            "mean_acceptance": acc_sum / jnp.maximum(stages, 1),
            "final_step_size": (
                state.parameter_override["step_size"][0] if settings.tuned else jnp.asarray(settings.step_size)
            ),
        }

    return jax.jit(run)


def run_blackjax_smc(problem_or_target, rng_key, settings: BlackJAXSettings = FIXED, num_runs: int = 2):
    """Run the peer ``num_runs`` times independently; return ``(tree, stats)``.

    ``tree`` is an ArviZ DataTree like the library's (``posterior`` with one variable per
    weight site, ``chain`` = run, ``draw`` = in-S particle, truncated to the smallest
    run's count so chains have equal length; ``sample_stats.in_set`` all true; attrs
    ``method``, ``log_volume``, ``log_volume_se``). ``stats`` holds the counts and
    timings (``compile_s`` from ahead-of-time compilation, ``run_s`` summed over runs).
    """
    import time

    from consistent_nets.extend import Target, make_target

    target = problem_or_target if isinstance(problem_or_target, Target) else make_target(problem_or_target)
    run = _build(target, settings)
    keys = jax.random.split(rng_key, num_runs)
    t0 = time.perf_counter()
    compiled = run.lower(keys[0]).compile()
    compile_s = time.perf_counter() - t0
    outs, run_s = [], 0.0
    for key in keys:
        t0 = time.perf_counter()
        out = jax.device_get(compiled(key))
        run_s += time.perf_counter() - t0
        outs.append(out)

    log_vols = []
    for out in outs:
        frac = float(out["fraction_in_set"])
        log_vols.append(float(out["log_z_beta_max"]) + np.log(frac) if frac > 0 else -np.inf)
    log_vols = np.asarray(log_vols)
    finite = np.isfinite(log_vols)
    log_volume = float(np.mean(log_vols)) if finite.all() else float("nan")
    log_volume_se = float(np.std(log_vols, ddof=1) / np.sqrt(num_runs)) if num_runs > 1 and finite.all() else float("nan")

    kept = [np.asarray(o["particles"])[np.asarray(o["in_set"])] for o in outs]
    counts = [k.shape[0] for k in kept]
    stats = {
        "settings": asdict(settings),
        "num_runs": num_runs,
        "compile_s": compile_s,
        "run_s": run_s,
        "draws_in_set": int(sum(counts)),
        "draws_in_set_per_run": counts,
        # distinct rows over all runs' in-S particles (u <-> w is a bijection)
        "distinct_in_set": int(np.unique(np.concatenate(kept), axis=0).shape[0]),
        "stages_per_run": [int(o["stages"]) for o in outs],
        "final_lambda_per_run": [float(o["final_lambda"]) for o in outs],
        "fraction_in_set_per_run": [float(o["fraction_in_set"]) for o in outs],
        "log_volume_per_run": log_vols.tolist(),
        "log_volume": log_volume,
        "log_volume_se": log_volume_se,
        "log_volume_se_note": f"standard deviation of {num_runs} independent runs / sqrt({num_runs})",
        "grad_evals": float(sum(float(o["grad_evals"]) for o in outs)),
        "mean_acceptance_per_run": [float(o["mean_acceptance"]) for o in outs],
        "final_step_size_per_run": [float(o["final_step_size"]) for o in outs],
    }
    tree = runs_to_tree(
        target,
        kept,
        {
            "method": settings.name,
            "log_volume": log_volume,
            "log_volume_se": log_volume_se,
            "num_particles": settings.num_particles,
            "beta_max": settings.beta_max,
        },
    )
    return tree, stats


def runs_to_tree(target, kept, attrs):
    """One chain per independent run of a peer: its unconstrained draws in S (``kept``,
    one ``(count, dim)`` array per run), truncated to the smallest run's count and mapped
    to the model's sites, as the library's DataTree; ``None`` when a run has none."""
    from consistent_nets._output import build_tree

    per_chain = min(k.shape[0] for k in kept)
    if per_chain == 0:
        return None
    constrain = jax.jit(jax.vmap(target.constrain))
    sites = [constrain(jnp.asarray(k[:per_chain])) for k in kept]
    posterior = {name: np.stack([np.asarray(s[name]) for s in sites]) for name in target.site_shapes}
    return build_tree(posterior, {"in_set": np.ones((len(kept), per_chain), dtype=bool)}, attrs)


def tiny(settings: BlackJAXSettings) -> BlackJAXSettings:
    """A few particles and moves: for the harness's smoke test, not for numbers."""
    return replace(settings, num_particles=32, num_mcmc_steps=2, max_stages=200)
