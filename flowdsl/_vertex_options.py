"""Checks of the ``@vertex(...)`` options, made when the decorator runs.

``checked_options`` turns the keyword arguments into a ``VertexOptions``
record. Each check returns the option in its stored form or raises
``InvalidVertexError`` naming the vertex and the line that made it, so a bad
option fails at import time, where it was written.
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ._groups import AtomicGroup
from ._location import SourceLocation
from ._mapping import MapOver
from ._model.options import CONTRACT_MODES, DEFAULT_OPTIONS, VertexOptions
from ._policies import RetryPolicy, retry_policy
from ._suggest import did_you_mean
from .errors import BindingError, CompileError, InvalidVertexError

__all__ = [
    "OPTION_KEYWORDS",
    "Where",
    "checked_options",
    "check_compensate",
    "check_flag",
    "check_group",
    "check_fallbacks",
    "check_flows",
    "check_loop",
    "check_map_over",
    "check_positive_int",
    "check_retry",
    "check_seconds",
    "check_when",
]


class Where:
    """The vertex an option belongs to, for the error messages.

    ``made`` is where the vertex was made, or the function whose ``def`` line
    that is, read only when an error needs it (most options are fine, and
    shared records skip their checks altogether).
    """

    def __init__(self, vertex: str, made: SourceLocation | Callable[..., Any]) -> None:
        self.vertex = vertex
        self._made = made

    @property
    def location(self) -> SourceLocation:
        """Where the vertex was made (or defined)."""
        if not isinstance(self._made, SourceLocation):
            self._made = SourceLocation.of(self._made)
        return self._made

    def error(
        self, message: str, parameter: str | None = None, kind: type[CompileError] | None = None
    ) -> CompileError:
        error_class = InvalidVertexError if kind is None else kind
        return error_class(message, vertex=self.vertex, parameter=parameter, location=self.location)


def check_flows(flows: object, where: Where) -> tuple[str, ...]:
    """``flows=`` as a tuple of non-empty names."""
    if isinstance(flows, str):
        names: tuple[Any, ...] = (flows,)
    elif isinstance(flows, Iterable) and not isinstance(flows, (bytes, bytearray)):
        names = tuple(flows)
    else:
        raise where.error(f"flows= takes a flow name or an iterable of them; got {flows!r}")
    for name in names:
        if not isinstance(name, str) or not name:
            raise where.error(f"flows= takes non-empty strings; got {name!r}")
    return names


def check_flag(option: str, value: object, where: Where) -> bool:
    """``True`` or ``False``, nothing else: ``pure="false"`` is a mistake, not a true value."""
    if not isinstance(value, bool):
        raise where.error(f"{option}= takes True or False; got {value!r}")
    return value


def check_seconds(option: str, value: object, where: Where) -> float | None:
    """A positive number (seconds, or calls per second), or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise where.error(f"{option}= takes a positive number; got {value!r}")
    return float(value)


def check_positive_int(option: str, value: object, where: Where) -> int | None:
    """A whole number >= 1, or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(f"{option}= takes a whole number >= 1; got {value!r}")
    return value


def check_retry(retries: object, retry: object, where: Where) -> RetryPolicy | None:
    """The vertex's own retry policy from ``retries=`` or ``retry=`` (``None``: the run's)."""
    if retries is not None and retry is not None:
        raise where.error("give retries= or retry=, not both (retries=N is RetryPolicy(N))")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise where.error(f"retry= takes a flowdsl.RetryPolicy; got {retry!r}")
    try:
        return retry_policy(retries if retry is None else retry)
    except ValueError:
        raise where.error(f"retries= takes a whole number >= 0; got {retries!r}") from None


#: Signatures read so far: ``vertex.expand`` makes many vertices of one function.
_signatures: weakref.WeakKeyDictionary[Any, inspect.Signature] = weakref.WeakKeyDictionary()


def signature_of(function: Callable[..., Any]) -> inspect.Signature:
    """``inspect.signature(function)``, read once per function that can be weakly referenced.

    Examples:
        >>> def scale(x: float, factor: float) -> float:
        ...     return x * factor
        >>> signature_of(scale) is signature_of(scale)
        True
    """
    with contextlib.suppress(KeyError, TypeError):  # TypeError: not weakly referenceable
        return _signatures[function]
    signature = inspect.signature(function)
    with contextlib.suppress(TypeError):
        _signatures[function] = signature
    return signature


def _parameters(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(signature_of(function).parameters)


def check_fallbacks(
    fallback: object, function: Callable[..., Any], where: Where
) -> tuple[Callable[..., Any], ...]:
    """``fallback=`` as a tuple of callables whose parameters the vertex can supply."""
    if fallback is None:
        return ()
    candidates: list[Any] = list(fallback) if isinstance(fallback, (list, tuple)) else [fallback]
    own = _parameters(function)
    for candidate in candidates:
        if not callable(candidate):
            raise where.error(f"fallback= takes functions; got {candidate!r}")
        _check_takes_named(
            "fallback",
            candidate,
            own,
            f"which the vertex has no parameter for (its parameters: {', '.join(own) or 'none'})",
            where,
        )
    return tuple(candidates)


def _check_takes_named(
    role: str, candidate: Callable[..., Any], known: Iterable[str], missing: str, where: Where
) -> None:
    # A fallback or a compensation is called with keyword arguments it names
    # among ``known``: no *args, and no required parameter outside ``known``.
    name = getattr(candidate, "__name__", repr(candidate))
    try:
        parameters = _parameters(candidate)
    except (TypeError, ValueError):
        raise where.error(f"{role} {name!r} has no signature to bind") from None
    known = set(known)
    for parameter in parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            raise where.error(f"{role} {name!r} takes *{parameter.name}; it takes named parameters")
        if (
            parameter.kind is not parameter.VAR_KEYWORD
            and parameter.name not in known
            and parameter.default is parameter.empty
        ):
            raise where.error(f"{role} {name!r} needs {parameter.name!r}, {missing}")


def check_when(when: object, where: Where) -> str | Callable[..., Any] | None:
    """``when=``: ``"vertex"``, ``"vertex.field"`` or a decorated function (checked at compile)."""
    if when is None or callable(when):
        return when
    if (
        not isinstance(when, str)
        or not when
        or any(not part.isidentifier() for part in when.split("."))
        or when.count(".") > 1
    ):
        raise where.error(
            f"when= takes 'vertex', 'vertex.field' or a decorated function; got {when!r}"
        )
    return when


def check_map_over(map_over: object, function: Callable[..., Any], where: Where) -> MapOver | None:
    """``map_over=``: a parameter's name, a tuple of names (zipped) or ``product(...)``."""
    if map_over is None:
        return None
    if isinstance(map_over, str):
        spec = MapOver((map_over,))
    elif isinstance(map_over, tuple):
        spec = MapOver(map_over)
    elif isinstance(map_over, MapOver):
        spec = map_over
    else:
        raise where.error(
            "map_over= takes a parameter's name, a tuple of names (zipped) or "
            f"product(name, ...); got {map_over!r}"
        )
    parameters = _parameters(function)
    if not spec.parameters:
        raise where.error("map_over= names no parameter")
    for name in spec.parameters:
        if not isinstance(name, str) or name not in parameters:
            raise where.error(
                f"map_over= names the parameter to map over; {name!r} is not one "
                f"(parameters: {', '.join(parameters) or 'none'})"
            )
        if parameters[name].kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            raise where.error(f"map_over= cannot map over *{name} or **{name}")
    if len(set(spec.parameters)) < len(spec.parameters):
        raise where.error(f"map_over={spec!r} names a parameter twice")
    return spec


def check_group(group: object, where: Where) -> AtomicGroup | None:
    """``group=``: one ``AtomicGroup`` (a vertex belongs to at most one)."""
    if group is None or isinstance(group, AtomicGroup):
        return group
    if isinstance(group, (list, tuple, set, frozenset)):
        raise where.error("a vertex belongs to one group at most; group= takes one AtomicGroup")
    raise where.error(f"group= takes a flowdsl.AtomicGroup; got {group!r}")


def check_compensate(
    compensate: object,
    function: Callable[..., Any],
    group: AtomicGroup | None,
    where: Where,
) -> Callable[..., Any] | None:
    """``compensate=``: undoes the vertex in a ``"compensate"`` group; it takes the vertex's
    parameters it names, and the vertex's own name for its output."""
    if compensate is None:
        return None
    if group is None or group.on_failure != "compensate":
        raise where.error(
            "compensate= undoes a vertex of an AtomicGroup(..., on_failure='compensate'); "
            "this vertex is in none"
        )
    if not callable(compensate):
        raise where.error(f"compensate= takes a function; got {compensate!r}")
    _check_takes_named(
        "compensate",
        compensate,
        {*_parameters(function), where.vertex},
        f"but it may take only the vertex's parameters and {where.vertex!r} (its output)",
        where,
    )
    return compensate


def check_bind(bind: object, where: Where) -> dict[str, Any]:
    """``bind=``: a mapping of parameter names to ``From(...)``, ``Input(...)`` or a constant."""
    if not isinstance(bind, Mapping):
        raise where.error(
            f"bind= takes a mapping of parameter names to From(...), Input(...) or constants; "
            f"got {bind!r}"
        )
    for parameter, value in bind.items():
        if not isinstance(parameter, str):
            raise where.error(f"bind= keys are parameter names; got {parameter!r}")
        if getattr(value, "__flowdsl_vertex__", None) is not None:
            name = getattr(value, "__name__", repr(value))
            raise where.error(
                f"bind={{{parameter!r}: {name}}} gives a vertex as a constant; "
                f"to read its output, bind From({name}) or From({name!r})",
                parameter,
                BindingError,
            )
    return dict(bind)


def check_bound_parameters(
    bound: Mapping[str, Any], function: Callable[..., Any], where: Where
) -> tuple[tuple[str, Any], ...]:
    """Every bound name is a named parameter of ``function``."""
    if not bound:
        return ()
    parameters = _parameters(function)
    named = [
        name for name, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    for parameter in bound:
        if parameter not in named:
            raise where.error(
                f"bind= names {parameter!r}, which is not a parameter of "
                f"{getattr(function, '__qualname__', function)!r}{did_you_mean(parameter, named)}"
                f" (parameters: {', '.join(named) or 'none'})",
                parameter,
                BindingError,
            )
    return tuple(bound.items())


def check_config(config: object, where: Where) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """``config=``: keys to the value (or a tuple/list/set of values) the vertex exists for."""
    if not isinstance(config, Mapping):
        raise where.error(f"config= takes a mapping of config keys to values; got {config!r}")
    variant = []
    for key, value in config.items():
        if not isinstance(key, str) or not key:
            raise where.error(f"config= keys are non-empty strings; got {key!r}")
        accepted = tuple(value) if isinstance(value, (tuple, list, set, frozenset)) else (value,)
        if not accepted:
            raise where.error(f"config={{{key!r}: ...}} accepts no value: give at least one")
        variant.append((key, accepted))
    return tuple(variant)


def check_unpack(unpack: object, where: Where) -> bool | tuple[str, ...]:
    """``unpack=``: ``True``/``False``, or the names of the keys to unpack."""
    if isinstance(unpack, bool):
        return unpack
    keys = (unpack,) if isinstance(unpack, str) else unpack
    if not isinstance(keys, (tuple, list)) or not keys:
        raise where.error(f"unpack= takes True or a tuple of key names; got {unpack!r}")
    for key in keys:
        if not isinstance(key, str) or not key.isidentifier():
            raise where.error(f"unpack= names keys that are Python identifiers; got {key!r}")
    if len(set(keys)) != len(keys):
        raise where.error(f"unpack= names a key twice: {unpack!r}")
    return tuple(keys)


def check_after(after: object, where: Where) -> tuple[str | Callable[..., Any], ...]:
    """``after=``: vertex names or vertices (resolved when the graph compiles)."""
    entries = (after,) if isinstance(after, str) or callable(after) else after
    if not isinstance(entries, Iterable):
        raise where.error(f"after= takes vertices or vertex names; got {after!r}")
    entries = tuple(entries)
    for entry in entries:
        if isinstance(entry, str):
            if not entry.isidentifier():
                raise where.error(f"after= takes vertex names; got {entry!r}")
        elif getattr(entry, "__flowdsl_vertex__", None) is None:
            raise where.error(f"after= takes vertices or vertex names; got {entry!r}")
    return entries


def check_tags(tags: object, where: Where) -> tuple[tuple[str, Any], ...]:
    """``tags=``: a mapping of names to plain values (text, numbers, booleans)."""
    if not isinstance(tags, Mapping):
        raise where.error(f"tags= takes a mapping of tag names to values; got {tags!r}")
    for key, value in tags.items():
        if not isinstance(key, str) or not key:
            raise where.error(f"tags= keys are non-empty strings; got {key!r}")
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            raise where.error(
                f"tags={{{key!r}: ...}} takes text, a number, a boolean or None; got {value!r}"
            )
    return tuple(tags.items())


def check_loop(
    until: object, max_iterations: object, where: Where
) -> tuple[Callable[[Any], bool] | None, int | None]:
    """``until=`` and ``max_iterations=``, which come together."""
    if until is None:
        if max_iterations is not None:
            raise where.error("max_iterations= bounds a loop; give until= too")
        return None, None
    if not callable(until):
        raise where.error(f"until= takes a predicate of the output; got {until!r}")
    if max_iterations is None:
        raise where.error("until= needs max_iterations= (a loop without a bound can run forever)")
    return until, check_positive_int("max_iterations", max_iterations, where)


def _stored_as_keywords(options: VertexOptions) -> dict[str, Any]:
    # The keyword arguments that would make ``options`` (to check them again
    # together with a call's own, against another function).
    keywords = {field.name: getattr(options, field.name) for field in attrs.fields(VertexOptions)}
    keywords["fallback"] = keywords.pop("fallbacks") or None
    keywords["bind"] = dict(keywords["bind"])
    keywords["config"] = dict(keywords["config"])
    keywords["tags"] = dict(keywords["tags"])
    return keywords


# Each option's check, by keyword: it returns the ``VertexOptions`` fields the
# option sets. Options that depend on each other share one check, which reads
# them together. Only the options given are checked: a bare option keeps its
# default, so ``@vertex(pure=True)`` costs one check, not twenty.
_Check = Callable[[Mapping[str, Any], Callable[..., Any], Where], dict[str, Any]]


def _check_contracts(
    given: Mapping[str, Any], _: Callable[..., Any], where: Where
) -> dict[str, Any]:
    contracts = given["contracts"]
    if contracts is not None and contracts not in CONTRACT_MODES:
        raise where.error(f"contracts= takes one of {', '.join(CONTRACT_MODES)}; got {contracts!r}")
    return {"contracts": contracts}


def _check_version(given: Mapping[str, Any], _: Callable[..., Any], where: Where) -> dict[str, Any]:
    version = given["version"]
    if version is not None and not isinstance(version, str):
        raise where.error(f"version= takes a string; got {version!r}")
    return {"version": version}


def _check_retries(given: Mapping[str, Any], _: Callable[..., Any], where: Where) -> dict[str, Any]:
    return {"retry": check_retry(given.get("retries"), given.get("retry"), where)}


def _check_loop(given: Mapping[str, Any], _: Callable[..., Any], where: Where) -> dict[str, Any]:
    until, max_iterations = check_loop(given.get("until"), given.get("max_iterations"), where)
    return {"until": until, "max_iterations": max_iterations}


def _check_group(
    given: Mapping[str, Any], function: Callable[..., Any], where: Where
) -> dict[str, Any]:
    group = check_group(given.get("group"), where)
    compensate = check_compensate(given.get("compensate"), function, group, where)
    return {"group": group, "compensate": compensate}


_CHECKS: dict[str, _Check] = {
    "pure": lambda given, _, where: {"pure": check_flag("pure", given["pure"], where)},
    "flows": lambda given, _, where: {"flows": check_flows(given["flows"], where)},
    "blocking": lambda given, _, where: {
        "blocking": check_flag("blocking", given["blocking"], where)
    },
    "timeout": lambda given, _, where: {
        "timeout": check_seconds("timeout", given["timeout"], where)
    },
    "contracts": _check_contracts,
    "version": _check_version,
    "retries": _check_retries,
    "retry": _check_retries,
    "fallback": lambda given, function, where: {
        "fallbacks": check_fallbacks(given["fallback"], function, where)
    },
    "when": lambda given, _, where: {"when": check_when(given["when"], where)},
    "map_over": lambda given, function, where: {
        "map_over": check_map_over(given["map_over"], function, where)
    },
    "until": _check_loop,
    "max_iterations": _check_loop,
    "max_concurrency": lambda given, _, where: {
        "max_concurrency": check_positive_int("max_concurrency", given["max_concurrency"], where)
    },
    "rate_limit": lambda given, _, where: {
        "rate_limit": check_seconds("rate_limit", given["rate_limit"], where)
    },
    "group": _check_group,
    "compensate": _check_group,
    "bind": lambda given, function, where: {
        "bind": check_bound_parameters(given["bind"], function, where)
    },
    "config": lambda given, _, where: {"config": check_config(given["config"], where)},
    "unpack": lambda given, _, where: {"unpack": check_unpack(given["unpack"], where)},
    "after": lambda given, _, where: {"after": check_after(given["after"], where)},
    "tags": lambda given, _, where: {"tags": check_tags(given["tags"], where)},
}

#: The keyword arguments that set options (``name`` names the vertex instead).
OPTION_KEYWORDS: frozenset[str] = frozenset(_CHECKS)


# Options whose check reads the function (its parameters): their record is never shared.
_READ_FUNCTION = frozenset({"fallback", "map_over", "group", "compensate", "bind"})
# Values whose equality means the same checked option (the type is part of the
# key: ``pure=1`` equals ``pure=True`` but is an error).
_PLAIN_VALUES = frozenset({bool, int, float, str, type(None)})
#: Records made from plain keyword arguments, by those arguments: the many
#: vertices of a module that say ``@vertex(pure=True)`` share one record (frozen)
#: and skip its checks. Bounded, so vertices made with endless distinct values
#: (``version=str(i)``) are checked as before without growing it.
_shared: dict[tuple[tuple[tuple[str, Any], ...], tuple[type, ...]], VertexOptions] = {}
_SHARED_AT_MOST = 512


def _sharing_key(
    given: Mapping[str, Any],
) -> tuple[tuple[tuple[str, Any], ...], tuple[type, ...]] | None:
    kinds = tuple(map(type, given.values()))
    if _PLAIN_VALUES.issuperset(kinds) and _READ_FUNCTION.isdisjoint(given):
        return tuple(given.items()), kinds
    return None


def checked_options(
    given: Mapping[str, Any],
    function: Callable[..., Any],
    where: Where,
    base: VertexOptions | None = None,
) -> VertexOptions:
    """The options ``given`` as keyword arguments, over ``base`` (a vertex's own, when a
    new vertex is made from it), checked for ``function``."""
    if base is None:
        if not given:  # a bare @vertex: nothing to check
            return DEFAULT_OPTIONS
        key = _sharing_key(given)
        if key is not None:
            shared = _shared.get(key)
            if shared is None:
                shared = _checked(given, function, where, None)
                if len(_shared) < _SHARED_AT_MOST:
                    _shared[key] = shared
            return shared
    return _checked(given, function, where, base)


def _checked(
    given: Mapping[str, Any],
    function: Callable[..., Any],
    where: Where,
    base: VertexOptions | None,
) -> VertexOptions:
    if not OPTION_KEYWORDS.issuperset(given):
        unknown = sorted(given.keys() - OPTION_KEYWORDS)
        raise where.error(
            f"vertex() got an unknown option {unknown[0]!r}"
            f"{did_you_mean(unknown[0], OPTION_KEYWORDS)}"
        )
    # A base's options are checked again: they now belong to another function.
    keywords = {} if base is None else _stored_as_keywords(base)
    if "retries" in given:
        keywords.pop("retry", None)
    bound = keywords.get("bind", {})
    keywords.update(given)
    if "bind" in given:
        keywords["bind"] = {**bound, **check_bind(given["bind"], where)}
    fields: dict[str, Any] = {}
    for check in dict.fromkeys(_CHECKS[keyword] for keyword in keywords):
        fields.update(check(keywords, function, where))
    return VertexOptions(**fields)
