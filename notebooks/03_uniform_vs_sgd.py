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
# # Uniform on S vs the SGD heuristic
#
# **The question.** "To get a random network that fits my data, I initialise the weights
# at random and train until 100 % training accuracy. Is that a uniform draw from the
# networks that fit?"
#
# **The answer: no.** Every such network fits, but training stops as soon as the last
# point crosses the decision boundary, so the draws sit at the *edge* of the solution set
# $S$, and which part of $S$ they reach depends on where gradient descent flows. Below,
# on XOR and on two moons, we put the heuristic (`method="sgd"`) next to uniform sampling
# (`method="smc"`) and let the diagnostics say what differs.

# %%
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
SMALL = os.environ.get("CN_NOTEBOOK_SMALL") == "1"

import jax
import matplotlib.pyplot as plt
import numpy as np

import consistent_nets as cn
from consistent_nets import plots

NUM_SAMPLES = 400 if SMALL else 2000
MOONS_N, MOONS_ARCH = (16, [2, 4, 1]) if SMALL else (60, [2, 8, 1])

# %%
X, y = cn.datasets.xor()
problems = {"XOR": cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))}
Xm, ym = cn.datasets.moons(MOONS_N, 0.1, 0)
problems[f"moons (n={MOONS_N})"] = cn.Problem(cn.MLP(MOONS_ARCH), Xm, ym, cn.BoxPrior(3.0), cn.Margin(0.0))
METHODS = {"smc": "uniform on S (smc)", "sgd": "SGD heuristic (sgd)"}

trees, reports = {}, {}
for i, (name, problem) in enumerate(problems.items()):
    for j, method in enumerate(METHODS):
        key = jax.random.key(10 * i + j)
        trees[name, method] = cn.sample(problem, method=method, num_samples=NUM_SAMPLES, rng_key=key, progress_bar=False)
        reports[name, method] = cn.diagnose(trees[name, method], problem, rng_key=jax.random.fold_in(key, 1))

# %% [markdown]
# ## The verdicts
#
# Both methods return only networks that fit (membership passes). The heuristic fails the
# **chord** check: take a random line through a draw, find where the line leaves $S$ on
# either side, and note where the draw sits between the two ends. For a uniform sample on
# $S$ that position is Uniform(0, 1); SGD's draws sit near an end.

# %%
print(f"{'problem':16s} {'method':5s} {'in S':>5s} {'log vol(S)':>16s} {'distance':>8s}  verdict")
for (name, method), report in reports.items():
    tree = trees[name, method]
    vol, se = tree.attrs["log_volume"], tree.attrs["log_volume_se"]
    vol_text = "—" if np.isnan(vol) else f"{vol:.2f} ± {se:.2f}"
    failed = [c.name for c in report.checks.values() if c.passed is False]
    verdict = "uniform" if report.passed else "NOT uniform: " + ", ".join(failed)
    print(f"{name:16s} {method:5s} {int(tree.sample_stats['in_set'].sum()):5d} {vol_text:>16s} {report.distance:8.3f}  {verdict}")

# %% [markdown]
# ## Symmetry: what `cn.sample` does by default
#
# Relabelling or sign-flipping hidden units gives the same function, so uniform on $S$
# puts equal mass on every symmetric copy of a draw. SMC particles descended from one
# ancestor share its copy, so a population with few ancestors is clumped across copies,
# which the **orbit** check can see. Because the target is symmetric, applying an
# independent random symmetry to every draw is exact and removes that clumping, and
# `cn.sample` does it by default (`tree.attrs["symmetrized"]`); the orbit check is then
# not run (the draws are orbit-uniform by construction; the report says so). Below, the
# same methods with `symmetrize=False` (the samplers' own output), then `cn.symmetrize`:
# symmetrizing cannot move SGD's draws away from the edge of $S$, so the chord check
# still fails them (notebook 04 has more on symmetry).

# %%
for i, (name, problem) in enumerate(problems.items()):
    for j, method in enumerate(METHODS):
        key = jax.random.key(100 + 10 * i + j)
        raw = cn.sample(problem, method=method, num_samples=NUM_SAMPLES, rng_key=key, progress_bar=False,
                        symmetrize=False)
        before = cn.diagnose(raw, problem, rng_key=jax.random.fold_in(key, 1))
        after = cn.diagnose(cn.symmetrize(raw, problem, jax.random.key(3)), problem, rng_key=jax.random.fold_in(key, 2))
        failed = [c.name for c in after.checks.values() if c.passed is False]
        print(f"{name:16s} {method}: own output: orbit p = {before['orbit'].p_value:.2g} -> symmetrized: "
              f"orbit {'run' if after['orbit'].applicable else 'not run'}, chord p = {after['chord'].p_value:.2g}, "
              f"{'uniform' if after.passed else 'NOT uniform: ' + ', '.join(failed)}")

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
for row, (name, problem) in enumerate(problems.items()):
    for col, (method, label) in enumerate(METHODS.items()):
        ax = plots.chord_histogram(trees[name, method], problem, jax.random.key(7), ax=axes[row, col])
        ax.set_title(f"{name}, {label}")
fig.suptitle("where draws sit on random chords of S (uniform on S: flat, inside the band)")
plt.show()

# %% [markdown]
# ## Depth in S: how much room each draw has
#
# The smallest margin $\min_i y_i f(x_i)$ over the training points is $\ge 0$ for every
# draw in $S$. Uniform draws spread over all depths; SGD's draws stop at the first moment
# the smallest margin turns positive, so they pile up at $0$.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
for ax, (name, problem) in zip(axes, problems.items()):
    for method, label in METHODS.items():
        f = cn.predict(problem, trees[name, method], problem.X)[..., 0]  # (chain, draw, n)
        depth = (f * np.asarray(problem.y).ravel()).min(axis=-1).ravel()
        ax.hist(depth, bins=40, alpha=0.6, density=True, label=label)
    ax.set(xlabel="smallest training margin  min_i y_i f(x_i)", ylabel="density", title=name)
    ax.legend()
plt.show()

# %% [markdown]
# ## What the networks do away from the data
#
# The fraction of draws that predict the blue class at each point of the plane. Both
# methods agree on the training points; away from them they disagree about what the data
# left undecided: the heuristic's networks are more alike (and more confident) than the set
# of all networks that fit.

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 8), constrained_layout=True)
for row, (name, problem) in enumerate(problems.items()):
    for col, (method, label) in enumerate(METHODS.items()):
        plots.decision_regions(trees[name, method], problem, num_grid=60, ax=axes[row, col])
        axes[row, col].set_title(f"{name}, {label}")
plt.show()

# %% [markdown]
# ## Planted teachers: a check with a known answer
#
# Draw a "teacher" network from the prior and let it label random inputs. Given those
# labels, the teacher is an exact draw from the uniform distribution on S of its own
# problem, so among the draws of an exact sampler its rank (on any statistic that ignores
# the hidden-unit symmetries) is uniform. `cn.calibrate` repeats this over many teachers
# (simulation-based calibration). Teacher problems of the same shape share one compiled
# program, so this is quick. The SGD heuristic's draws are shallower than the teacher:
# its depth ranks pile up at the top.

# %%
NUM_TEACHERS, DRAWS_PER_TEACHER = (10, 19) if SMALL else (100, 99)
calibrations = {
    method: cn.calibrate(cn.MLP([2, 3, 1]), cn.BoxPrior(3.0), cn.Margin(0.0), n=4,
                         num_teachers=NUM_TEACHERS, method=method, rng_key=jax.random.key(7),
                         num_samples=DRAWS_PER_TEACHER)
    for method in METHODS
}
fig, axes = plt.subplots(2, 3, figsize=(12, 6), constrained_layout=True)
for row, (method, result) in enumerate(calibrations.items()):
    plots.rank_histograms(result, axes=axes[row])
    axes[row, 0].set_ylabel(f"{METHODS[method]}\nteachers")
    print(f"{METHODS[method]}: {result}")
plt.show()

# %% [markdown]
# ## Read more
#
# The full report of the heuristic on moons: every check, its null hypothesis and its
# statistic. `consistent-nets demo` prints the same comparison for XOR from the command line.

# %%
reports[f"moons (n={MOONS_N})", "sgd"]
