# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Your own NumPyro model
#
# `cn.Problem` covers an MLP with a box or normal prior. Anything else — your own prior,
# your own network code — is a plain NumPyro model with one extra line:
#
# ```python
# cn.consistent("fit", outputs, y, cn.Margin(0.1))
# ```
#
# That line adds the constraint "the outputs fit `y`" as a *tagged factor site* with log
# density $-g(w)$, where the penalty $g \ge 0$ is exactly $0$ on $S$. The effect handler
# `cn.temper(beta)` scales only those sites, which turns the model into the tempered target
# $p(w)\,e^{-\beta g(w)}$: $\beta = 0$ is the prior, and large $\beta$ concentrates on $S$.

# %%
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
SMALL = os.environ.get("CN_NOTEBOOK_SMALL") == "1"

import arviz_stats
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro import handlers
from numpyro.infer.util import log_density

import consistent_nets as cn

NUM_SAMPLES = 400 if SMALL else 2000

# %% [markdown]
# ## The model
#
# XOR again, with a network written by hand and a prior `cn.Problem` does not offer: the
# hidden layer uniform on $[-3, 3]$, the output layer standard normal, and the whole output
# multiplied by a **positive scale** with a half-normal prior. The constraint asks for margin
# $0.1$, so the scale matters: too small a scale cannot reach the margin. The draws we get
# are from this prior **restricted to $S$**, and every one fits the data.
#
# The scale lives on $(0, \infty)$. Samplers work in NumPyro's unconstrained space (here
# $\log$ scale) with the Jacobian of the transform in the density — NumPyro's own
# `potential_energy`, so any distribution with a bijective support transform works the same
# way (LogNormal, Gamma, Beta, ...).
#
# Two details make the rest of the notebook work: `y=None` by default (the NumPyro idiom for
# prediction: without labels `cn.consistent` records the outputs instead of constraining
# them), and `net=` declares which network's hidden-unit symmetries the model has, so
# `cn.sample` symmetrizes the draws on those sites (exact, as for a `cn.Problem`) and
# `cn.diagnose` can run its orbit test on a tree sampled with `symmetrize=False`.

# %%
X, y = cn.datasets.xor()
WIDTH = 3
NET = cn.MLP([2, WIDTH, 1])
SITES = {"w0": "w_in", "b0": "b_in", "w1": "w_out", "b1": "b_out"}  # the net's names -> ours


def model(X, y=None):
    scale = numpyro.sample("scale", dist.HalfNormal(1.0))
    w_in = numpyro.sample("w_in", dist.Uniform(-3.0, 3.0).expand([2, WIDTH]).to_event(2))
    b_in = numpyro.sample("b_in", dist.Uniform(-3.0, 3.0).expand([WIDTH]).to_event(1))
    w_out = numpyro.sample("w_out", dist.Normal(0.0, 1.0).expand([WIDTH, 1]).to_event(2))
    b_out = numpyro.sample("b_out", dist.Normal(0.0, 1.0).expand([1]).to_event(1))
    outputs = scale * (jnp.tanh(X @ w_in + b_in) @ w_out + b_out)
    cn.consistent("fit", outputs, y, cn.Margin(0.1), net=NET, sites=SITES)


# %% [markdown]
# ## It is an ordinary NumPyro model
#
# Run it under `seed` and `trace`: the constraint is a site like any other, marked in its
# `infer` dict, with whether this draw is in $S$, the per-point slack (how far each point is
# from being fitted; $\le 0$ where it is) and the outputs. Labels of the wrong shape or
# domain raise a `ValueError` right here, at trace time, before anything compiles.

# %%
trace = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace(X, y)
for name, site in trace.items():
    print(f"{name:6s} {site['type']:7s} shape {tuple(jnp.shape(site['value']))}")
fit = trace["fit"]["infer"]
print("fit: in S", bool(fit["in_set"]), "| slack", np.round(np.asarray(fit["slack"]), 3))
try:
    handlers.seed(model, rng_seed=0)(X, y[:, None])
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# `cn.temper(model, 0.0)` is the prior *exactly*: its log density equals the sum of the
# prior sites' log densities, whatever the weights. `cn.temper(model, beta)` subtracts
# $\beta\,g(w)$.

# %%
params = {k: trace[k]["value"] for k in ("scale", "w_in", "b_in", "w_out", "b_out")}
prior_only = sum(jnp.sum(trace[k]["fn"].log_prob(v)) for k, v in params.items())
lp0, _ = log_density(cn.temper(model, 0.0), (X, y), {}, params)
lp1, _ = log_density(cn.temper(model, 1.0), (X, y), {}, params)
g = -trace["fit"]["fn"].log_prob(trace["fit"]["value"])
print(f"beta = 0: {float(lp0):.4f}   sum of prior log densities: {float(prior_only):.4f}")
print(f"beta = 1: {float(lp1):.4f}   prior - g = {float(prior_only - g):.4f}  (g = {float(g):.4f})")
assert np.isclose(lp0, prior_only, atol=1e-4) and np.isclose(lp1, prior_only - g, atol=1e-4)

# %% [markdown]
# ## Sample it
#
# `cn.sample` takes the model and its arguments in place of a `Problem`. The result is
# the same ArviZ `DataTree` as always: one posterior variable per sample site, the data in
# `constant_data`/`observed_data`, and the model's description in the attrs.

# %%
tree = cn.sample(model, X, y, method="smc", num_samples=NUM_SAMPLES, rng_key=jax.random.key(0), progress_bar=False)
print(f"log vol(S) under this prior = {tree.attrs['log_volume']:.3f} ± {tree.attrs['log_volume_se']:.3f}")
tree

# %% [markdown]
# ## Predictions: `cn.predict` on the model
#
# `cn.predict(model, tree, X_new)` runs the model on every draw *without labels* (NumPyro's
# `Predictive` underneath) and returns the outputs, `(chain, draw, n_new, 1)`;
# `add_to_tree=True` also stores them as the `posterior_predictive` group. Here: on a grid,
# the fraction of draws that call each point $+1$ — every draw fits the four corners, and
# they disagree in between.

# %%
grid = np.linspace(-1.6, 1.6, 41 if SMALL else 81, dtype=np.float32)
gx, gy = np.meshgrid(grid, grid)
X_grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
f = cn.predict(model, tree, X_grid, add_to_tree=True)
print("outputs", f.shape, "| tree groups:", sorted(tree.children))
positive = (f[..., 0] > 0).mean(axis=(0, 1)).reshape(gx.shape)
fig, ax = plt.subplots(figsize=(5, 4.5), constrained_layout=True)
mesh = ax.pcolormesh(gx, gy, positive, cmap="RdBu", vmin=0, vmax=1, shading="auto")
ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", s=80)
fig.colorbar(mesh, ax=ax, label="fraction of draws predicting +1")
ax.set(title="cn.predict(model, tree, X_grid)", xlabel="$x_1$", ylabel="$x_2$")
plt.show()

# %% [markdown]
# ## The tempered density, seen along a line
#
# From a prior draw (outside $S$) to one of our draws (inside $S$): the log density of
# `cn.temper(model, beta)` along the straight line between them. At $\beta = 0$ it is the
# prior; as $\beta$ grows, the part of the line outside $S$ is pushed down, and the part
# inside $S$ stays exactly where the prior put it — which is why the restricted target is
# exact for every $\beta$.

# %%
inside = {k: jnp.asarray(tree.posterior[k].values[0, 0]) for k in params}
ts = np.linspace(0.0, 1.0, 61)


def line_log_density(beta):
    f = lambda t: log_density(
        cn.temper(model, beta), (X, y), {}, jax.tree.map(lambda a, b: (1 - t) * a + t * b, params, inside)
    )[0]
    return np.asarray(jax.vmap(f)(jnp.asarray(ts)))


curves = {beta: line_log_density(beta) for beta in (0.0, 1.0, 10.0, 100.0)}
fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
for beta, curve in curves.items():
    ax.plot(ts, curve, label=f"beta = {beta:g}")
top = curves[0.0].max()
ax.set(xlabel="position on the line (0: a prior draw, 1: a draw in S)", ylabel="log density (unnormalised)",
       title="cn.temper(model, beta) along a line into S", ylim=(top - 40, top + 3))
ax.legend()
plt.show()

# %% [markdown]
# ## ArviZ summaries
#
# `arviz_stats.summary` works on the tree directly. Means and intervals are fine; R-hat and
# ESS of *individual weights* are not meaningful here, because relabelling hidden units
# gives the same function (notebook 04 explains; `cn.diagnose` uses function-space R-hat).

# %%
arviz_stats.summary(tree, var_names=["scale", "w_out", "b_out"], kind="stats")

# %% [markdown]
# The scale's prior is half-normal; restricted to $S$ it must be large enough for the
# outputs to reach margin $0.1$, so small scales lose mass.

# %%
scale = tree.posterior["scale"].values.reshape(-1)
grid_s = np.linspace(0, 4, 200)
fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
ax.hist(scale, bins=40, density=True, color="tab:purple", alpha=0.6, label="draws from S")
ax.plot(grid_s, 2 * np.exp(-grid_s**2 / 2) / np.sqrt(2 * np.pi), "k--", label="prior HalfNormal(1)")
ax.set(xlabel="output scale", ylabel="density", title="output scale: prior vs prior restricted to S")
ax.legend()
plt.show()

# %% [markdown]
# ## Diagnose it
#
# Given the model and its arguments, `cn.diagnose` runs every check the model allows:
# membership and function-space R-hat/ESS from the consistency site's outputs, the chord
# test in the unconstrained space with the model's own density, and — because the model
# declared `net=` — the orbit test, which says n/a here: `cn.sample` symmetrized the draws,
# so they are orbit-uniform by construction (`symmetrize=False` tests the sampler itself).
# Pass `probes=(X_probe,)` for outputs at more inputs.

# %%
cn.diagnose(tree, model, X, y, rng_key=jax.random.key(1), probes=(X_grid[::40],))
