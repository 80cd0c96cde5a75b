"""``sample`` and ``predict``: the front of the library."""

from __future__ import annotations

import jax
import numpy as np

from ._checks import check_int, check_key
from ._output import to_tree
from ._postprocess import annotate
from ._problem import Problem
from ._target import make_target
from ._trees import posterior_params
from .samplers import SAMPLERS, Sampler
from .samplers.distributed import is_main, quiet_unless_main
from .samplers.driver import run
from .samplers.processes import over_processes

__all__ = ["sample", "predict", "METHODS"]

METHODS = tuple(SAMPLERS)


def resolve_method(method) -> Sampler:
    """``"smc"`` -> ``SMC()``; a configured sampler object is checked and returned."""
    if isinstance(method, Sampler):
        sampler = method
    elif isinstance(method, str) and method in SAMPLERS:
        sampler = SAMPLERS[method]()
    else:
        raise ValueError(f"method must be one of {list(SAMPLERS)} or a sampler object, got {method!r}")
    sampler.validate()
    return sampler


def sample(
    problem,
    *model_args,
    method="smc",
    num_samples: int = 2000,
    num_chains: int = 4,
    rng_key=None,
    progress_bar: bool = True,
    symmetrize: bool = True,
    **model_kwargs,
):
    """Draw weights uniformly (prior-restricted) from S = {w : the network fits the data}.

    Parameters
    ----------
    problem : Problem or callable
        A :class:`Problem`, or a NumPyro model that calls :func:`consistent`; its
        arguments follow as ``*model_args`` and ``**model_kwargs``.
    method : {"smc", "anneal", "rejection", "sgd"} or sampler object
        ``"smc"`` (default) tempered SMC with NUTS moves; ``"anneal"`` NUTS chains
        through a β schedule; ``"rejection"`` exact prior rejection; ``"sgd"`` the folk
        heuristic (biased; a baseline). Pass e.g. ``cn.SMC(target_ess=0.7)`` to
        configure one.
    num_samples : int
        Total draws in S to return, over all chains (split evenly; rounded down to a
        multiple of ``num_chains``).
    num_chains : int
        Independent chains / populations; ``log_volume_se`` and function-space R-hat
        come from their spread.
    rng_key : jax.random key
        Required. The same key gives the same tree.
    progress_bar : bool
        tqdm bar on a terminal; off under ``CI=true``.
    symmetrize : bool
        For a ``Problem`` (an MLP), apply an independent uniform hidden-unit relabelling
        (and sign flip, for odd activations) to every draw (default ``True``). Exact: the
        target is invariant under these symmetries; it removes the orbit clumps of
        resampled SMC particles. ``attrs["symmetrized"]`` records it (always 0 for a
        hand-written model, whose symmetries the library does not know).

    Returns
    -------
    xarray.DataTree
        ``posterior`` (one variable per weight site, dims ``chain, draw, ...``),
        ``sample_stats`` (``in_set`` and method-specific stats), and ``attrs`` with
        ``method``, ``log_volume``, ``log_volume_se``, ``ess`` (the effective number of
        independent draws in function space: shared ancestry, autocorrelation and
        between-population spread counted; see ``ess_method``) and ``symmetrized``.

    Raises
    ------
    ValueError
        Bad arguments, before anything is compiled.
    InfeasibleError
        S is empty or was not reached within the budget; ``log_volume_upper_bound``
        says how small vol(S) must then be. Every method has a budget with a default
        (``cn.Rejection``: 2**24 prior draws or 60 s; ``cn.SGD``: ``max(1024,
        20 * num_samples)`` runs or 60 s; see each sampler class), so no call hangs.
        A budget that runs out with some draws in S returns them with a
        ``RuntimeWarning`` and ``attrs["complete"] == 0``.

    Examples
    --------
    >>> import jax, consistent_nets as cn
    >>> X, y = cn.datasets.xor()
    >>> problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    >>> tree = cn.sample(problem, method="rejection", num_samples=200,
    ...                  rng_key=jax.random.key(0), progress_bar=False)
    >>> tree.posterior["w0"].shape
    (4, 50, 2, 3)
    >>> bool(tree.sample_stats["in_set"].all())
    True
    """
    sampler = resolve_method(method)
    num_samples = check_int("num_samples", num_samples)
    num_chains = check_int("num_chains", num_chains)
    if num_samples < num_chains:
        raise ValueError(f"num_samples ({num_samples}) must be >= num_chains ({num_chains})")
    rng_key = check_key(rng_key)
    if isinstance(problem, Problem) and (model_args or model_kwargs):
        extra = [f"{len(model_args)} positional"] if model_args else []
        extra += sorted(model_kwargs)
        raise ValueError(
            f"model_args must be empty when a Problem is given, got {extra}; sampler "
            "options go on a sampler object, e.g. method=cn.Rejection(max_draws=10_000)"
        )
    if not isinstance(symmetrize, bool):
        raise ValueError(f"symmetrize must be True or False, got {symmetrize!r}")
    sampler = over_processes(sampler)  # itself unless jax.distributed spans several processes
    target = make_target(problem, *model_args, **model_kwargs)
    with quiet_unless_main():  # progress and warnings from process 0 only
        result = run(sampler, target, rng_key, num_samples, num_chains, bool(progress_bar) and is_main())
        return to_tree(annotate(result, target, rng_key, symmetrize))


def predict(problem: Problem, tree, X_new) -> np.ndarray:
    """Network outputs of every draw at ``X_new``: shape ``(chain, draw, n_new, d_out)``.

    Examples
    --------
    >>> import jax, consistent_nets as cn
    >>> X, y = cn.datasets.xor()
    >>> problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    >>> tree = cn.sample(problem, method="rejection", num_samples=40,
    ...                  rng_key=jax.random.key(0), progress_bar=False)
    >>> cn.predict(problem, tree, X).shape
    (4, 10, 4, 1)
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a cn.Problem, got {type(problem).__name__}")
    X_new = np.asarray(X_new, dtype=np.float32)
    if X_new.ndim != 2 or X_new.shape[1] != problem.net.d_in:
        raise ValueError(f"X_new must have shape (n, {problem.net.d_in}), got {X_new.shape}")
    if not np.all(np.isfinite(X_new)):
        raise ValueError("X_new contains NaN or inf")
    params, (num_chains, num_draws) = posterior_params(tree, problem.net.param_shapes, owner=repr(problem.net))
    apply = jax.jit(jax.vmap(problem.net.apply, in_axes=(0, None)))
    f = np.asarray(apply({k: jax.numpy.asarray(v) for k, v in params.items()}, X_new))
    return f.reshape(num_chains, num_draws, *f.shape[1:])
