"""``sample`` and ``predict``: the front of the library."""

from __future__ import annotations

import jax
import numpy as np
from numpyro import handlers
from numpyro.infer import Predictive

from ._checks import check_key, check_split
from ._compile import prepare
from ._output import add_predictions
from ._plugin import is_consistent_site, is_prediction_site
from ._postprocess import user_tree
from ._problem import Problem
from ._target import make_target
from ._trees import posterior_params
from .samplers import SAMPLERS, Sampler
from .samplers.distributed import is_main, quiet_unless_main
from .samplers.driver import run
from .samplers.processes import over_processes

__all__ = ["sample", "predict", "prediction_sites", "METHODS"]

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
        Total draws in S to return, over all chains (split evenly: a multiple of
        ``num_chains``). ``cn.SMC(num_particles=...)`` overrides it: every population then
        returns all its ``num_particles`` draws.
    num_chains : int
        Independent chains / populations; ``log_volume_se`` and function-space R-hat
        come from their spread.
    rng_key : jax.random key
        Required. The same key gives the same tree.
    progress_bar : bool
        tqdm bar on a terminal; off under ``CI=true``.
    symmetrize : bool
        Apply an independent uniform hidden-unit relabelling (and sign flip, for odd
        activations) to every draw (default ``True``) for a ``Problem`` (an MLP) or a
        model whose ``cn.consistent`` site declares ``net=`` (on the sites it names).
        Exact: the target is invariant under these symmetries; it removes the orbit
        clumps of resampled SMC particles. ``attrs["symmetrized"]`` records it (0 for a
        model that declares no network: its symmetries are not known).

    Returns
    -------
    xarray.DataTree
        ``posterior`` (one variable per weight site, dims ``chain, draw, ...``, and a
        model's ``numpyro.deterministic`` sites at every draw),
        ``sample_stats`` (``in_set`` and method-specific stats), and ``attrs`` with
        ``method``, ``log_volume``, ``log_volume_se``, ``log_volume_se_dof`` (the SE's
        degrees of freedom: populations minus one for ``smc``), the volume's 95 % interval
        ``log_volume_ci_lower`` to ``log_volume_ci_upper`` (Student t on those degrees of
        freedom; absent without an SE), ``ess`` (the effective number of
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
    num_samples, num_chains = check_split(num_samples, num_chains, sampler)
    sampler.check_sizes(num_samples, num_chains)
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
        return user_tree(result, target, rng_key, symmetrize)


def predict(problem, tree, *model_args, add_to_tree: bool = False, **model_kwargs):
    """Network outputs of every draw: shape ``(chain, draw, n_new, d_out)``.

    NumPyro's :class:`~numpyro.infer.Predictive` runs the model on every draw of the
    tree without labels: ``cn.consistent(name, outputs, None, ...)`` records the outputs
    as a site ``name``, and those are returned (the NumPyro idiom for predictions: a
    model called with its observations set to ``None``). The outputs are deterministic
    functions of the draws; nothing random is drawn.

    Parameters
    ----------
    problem : Problem or callable
        A :class:`Problem` (then ``model_args`` is ``(X_new,)``, inputs of shape
        ``(n_new, d_in)``), or the NumPyro model the tree was drawn from, followed by
        its arguments for the new inputs with the labels ``None``, e.g.
        ``cn.predict(model, tree, X_new)`` for ``def model(X, y=None)``.
    tree : xarray.DataTree
        With a ``posterior`` group holding every latent site of the model.
    add_to_tree : bool
        Also put the outputs into ``tree["posterior_predictive"]`` (replacing that
        group), one variable per consistency site, as ArviZ users expect.

    Returns
    -------
    numpy.ndarray or dict
        The outputs ``(chain, draw, n_new, d_out)``; for a model with several
        consistency sites a dict ``{site: outputs}``.

    Raises
    ------
    ValueError
        Bad inputs, a tree without the model's sites, a model run with labels (pass
        ``None`` for them) or without a ``cn.consistent`` site; before compilation.

    Examples
    --------
    >>> import jax, consistent_nets as cn
    >>> X, y = cn.datasets.xor()
    >>> problem = cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
    >>> tree = cn.sample(problem, method="rejection", num_samples=40,
    ...                  rng_key=jax.random.key(0), progress_bar=False)
    >>> cn.predict(problem, tree, X).shape
    (4, 10, 4, 1)
    >>> f = cn.predict(problem.model, tree, X, None, add_to_tree=True)  # the same, as a model
    >>> tree["posterior_predictive"]["data"].shape
    (4, 10, 4, 1)
    """
    if isinstance(problem, Problem):
        model, model_args = problem.model, (_check_inputs(problem, model_args, model_kwargs), None)
    elif callable(problem):
        model = problem
    else:
        raise ValueError(f"problem must be a cn.Problem or a NumPyro model (callable), got {type(problem).__name__}")
    latent, sites = prediction_sites(model, model_args, model_kwargs)
    params, (num_chains, num_draws) = posterior_params(tree, latent, owner="the model")
    prepare()  # the persistent compilation cache, before the first compile
    run_model = jax.jit(
        lambda p: Predictive(model, p, return_sites=list(sites), batch_ndims=1, parallel=True)(
            jax.random.key(0), *model_args, **model_kwargs
        )
    )
    found = run_model({k: jax.numpy.asarray(v) for k, v in params.items()})
    outputs = {k: np.asarray(found[k]).reshape(num_chains, num_draws, *found[k].shape[1:]) for k in sites}
    if add_to_tree:
        add_predictions(tree, outputs)
    return outputs[sites[0]] if len(sites) == 1 else outputs


def _check_inputs(problem: Problem, model_args, model_kwargs) -> np.ndarray:
    if len(model_args) != 1 or model_kwargs:
        raise ValueError("X_new: a cn.Problem predicts at one array of inputs, cn.predict(problem, tree, X_new)")
    X_new = np.asarray(model_args[0], dtype=np.float32)
    if X_new.ndim != 2 or X_new.shape[1] != problem.net.d_in:
        raise ValueError(f"X_new must have shape (n, {problem.net.d_in}), got {X_new.shape}")
    if not np.all(np.isfinite(X_new)):
        raise ValueError("X_new contains NaN or inf")
    return X_new


def prediction_sites(model, model_args, model_kwargs) -> tuple[dict[str, tuple], tuple[str, ...]]:
    """``(latent site shapes, names of the outputs cn.consistent records)`` of a model run.

    The model is traced abstractly (``jax.eval_shape``: shapes only, nothing compiles),
    so a bad argument raises here, before compilation.
    """
    found = {}

    def shapes():
        tr = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace(*model_args, **model_kwargs)
        found["latent"] = {
            k: tuple(s["value"].shape) for k, s in tr.items() if s["type"] == "sample" and not s["is_observed"]
        }
        found["outputs"] = tuple(k for k, s in tr.items() if is_prediction_site(s))
        found["labelled"] = tuple(k for k, s in tr.items() if is_consistent_site(s))

    jax.eval_shape(shapes)
    if not found["outputs"]:
        if found["labelled"]:
            raise ValueError(
                f"model_args: the model was run with labels (its sites {list(found['labelled'])} are "
                "constraints); cn.predict runs it without them: pass None for the labels"
            )
        raise ValueError("model has no cn.consistent site whose outputs cn.predict could return")
    return found["latent"], found["outputs"]
