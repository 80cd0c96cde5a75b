"""Run one method on one problem and turn what it returns into a benchmark record.

Method names: the library's (``rejection``, ``sgd``, ``anneal``, ``smc``, via
``cn.sample``; ``smc-hmc`` is ``cn.SMC(kernel="hmc")``) and the BlackJAX peers (``blackjax-fixed``, ``blackjax-tuned``: tempered SMC;
``nested``: nested slice sampling, ``peers/blackjax_nested.py``). A library
method that is not in ``cn.METHODS`` yet is reported as skipped, with a note.
"""

from __future__ import annotations

import math
import time
import warnings

import jax
import numpy as np

import consistent_nets as cn
from harness import distinct_rows, flat_draws, measure
from peers.blackjax_nested import NESTED, run_nested_peer, tiny as tiny_nested
from peers.blackjax_smc import FIXED, TUNED, run_blackjax_smc, tiny as tiny_blackjax

__all__ = ["ALL_METHODS", "LIBRARY_METHODS", "PEER_METHODS", "run_method", "diagnose_record", "method_key"]

#: ``smc-hmc`` is ``cn.SMC(kernel="hmc")``: the default SMC with plain-HMC moves;
#: ``smc-rhmc`` is ``cn.SMC(kernel="rhmc")``: HMC of a random length per move
LIBRARY_METHODS = ("rejection", "sgd", "anneal", "smc", "smc-hmc", "smc-rhmc")
PEER_METHODS = ("blackjax-fixed", "blackjax-tuned", "nested")
ALL_METHODS = ("rejection", "sgd", "anneal", "smc") + PEER_METHODS + ("smc-hmc", "smc-rhmc")
#: fixed per-method seed offsets: the same rung seed gives every method its own stream,
#: except that the SMC move kernels start from the same stream (a paired comparison)
_SEED_OFFSET = {name: i for i, name in enumerate(ALL_METHODS)} | {"smc-hmc": 3, "smc-rhmc": 3}


def method_key(seed: int, method: str) -> jax.Array:
    return jax.random.fold_in(jax.random.key(seed), _SEED_OFFSET[method])


def _base_record(method, problem, num_samples):
    return {
        "method": method,
        "status": "ok",
        "note": "",
        "num_params": problem.num_params,
        "num_data": problem.num_data,
        "num_samples_requested": num_samples,
    }


def _library_sampler(method, rejection_seconds, tiny):
    if method == "rejection":
        return cn.Rejection(max_draws=2**40, max_seconds=rejection_seconds)
    if method == "sgd" and tiny:
        return cn.SGD(max_steps=500)
    if method in ("smc-hmc", "smc-rhmc"):
        return cn.SMC(kernel=method.removeprefix("smc-"))
    return method


def _library_grad_evals(method, tree):
    """Gradient evaluations the run used, where the tree lets us count them."""
    attrs, stats = tree.attrs, tree["sample_stats"]
    if method == "rejection":
        return 0.0, "no gradients; forward evaluations = prior draws", float(attrs["num_prior_draws"])
    if method == "sgd":
        steps = np.asarray(stats["train_steps"].values, dtype=float)
        num_inits = float(attrs["num_inits"])
        num_ok = round(float(attrs["success_rate"]) * num_inits)
        # successes: their own step counts (kept ones' mean for any surplus); failures: max_steps
        grads = steps.mean() * num_ok + (num_inits - num_ok) * float(attrs["max_steps"])
        note = "sum of Adam steps over all training runs (failed runs count max_steps)"
        return grads, note, None
    for name in ("num_grad_evals", "grad_evals", "num_gradient_evaluations"):
        if name in attrs:
            return float(attrs[name]), f"tree.attrs[{name!r}]", None
        if name in stats:
            return float(np.sum(stats[name].values)), f"sum of sample_stats[{name!r}]", None
    return None, "not countable: the tree carries no gradient-evaluation counter", None


def _run_library(method, problem, rng_key, num_samples, num_chains, rejection_seconds, tiny):
    record = _base_record(method, problem, num_samples)
    if method.split("-")[0] not in cn.METHODS:
        record.update(status="skipped", note=f"method {method!r} is not in cn.METHODS {list(cn.METHODS)} yet")
        return record, None
    sampler = _library_sampler(method, rejection_seconds, tiny)
    tree = None
    with warnings.catch_warnings(record=True) as caught, measure() as m:
        warnings.simplefilter("always")
        try:
            tree = cn.sample(
                problem,
                method=sampler,
                num_samples=num_samples,
                num_chains=num_chains,
                rng_key=rng_key,
                progress_bar=False,
            )
        except cn.InfeasibleError as err:
            record.update(
                status="no-draws",
                note=str(err),
                log_volume_upper_bound=float(err.log_volume_upper_bound),
            )
    record.update(m.as_dict())
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    if messages:
        record["note"] = "; ".join(messages)
    if tree is None:
        if method == "rejection" and "log_volume_upper_bound" in record:
            # p <= exp(bound): time to num_samples is at least num_samples / (p * draws/s)
            draws = _count_draws(record["note"])
            if draws:
                rate = draws / max(record["run_s"], 1e-9)
                record["time_to_target_s"] = num_samples / (math.exp(record["log_volume_upper_bound"]) * rate)
                record["time_to_target_note"] = "lower bound: 95 % upper bound on acceptance, observed draws/s"
        return record, None
    attrs = tree.attrs
    record["log_volume"] = float(attrs.get("log_volume", float("nan")))
    record["log_volume_se"] = float(attrs.get("log_volume_se", float("nan")))
    grads, note, forward = _library_grad_evals(method, tree)
    record.update(grad_evals=grads, grad_evals_note=note, forward_evals=forward)
    record["extra"] = {k: v for k, v in attrs.items() if isinstance(v, (int, float, str)) and k != "method"}
    if not int(attrs.get("complete", 1)):
        record["status"] = "incomplete"
    if method == "rejection":
        accepted = int(attrs["num_accepted"])
        if accepted < num_samples:
            record["time_to_target_s"] = record["run_s"] * num_samples / accepted
            record["time_to_target_note"] = (
                f"extrapolated from {accepted} accepted draws in {record['run_s']:.1f} s"
                + ("" if accepted >= 20 else " (fewer than 20: unreliable)")
            )
        else:
            record["time_to_target_s"] = record["run_s"]
            record["time_to_target_note"] = "measured"
    return record, tree


def _count_draws(message: str) -> int | None:
    for token in message.split():
        if token.isdigit():
            return int(token)
    return None


def _run_nested(problem, rng_key, num_samples, tiny, num_runs):
    record = _base_record("nested", problem, num_samples)
    with measure() as m:
        tree, stats = run_nested_peer(problem, rng_key, tiny_nested(NESTED) if tiny else NESTED, num_runs=num_runs)
    record.update(m.as_dict())
    record.update(compile_s=stats["compile_s"], run_s=stats["run_s"])
    record.update(
        log_volume=stats["log_volume"],
        log_volume_se=stats["log_volume_se"],
        grad_evals=0.0,
        grad_evals_note="no gradients; forward evaluations = slice expansions + shrinkage steps",
        forward_evals=stats["forward_evals"],
        settings=stats.pop("settings"),
        extra=stats,
    )
    if any(r != "done" for r in stats["stop_reason_per_run"]):
        record.update(status="incomplete", note=f"stopped by {stats['stop_reason_per_run']}")
    if tree is None:
        record.update(status="no-draws", note="no live point in S")
    return record, tree


def _run_peer(method, problem, rng_key, num_samples, tiny, num_runs):
    if method == "nested":
        return _run_nested(problem, rng_key, num_samples, tiny, num_runs)
    settings = FIXED if method == "blackjax-fixed" else TUNED
    if tiny:
        settings = tiny_blackjax(settings)
    record = _base_record(method, problem, num_samples)
    with measure() as m:
        tree, stats = run_blackjax_smc(problem, rng_key, settings, num_runs=num_runs)
    record.update(m.as_dict())
    # the peer compiles ahead of time: its own split is exact
    record.update(compile_s=stats["compile_s"], run_s=stats["run_s"])
    record.update(
        log_volume=stats["log_volume"],
        log_volume_se=stats["log_volume_se"],
        grad_evals=stats["grad_evals"],
        grad_evals_note="exact: stages x particles x (moves x leapfrog steps + 1)",
        settings=stats.pop("settings"),
        extra=stats,
    )
    if tree is None:
        record.update(status="no-draws", note="no final particle in S")
    return record, tree


def run_method(
    method,
    problem,
    rng_key,
    *,
    num_samples=2000,
    num_chains=4,
    rejection_seconds=None,
    tiny=False,
    num_runs=2,
    reference_log_volume=None,
):
    """Run ``method``; return ``(record, tree_or_None)``."""
    if method not in ALL_METHODS:
        raise ValueError(f"method must be one of {list(ALL_METHODS)}, got {method!r}")
    if method in PEER_METHODS:
        record, tree = _run_peer(method, problem, rng_key, num_samples, tiny, num_runs)
    else:
        record, tree = _run_library(
            method, problem, rng_key, num_samples, num_chains, rejection_seconds, tiny
        )
    if tree is not None:
        rows = flat_draws(tree)
        in_set = np.asarray(tree["sample_stats"]["in_set"].values).reshape(-1)
        record["draws_returned"] = int(rows.shape[0])
        if method in PEER_METHODS:
            # over every in-S particle of every run (the tree keeps equal-length chains)
            record["draws_in_set"] = int(record["extra"]["draws_in_set"])
            record["distinct_in_set"] = int(record["extra"]["distinct_in_set"])
        else:
            record["draws_in_set"] = int(in_set.sum())
            record["distinct_in_set"] = distinct_rows(rows[in_set])
        distinct = record["distinct_in_set"]
        record["distinct_per_s"] = distinct / record["run_s"] if record["run_s"] > 0 else None
        grads = record.get("grad_evals")
        record["grad_evals_per_distinct"] = grads / distinct if grads is not None and distinct else None
        record.update(effective_draws_record(problem, tree, record))
        executed = tree.attrs.get("num_grad_evals_executed")
        if executed is not None and distinct:
            # vectorised NUTS computes every tree of a batch as long as its longest one
            record["grad_evals_executed"] = float(executed)
            record["grad_evals_executed_per_distinct"] = float(executed) / distinct
    if reference_log_volume is not None and record.get("log_volume") is not None:
        lv = record["log_volume"]
        record["reference_log_volume"] = reference_log_volume
        record["log_volume_error"] = lv - reference_log_volume if math.isfinite(lv) else None
    return record, tree


def effective_draws_record(problem, tree, record) -> dict:
    """Effective draws of a method's tree, two ways, and the costs per effective draw.

    ``ess``: the tree's own ``attrs["ess"]`` (the library's estimate for its draws'
    structure: lineage groups and between-population spread for smc; absent for peers).
    ``ess_arviz``: the same estimator for every method, ArviZ's bulk ESS of the
    function-space outputs (data and 16 fixed probes) with runs/populations as chains in
    the order the sampler returned the draws (resampled copies sit next to each other, so
    their correlation counts), median over outputs; the like-for-like comparison.
    """
    from consistent_nets._postprocess import function_space_features
    from consistent_nets.extend import make_target
    from consistent_nets.samplers.effective import effective_draws

    post = tree["posterior"]
    target = make_target(problem)
    features = function_space_features(target, {k: post[k].values for k in target.site_shapes})
    out = {"ess": float(tree.attrs["ess"]) if "ess" in tree.attrs else None}
    out["ess_arviz"] = float(effective_draws(features, "chains")[0])
    for name in ("ess", "ess_arviz"):
        value = out[name]
        ok = value is not None and value > 0
        out[f"{name}_per_s"] = value / record["run_s"] if ok and record.get("run_s") else None
        grads = record.get("grad_evals")
        out[f"grad_evals_per_{name}"] = grads / value if ok and grads is not None else None
    return out


def diagnose_record(tree, problem, reference=None, seed=1) -> dict:
    """``cn.diagnose`` summary, or a note when the library has no ``diagnose`` yet."""
    if not hasattr(cn, "diagnose"):
        return {"diagnose_note": "cn.diagnose is not in the library yet: distance not measured"}
    start = time.perf_counter()
    try:
        report = cn.diagnose(tree, problem, reference=reference, rng_key=jax.random.key(seed))
    except Exception as err:  # noqa: BLE001 - a benchmark records, it does not stop
        return {"diagnose_note": f"cn.diagnose failed: {type(err).__name__}: {err}"}
    checks = {}
    for name, check in dict(getattr(report, "checks", {})).items():
        passed = getattr(check, "passed", None)
        checks[name] = None if passed is None else bool(passed)
    return {
        "distance": float(report.distance),
        "diagnose_passed": bool(report.passed),
        "diagnose_checks": checks,
        "diagnose_s": time.perf_counter() - start,
        "diagnose_reference": "rejection draws" if reference is not None else "none",
    }


def tiny_settings_note() -> str:
    return "tiny: a handful of draws/particles, for the harness test only (not numbers)"


