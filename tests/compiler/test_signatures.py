"""The compiler reads parameters and plain annotations without ``inspect``/``typing``'s cost,
and gets exactly what they give."""

import functools
import inspect
import pickle
import sys
import typing
from collections.abc import Callable
from typing import Annotated, Any

import attrs
import pytest

import flowdsl
from flowdsl import (
    Binding,
    BindingError,
    CompileError,
    From,
    Input,
    Previous,
    TypeMismatchError,
    vertex,
)
from flowdsl._compiler.bindings import (
    _by_name,
    _parameters,
    _plain_hints,
    read_signature,
    usual_signature,
)
from flowdsl._dsl import VertexSpec, spec_of
from flowdsl._model.graph import NO_DEFAULT


def _every_kind(a, /, b, c=3, *rest, d, e=5, **more):  # type: ignore[no-untyped-def]
    return a


def _defaults_only(a=1, b=None):  # type: ignore[no-untyped-def]
    return a


def _keyword_only(*, x, y=2):  # type: ignore[no-untyped-def]
    return x


def _no_parameters() -> int:
    return 1


def _wrapped(x: int) -> int:
    return x


@functools.wraps(_wrapped)
def _wrapper(*args: Any, **kwargs: Any) -> int:
    return _wrapped(*args, **kwargs)


def _with_signature(a: int) -> int:
    return a


_with_signature.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("renamed", inspect.Parameter.KEYWORD_ONLY)]
)


def _inspected(function: Callable[..., Any]) -> list[tuple[Any, ...]]:
    """What ``inspect.signature`` says of each parameter: name, kind, default."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(
    "function",
    [_every_kind, _defaults_only, _keyword_only, _no_parameters, _wrapper, _with_signature],
)
def test_parameters_match_inspect_signature(function: Callable[..., Any]) -> None:
    assert [tuple(p) for p in _parameters(function)] == _inspected(function)


def _plain(a: int, b: str, c: float = 1.0) -> list:  # type: ignore[type-arg]
    return [a, b, c]


def _string(a: "int") -> int:
    return a


def _generic(a: list[int]) -> int:
    return 0


def _annotated(a: Annotated[int, "m"]) -> int:
    return a


def _dotted(a: "typing.Any") -> None:
    return None


def _unknown(a: "Nowhere") -> int:  # type: ignore[name-defined]  # noqa: F821
    return 0


def _returns_none(a: int) -> None:
    return None


@functools.wraps(_string)
def _string_wrapper(*args: Any, **kwargs: Any) -> int:
    return _string(*args, **kwargs)


def test_plain_annotations_are_the_hints_as_given() -> None:
    hints = _plain_hints(_plain)
    assert hints == typing.get_type_hints(_plain, include_extras=True)


@pytest.mark.parametrize("function", [_string, _returns_none])
def test_names_of_classes_and_none_resolve_as_typing_resolves_them(
    function: Callable[..., Any],
) -> None:
    hints = _plain_hints(function)
    assert hints == typing.get_type_hints(function, include_extras=True)


@pytest.mark.parametrize("function", [_generic, _annotated, _dotted, _unknown, _string_wrapper])
def test_other_annotations_go_through_typing(function: Callable[..., Any]) -> None:
    # Expressions, generics and Annotated may need evaluating, a name may be
    # unknown, a wrapper's names are the wrapped function's: typing does that.
    assert _plain_hints(function) is None


def _usual(a: int, b: str) -> int:
    return a


def _unannotated(a, b):  # type: ignore[no-untyped-def]
    return a


def _positional_only(a: int, /) -> int:
    return a


def _defaulted(a: int = 1) -> int:
    return a


def _none_default(a: int = None) -> int:  # type: ignore[assignment]  # noqa: RUF013
    return 0


def _named_none_default(a: "int" = None) -> int:  # type: ignore[assignment]  # noqa: RUF013
    return 0


def _spec_of(function: Callable[..., Any]) -> VertexSpec:
    return VertexSpec(function=function, name=function.__name__)


@pytest.mark.parametrize("function", [_usual, _unannotated, _no_parameters, _string, _returns_none])
def test_the_usual_signature_is_the_code_objects_names(function: Callable[..., Any]) -> None:
    signature = usual_signature(_spec_of(function))
    assert signature is not None
    assert signature.usual == tuple(inspect.signature(function).parameters)
    assert signature.hints == typing.get_type_hints(function, include_extras=True)
    assert [tuple(p) for p in signature.parameters] == _inspected(function)


@pytest.mark.parametrize(
    "function",
    [
        _every_kind,
        _defaults_only,
        _keyword_only,
        _positional_only,
        _defaulted,
        _wrapper,
        _with_signature,
        _generic,
        _annotated,
        _dotted,
    ],
)
def test_any_other_signature_is_read_in_full(function: Callable[..., Any]) -> None:
    assert usual_signature(_spec_of(function)) is None
    signature = read_signature(_spec_of(function), [])
    assert [tuple(p) for p in signature.parameters] == _inspected(function)
    assert signature.hints == typing.get_type_hints(function, include_extras=True)


@pytest.mark.parametrize("function", [_none_default, _named_none_default])
def test_a_none_default_leaves_the_annotation_as_written(function: Callable[..., Any]) -> None:
    """As Python 3.11+ reads it: 3.10's ``typing.get_type_hints`` makes it Optional[int]."""
    assert usual_signature(_spec_of(function)) is None
    signature = read_signature(_spec_of(function), [])
    assert [tuple(p) for p in signature.parameters] == _inspected(function)
    assert signature.hints == {"a": int, "return": int}


def test_postponed_annotations_of_plain_classes_bind_as_the_usual_signature(
    make_module: Any,
) -> None:
    module = make_module(
        """
        from flowdsl import vertex

        class Price(float):
            pass

        @vertex
        def price(amount: int) -> Price:
            return Price(amount)
        """,
        future=True,
    )
    signature = read_signature(spec_of(module.price), [])
    assert signature.usual == ("amount",)
    assert signature.hints == {"amount": int, "return": module.Price}


def test_readers_of_one_name_share_one_binding(make_module: Any) -> None:
    module = make_module(
        """
        from flowdsl import vertex

        @vertex
        def a(x: int) -> int:
            return x

        @vertex
        def b(a: int, x: int) -> int:
            return a + x

        @vertex
        def c(a: int, b: int) -> int:
            return a + b

        @vertex
        def d(a: float) -> float:
            return a
        """
    )
    vertices = flowdsl.compile(module).vertices
    reads_a = vertices["b"].bindings[0]
    assert reads_a is vertices["c"].bindings[0]
    assert reads_a == Binding("a", "a", annotation=int)
    assert vertices["a"].bindings[0] is vertices["b"].bindings[1]
    assert vertices["b"].bindings[1] == Binding("x", "x", is_input=True, annotation=int)
    # Another annotation is another binding.
    assert vertices["d"].bindings[0] == Binding("a", "a", annotation=float)


def test_readers_that_check_what_they_read_share_a_binding_and_each_report(
    make_module: Any,
) -> None:
    # An annotation that is not what the vertex read returns is checked for each
    # reader; readers with one such annotation still share one binding.
    module = make_module(
        """
        from flowdsl import vertex

        @vertex
        def a(x: int) -> int:
            return x

        @vertex
        def b(a: float) -> float:
            return a

        @vertex
        def c(a: int) -> int:
            return a

        @vertex
        def d(a: float) -> float:
            return a
        """
    )
    vertices = flowdsl.compile(module).vertices
    assert vertices["b"].bindings[0] is vertices["d"].bindings[0]
    assert vertices["d"].bindings[0] == Binding("a", "a", annotation=float)
    assert vertices["c"].bindings[0] == Binding("a", "a", annotation=int)
    clashing = make_module(
        """
        from flowdsl import vertex

        @vertex
        def a(x: int) -> int:
            return x

        @vertex
        def b(a: str) -> str:
            return a

        @vertex
        def c(a: int) -> int:
            return a

        @vertex
        def d(a: str) -> str:
            return a
        """
    )
    with pytest.raises(CompileError) as caught:
        flowdsl.compile(clashing)
    assert [(type(p), p.vertex, p.parameter) for p in caught.value.problems] == [
        (TypeMismatchError, "b", "a"),
        (TypeMismatchError, "d", "a"),
    ]


@pytest.mark.parametrize(
    ("is_input", "default", "keyword_only"), [(False, NO_DEFAULT, False), (True, 3, True)]
)
def test_a_binding_by_name_is_the_record_its_constructor_makes(
    is_input: bool, default: Any, keyword_only: bool
) -> None:
    # ``_by_name`` writes the record field by field (about one a vertex): every
    # field as Binding's constructor sets it, frozen, and it pickles.
    made = _by_name("a", int, is_input, default, keyword_only)
    expected = Binding(
        "a", "a", is_input, annotation=int, default=default, keyword_only=keyword_only
    )
    assert type(made) is Binding
    fields = [f.name for f in attrs.fields(Binding)]
    assert [getattr(made, f) for f in fields] == [getattr(expected, f) for f in fields]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.source = "b"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(made)) == made


PROBLEMS = """
from flowdsl import vertex

@vertex(config={{"env": "prod"}})
def only_prod() -> int:
    return 1

@vertex
def text() -> str:
    return ""

@vertex
def number() -> int:
    return 1

@vertex
def reader(text: int, only_prod: int, number: str{extra}) -> int:
    return 0
"""


def test_the_usual_signature_reports_what_any_other_would(make_module: Any) -> None:
    # The same parameters, read by the usual path and (with a parameter that has a
    # default added) by the full one: the same problems, in the same order.
    def problems(extra: str) -> list[tuple[type, str | None, str, int | None]]:
        module = make_module(PROBLEMS.format(extra=extra))
        with pytest.raises(CompileError) as caught:
            flowdsl.compile(module, config={"env": "dev"})
        return [
            (
                type(p),
                p.parameter,
                p.message.replace(module.__file__, "<module>"),
                p.location and p.location.line,
            )
            for p in caught.value.problems
        ]

    usual, full = problems(""), problems(", spare: int = 0")
    assert usual == full
    assert [(kind, parameter) for kind, parameter, _, _ in usual] == [
        (BindingError, "only_prod"),
        (TypeMismatchError, "text"),
        (TypeMismatchError, "number"),
    ]


NAMED = """
from flowdsl import vertex

class Widget:
    pass

class float:  # shadows the builtin in this module
    pass

@vertex
def made(count: int) -> Widget:
    return Widget()

@vertex
def scaled(made: Widget, factor: float) -> None:
    return None

def build():
    class Widget:  # a local class shadows the module's
        pass

    @vertex
    def local(count: int) -> Widget:
        return Widget()

    return local
"""


@pytest.mark.parametrize("future", [False, True], ids=["eager", "postponed"])
def test_names_resolve_where_typing_resolves_them(make_module: Any, future: bool) -> None:
    module = make_module(NAMED, future=future)
    for function in (module.made, module.scaled, module.build()):
        spec = spec_of(function)
        assert spec is not None
        expected = typing.get_type_hints(
            spec.function, localns=spec.local_names, include_extras=True
        )
        signature = read_signature(spec, [])
        assert signature.usual is not None
        assert signature.hints == expected
    assert read_signature(spec_of(module.scaled), []).hints["factor"] is module.float


@pytest.mark.skipif(sys.version_info < (3, 12), reason="type parameter syntax: Python 3.12")
def test_a_type_parameter_shadows_a_class_of_its_name(make_module: Any) -> None:
    module = make_module(
        """
        from flowdsl import vertex

        class T:
            pass

        @vertex
        def first[T](items: "list[T]", item: "T") -> int:
            return 0
        """
    )
    spec = spec_of(module.first)
    assert spec is not None
    hints = read_signature(spec, []).hints
    # Whatever typing makes of it: Python 3.12.1's typing resolves the class
    # (a typing defect, fixed later), 3.13's the type parameter.
    assert hints == typing.get_type_hints(spec.function, include_extras=True)
    if sys.version_info >= (3, 13):
        assert hints["item"] is module.first.__type_params__[0]


def test_a_parameter_defaulting_to_none_keeps_its_annotation_on_every_python() -> None:
    """Python 3.10's ``typing.get_type_hints`` wraps such a parameter in Optional, which
    hid an ``Annotated`` marker: each marker and contract reads as on Python 3.11+."""

    @vertex
    def source() -> int:
        return 5

    @vertex
    def reads(
        value: Annotated[int | None, From("source")] = None,
        renamed: Annotated[int | None, Input("other")] = None,
        plain: int = None,  # type: ignore[assignment]  # noqa: RUF013
    ) -> int:
        return (value or 0) + (renamed or 0) + (plain or 0)

    @vertex(until=lambda total: total >= 10, max_iterations=20)
    def grow(step: int, previous: Annotated[int | None, Previous()] = None) -> int:
        return (previous or 0) + step

    flow = flowdsl.Flow.from_functions(source, reads, grow)
    node = flow.graph.vertices["reads"]
    by_parameter = {b.parameter: b for b in node.bindings}
    assert by_parameter["value"].source == "source"
    assert by_parameter["renamed"].source == "other"
    assert by_parameter["plain"].annotation is int
    assert set(flow.graph.inputs) == {"other", "plain", "step"}
    result = flow.run({"other": 2, "step": 3})
    assert result["reads"] == 7
    assert result["grow"] == 12
