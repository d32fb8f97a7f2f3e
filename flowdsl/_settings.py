"""Where each run option comes from: the call, ``configure(...)``, the environment, the default.

Each option resolves on its own, first match wins:

1. the argument of the call (``flow.run(backend="thread")``; ``None`` means not given),
2. ``flowdsl.configure(...)`` (process-wide; also a context manager),
3. the ``FLOWDSL_<NAME>`` environment variable, read at each run (never at import),
4. the option's default.

``configure`` keeps its values as layers, one per call, in call order (later
wins). A layer is removed when its ``with`` block exits, wherever it is in
the stack, so blocks that exit out of order (in different threads) never
undo each other's values. The merged view is rebuilt under a lock at each
change and read without one by every run.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import attrs

from ._options import OPTIONS, Option, Settings, checked_settings
from ._suggest import did_you_mean
from .errors import SettingsError

__all__ = ["EffectiveSettings", "SettingValue", "configure", "resolve", "settings"]

_BY_NAME: Mapping[str, Option] = {opt.name: opt for opt in OPTIONS}
_DEFAULTS: Mapping[str, Any] = {opt.name: opt.default for opt in OPTIONS}


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


#: In a layer: ``configure(name=None)`` took the name back to the environment or default.
_UNSET: Any = _Unset()


class _Layer:
    """The values of one ``configure(...)`` call, and whether its caller may still remove it."""

    __slots__ = ("owner", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.owner: weakref.ref[_Configuration] | None = None


_lock = threading.Lock()
_layers: list[_Layer] = []
#: The merged layers: a new dict published under ``_lock`` at each change and never changed
#: afterwards, so that a run reads it without the lock.
_configured: dict[str, Any] = {}


def _rebuild() -> None:
    """Merge adjacent layers no caller can remove any more, and publish the merged view."""
    global _configured
    compact: list[_Layer] = []
    for layer in _layers:
        if compact and _is_final(compact[-1]) and _is_final(layer):
            merged = _Layer({**compact[-1].values, **layer.values})
            compact[-1] = merged
        else:
            compact.append(layer)
    _layers[:] = compact
    view: dict[str, Any] = {}
    for layer in _layers:
        view.update(layer.values)
    _configured = {k: v for k, v in view.items() if v is not _UNSET}


def _is_final(layer: _Layer) -> bool:
    # A layer whose configure() result is gone can no longer be entered or exited.
    return layer.owner is None or layer.owner() is None


class _Configuration:
    """What ``configure(...)`` returns: already applied; as a context manager, undone on exit."""

    def __init__(self, layer: _Layer) -> None:
        self._layer = layer

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with _lock:
            if self._layer in _layers:
                _layers.remove(self._layer)
                _rebuild()

    def __repr__(self) -> str:
        given = ", ".join(
            f"{name}={None if value is _UNSET else value!r}"
            for name, value in self._layer.values.items()
        )
        return f"configure({given})"


def _option(name: str, caller: str) -> Option:
    opt = _BY_NAME.get(name)
    if opt is None:
        raise SettingsError(
            f"{caller}() got an unknown option {name!r}{did_you_mean(name, _BY_NAME)} "
            f"(options: {', '.join(_BY_NAME)})",
            source=f"{caller}({name}=...)",
        )
    return opt


def configure(**options: Any) -> AbstractContextManager[None]:
    """Set run options for the whole process; as a ``with`` block, only until it exits.

    Values are checked at once and merged with what was configured before;
    ``name=None`` takes an option back to its environment variable or default.
    A call's own arguments still win over what is configured here.

    Examples:
        >>> import flowdsl
        >>> with flowdsl.configure(backend="thread", max_workers=4):
        ...     flowdsl.settings()["backend"]
        SettingValue(name='backend', value='thread', source='configure')
        >>> flowdsl.settings()["backend"].source
        'default'

    Raises:
        SettingsError: an unknown option or a bad value, naming
            ``configure(name=...)`` as its source.
    """
    values = {
        name: _UNSET if value is None else _option(name, "configure").check(value, "configure")
        for name, value in options.items()
    }
    layer = _Layer(values)
    configuration = _Configuration(layer)
    layer.owner = weakref.ref(configuration)
    with _lock:
        _layers.append(layer)
        _rebuild()
    return configuration


def resolve(arguments: Mapping[str, Any]) -> Settings:
    """The settings of one run whose call gave ``arguments`` (other names are ignored)."""
    return checked_settings(_resolve(arguments))


def _resolve(arguments: Mapping[str, Any], sources: dict[str, str] | None = None) -> dict[str, Any]:
    """Each option's value, layer over layer; where each came from goes to ``sources``.

    A variable that a ``configure`` value or an argument shadows is not read.
    """
    configured = _configured
    given = {
        opt.name: opt.check(value, "argument")
        for opt in OPTIONS
        if (value := arguments.get(opt.name)) is not None
    }
    environment = {
        name: _BY_NAME[name].from_environment(text)
        for name, text in _environment().items()
        if name not in configured and name not in given
    }
    if sources is not None:
        sources.update(dict.fromkeys(_DEFAULTS, "default"))
        sources.update({name: f"environment {_BY_NAME[name].env}" for name in environment})
        sources.update(dict.fromkeys(configured, "configure"))
        sources.update(dict.fromkeys(given, "argument"))
    return {**_DEFAULTS, **environment, **configured, **given}


def _environment() -> dict[str, str]:
    """The options' ``FLOWDSL_*`` variables set now (and not empty), by option name."""
    environ = os.environ
    data = getattr(environ, "_data", None)
    if type(data) is not dict or not isinstance(environ, os._Environ):
        found = {opt.name: environ.get(opt.env) for opt in OPTIONS}
        return {name: text for name, text in found.items() if text}
    # CPython's ``os.environ`` keeps the variables in a dict under encoded keys,
    # in step with ``os.environ[...] = ...``. Looking them up there skips the
    # KeyError that ``os.environ.get`` raises and catches for each unset
    # variable (about 1 µs apiece, most of what resolving would cost a run).
    names, keys = _encoded_keys(environ.encodekey)
    if data.keys().isdisjoint(keys):
        return {}
    return {name: environ.decodevalue(data[key]) for name, key in names if data.get(key)}


@functools.lru_cache(maxsize=4)
def _encoded_keys(
    encode: Callable[[str], Any],
) -> tuple[tuple[tuple[str, Any], ...], frozenset[Any]]:
    names = tuple((opt.name, encode(opt.env)) for opt in OPTIONS)
    return names, frozenset(key for _, key in names)


@attrs.frozen
class SettingValue:
    """One option's effective value and where it came from.

    ``source`` is ``"argument"``, ``"configure"``, ``"environment FLOWDSL_<NAME>"``
    or ``"default"``.

    Examples:
        >>> import flowdsl
        >>> flowdsl.settings(timeout=5)["timeout"]
        SettingValue(name='timeout', value=5.0, source='argument')
    """

    name: str
    value: Any
    source: str


@attrs.frozen
class EffectiveSettings:
    """The value of every option and where it came from; prints as a table.

    ``values`` holds the values (a ``Settings``), ``records`` one
    ``SettingValue`` per option, and ``report[name]`` the one of an option.

    Examples:
        >>> import flowdsl
        >>> report = flowdsl.settings(backend="thread")
        >>> report.values.backend, report["backend"].source
        ('thread', 'argument')
        >>> print(report)
        option           value      source
        backend          'thread'   argument
        on_error         'raise'    default
        max_workers      None       default
        max_concurrency  None       default
        timeout          None       default
        contracts        'strict'   default
        cache            False      default
        anyio_backend    'asyncio'  default
        retry            None       default
        checkpoint       None       default
        progress         False      default
        dask_address     None       default
    """

    values: Settings
    records: tuple[SettingValue, ...]

    def __getitem__(self, name: str) -> SettingValue:
        for record in self.records:
            if record.name == name:
                return record
        names = [r.name for r in self.records]
        raise KeyError(f"no option {name!r}{did_you_mean(name, names)}")

    def table(self) -> str:
        """A plain-text table: one row per option with its value and source."""
        rows = [("option", "value", "source")]
        rows += [(r.name, repr(r.value), r.source) for r in self.records]
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        return "\n".join(
            f"{name:<{widths[0]}}  {value:<{widths[1]}}  {source}" for name, value, source in rows
        )

    def __str__(self) -> str:
        return self.table()


def settings(**arguments: Any) -> EffectiveSettings:
    """The options a run would use now, and where each value comes from.

    Give options as keywords to see what a call with those arguments would use.

    Examples:
        >>> import flowdsl
        >>> flowdsl.settings()["contracts"]
        SettingValue(name='contracts', value='strict', source='default')

    Raises:
        SettingsError: an unknown option or a bad value (in an argument,
            or in a ``FLOWDSL_*`` environment variable).
    """
    for name in arguments:
        _option(name, "settings")
    sources: dict[str, str] = {}
    values = _resolve(arguments, sources)
    records = tuple(SettingValue(name, value, sources[name]) for name, value in values.items())
    return EffectiveSettings(checked_settings(values), records)
