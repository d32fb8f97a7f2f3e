"""Write test modules as real files, so that vertices have real source locations."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowdsl import SourceLocation

_serial = itertools.count()


class ModuleMaker:
    """``make(source)`` writes ``source`` to a ``.py`` file, imports it and returns the module."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.names: list[str] = []

    def __call__(
        self, source: str, *, name: str | None = None, future: bool = False
    ) -> types.ModuleType:
        name = name or f"flowdsl_test_module_{next(_serial)}"
        text = textwrap.dedent(source).lstrip("\n")
        if future:
            text = "from __future__ import annotations\n" + text
        path = self.directory / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # typing resolves class annotations through sys.modules
        self.names.append(name)
        spec.loader.exec_module(module)
        return module

    def cleanup(self) -> None:
        for name in self.names:
            sys.modules.pop(name, None)


def line_of(module: types.ModuleType, needle: str) -> int:
    """The 1-based number of the first line of ``module``'s file containing ``needle``."""
    assert module.__file__ is not None
    lines = Path(module.__file__).read_text(encoding="utf-8").splitlines()
    matches = [number for number, line in enumerate(lines, 1) if needle in line]
    assert matches, f"{needle!r} not in {module.__file__}"
    return matches[0]


def def_location(module: types.ModuleType, function: str) -> SourceLocation:
    """Where ``def function`` (or ``async def function``) is in ``module``'s file."""
    assert module.__file__ is not None
    return SourceLocation(module.__file__, line_of(module, f"def {function}("))


@pytest.fixture
def make_module(tmp_path: Path) -> Iterator[ModuleMaker]:
    maker = ModuleMaker(tmp_path)
    yield maker
    maker.cleanup()
