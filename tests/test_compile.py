"""Start-up and compilation settings, each checked in a fresh interpreter.

Importing the package configures nothing and imports no JAX; the persistent compilation
cache is switched on at the library's first compile unless the user configured one or
switched it off; small problems get XLA's cheaper CPU pipeline unless ``XLA_FLAGS``
chooses. The tests' own cache settings (``conftest.py``) are removed from the children's
environment where the library's defaults are under test.
"""

import json
import os
import subprocess
import sys

import pytest

from consistent_nets import _compile

CHILD = """
import json, sys
import consistent_nets as cn
out = {"jax_after_import": "jax" in sys.modules,
       "heavy_after_import": sorted(m for m in ("sklearn", "xarray", "matplotlib", "blackjax", "optax") if m in sys.modules)}
import jax
from consistent_nets.extend import make_target
X, y = cn.datasets.xor()
make_target(cn.Problem(cn.MLP([2, 3, 1]), X, y, cn.BoxPrior(3.0), cn.Margin(0.0)))  # its first compile
out["cache_dir"] = jax.config.jax_compilation_cache_dir
print(json.dumps(out))
"""


def run_child(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT", "CONSISTENT_NETS"))}
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300,
                            env={**base, "XDG_CACHE_HOME": str(tmp_path), **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_is_light_and_the_cache_starts_at_the_first_compile(tmp_path):
    out = run_child(tmp_path)
    assert out["jax_after_import"] is False and out["heavy_after_import"] == []
    assert out["cache_dir"] == str(tmp_path / "consistent-nets" / "jax")


def test_the_cache_can_be_switched_off_or_moved(tmp_path):
    assert run_child(tmp_path, CONSISTENT_NETS_CACHE="0")["cache_dir"] is None
    assert run_child(tmp_path, CONSISTENT_NETS_CACHE=str(tmp_path / "mine"))["cache_dir"] == str(tmp_path / "mine")


def test_a_cache_the_user_configured_is_respected(tmp_path):
    assert run_child(tmp_path, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "theirs"))["cache_dir"] == str(tmp_path / "theirs")


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(_compile.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _compile.cache_dir() == tmp_path / "consistent-nets" / "jax"
    for off in ("0", "off", "False", "no"):
        monkeypatch.setenv(_compile.CACHE_ENV, off)
        assert _compile.cache_dir() is None


@pytest.mark.parametrize(
    ("flags", "work", "cheap"),
    [
        ("--xla_force_host_platform_device_count=2", 52, True),
        ("--xla_force_host_platform_device_count=2", 10**9, False),
        ("--xla_backend_optimization_level=3", 52, False),  # the user's choice stands
    ],
)
def test_compiler_options_by_size(monkeypatch, flags, work, cheap):
    monkeypatch.setenv("XLA_FLAGS", flags)
    options = _compile.compiler_options(work)
    assert (options is not None) is cheap
    if cheap:
        assert options["xla_llvm_disable_expensive_passes"] is True
    assert _compile.compiler_options(None) is None
