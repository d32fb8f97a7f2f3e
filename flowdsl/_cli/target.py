"""Find the flow a command line names: a ``.py`` file, a module, or ``module:attribute``.

A file or module gives the flow of its ``@vertex`` functions; one without
vertices gives the one ``Flow`` it defines. ``TARGET:name`` picks an attribute:
a ``Flow``, a ``Graph``, a module or a ``@vertex`` function.

Importing the target runs its top-level code, as ``python -m`` would (but
under its own name, so ``if __name__ == "__main__":`` blocks do not run). A
``CompileError`` raised while importing or compiling propagates unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import Flow, Graph
from .._cli_surface import ExpandedVertices, did_you_mean, spec_of
from ..errors import CompileError
from .errors import CommandError, UsageError

__all__ = ["load_flow"]

_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_HINT = "TARGET is a .py file, a module importable from here, or either of them followed by :name"


def load_flow(target: str, config: Sequence[str] = ()) -> Flow:
    """The flow ``target`` names, compiled with the ``--config KEY=VALUE`` entries given;
    ``UsageError`` if it names nothing usable."""
    source, attribute = _split(target)
    module = _import(source)
    compile_config = parse_config(config)
    if attribute is None:
        return _flow_of_module(module, source, compile_config)
    return _flow_of(_attribute(module, source, attribute), target, compile_config)


def parse_config(pairs: Sequence[str]) -> dict[str, Any] | None:
    """``--config KEY=VALUE`` entries as a config (``None`` when none is given): a VALUE
    that parses as JSON is that value, any other is the string itself."""
    if not pairs:
        return None
    config: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or not key:
            raise UsageError(f"--config takes KEY=VALUE, got {pair!r}")
        try:
            config[key] = json.loads(text)
        except ValueError:
            config[key] = text
    return config


def _split(target: str) -> tuple[str, str | None]:
    source, colon, attribute = target.rpartition(":")
    if colon and source and _ATTRIBUTE.fullmatch(attribute):
        return source, attribute
    return target, None


def _is_file(source: str) -> bool:
    return source.endswith(".py") or os.sep in source or "/" in source


def _import(source: str) -> types.ModuleType:
    if _is_file(source):
        return _import_file(Path(source))
    if not _ATTRIBUTE.fullmatch(source):
        raise UsageError(f"{source!r} is neither a .py file nor a module name", hint=_HINT)
    # Like ``python -m``: modules in the current directory are importable.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (source == exc.name or source.startswith(exc.name + ".")):
            raise UsageError(f"no module named {source!r}", hint=_HINT) from exc
        raise _import_failed(source, exc) from exc
    except CompileError:
        raise
    except Exception as exc:
        raise _import_failed(source, exc) from exc


def _import_file(path: Path) -> types.ModuleType:
    if not path.is_file():
        raise UsageError(f"no such file: {path}", hint=_HINT)
    name = path.stem if _ATTRIBUTE.fullmatch(path.stem) else "_flowdsl_target"
    if name in sys.modules:
        name = f"_flowdsl_target_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path} as a Python module", hint=_HINT)
    module = importlib.util.module_from_spec(spec)
    # Registered before running, so that its classes resolve their annotations;
    # its folder goes first on the path, as for ``python FILE``.
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except CompileError:
        raise
    except Exception as exc:
        raise _import_failed(str(path), exc) from exc
    return module


def _import_failed(source: str, exc: Exception) -> CommandError:
    return CommandError(
        f"importing {source} raised {type(exc).__name__}: {exc}",
        hint="--traceback shows where",
    )


def _attribute(module: types.ModuleType, source: str, attribute: str) -> Any:
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            names = [n for n in dir(value) if not n.startswith("_")]
            raise UsageError(
                f"{source} has no attribute {attribute!r}{did_you_mean(part, names)}"
            ) from None
    return value


def _flow_of(value: Any, target: str, config: Mapping[str, Any] | None) -> Flow:
    if isinstance(value, (Flow, Graph)) and config is not None:
        raise UsageError(
            f"{target} is already compiled, so --config cannot choose its variants",
            hint="name the module instead, or compile it with flowdsl.compile(..., config=...)",
        )
    if isinstance(value, Flow):
        return value
    if isinstance(value, Graph):
        return Flow(value)
    if isinstance(value, types.ModuleType):
        return _flow_of_module(value, target, config)
    if spec_of(value) is not None or isinstance(value, ExpandedVertices):
        return Flow.from_functions(value, config=config)
    raise UsageError(
        f"{target} is a {type(value).__name__}, not a Flow, a graph, a module or a @vertex function"
    )


def _flow_of_module(
    module: types.ModuleType, source: str, config: Mapping[str, Any] | None
) -> Flow:
    members = vars(module)
    if any(
        spec_of(value) is not None or isinstance(value, ExpandedVertices)
        for value in members.values()
    ):
        return Flow.from_module(module, config=config)
    flows = [name for name, value in members.items() if isinstance(value, Flow)]
    if len(flows) == 1:
        flow: Flow = members[flows[0]]
        return flow
    if flows:
        raise UsageError(
            f"{source} defines no @vertex functions but several flows: {', '.join(flows)}",
            hint=f"name one, for example {source}:{flows[0]}",
        )
    raise UsageError(f"{source} defines no @vertex functions and no Flow")
