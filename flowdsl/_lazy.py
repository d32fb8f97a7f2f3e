"""Modules imported on first use, so that ``import flowdsl`` stays light.

``sqlite3``, ``pickle``, ``anyio`` and their dependencies cost more to import
than most scripts use them for (a serial run needs no event loop): a module
that needs one only for a SQLite store, a checkpoint or a concurrent run
names it through ``lazy_module`` (under ``TYPE_CHECKING`` it
imports the real module, so types are checked as usual)::

    if TYPE_CHECKING:
        import sqlite3
    else:
        sqlite3 = lazy_module("sqlite3")

The first attribute read imports the module; every attribute read is then
kept on the proxy, so a hot path pays one instance-dict lookup.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule:
    """A stand-in for a module, imported when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self._name)
        try:
            value = getattr(module, attribute)
        except AttributeError:
            # A submodule the package does not import itself (``anyio.to_thread``
            # since anyio 4.15), as ``import package.submodule`` would give.
            submodule = f"{self._name}.{attribute}"
            try:
                value = importlib.import_module(submodule)
            except ModuleNotFoundError as error:
                if error.name != submodule:
                    raise
                raise AttributeError(f"module {self._name!r} has no {attribute!r}") from None
        setattr(self, attribute, value)
        return value

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str) -> Any:
    """A proxy of the module ``name`` that imports it on first attribute access.

    Examples:
        >>> json = lazy_module("json")
        >>> json.dumps([1])
        '[1]'
    """
    return _LazyModule(name)
