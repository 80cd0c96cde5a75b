"""The house rules of the package, checked: layers, module size, the public namespace.

Layers, lowest first (``docs/architecture.md`` explains them). A module may import from
its own layer and the ones below, never from a layer above, also not lazily inside a
function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import consistent_nets as cn

PACKAGE = Path(cn.__file__).parent

LAYERS = [
    {"_checks", "_compile", "_errors", "_trees"},
    {"_nets", "_priors", "_constraints"},
    {"_plugin"},
    {"_problem", "_model_sites", "_reuse"},
    {"_target", "symmetry", "datasets"},
    {"samplers", "_output"},
    {"_api", "_postprocess", "_bounds"},
    {"diagnostics"},
    {"plots", "extend"},
    {"cli", "__init__", "__main__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def _unit(path: Path) -> str:
    """The layer unit of a module: its top-level name below the package."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imported_units(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    package_parts = path.relative_to(PACKAGE).parent.parts
    units = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package_parts[: len(package_parts) - (node.level - 1)]
                target = list(base) + (node.module.split(".") if node.module else [])
                names = [alias.name for alias in node.names]
                units.update([target[0]] if target else names)
            elif node.module and node.module.split(".")[0] == "consistent_nets":
                rest = node.module.split(".")[1:]
                units.update([rest[0]] if rest else ["__init__"])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "consistent_nets":
                    units.add(parts[1] if len(parts) > 1 else "__init__")
    return units


def test_every_module_has_a_layer():
    assert {_unit(p) for p in MODULES} <= set(LAYER)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_up_the_layers(path):
    own = LAYER[_unit(path)]
    above = {u for u in _imported_units(path) if LAYER.get(u, -1) > own}
    assert not above, f"{path.relative_to(PACKAGE)} (layer {own}) imports {above} from higher layers"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_are_short_enough_to_read(path):
    assert len(path.read_text().splitlines()) <= 300


def test_public_namespace_is_sorted_and_holds_no_internals():
    assert cn.__all__ == sorted(cn.__all__)
    assert all(hasattr(cn, name) for name in cn.__all__)
    for internal in ("Target", "make_target", "Sampler"):
        assert internal not in cn.__all__
    from consistent_nets import extend

    assert {"Target", "make_target", "Sampler", "Result", "register_sampler"} <= set(extend.__all__)
