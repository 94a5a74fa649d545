"""Every docstring example in the library runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import specbias

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(specbias.__path__, "specbias.")
    if ".experiments" not in m.name and not m.name.endswith(".cli")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                          verbose=False)
    assert res.failed == 0, f"{res.failed} doctest(s) failed in {name}"
