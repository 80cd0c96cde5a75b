"""Same key, same tree: every method's XOR output pinned to values recorded earlier.

The arrays in ``tests/data/pinned_xor.npz`` were written by this file
(``python tests/test_pinned.py --write``) from the code before a behaviour-preserving
refactor; a change that alters what any method draws for a given key fails here. A change
that is *meant* to alter the draws rewrites the file, and its commit says why.
Sizes are tiny (16 draws, 2 chains) so each method runs in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # the test suite's XLA settings (tests/conftest.py) must be in place before JAX starts
    sys.path.insert(0, str(Path(__file__).parent))
    import conftest  # noqa: F401

import jax
import numpy as np
import pytest

import consistent_nets as cn

PINNED = Path(__file__).parent / "data" / "pinned_xor.npz"

CONFIGS = {
    "rejection": dict(method="rejection", num_samples=16),
    "sgd": dict(method=cn.SGD(max_steps=300, batch_size=32), num_samples=8),
    "smc": dict(method="smc", num_samples=16),
    "anneal": dict(method=cn.Anneal(num_stages=4, num_warmup=20, num_steps=10), num_samples=16),
}


def _xor_problem():
    X, y = cn.datasets.xor()
    return cn.Problem(cn.MLP([2, 3, 1], activation="tanh"), X, y, cn.BoxPrior(3.0), cn.Margin(0.0))


def _run(name):
    return cn.sample(
        _xor_problem(), num_chains=2, rng_key=jax.random.key(7), progress_bar=False, symmetrize=False, **CONFIGS[name]
    )


def _arrays(name, tree) -> dict[str, np.ndarray]:
    out = {}
    for site in tree.posterior.data_vars:
        out[f"{name}/posterior/{site}"] = np.asarray(tree.posterior[site].values)
    out[f"{name}/in_set"] = np.asarray(tree.sample_stats["in_set"].values)
    for attr in ("log_volume", "log_volume_se"):
        out[f"{name}/{attr}"] = np.asarray(float(tree.attrs[attr]))
    return out


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_same_key_same_tree_as_pinned(name):
    pinned = np.load(PINNED)
    got = _arrays(name, _run(name))
    expected = {k: pinned[k] for k in pinned.files if k.startswith(f"{name}/")}
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-6, atol=1e-7, equal_nan=True, err_msg=key)


if __name__ == "__main__" and "--write" in sys.argv:
    arrays = {}
    for name in sorted(CONFIGS):
        arrays |= _arrays(name, _run(name))
    np.savez(PINNED, **arrays)
    print(f"wrote {PINNED} ({len(arrays)} arrays)")
