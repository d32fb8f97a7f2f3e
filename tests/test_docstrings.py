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


def _bare_examples(source: str) -> list[int]:
    """Lines of ``source`` that start a doctest outside an ``Examples:`` section or ``::`` block."""
    import ast

    bare = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        docstring = ast.get_docstring(node, clean=False)
        if docstring is None:
            continue
        lines = docstring.splitlines()
        for number, line in enumerate(lines):
            if not line.lstrip().startswith(">>>"):
                continue
            indent = len(line) - len(line.lstrip())
            above = [x for x in lines[:number] if x.strip()]
            # The nearest line above with less indentation heads the block.
            head = next(
                (x.strip() for x in reversed(above) if len(x) - len(x.lstrip()) < indent), ""
            )
            if head != "Examples:" and not head.endswith("::"):
                bare.append(node.body[0].lineno + number)
    return bare


@pytest.mark.parametrize("name", _modules())
def test_examples_sit_where_the_docs_render_them_as_code(name: str) -> None:
    # A bare doctest renders as nested quotes in the API reference, and a plugin may read
    # an output such as ``[0.5, 1.0, 1.5]`` as a link; an ``Examples:`` section is code.
    module = importlib.import_module(name)
    assert module.__file__ is not None
    with open(module.__file__, encoding="utf-8") as file:
        assert _bare_examples(file.read()) == []
