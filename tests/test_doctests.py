"""The examples in the package's docstrings run and print what they say."""

import doctest
import importlib
import pkgutil

import pytest

import consistent_nets

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(consistent_nets.__path__, "consistent_nets.")
    if not m.name.endswith("__main__")  # running it is the CLI
)


@pytest.mark.parametrize("name", ["consistent_nets", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name} (see output)"
