"""The arguments of ``Flow.run``/``start``/``arun`` that are not run options, checked first.

Run options (``backend=``, ``timeout=``, ...) are checked by their one
declaration (``flowdsl._options``): a bad value, whatever its type, is a
``SettingsError``. The other arguments are checked here, before anything
runs or any file is opened. An argument of the wrong type is an
``ArgumentTypeError`` (a ``TypeError``) that names it; a value of the right
type that cannot be used (``run_id=""``) is a ``SettingsError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ._dsl import spec_of
from ._model.graph import Graph
from .errors import ArgumentTypeError, DataResolutionError, SettingsError

__all__ = ["Outputs", "RunArguments", "run_arguments"]

#: What ``outputs=`` takes: a name or a ``@vertex`` function, or several.
Outputs = str | Callable[..., Any] | Sequence[str | Callable[..., Any]]


class RunArguments(NamedTuple):
    """The checked arguments of one ``run`` call; ``outputs`` as names."""

    inputs: Mapping[str, Any] | None
    outputs: tuple[str, ...] | None
    flow: str | None
    listeners: tuple[object, ...]
    run_id: str | None
    resume: bool
    serializer: str
    secret: str | bytes | None
    overrides: Mapping[str, Any]
    #: With ``backend="dask"``: the ``distributed.Client`` to run on (any object:
    #: the dask backend checks it, so that dask is imported only there).
    dask_client: Any


def run_arguments(call: Mapping[str, Any], graph: Graph) -> RunArguments:
    """Check the non-option arguments of a ``run``/``start``/``arun`` call (its ``locals()``).

    Raises:
        ArgumentTypeError: an argument has the wrong type (the message names it).
        SettingsError: ``run_id``, ``serializer`` or ``secret`` has an unusable value.
        DataResolutionError: ``outputs=`` names a vertex function of another flow.
    """
    inputs = _names_mapping("inputs", call["inputs"], "input names")
    listeners = call["listeners"]
    if (
        # Every other argument left as it defaults: nothing more to check (most runs).
        call["outputs"] is None
        and call["flow"] is None
        and call["run_id"] is None
        and call["secret"] is None
        and call["overrides"] is None
        and call["resume"] is False
        and call["serializer"] == "pickle"
        and type(listeners) is tuple
        and not listeners
    ):
        return RunArguments(
            inputs, None, None, (), None, False, "pickle", None, {}, call["dask_client"]
        )
    return RunArguments(
        inputs=inputs,
        outputs=_outputs(call["outputs"], graph),
        flow=_optional_text("flow", call["flow"], "a flow name"),
        listeners=_listeners(call["listeners"]),
        run_id=_run_id(call["run_id"]),
        resume=_flag("resume", call["resume"]),
        serializer=_serializer(call["serializer"]),
        secret=_secret(call["secret"]),
        overrides=_names_mapping("overrides", call["overrides"], "vertex names") or {},
        dask_client=call["dask_client"],
    )


def _describe(value: Any) -> str:
    kind = type(value).__name__
    return f"{value!r:.80} ({'an' if kind[:1] in 'aeiouAEIOU' else 'a'} {kind})"


def _wrong(argument: str, takes: str, value: Any) -> ArgumentTypeError:
    return ArgumentTypeError(
        f"{argument}= takes {takes}; got {_describe(value)}", argument=argument
    )


def _names_mapping(argument: str, value: Any, keys: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    # A plain dict skips the slower abstract-class check: this runs on every run.
    if type(value) is not dict and not isinstance(value, Mapping):
        raise _wrong(argument, f"a mapping of {keys} to values", value)
    for key in value:
        if type(key) is not str:
            raise ArgumentTypeError(
                f"{argument}= has the key {_describe(key)}; its keys are {keys} (str)",
                argument=argument,
            )
    return value


def _optional_text(argument: str, value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _wrong(argument, f"{what} (a str)", value)


def _flag(argument: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _wrong(argument, "True or False", value)


def _run_id(value: Any) -> str | None:
    run_id = _optional_text("run_id", value, "the run's name")
    if run_id is not None and not run_id.strip():
        raise SettingsError(
            f"run_id={run_id!r} is blank; give the run a name, or leave run_id out for a new one",
            source="argument run_id",
        )
    return run_id


def _serializer(value: Any) -> str:
    if value == "pickle":
        return "pickle"  # the default, known without importing the checkpoint store
    from ._services.checkpoints import SERIALIZERS

    if not isinstance(value, str):
        raise _wrong("serializer", f"one of {', '.join(map(repr, SERIALIZERS))}", value)
    if value not in SERIALIZERS:
        raise SettingsError(
            f"serializer={value!r} is not one of: {', '.join(SERIALIZERS)}",
            source="argument serializer",
        )
    return value


def _secret(value: Any) -> str | bytes | None:
    if value is None:
        return None
    if not isinstance(value, (str, bytes, bytearray)):
        raise _wrong("secret", "a str or bytes key", value)
    if not value:
        raise SettingsError(
            "secret= is empty; an empty key signs nothing worth checking", source="argument secret"
        )
    return bytes(value) if isinstance(value, bytearray) else value


def _listeners(value: Any) -> tuple[object, ...]:
    if type(value) is tuple:
        return value
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise _wrong("listeners", "a list of listener objects", value)
    return tuple(value)


def _outputs(value: Any, graph: Graph) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or callable(value):
        return (_output_name("outputs", value, graph),)
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise _wrong("outputs", "an output name, a @vertex function, or a list of them", value)
    return tuple(_output_name(f"outputs[{i}]", item, graph) for i, item in enumerate(value))


def _output_name(where: str, item: Any, graph: Graph) -> str:
    """``item`` (a name, or a decorated function of this flow) as an output name."""
    if isinstance(item, str):
        return item
    if not callable(item):
        raise ArgumentTypeError(
            f"{where} is {_describe(item)}; outputs= takes names and @vertex functions",
            argument="outputs",
        )
    spec = spec_of(item)
    if spec is None:
        raise ArgumentTypeError(
            f"{where} is {_label(item)}, which is not a @vertex; outputs= takes names and "
            "@vertex functions",
            argument="outputs",
        )
    node = graph.vertices.get(spec.name)
    if node is None or node.function is not spec.function:
        elsewhere = "" if node is None else f" (this flow's {spec.name!r} is another function)"
        raise DataResolutionError(
            f"{where}: the vertex {spec.name!r} is not part of this flow{elsewhere}",
            vertex=spec.name,
            location=spec.location,
        )
    return spec.name


def _label(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", None)
    return f"the function {name!r}" if isinstance(name, str) else repr(fn)
