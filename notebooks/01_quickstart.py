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
# # Quickstart: every network that fits XOR, drawn uniformly
#
# XOR has four points. A 2-3-1 tanh network has 13 weights, and with each weight in
# $[-3, 3]$ some of those weight vectors classify all four points correctly: they form the
# solution set $S$. `consistent-nets` draws weight vectors **uniformly from $S$** (the box
# prior restricted to $S$), estimates the prior volume of $S$, and tells you how far a
# sample is from uniform.
#
# Set `CN_NOTEBOOK_SMALL=1` to run everything at toy size (that is what the tests do).

# %%
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")  # 2 CPU devices
SMALL = os.environ.get("CN_NOTEBOOK_SMALL") == "1"

import jax
import matplotlib.pyplot as plt
import numpy as np

import consistent_nets as cn
from consistent_nets import plots

NUM_SAMPLES = 400 if SMALL else 2000

# %% [markdown]
# ## The problem: data, network, prior, constraint

# %%
X, y = cn.datasets.xor()
net = cn.MLP([2, 3, 1], activation="tanh")
problem = cn.Problem(net, X, y, prior=cn.BoxPrior(3.0), constraint=cn.Margin(0.0))
problem

# %% [markdown]
# ## Sample
#
# The default method is tempered SMC: a population moves from the prior ($\beta = 0$)
# towards $S$ by raising $\beta$ in $p(w)\,e^{-\beta g(w)}$, with NUTS moves in between.
# Since the penalty $g$ is exactly $0$ on $S$, the particles that end in $S$ are uniform on
# $S$, and the SMC weights give $\log \mathrm{vol}(S)$ on the way.

# %%
tree = cn.sample(problem, method="smc", num_samples=NUM_SAMPLES, rng_key=jax.random.key(0), progress_bar=False)
print(f"{int(tree.sample_stats['in_set'].sum())} draws, all in S: {bool(tree.sample_stats['in_set'].all())}")
print(f"log vol(S) = {tree.attrs['log_volume']:.3f} ± {tree.attrs['log_volume_se']:.3f}"
      f"  (about 1 in {np.exp(-tree.attrs['log_volume']):.0f} prior draws fits XOR)")
# the SE is the spread of 4 populations (3 degrees of freedom): its 95 % interval is ± 3.2 SE, not ± 2
print(f"95 % interval: {tree.attrs['log_volume_ci_lower']:.3f} to {tree.attrs['log_volume_ci_upper']:.3f}")
tree

# %% [markdown]
# ## Look at 50 of them
#
# Left: the decision boundary ($f(x) = 0$) of 50 draws. Right: for each point of the
# plane, the fraction of all draws that say "blue". Every draw gets the four training
# points right; away from them, $S$ leaves a lot undecided.

# %%
g0, g1 = np.meshgrid(np.linspace(-2, 2, 80), np.linspace(-2, 2, 80))
grid = np.stack([g0.ravel(), g1.ravel()], axis=1).astype(np.float32)
f = cn.predict(problem, tree, grid)  # (chain, draw, n_grid, 1)
f50 = f.reshape(-1, *g0.shape)[:50]

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
for fk in f50:
    ax0.contour(g0, g1, fk, levels=[0.0], colors="tab:purple", linewidths=0.8, alpha=0.5)
colours = np.where(y > 0, "tab:blue", "tab:red")
ax0.scatter(X[:, 0], X[:, 1], c=colours, edgecolors="k", s=80, zorder=3)
ax0.set(xlabel="$x_1$", ylabel="$x_2$", title="decision boundaries of 50 uniform draws from S", aspect="equal")
plots.decision_regions(tree, problem, ax=ax1)
ax1.set(title=f"fraction of all {f.shape[0] * f.shape[1]} draws with f > 0 (blue class)", aspect="equal")
plt.show()

# %% [markdown]
# ## How the sampler got there
#
# One line per independent SMC population: $\beta$ rising stage by stage, the effective
# sample size after each reweighting, and the fraction of particles already in $S$.

# %%
axes = plots.smc_stages(tree)
axes[0].figure.suptitle("tempered SMC on XOR, stage by stage")
plt.show()

# %% [markdown]
# ## Is the sample uniform on S?
#
# `cn.diagnose` runs several checks, each with its null hypothesis (what an exact uniform
# sample satisfies), and gives a verdict plus one number: an estimated lower bound on the
# total-variation distance to uniform on $S$. The `chord` check needs no reference: the
# position of a draw on a random line through it, relative to where the line leaves $S$,
# is Uniform(0, 1) for a uniform sample.

# %%
report = cn.diagnose(tree, problem, rng_key=jax.random.key(1))
report

# %%
ax = plots.chord_histogram(tree, problem, jax.random.key(2))
ax.set_title("chord test: flat means uniform on S")
plt.show()

# %% [markdown]
# The report is also data: `report.passed`, `report.distance`, `report.checks["chord"]`,
# and `report.to_dataset()` (an `xarray.Dataset` you can store next to the draws).

# %%
print(report.passed, round(report.distance, 3), report.checks["chord"].null)
