"""Every example in the package's docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import types

import pytest

import flowdsl


def _modules() -> list[str]:
    names = [flowdsl.__name__]
    for info in pkgutil.walk_packages(flowdsl.__path__, prefix="flowdsl."):
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    module: types.ModuleType = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert failures == 0


def test_the_public_api_examples_are_found_and_run() -> None:
    # Public names report ``flowdsl`` as their module, so their examples run here.
    results = doctest.testmod(flowdsl, optionflags=doctest.ELLIPSIS)
    assert results.failed == 0
    assert results.attempted >= 50
