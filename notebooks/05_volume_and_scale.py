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
# # The volume of S, and how far the samplers scale
#
# $\log \mathrm{vol}(S) = \log P_{\text{prior}}(w \in S)$ is the log evidence of "the network
# fits the data". The *volume hypothesis* says networks generalise because functions that
# fit structured data occupy a large share of weight space. Here: how $\log \mathrm{vol}(S)$
# falls as data are added, for structured labels (two moons) and for random labels, at
# several widths — and what the benchmark ladder measured.

# %%
import glob
import json
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
SMALL = os.environ.get("CN_NOTEBOOK_SMALL") == "1"

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import consistent_nets as cn

N_MAX = 16 if SMALL else 40
WIDTHS = (2, 4, 8) if SMALL else (2, 4, 8, 16)
NUM_DRAWS = 2**18 if SMALL else 2**22
prior = cn.BoxPrior(3.0)

# %% [markdown]
# ## Every data size from one batch of prior draws
#
# The solution sets are nested: $S_1 \supseteq S_2 \supseteq \dots$ where $S_n$ fits the first
# $n$ points. So one batch of prior draws gives $\mathrm{vol}(S_n)$ for every $n$ at once:
# the fraction of draws that fit the first $n$ points (exact Monte Carlo, i.e. rejection
# sampling). It runs out when fewer than a handful of draws survive; SMC goes further (the
# star at the end: `cn.sample(..., method="smc")` on the largest problem).


# %%
def log_volume_curve(net, X, y, key, num_draws=NUM_DRAWS, batch=2**15):
    """log vol(S_n) for n = 1..len(X) and its standard error, from num_draws prior draws."""
    y = jnp.asarray(y, dtype=jnp.float32)

    @jax.jit
    def count(key):
        params = prior.sample(key, net.param_shapes, batch)
        margins = jax.vmap(net.apply, in_axes=(0, None))(params, X)[..., 0] * y  # (batch, n)
        return jnp.sum(jnp.cumprod(margins > 0, axis=1), axis=0)

    hits = sum(np.asarray(count(k), dtype=np.float64) for k in jax.random.split(key, num_draws // batch))
    p = hits / num_draws
    with np.errstate(divide="ignore", invalid="ignore"):
        log_vol = np.where(hits >= 5, np.log(p), np.nan)  # fewer than 5 survivors: no estimate
        se = np.sqrt((1 - p) / (p * num_draws))
    return log_vol, se


Xm, ym = cn.datasets.moons(N_MAX, 0.1, 0)
Xr, yr = cn.datasets.random_labels(N_MAX, 2, 0)
datasets = {"two moons": (Xm, ym), "random labels": (Xr, yr)}
curves = {}
for name, (X, y) in datasets.items():
    for width in WIDTHS:
        net = cn.MLP([2, width, 1])
        curves[name, width] = log_volume_curve(net, jnp.asarray(X), y, jax.random.key(width))

# %%
SMC_WIDTH = 4
problem = cn.Problem(cn.MLP([2, SMC_WIDTH, 1]), Xm, ym, prior, cn.Margin(0.0))
smc = cn.sample(problem, method="smc", num_samples=200 if SMALL else 1000, rng_key=jax.random.key(0), progress_bar=False)
print(f"smc, two moons, n = {N_MAX}, width {SMC_WIDTH}: log vol(S) = {smc.attrs['log_volume']:.2f} ± {smc.attrs['log_volume_se']:.2f}"
      f" (95 %: {smc.attrs['log_volume_ci_lower']:.2f} to {smc.attrs['log_volume_ci_upper']:.2f})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True, constrained_layout=True)
n = np.arange(1, N_MAX + 1)
colours = plt.cm.viridis(np.linspace(0, 0.85, len(WIDTHS)))
for ax, name in zip(axes, datasets):
    for colour, width in zip(colours, WIDTHS):
        log_vol, se = curves[name, width]
        ax.plot(n, log_vol, color=colour, label=f"2-{width}-1")
        ax.fill_between(n, log_vol - 2 * se, log_vol + 2 * se, color=colour, alpha=0.2)
    ax.axhline(np.log(5 / NUM_DRAWS), color="gray", ls=":", label="rejection floor (5 survivors)")
    ax.plot(n, -n * np.log(2), "k--", lw=1, label="each point halves S (coin-flip labels)")
    ax.set(xlabel="number of training points n", title=name)
    ax.legend(fontsize="small", loc="lower left")
axes[0].set_ylabel("log vol(S)  (natural log of prior probability)")
# smc's bar is its 95 % interval (Student t on its 4 populations' spread: ± 3.2 SE), not ± 2 SE
smc_bar = [[smc.attrs["log_volume"] - smc.attrs["log_volume_ci_lower"]], [smc.attrs["log_volume_ci_upper"] - smc.attrs["log_volume"]]]
axes[0].errorbar([N_MAX], [smc.attrs["log_volume"]], yerr=smc_bar, fmt="*", ms=12,
                 color="tab:red", label=f"smc, width {SMC_WIDTH} (95 % interval)")
axes[0].legend(fontsize="small", loc="lower left")
fig.suptitle("how much of weight space fits the first n points (box prior [-3, 3])")
plt.show()

# %% [markdown]
# How to read it: at the same $n$, a larger $\log \mathrm{vol}(S)$ means a larger share of
# the prior fits the data. The volume hypothesis predicts that structured labels keep more
# volume than random labels as $n$ grows, and it asks how width changes the rate. The
# dashed line is the reference of independent fair coin flips ($-n \log 2$). The numbers
# at the largest $n$ every curve reaches (the small CI run resolves only a few points;
# run without `CN_NOTEBOOK_SMALL` for 40 points and $2^{22}$ draws per curve):

# %%
common = min(int(np.max(np.nonzero(np.isfinite(lv))[0])) for lv, _ in curves.values())
for (name, width), (log_vol, se) in curves.items():
    print(f"{name:14s} 2-{width}-1: log vol(S_{common + 1}) = {log_vol[common]:6.2f} ± {se[common]:.2f}")

# %% [markdown]
# ## The scale ladder
#
# `benchmarks/ladder.py` runs every method on a ladder of problems (XOR, moons, ...) and
# writes `benchmarks/results/ladder-<rung>.json`; `BENCHMARKS.md` has the full table. To
# produce them: `uv run python benchmarks/ladder.py --rung xor --out benchmarks/results/ladder-xor.json`.
# The bars below are ±2 SE. An `smc` SE is the spread of 4 populations (3 degrees of
# freedom, `tree.attrs["log_volume_se_dof"]`), so ±2 SE covers less than 95 % (that takes
# ±3.2 SE); rejection's SE comes from its count of accepted draws (twice that many
# degrees of freedom: near-exact from a few dozen on). A BlackJAX peer's SE is the spread
# of its two runs (1 degree of freedom): ±2 SE covers only about 70 % there.

# %%
root = next((p for p in ("benchmarks/results", "../benchmarks/results") if os.path.isdir(p)), None)
files = sorted(glob.glob(os.path.join(root, "ladder-*.json"))) if root else []
rows = []
for path in files:
    with open(path) as fh:
        result = json.load(fh)
    for r in result.get("records", []):
        if r.get("status") == "ok":
            rows.append((result["meta"].get("rung", os.path.basename(path)), r["method"], r.get("wall_s"),
                         r.get("log_volume"), r.get("log_volume_se"), r.get("diagnose_passed")))
if not rows:
    print("No benchmark results found. Produce them with:\n"
          "  uv run python benchmarks/ladder.py --rung xor --out benchmarks/results/ladder-xor.json")
else:
    print(f"{'rung':6s} {'method':15s} {'wall s':>7s} {'log vol(S)':>16s}  diagnose")
    for rung, method, wall, vol, se, passed in rows:
        vol_text = "—" if vol is None else f"{vol:.2f} ± {se:.2f}" if se is not None else f"{vol:.2f}"
        verdict = {True: "passed", False: "failed", None: "—"}[passed]
        print(f"{rung:6s} {method:15s} {wall:7.1f} {vol_text:>16s}  {verdict}")

# %%
if rows:
    rungs = list(dict.fromkeys(r[0] for r in rows))
    fig, axes = plt.subplots(1, len(rungs), figsize=(5.5 * len(rungs), 3.8), constrained_layout=True, squeeze=False)
    for ax, rung in zip(axes[0], rungs):
        mine = [r for r in rows if r[0] == rung and r[3] is not None]
        ax.errorbar([r[3] for r in mine], np.arange(len(mine)), xerr=[2 * (r[4] or 0) for r in mine], fmt="o")
        ax.set(yticks=np.arange(len(mine)), yticklabels=[f"{r[1]} ({r[2]:.0f} s)" for r in mine],
               xlabel="log vol(S) ± 2 SE", title=f"ladder rung: {rung}")
    fig.suptitle("benchmark ladder: volume estimates by method (wall time in brackets)")
    plt.show()

# %% [markdown]
# ## The volume against the population size
#
# Each SMC population's $\hat Z$ is unbiased for vol(S), but skewed: a small population
# usually misses the rare runs that find more of $S$, so $\log \hat Z$ is biased low, by an
# amount that shrinks with the particles per population $N$. `benchmarks/volume_bias.py`
# runs 8 (or 4) independent populations at each $N$; plotted against $1/N$, the mean
# $\log \hat Z$ should approach a straight line to the large-$N$ value. On random labels
# `smc` and the tuned BlackJAX peer extrapolate to the same value; on the 1441-weight
# teacher 500 particles per population sat 0.2–0.4 nats low (BENCHMARKS.md). Those runs
# moved each population with a mass estimated from its own particles (`mass="own"`); the
# default since, `mass="other"` (the next population's), removed the bias on random
# labels (BENCHMARKS.md, "Where the small-population bias of the volume came from").
# A run's `tree.attrs["log_volume_population_sd"]` is the spread this plot's error bars
# come from; above 0.25 nats `tree.attrs["log_volume_note"]` warns of the bias. The plot
# shows the result files `benchmarks/results` holds (some sizes were measured without
# keeping a file; BENCHMARKS.md has every number).

# %%
bias = {}
for path in sorted(glob.glob(os.path.join(root, "volume-bias-*.json"))) if root else []:
    with open(path) as fh:
        result = json.load(fh)
    for r in result["records"]:
        values = np.asarray([v for v in r["log_volume_per_population"] if v is not None], dtype=float)
        if values.size >= 2:
            # smc's records before cn.SMC(mass="other") (the default since) have no "mass":
            # their populations moved with their own mass, the setting that biased them
            label = r["method"] + (f" (mass={r.get('mass') or 'own'})" if r["method"] == "smc" else "")
            bias.setdefault((r["rung"], label), []).append(
                (r["num_particles"], values.mean(), values.std(ddof=1) / np.sqrt(values.size)))
if not bias:
    print("No volume-bias results found. Produce them with:\n"
          "  uv run python benchmarks/volume_bias.py --rung random-labels --sizes 250 500 1000 2000")
else:
    rungs = sorted({rung for rung, _ in bias})
    fig, axes = plt.subplots(1, len(rungs), figsize=(5.5 * len(rungs), 3.8), constrained_layout=True, squeeze=False)
    for ax, rung in zip(axes[0], rungs):
        for (r_rung, method), points in sorted(bias.items()):
            if r_rung != rung:
                continue
            n, mean, sem = (np.asarray(c, dtype=float) for c in zip(*sorted(points)))
            ax.errorbar(1.0 / n, mean, yerr=2 * sem, fmt="o-", capsize=3, label=method)
            for x, y, size in zip(1.0 / n, mean, n):
                ax.annotate(f"N={size:.0f}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set(xlabel="1 / particles per population", ylabel="mean log Ẑ of a population ± 2 SE", title=rung)
        ax.legend()
    fig.suptitle("the small-population bias of log Ẑ")
    plt.show()
