"""Apply the binding rules to each parameter of each vertex, first match wins.

0. ``vertex(fn, bind={...})`` binds a parameter to ``From(ref)``, ``Input(name)``
   or a constant (so do a ``functools.partial``'s arguments).
1. ``Annotated[T, From(ref)]`` binds to ``ref`` (a vertex, one of its fields,
   or a decorated function); ``Annotated[T, Input(name)]`` to the input ``name``.
2. Otherwise a parameter named after a vertex binds to its whole output.
3. Otherwise the parameter is a flow input, required unless it has a default.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, cast

import attrs
import typing_extensions

from .._dsl import VertexSpec, spec_of
from .._location import SourceLocation
from .._markers import From, Input, Previous, Transaction
from .._model.drafts import draft_of
from .._model.graph import NO_DEFAULT, Binding, FieldAccess
from .._suggest import did_you_mean
from .._typing import (
    StructuredField,
    annotated_parts,
    element_type,
    is_mapping_type,
    structured_fields,
    type_name,
)
from ..errors import BindingError, CompileError, TypeMismatchError
from .compatibility import clearly_incompatible

__all__ = [
    "OutputShape",
    "SharedBindings",
    "VertexSignature",
    "bind_after",
    "bind_condition",
    "bind_vertex",
    "output_shape",
    "output_shapes",
    "read_other_signature",
    "read_signature",
    "resolve_reference",
]


#: No config variant left out.
_NONE_ABSENT: Mapping[str, str] = MappingProxyType({})
#: No parameter bound by ``bind=``.
_NONE_BOUND: Mapping[str, Any] = MappingProxyType({})
_STARRED = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class _AnnotationHolder:
    """Lets ``typing.get_type_hints`` resolve a single annotation on its own."""

    def __init__(self, name: str, annotation: Any) -> None:
        self.__annotations__ = {name: annotation}


class Parameter(NamedTuple):
    """What binding needs of a parameter: its name, kind and default."""

    name: str
    kind: inspect._ParameterKind
    default: Any


_EMPTY = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_STARS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
#: Python 3.10's ``typing.get_type_hints`` makes a parameter defaulting to None Optional
#: (``_as_written`` undoes it).
_NONE_DEFAULT_IS_OPTIONAL = sys.version_info < (3, 11)


class VertexSignature:
    """A vertex's parameters with their annotations resolved (``NO_DEFAULT`` if absent).

    Most vertices have the usual signature: every parameter positional-or-keyword
    without a default, every annotation a plain class (which holds no marker), None,
    or a class's name. For those, ``usual`` is the parameters' names, which say all
    that binding needs; ``parameters`` is made from them only when asked.
    """

    __slots__ = ("_parameters", "hints", "usual")

    def __init__(
        self,
        parameters: tuple[Parameter, ...] | None,
        hints: Mapping[str, Any],
        usual: tuple[str, ...] | None = None,
    ) -> None:
        self._parameters = parameters
        self.hints = hints
        self.usual = usual

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Each parameter's name, kind and default, in order."""
        if self._parameters is not None:
            return self._parameters
        return tuple(Parameter(name, _POSITIONAL[1], _EMPTY) for name in self.usual or ())


def _follows_signature(fn: Any) -> bool:
    # What ``inspect.signature`` would follow instead of the code object.
    return hasattr(fn, "__wrapped__") or hasattr(fn, "__signature__")


def _parameters(fn: Any) -> tuple[Parameter, ...]:
    """``inspect.signature(fn).parameters``, read from the code object when that is all it does.

    ``inspect.signature`` costs about 10 us a function, a third of compiling a
    plain vertex; a function that carries ``__wrapped__`` or ``__signature__``
    (which it would follow) goes through it.
    """
    if _follows_signature(fn):
        return tuple(
            Parameter(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
        )
    code = fn.__code__
    names = code.co_varnames
    positional, keyword_only = code.co_argcount, code.co_kwonlyargcount
    defaults = fn.__defaults__ or ()
    first_default = positional - len(defaults)
    parameters = [
        Parameter(
            names[i],
            _POSITIONAL[i >= code.co_posonlyargcount],
            defaults[i - first_default] if i >= first_default else _EMPTY,
        )
        for i in range(positional)
    ]
    after = positional + keyword_only
    if code.co_flags & inspect.CO_VARARGS:
        parameters.append(Parameter(names[after], inspect.Parameter.VAR_POSITIONAL, _EMPTY))
        after += 1
    keyword_defaults = fn.__kwdefaults__ or {}
    parameters += [
        Parameter(name, inspect.Parameter.KEYWORD_ONLY, keyword_defaults.get(name, _EMPTY))
        for name in names[positional : positional + keyword_only]
    ]
    if code.co_flags & inspect.CO_VARKEYWORDS:
        parameters.append(Parameter(names[after], inspect.Parameter.VAR_KEYWORD, _EMPTY))
    return tuple(parameters)


def _plain_hints(fn: Any, local_names: Mapping[str, Any] | None = None) -> Mapping[str, Any] | None:
    # What ``typing.get_type_hints`` returns when it has nothing to evaluate
    # (on Python 3.11+: see ``_as_written``): plain classes as they are (only
    # read, so the function's own mapping serves), or else names of classes
    # and None as ``_named_classes`` finds them.
    annotations: Mapping[str, Any] | None = getattr(fn, "__annotations__", None)
    if annotations is None:
        return None
    return _class_hints(fn, annotations, local_names)


def _class_hints(
    fn: Any, annotations: Mapping[str, Any], local_names: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    # Plain classes as they are (only read, so the function's own mapping
    # serves), or else what ``_named_classes`` makes of the annotations.
    for annotation in annotations.values():
        if type(annotation) is not type:
            return _named_classes(fn, annotations, local_names)
    return annotations


def _named_classes(
    fn: Any, annotations: Mapping[str, Any], local_names: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """What ``typing.get_type_hints`` makes of annotations that are plain classes, None,
    or the names of classes (``from __future__ import annotations`` leaves them so);
    ``None`` if any is something else.

    Evaluating a name looks it up in the local names, the module, then the
    builtins, which this does without the 10-20 us a function that evaluating
    costs. A generic function's type parameters may shadow those names, and a
    wrapper's names are looked up where the function it wraps was defined.
    """
    if getattr(fn, "__type_params__", None) or hasattr(fn, "__wrapped__"):
        return None
    namespaces = (local_names or {}, fn.__globals__, fn.__builtins__)
    hints = {}
    for name, annotation in annotations.items():
        if type(annotation) is str and annotation.isidentifier() and annotation.isascii():
            for namespace in namespaces:
                if annotation in namespace:
                    annotation = namespace[annotation]
                    break
        if annotation is None:  # typing's spelling of None
            annotation = type(None)
        elif type(annotation) is not type:
            return None
        hints[name] = annotation
    return hints


def usual_signature(spec: VertexSpec) -> VertexSignature | None:
    """The signature of ``spec`` if it is the usual one (see ``VertexSignature``), read
    from the function's code and annotations alone; ``None`` for any other."""
    fn = spec.function
    if fn.__defaults__ or _follows_signature(fn):
        return None
    code = fn.__code__
    if code.co_flags & _STARS or code.co_kwonlyargcount or code.co_posonlyargcount:
        return None
    # ``_plain_hints``, for a function (which always has ``__annotations__``).
    hints = _class_hints(fn, fn.__annotations__, spec.local_names)
    if hints is None:
        return None
    return VertexSignature(None, hints, code.co_varnames[: code.co_argcount])


def read_signature(spec: VertexSpec, problems: list[CompileError]) -> VertexSignature:
    """Resolve every annotation of ``spec``; each one that cannot be resolved is a problem.

    Annotations resolve at compile time, in the function's module (and the
    enclosing function's names), so they may be strings, forward references
    or types defined after the function.
    """
    return usual_signature(spec) or read_other_signature(spec, problems)


def read_other_signature(spec: VertexSpec, problems: list[CompileError]) -> VertexSignature:
    """``read_signature`` of a signature that ``usual_signature`` found not usual."""
    fn = spec.function
    parameters = _parameters(fn)
    plain = _plain_hints(fn, spec.local_names)
    if plain is not None:
        return VertexSignature(parameters, plain)
    local_names = dict(spec.local_names) if spec.local_names else None
    try:
        hints = typing.get_type_hints(fn, localns=local_names, include_extras=True)
        if _NONE_DEFAULT_IS_OPTIONAL:
            _as_written(fn, parameters, hints, local_names)
    except Exception:
        hints = {}
        for name, annotation in getattr(fn, "__annotations__", {}).items():
            holder = _AnnotationHolder(name, annotation)
            try:
                hints.update(
                    typing.get_type_hints(
                        holder, globalns=fn.__globals__, localns=local_names, include_extras=True
                    )
                )
            except Exception as exc:
                problem = BindingError(
                    f"cannot resolve the annotation {annotation!r}: {type(exc).__name__}: {exc}",
                    vertex=spec.name,
                    parameter=name,
                    location=spec.location,
                )
                problem.__cause__ = exc
                problems.append(problem)
    return VertexSignature(parameters, hints)


def _as_written(
    fn: Any,
    parameters: tuple[Parameter, ...],
    hints: dict[str, Any],
    local_names: Mapping[str, Any] | None,
) -> None:
    # Python 3.10's ``typing.get_type_hints`` wraps the annotation of a parameter
    # defaulting to None in Optional (3.11 dropped that). Wrapped, an
    # ``Annotated[T | None, From(...)]`` hides its marker (the parameter would
    # silently become a flow input of its own name), and the contract differs
    # from 3.11's: resolved alone, as 3.11 resolves it, each means the same on
    # every Python.
    for parameter in parameters:
        if parameter.default is None and parameter.name in hints:
            holder = _AnnotationHolder(parameter.name, fn.__annotations__[parameter.name])
            hints[parameter.name] = typing.get_type_hints(
                holder, globalns=fn.__globals__, localns=local_names, include_extras=True
            )[parameter.name]


def _subscriptable(annotation: Any) -> bool:
    # An output read with [key] at run time (a DataFrame, a Series...); sequences
    # are indexed by position, so a field name cannot read them.
    base, _ = annotated_parts(annotation)
    cls = typing_extensions.get_origin(base) or base
    if cls in (typing.Union, types.UnionType):  # one alternative with keys is enough
        return any(_subscriptable(a) for a in typing_extensions.get_args(base))
    if not isinstance(cls, type):
        return True  # a type variable, a string...: the run decides
    return hasattr(cls, "__getitem__") and not issubclass(
        cls, (str, bytes, bytearray, list, tuple, range)
    )


@attrs.frozen
class OutputShape:
    """What a vertex returns: its annotation and, if structured, its fields."""

    returns: Any
    fields: tuple[StructuredField, ...] | None

    def field_access(self, field: str) -> FieldAccess | str:
        """How to read ``field`` of this output, or an explanation of why it cannot be read."""
        if self.fields is not None:
            for known in self.fields:
                if known.name == field:
                    return known.access
            names = [f.name for f in self.fields]
            return (
                f"has no field {field!r}{did_you_mean(field, names)} (fields: {', '.join(names)})"
            )
        if self.returns is NO_DEFAULT or annotated_parts(self.returns)[0] is Any:
            return "lookup"
        if is_mapping_type(self.returns) or _subscriptable(self.returns):
            return "lookup"
        return (
            f"returns {type_name(self.returns)}, which has no fields; fields can be read from "
            "a TypedDict, attrs class, dataclass or NamedTuple, or looked up with [key] "
            "(a dict, a DataFrame)"
        )

    def field_annotation(self, field: str) -> Any:
        """The annotation of ``field`` (``NO_DEFAULT`` when unknown)."""
        for known in self.fields or ():
            if known.name == field:
                return known.annotation
        return NO_DEFAULT


def output_shape(
    spec: VertexSpec, hints: Mapping[str, Any], problems: list[CompileError]
) -> OutputShape:
    """The output shape of ``spec``; unresolvable field annotations are problems."""
    returns = hints.get("return", NO_DEFAULT)
    if spec.options.map_over is not None:
        # The calls' results, collected in order: a list (of lists, for a
        # product), without fields.
        collected: Any = returns
        for _ in range(spec.options.map_over.depth):
            collected = list if collected is NO_DEFAULT else list[collected]
        return OutputShape(collected, None)
    if returns is NO_DEFAULT:
        return OutputShape(NO_DEFAULT, None)
    try:
        fields = structured_fields(returns, spec.local_names)
    except Exception as exc:
        report(
            problems,
            spec,
            "return",
            f"cannot resolve the fields of the return type {type_name(returns)}: {exc}",
        )
        # Reported once here: treat the output as unknown, so that bindings to its
        # fields are not reported again as reading a type that has no fields.
        return OutputShape(NO_DEFAULT, None)
    return OutputShape(returns, fields)


def output_shapes(
    specs: Iterable[VertexSpec],
    signatures: Iterable[VertexSignature],
    problems: list[CompileError],
) -> dict[str, OutputShape]:
    """Each vertex's ``output_shape``, by name, from its signature (``signatures`` in the
    order of ``specs``); vertices returning one plain class share one."""
    shapes = {}
    # By class, and local names (if any: the class alone is a cheaper key).
    shared: dict[type | tuple[type, int], OutputShape] = {}
    for spec, signature in zip(specs, signatures, strict=True):
        hints = signature.hints
        returns = hints.get("return", NO_DEFAULT)
        if type(returns) is not type or spec.options.map_over is not None:
            shapes[spec.name] = output_shape(spec, hints, problems)
            continue
        key = returns if spec.local_names is None else (returns, id(spec.local_names))
        shape = shared.get(key)
        if shape is None:
            reported = len(problems)
            shape = output_shape(spec, hints, problems)
            if len(problems) == reported:  # each vertex reports its own problem
                shared[key] = shape
        shapes[spec.name] = shape
    return shapes


def _from_marker(metadata: tuple[Any, ...]) -> list[From | Input]:
    return [m for m in metadata if isinstance(m, (From, Input))]


def _ref_text(ref: str | Callable[..., Any]) -> str:
    if isinstance(ref, str):
        return ref
    spec = spec_of(ref)
    return spec.name if spec is not None else getattr(ref, "__name__", repr(ref))


def ref_label(ref: str | Callable[..., Any]) -> str:
    """A reference as the user wrote it: quoted when it was a string, else the vertex's name."""
    return repr(ref) if isinstance(ref, str) else _ref_text(ref)


#: What a reference names: its vertex, the field read (``None``: the whole output), and how.
Resolved = tuple[str, str | None, FieldAccess | None]


def resolve_reference(
    ref: str | Callable[..., Any],
    shapes: Mapping[str, OutputShape],
    absent: Mapping[str, str] = _NONE_ABSENT,
) -> Resolved | str:
    """``(vertex, field, access)`` of a ``"u"``/``"u.field"``/function reference, or a problem.

    Serves ``From(...)`` and ``when=`` alike.
    """
    if not isinstance(ref, str) and spec_of(ref) is None:
        return "names a function that is not a @vertex"
    source, _, field = _ref_text(ref).partition(".")
    if source in absent:
        return absent[source]
    if source not in shapes:
        return f"there is no vertex named {source!r}{did_you_mean(source, shapes)}"
    if not field:
        return source, None, None
    if "." in field:
        return "a reference reads one level of fields ('vertex.field')"
    access = shapes[source].field_access(field)
    if access not in ("item", "attr", "lookup"):
        return f"{source!r} {access}"
    return source, field, access  # type: ignore[return-value]


class Reported(Protocol):
    """What a compile problem is about: a vertex (its spec or node) or a sub-flow."""

    @property
    def name(self) -> str: ...

    @property
    def location(self) -> SourceLocation: ...


def report(
    problems: list[CompileError],
    about: Reported,
    parameter: str,
    message: str,
    kind: Callable[..., CompileError] = BindingError,
) -> None:
    """Append a ``kind`` error about ``parameter`` of ``about``, at its ``def`` line."""
    problems.append(kind(message, vertex=about.name, parameter=parameter, location=about.location))


def resolve_or_report(
    ref: str | Callable[..., Any],
    label: str,
    about: Reported,
    parameter: str,
    shapes: Mapping[str, OutputShape],
    problems: list[CompileError],
    absent: Mapping[str, str] = _NONE_ABSENT,
    refuse: Callable[[Resolved], str | None] | None = None,
) -> Resolved | None:
    """``(vertex, field, access)`` that ``ref`` names, or ``None`` once the problem is
    reported as ``"<label>: <what is wrong>"``. ``refuse`` may find a problem with a
    reference that resolves (a vertex reading itself)."""
    resolved = resolve_reference(ref, shapes, absent)
    if not isinstance(resolved, str) and refuse is not None:
        resolved = refuse(resolved) or resolved
    if isinstance(resolved, str):
        report(problems, about, parameter, f"{label}: {resolved}")
        return None
    return resolved


def bind_condition(
    spec: VertexSpec,
    shapes: Mapping[str, OutputShape],
    problems: list[CompileError],
    absent: Mapping[str, str] = _NONE_ABSENT,
) -> Binding | None:
    """What ``@vertex(when=...)`` reads, as a binding of the pseudo-parameter ``"when"``."""
    when = spec.options.when
    if when is None:
        return None
    resolved = resolve_or_report(
        when,
        f"when={ref_label(when)}",
        spec,
        "when",
        shapes,
        problems,
        absent,
        lambda r: "a vertex cannot be conditional on its own output" if r[0] == spec.name else None,
    )
    if resolved is None:
        return None
    source, field, access = resolved
    return Binding(parameter="when", source=source, field=field, access=access)


def bind_after(
    spec: VertexSpec,
    shapes: Mapping[str, OutputShape],
    problems: list[CompileError],
    absent: Mapping[str, str] = _NONE_ABSENT,
) -> tuple[str, ...]:
    """The names of the vertices ``@vertex(after=...)`` names; each unknown one is a problem."""
    if not spec.options.after:
        return ()

    def refuse(resolved: Resolved) -> str | None:
        if resolved[1] is not None:
            return "after= names vertices, not fields"
        return "a vertex cannot run after itself" if resolved[0] == spec.name else None

    names = []
    for ref in spec.options.after:
        label = f"after={ref_label(ref)}"
        resolved = resolve_or_report(ref, label, spec, "after", shapes, problems, absent, refuse)
        if resolved is not None:
            names.append(resolved[0])
    return tuple(dict.fromkeys(names))


def _previous_problem(spec: VertexSpec, name: str, has_from: bool, seen: bool) -> str | None:
    if has_from:
        return "a parameter takes From(...) or Previous(), not both"
    if spec.options.until is None:
        return (
            "Previous() feeds a loop its last output; make the vertex a loop with "
            "@vertex(until=..., max_iterations=...)"
        )
    if spec.options.map_over is not None and name in spec.options.map_over:
        return "the parameter mapped over cannot also be Previous()"
    if seen:
        return "only one parameter of a vertex can be Previous()"
    return None


class SharedBindings:
    """The bindings made so far in one compile, by parameter name, for the readers of
    one vertex (or flow input) with one annotation to share.

    ``plain`` holds those a reader takes as they are; ``checked`` those whose
    annotation is not what the vertex they read returns, which each reader checks
    (``_check_types``) for itself.
    """

    __slots__ = ("checked", "plain")

    def __init__(self) -> None:
        self.plain: dict[str, Binding] = {}
        self.checked: dict[str, Binding] = {}


def bind_vertex(
    spec: VertexSpec,
    signature: VertexSignature,
    shapes: Mapping[str, OutputShape],
    problems: list[CompileError],
    absent: Mapping[str, str] = _NONE_ABSENT,
    made: SharedBindings | None = None,
) -> tuple[Binding, ...]:
    """The bindings of every parameter of ``spec``; each problem found is appended.

    ``made`` holds the bindings already made in this compile, for readers to share.
    """
    names = signature.usual
    if names is None or spec.options.bind or spec.options.map_over is not None:
        return _bind_each(spec, signature, shapes, problems, absent)
    # The usual signature and options (nothing bound, nothing mapped): plain
    # classes hold no markers, so rules 2 and 3 bind every parameter, and what
    # one reads is checked as ``_check_types`` would.
    if made is None:
        made = SharedBindings()
    plain = made.plain
    hints = signature.hints
    bindings = []
    unchecked = None  # readers whose annotation is not what they read, to check after
    for name in names:
        annotation = hints.get(name, NO_DEFAULT)
        binding = plain.get(name)
        if binding is None or binding.annotation is not annotation:
            binding = _shared_by_name(spec, name, annotation, shapes, problems, absent, made)
            if binding is None:
                continue
            if binding is made.checked.get(name):
                unchecked = unchecked or []
                unchecked.append(binding)
        bindings.append(binding)
    if unchecked is not None:
        for binding in unchecked:
            _check_types(spec, binding, shapes, problems)
    return tuple(bindings)


def _shared_by_name(
    spec: VertexSpec,
    name: str,
    annotation: Any,
    shapes: Mapping[str, OutputShape],
    problems: list[CompileError],
    absent: Mapping[str, str],
    made: SharedBindings,
) -> Binding | None:
    # Rules 2 and 3 for a parameter whose binding ``made.plain`` does not hold;
    # ``None`` once its problem is reported.
    if name not in shapes:
        if name in absent:
            report(problems, spec, name, absent[name])
            return None
        made.plain[name] = _by_name(name, annotation, True)
        return made.plain[name]
    produced = shapes[name].returns
    if annotation is NO_DEFAULT or produced is annotation or produced is NO_DEFAULT:
        made.plain[name] = _by_name(name, annotation, False)
        return made.plain[name]
    checked = made.checked.get(name)
    if checked is None or checked.annotation is not annotation:
        checked = made.checked[name] = _by_name(name, annotation, False)
    return checked


def _bind_each(
    spec: VertexSpec,
    signature: VertexSignature,
    shapes: Mapping[str, OutputShape],
    problems: list[CompileError],
    absent: Mapping[str, str],
) -> tuple[Binding, ...]:
    # Every rule, for any signature and options.
    bindings: list[Binding] = []
    reading: list[Binding] = []  # the bindings that read a vertex's output
    bound = spec.options.bound if spec.options.bind else _NONE_BOUND
    for param in signature.parameters:
        if param.kind in _STARRED:
            star = "*" if param.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            report(
                problems,
                spec,
                param.name,
                f"{star}{param.name} cannot be bound; a vertex takes named parameters only",
            )
            continue
        annotation = signature.hints.get(param.name, NO_DEFAULT)
        if type(annotation) is type or annotation is NO_DEFAULT:  # no markers to look for
            markers: list[From | Input] = []
            previous = transaction = False
        else:
            _, metadata = annotated_parts(annotation)
            markers = _from_marker(metadata)
            previous = any(isinstance(m, Previous) for m in metadata)
            transaction = any(isinstance(m, Transaction) for m in metadata)
        if not (markers or previous or transaction or param.name in bound):  # rules 2 and 3
            keyword_only = param.kind is inspect.Parameter.KEYWORD_ONLY
            if param.name in shapes:
                reading.append(_by_name(param.name, annotation, False, param.default, keyword_only))
                bindings.append(reading[-1])
            elif param.name in absent:
                report(problems, spec, param.name, absent[param.name])
            else:
                bindings.append(_by_name(param.name, annotation, True, param.default, keyword_only))
            continue
        common = {
            "parameter": param.name,
            "annotation": annotation,
            "default": param.default,
            "keyword_only": param.kind is inspect.Parameter.KEYWORD_ONLY,
        }
        if param.name in bound:  # bind= wins over the annotation's markers
            value = bound[param.name]
            if isinstance(value, (From, Input)):
                markers, previous, transaction = [value], False, False
            else:
                bindings.append(Binding(source=param.name, constant=value, **common))
                continue
        if len(markers) > 1:
            report(
                problems, spec, param.name, "more than one From(...) or Input(...) on one parameter"
            )
            continue
        if transaction:
            if spec.options.group is None or markers or previous:
                report(
                    problems,
                    spec,
                    param.name,
                    "Transaction() receives the transaction of the vertex's atomic group; "
                    + (
                        "it cannot be combined with From(...) or Previous()"
                        if spec.options.group is not None
                        else "this vertex has no group= (flowdsl.AtomicGroup)"
                    ),
                )
                continue
            bindings.append(Binding(source=spec.name, transaction=True, **common))
        elif previous:
            seen = any(b.previous for b in bindings)
            message = _previous_problem(spec, param.name, bool(markers), seen)
            if message is not None:
                report(problems, spec, param.name, message)
                continue
            bindings.append(Binding(source=spec.name, previous=True, **common))
        elif markers:
            marker = markers[0]
            if isinstance(marker, Input):
                # A flow input never takes a vertex's name, nor a config variant's.
                if marker.name in shapes:
                    report(
                        problems,
                        spec,
                        param.name,
                        f"Input({marker.name!r}) names a vertex, and a flow input cannot "
                        f"share a vertex's name; read the vertex with From({marker.name!r})",
                    )
                elif marker.name in absent:
                    report(problems, spec, param.name, absent[marker.name])
                else:
                    bindings.append(Binding(source=marker.name, is_input=True, **common))
                continue
            label = f"From({ref_label(marker.ref)})"
            resolved = resolve_or_report(
                marker.ref, label, spec, param.name, shapes, problems, absent
            )
            if resolved is None:
                continue
            source, field, access = resolved
            reading.append(Binding(source=source, field=field, access=access, **common))
            bindings.append(reading[-1])
    for binding in reading:
        _check_types(spec, binding, shapes, problems)
    return tuple(bindings)


def _by_name(
    name: str,
    annotation: Any,
    is_input: bool,
    default: Any = NO_DEFAULT,
    keyword_only: bool = False,
) -> Binding:
    # A parameter bound by its name (to the vertex, or else the flow input, of
    # that name), as Binding(parameter=..., source=..., is_input=..., annotation=...,
    # default=..., keyword_only=...) makes it. Most bindings of a graph are made
    # here (about one a vertex), so it is written as its draft (``draft_of``) and
    # then turned into a Binding: about half the cost of Binding's ``__init__``,
    # which turns itself into a draft and back.
    binding: Any = _OBJECT_NEW(_BindingDraft)
    binding.parameter = binding.source = name
    binding.is_input = is_input
    binding.field = binding.access = None
    binding.annotation = annotation
    binding.default = default
    binding.keyword_only = keyword_only
    binding.previous = binding.transaction = False
    binding.constant = NO_DEFAULT
    binding.__class__ = Binding
    return cast(Binding, binding)


_OBJECT_NEW = object.__new__
_BindingDraft = draft_of(Binding)


def _check_types(
    spec: VertexSpec,
    binding: Binding,
    shapes: Mapping[str, OutputShape],
    problems: list[CompileError],
) -> None:
    # ``binding`` reads a vertex's output.
    if binding.annotation is NO_DEFAULT:
        return
    shape = shapes[binding.source]
    produced = shape.returns if binding.field is None else shape.field_annotation(binding.field)
    map_over = spec.options.map_over
    if map_over is not None and binding.parameter in map_over and produced is not NO_DEFAULT:
        # The parameter receives one element of the sequence at a time.
        produced = element_type(produced)
    if produced is NO_DEFAULT or not clearly_incompatible(produced, binding.annotation):
        return
    report(
        problems,
        spec,
        binding.parameter,
        f"{binding.ref!r} produces {type_name(produced)}, but the parameter expects "
        f"{type_name(binding.annotation)}",
        TypeMismatchError,
    )
