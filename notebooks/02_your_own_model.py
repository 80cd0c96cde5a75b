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
# hidden layer uniform on $[-3, 3]$, the output layer standard normal. The constraint asks
# for margin $0.1$. The draws we get are from this prior **restricted to $S$** — uniform in
# the hidden weights, normal-shaped in the output weights, and every one fits the data.

# %%
X, y = cn.datasets.xor()


def model(X, y, width=3):
    w_in = numpyro.sample("w_in", dist.Uniform(-3.0, 3.0).expand([2, width]).to_event(2))
    b_in = numpyro.sample("b_in", dist.Uniform(-3.0, 3.0).expand([width]).to_event(1))
    w_out = numpyro.sample("w_out", dist.Normal(0.0, 1.0).expand([width, 1]).to_event(2))
    b_out = numpyro.sample("b_out", dist.Normal(0.0, 1.0).expand([1]).to_event(1))
    outputs = jnp.tanh(X @ w_in + b_in) @ w_out + b_out
    cn.consistent("fit", outputs, y, cn.Margin(0.1))


# %% [markdown]
# ## It is an ordinary NumPyro model
#
# Run it under `seed` and `trace`: the constraint is a site like any other, marked in its
# `infer` dict, with whether this draw is in $S$, its training loss and each point's slack
# (how far it is from fitting; $\le 0$ where it fits).

# %%
trace = handlers.trace(handlers.seed(model, rng_seed=0)).get_trace(X, y)
for name, site in trace.items():
    print(f"{name:6s} {site['type']:7s} shape {tuple(jnp.shape(site['value']))}")
print("fit.infer:", {k: jnp.round(v, 3).tolist() if k in ("training_loss", "slack") else bool(v)
                     for k, v in trace["fit"]["infer"].items()})

# %% [markdown]
# `cn.temper(model, 0.0)` is the prior *exactly*: its log density equals the sum of the
# prior sites' log densities, whatever the weights. `cn.temper(model, beta)` subtracts
# $\beta\,g(w)$.

# %%
params = {k: trace[k]["value"] for k in ("w_in", "b_in", "w_out", "b_out")}
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
# the same ArviZ `DataTree` as always: one posterior variable per sample site.

# %%
tree = cn.sample(model, X, y, method="smc", num_samples=NUM_SAMPLES, rng_key=jax.random.key(0), progress_bar=False)
print(f"log vol(S) under this prior = {tree.attrs['log_volume']:.3f} ± {tree.attrs['log_volume_se']:.3f}")
tree.posterior

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
arviz_stats.summary(tree, var_names=["w_out", "b_out"], kind="stats")

# %% [markdown]
# The output weights' prior is $N(0, 1)$; restricted to $S$ they must be large enough to
# reach margin $0.1$ with the right signs, so their distribution moves away from $0$.

# %%
w_out = tree.posterior["w_out"].values.reshape(-1)
grid = np.linspace(-4, 4, 200)
fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
ax.hist(w_out, bins=40, density=True, color="tab:purple", alpha=0.6, label="draws from S (all units)")
ax.plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), "k--", label="prior N(0, 1)")
ax.set(xlabel="output weight", ylabel="density", title="output-layer weights: prior vs prior restricted to S")
ax.legend()
plt.show()

# %% [markdown]
# ## Diagnose it
#
# Given a model instead of a `Problem`, `cn.diagnose` runs the checks that need no
# network structure (membership, volume, importance weights); pass a `cn.Problem` for the
# function-space, chord and symmetry checks.

# %%
cn.diagnose(tree, model, X, y, rng_key=jax.random.key(1))
