"""Same key, same tree: every method's XOR output pinned to values recorded earlier.

The arrays in ``tests/data/pinned_xor.npz`` were written by this file
(``python tests/test_pinned.py --write``) from the code before a behaviour-preserving
refactor; a change that alters what any method draws for a given key fails here. A change
that is *meant* to alter the draws rewrites the file, and its commit says why.
Sizes are tiny (16 draws, 2 chains) so each method runs in seconds.

``smc`` and ``anneal`` move with NUTS, whose trajectories amplify the last bits of
floating point: XLA compiles for the host CPU, so the same key gives other draws on
another CPU (an AMD EPYC and an Intel Xeon of this project's machines disagree from the
first NUTS move). Their entries are pinned per CPU: ``pinned_xor.npz`` holds them for
:data:`RECORDED_ON`, ``pinned_xor.<cpu>.npz`` for another CPU (written by ``--write``
there); on a CPU with neither they are skipped, saying so. ``rejection`` and ``sgd`` are
the same on every CPU seen and are always checked against ``pinned_xor.npz``.
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
#: the CPU whose smc and anneal draws pinned_xor.npz holds
RECORDED_ON = "AuthenticAMD-25-17"
#: methods whose draws depend on the CPU's floating point (NUTS moves)
CPU_DEPENDENT = ("anneal", "smc")


def _cpu() -> str:
    """``vendor-family-model`` of this machine's CPU (``unknown`` where it cannot be read)."""
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        return "unknown"
    return "-".join(fields.get(k, "unknown") for k in ("vendor_id", "cpu family", "model"))


def _pinned_file(name: str) -> Path:
    if name not in CPU_DEPENDENT or _cpu() == RECORDED_ON:
        return PINNED
    return PINNED.with_name(f"pinned_xor.{_cpu()}.npz")

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
    path = _pinned_file(name)
    if not path.exists():
        pytest.skip(f"{name}'s draws depend on the CPU (NUTS) and none are pinned for this one ({_cpu()}): "
                    "python tests/test_pinned.py --write on the code before a refactor pins them")
    pinned = np.load(path)
    got = _arrays(name, _run(name))
    expected = {k: pinned[k] for k in pinned.files if k.startswith(f"{name}/")}
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-6, atol=1e-7, equal_nan=True, err_msg=key)


if __name__ == "__main__" and "--write" in sys.argv:
    # on RECORDED_ON every method into pinned_xor.npz; elsewhere the CPU-dependent ones into this CPU's file
    names = sorted(CONFIGS) if _cpu() == RECORDED_ON else CPU_DEPENDENT
    arrays = {}
    for name in names:
        arrays |= _arrays(name, _run(name))
    path = _pinned_file(names[0])
    np.savez(path, **arrays)
    print(f"wrote {path} ({len(arrays)} arrays)")
