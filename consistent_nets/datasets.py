"""Datasets that ship with the package (nothing is downloaded at run time)."""

from __future__ import annotations

import jax
import numpy as np

from .nets import MLP
from .priors import Prior

__all__ = ["xor", "moons", "random_labels", "teacher", "digits"]


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points: X (4, 2) float32 in {-1, 1}², y (4,) in {-1, +1}."""
    X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float32)
    y = np.array([-1, 1, 1, -1], dtype=np.int32)
    return X, y


def moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's two moons, standardised; y in {-1, +1}."""
    from sklearn.datasets import make_moons

    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), (2 * y - 1).astype(np.int32)


def random_labels(n: int = 40, d: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal inputs with independent fair ±1 labels (no structure to learn)."""
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1, got n={n}, d={d}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.choice(np.array([-1, 1], dtype=np.int32), size=n)
    return X, y


def teacher(net: MLP, n: int = 100, prior: Prior | None = None, seed: int = 0):
    """A planted teacher: ``w* ~ prior``, X standard normal, y = labels of ``net_{w*}(X)``.

    ``w*`` is an exact draw from S of its own problem (uniform-on-S calibration).

    Returns
    -------
    X : (n, d_in) float32
    y : (n,) labels: ±1 when ``d_out == 1``, else argmax class indices
    w_star : dict of the teacher's weights
    """
    from .priors import BoxPrior

    if not isinstance(net, MLP):
        raise ValueError(f"net must be a cn.MLP, got {type(net).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    prior = BoxPrior(3.0) if prior is None else prior
    key = jax.random.key(seed)
    k_w, k_x = jax.random.split(key)
    draws = prior.sample(k_w, net.param_shapes, 1)
    w_star = {k: np.asarray(v[0]) for k, v in draws.items()}
    X = np.asarray(jax.random.normal(k_x, (n, net.d_in)), dtype=np.float32)
    f = np.asarray(net.apply(w_star, X))
    if net.d_out == 1:
        y = np.where(f[:, 0] >= 0, 1, -1).astype(np.int32)
    else:
        y = np.argmax(f, axis=1).astype(np.int32)
    return X, y, w_star


def digits(classes: tuple[int, ...] = (0, 7), n: int = 128, seed: int = 0):
    """``n`` 8×8 digits of the given classes from scikit-learn's bundled set.

    Pixels scaled to [0, 1]. Two classes give y in {-1, +1} (first class -1);
    more give integer labels ``0..len(classes)-1`` in the order given.
    """
    from sklearn.datasets import load_digits

    classes = tuple(int(c) for c in classes)
    if len(classes) < 2 or len(set(classes)) != len(classes) or not all(0 <= c <= 9 for c in classes):
        raise ValueError(f"classes must be >= 2 distinct digits in 0..9, got {classes}")
    data = load_digits()
    mask = np.isin(data.target, classes)
    X_all, t_all = data.data[mask] / 16.0, data.target[mask]
    if n < 1 or n > len(t_all):
        raise ValueError(f"n must be in 1..{len(t_all)} for classes {classes}, got {n}")
    idx = np.random.default_rng(seed).permutation(len(t_all))[:n]
    X, t = X_all[idx].astype(np.float32), t_all[idx]
    index = np.array([classes.index(c) for c in t], dtype=np.int32)
    y = (2 * index - 1).astype(np.int32) if len(classes) == 2 else index
    return X, y
