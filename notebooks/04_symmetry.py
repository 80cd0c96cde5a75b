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
# # Symmetry: many weights, one function
#
# Permute the hidden units of a layer (their incoming weights, biases and outgoing weights
# together) and the network computes the same function. With an odd activation such as
# tanh, flipping the sign of one unit's incoming weights, bias and outgoing weights does
# too. For a 2-3-1 tanh network that is a group of $3! \cdot 2^3 = 48$ weight vectors per
# function. The box prior does not care, so **uniform on $S$ gives all 48 copies equal
# mass**. This notebook shows what follows:
#
# 1. canonicalisation picks one representative per orbit (and tells which copy a draw was);
# 2. the orbit index of a uniform sample is uniform — a test;
# 3. R-hat on raw weights can cry "not converged" for chains that agree on every function,
#    so `cn.diagnose` computes R-hat on network outputs instead.

# %%
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
SMALL = os.environ.get("CN_NOTEBOOK_SMALL") == "1"

import arviz_stats
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

import consistent_nets as cn
from consistent_nets import plots, symmetry

NUM_SAMPLES = 400 if SMALL else 2000

X, y = cn.datasets.xor()
net = cn.MLP([2, 3, 1], activation="tanh")
problem = cn.Problem(net, X, y, cn.BoxPrior(3.0), cn.Margin(0.0))
# symmetrize=False: the sampler's own draws (cn.sample symmetrizes by default; see the end)
tree = cn.sample(problem, method="smc", num_samples=NUM_SAMPLES, rng_key=jax.random.key(0), progress_bar=False,
                 symmetrize=False)
print(f"|G| = {symmetry.group_size(net)} symmetric copies of every weight vector")

# %% [markdown]
# ## One draw, 48 copies, one function

# %%
one = {k: jnp.asarray(tree.posterior[k].values[0, 0]) for k in net.param_shapes}
keys = jax.random.split(jax.random.key(1), 48)
copies = jax.vmap(lambda k: symmetry.transform(one, net, *symmetry.random_element(k, net)))(keys)
grid = jnp.asarray(np.random.default_rng(0).uniform(-2, 2, (500, 2)), dtype=jnp.float32)
outputs = jax.vmap(net.apply, in_axes=(0, None))(copies, grid)
print("largest difference between the copies' outputs on 500 points:", float(jnp.abs(outputs - outputs[0]).max()))
canonical, element = cn.canonicalize(one, net)
print("canonical form: hidden biases positive and sorted:", np.round(np.asarray(canonical["b0"]), 3))

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
ax0.scatter(np.asarray(copies["w0"][:, 0, :]).ravel(), np.asarray(copies["w0"][:, 1, :]).ravel(), s=12, alpha=0.6)
ax0.set(xlabel="incoming weight from $x_1$", ylabel="incoming weight from $x_2$",
        title="hidden units of 48 copies: 3 units x 2 signs = 6 places")
ax1.plot(np.asarray(outputs[:, :60, 0]).T, color="tab:purple", alpha=0.2)
ax1.set(xlabel="probe point", ylabel="network output f(x)", title="... and their outputs: 48 lines on top of each other")
plt.show()

# %% [markdown]
# ## The orbit test
#
# Canonicalise every draw and record the group element that did it (the *orbit index*,
# one of 48). Uniform on $S$ makes it uniform on the group; for independent draws the
# bars stay in the band. These are the sampler's own draws (`symmetrize=False`): the SMC
# siblings that share an ancestor share its orbit too, so bars can stick out by more
# than independent draws would — `cn.diagnose` tests one draw per lineage for that
# reason.

# %%
ax = plots.orbit_histogram(tree, problem)
ax.set_title("orbit index of the smc draws, symmetrize=False")
plt.show()

# %% [markdown]
# ## Why weight-space R-hat lies
#
# R-hat compares chains. Take our sample and make every chain "stuck" in its own copy:
# canonicalise each draw, then apply one fixed group element per chain. Every chain now
# holds **exactly the same functions** as before — the sample is as good as it was — but
# the chains' weights live in different corners of weight space. Weight-space R-hat
# explodes; function-space R-hat (outputs at probe points, what `cn.diagnose` uses) does
# not move. The reverse also holds: weight-space R-hat near 1 is only reassuring if chains
# can hop between copies, which samplers of real networks rarely do.

# %%
params = {k: jnp.asarray(tree.posterior[k].values) for k in net.param_shapes}  # (chain, draw, ...)
num_chains = params["w0"].shape[0]
canon = jax.vmap(jax.vmap(lambda p: cn.canonicalize(p, net)[0]))(params)
chain_elements = [symmetry.random_element(jax.random.key(100 + c), net) for c in range(num_chains)]
stuck = {k: [] for k in net.param_shapes}
for c in range(num_chains):
    moved = jax.vmap(lambda p: symmetry.transform(p, net, *chain_elements[c]))({k: v[c] for k, v in canon.items()})
    for k in stuck:
        stuck[k].append(moved[k])
stuck = {k: jnp.stack(v) for k, v in stuck.items()}
probes = jnp.concatenate([problem.X, grid[:16]])


def rhats(p):
    weights = xr.Dataset({k: (("chain", "draw") + tuple(f"{k}_{i}" for i in range(v.ndim - 2)), np.asarray(v)) for k, v in p.items()})
    f = jax.vmap(jax.vmap(net.apply, in_axes=(0, None)), in_axes=(0, None))(p, probes)[..., 0]
    functions = xr.Dataset({"f": (("chain", "draw", "probe"), np.asarray(f))})
    weight_rhat = max(float(v.max()) for v in arviz_stats.rhat(weights, sample_dims=["chain", "draw"]).data_vars.values())
    function_rhat = float(arviz_stats.rhat(functions, sample_dims=["chain", "draw"])["f"].max())
    return weight_rhat, function_rhat


cases = {"smc sample": params, "chains stuck in\none copy each": stuck}
values = {name: rhats(p) for name, p in cases.items()}
for name, (w, f) in values.items():
    print(f"{name.replace(chr(10), ' '):32s} weight-space R-hat {w:7.3f}   function-space R-hat {f:.3f}")

fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
pos = np.arange(len(cases))
ax.bar(pos - 0.2, [v[0] for v in values.values()], width=0.4, label="weight space (largest over weights)")
ax.bar(pos + 0.2, [v[1] for v in values.values()], width=0.4, label="function space (largest over probes)")
ax.axhline(1.01, color="k", ls="--", lw=1, label="1.01")
ax.set(xticks=pos, xticklabels=list(cases), ylabel="R-hat", ylim=(0.95, None), title="same functions, different verdicts")
ax.legend()
plt.show()

# %% [markdown]
# ## Exact augmentation
#
# Because the target is invariant, applying an independent random group element to each
# draw is exact: `cn.symmetrize(tree, problem, key)` returns a sample of the same target
# whose orbit index is uniform by construction. `cn.sample` does this by default for a
# `cn.Problem` (and marks the tree `attrs["symmetrized"]`, so `cn.diagnose` skips the
# orbit test, which could only false-alarm there); to learn whether a sampler itself
# mixes over the copies, sample with `symmetrize=False`, as above, and diagnose that.

# %%
mixed = cn.symmetrize(tree, problem, jax.random.key(5))
ax = plots.orbit_histogram(mixed, problem)
ax.set_title("orbit index after cn.symmetrize")
plt.show()
