"""The layers depend one way: read from every module's imports (its syntax tree).

``docs/architecture.md`` draws the layers. From the bottom: plain values
(``BOTTOM``) and the model; the services above them; the compiler and the
runtime side by side above the services; the DSL and the interfaces
(``Flow``, the CLI) on top. An import that points upward, or across from the
compiler to the runtime, fails here with the module and line that make it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

import flowdsl

PACKAGE = Path(flowdsl.__file__).parent

#: Plain values the model stores (a vertex's location, retry policy, atomic
#: group, what it maps over, the typing helpers) and the error classes. They
#: import, when they run, only each other.
BOTTOM = frozenset(
    {
        "flowdsl.errors",
        "flowdsl._location",
        "flowdsl._mapping",
        "flowdsl._policies",
        "flowdsl._groups",
        "flowdsl._typing",
    }
)
#: What ``@vertex`` and the user-facing calls are made of.
DSL = frozenset({"flowdsl._dsl", "flowdsl._vertex_options"})
#: The public face: the package itself, ``Flow``, a run's handle, the testing
#: helpers and the CLI.
INTERFACES = frozenset({"flowdsl", "flowdsl._flow", "flowdsl._handle", "flowdsl.testing"})


@attrs.frozen
class Import:
    importer: str
    imported: str
    line: int
    type_only: bool

    def __str__(self) -> str:
        kind = " (for types only)" if self.type_only else ""
        return f"{self.importer}:{self.line} imports {self.imported}{kind}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


_MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.body:
                yield statement, True
                yield from _walk(statement, True)
            for statement in child.orelse:
                yield statement, type_only
                yield from _walk(statement, type_only)
            continue
        yield child, type_only
        yield from _walk(child, type_only)


def _statements(module: str) -> Iterator[tuple[ast.AST, bool]]:
    return _walk(ast.parse(_MODULES[module].read_text(encoding="utf-8")))


def _source(module: str, node: ast.ImportFrom) -> str:
    """The module ``from ... import`` reads in ``module``, relative levels resolved."""
    if not node.level:
        return node.module or ""
    package = module if _MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str) -> Iterator[Import]:
    for node, type_only in _statements(module):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            stem = _source(module, node)
            # ``from . import x`` imports the module ``x`` when there is one.
            names = [
                f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in _MODULES else stem
                for alias in node.names
            ]
        else:
            continue
        for name in dict.fromkeys(names):
            if name == "flowdsl" or name.startswith("flowdsl."):
                yield Import(module, _owner(name), node.lineno, type_only)


def _owner(name: str) -> str:
    # ``flowdsl._model.graph.Graph`` would be a module path only up to ``graph``.
    while name not in _MODULES:
        name = name.rpartition(".")[0]
    return name


def _under(module: str, package: str) -> bool:
    # The root package holds every module, but is only the one module here.
    return module == package or (package != "flowdsl" and module.startswith(package + "."))


def _broken(importers: Callable[[str], bool], allowed: Callable[[Import], bool]) -> list[str]:
    return [
        str(found)
        for module in _MODULES
        if importers(module)
        for found in _imports(module)
        if not allowed(found)
    ]


def test_the_walk_sees_every_kind_of_import() -> None:
    """The reader resolves relative imports, ``from . import module`` and type-only ones."""
    found = {(i.imported, i.type_only) for i in _imports("flowdsl._compiler.contracts")}
    assert ("flowdsl._model.graph", False) in found
    assert ("flowdsl._services.contracts", False) in found
    errors = {(i.imported, i.type_only) for i in _imports("flowdsl.errors")}
    assert ("flowdsl._result", True) in errors
    assert "flowdsl.fingerprint" in {i.imported for i in _imports("flowdsl")}


def test_the_model_is_a_leaf() -> None:
    """The model imports only itself and the plain values it stores, even for types."""
    assert (
        _broken(
            lambda m: _under(m, "flowdsl._model"),
            lambda i: _under(i.imported, "flowdsl._model") or i.imported in BOTTOM,
        )
        == []
    )


def test_the_plain_values_import_only_each_other() -> None:
    """At run time; the errors name ``RunResult`` (the partial result they carry) for types."""
    assert _broken(lambda m: m in BOTTOM, lambda i: i.type_only or i.imported in BOTTOM) == []


_UPPER = (*DSL, *INTERFACES, "flowdsl._cli")


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("flowdsl._services", ("flowdsl._compiler", "flowdsl._runtime", *_UPPER)),
        # The compiler reads what ``@vertex`` made (``flowdsl._dsl``): its input.
        ("flowdsl._compiler", ("flowdsl._runtime", *INTERFACES, "flowdsl._cli")),
        ("flowdsl._runtime", ("flowdsl._compiler", *_UPPER)),
        # The run options' declaration and their resolution serve the runtime and the CLI.
        ("flowdsl._options", ("flowdsl._runtime", "flowdsl._compiler", *_UPPER)),
        ("flowdsl._settings", ("flowdsl._runtime", "flowdsl._compiler", *_UPPER)),
    ],
)
def test_layers_do_not_import_upward_or_across(layer: str, forbidden: tuple[str, ...]) -> None:
    """Services serve the compiler and the runtime; those two never import each other,
    and none of them imports an interface (the runtime and the services not the DSL either)."""
    assert (
        _broken(
            lambda m: _under(m, layer),
            lambda i: not any(_under(i.imported, f) for f in forbidden),
        )
        == []
    )


def test_no_module_imports_a_private_name_of_another() -> None:
    """A name with a leading underscore belongs to its module; modules themselves are
    private by their file name and may be imported."""
    crossing = []
    for module in _MODULES:
        for node, _ in _statements(module):
            if isinstance(node, ast.ImportFrom) and _source(module, node).startswith("flowdsl"):
                stem = _source(module, node)
                crossing += [
                    f"{module}:{node.lineno} imports {stem}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                    and not alias.name.startswith("__")
                    and f"{stem}.{alias.name}" not in _MODULES
                ]
    assert crossing == []


def test_the_cli_uses_the_public_api_and_its_documented_surface() -> None:
    """The command line is an interface: besides ``flowdsl`` and ``flowdsl.errors`` it reads
    only ``flowdsl._cli_surface``, whose docstring says what each name there is for."""
    allowed = {"flowdsl", "flowdsl.errors", "flowdsl._cli_surface"}
    assert (
        _broken(
            lambda m: _under(m, "flowdsl._cli"),
            lambda i: i.imported in allowed or _under(i.imported, "flowdsl._cli"),
        )
        == []
    )
