"""Every compile error: its class, its context (vertex, parameter, file:line) and its message."""

import pickle

import pytest

import flowdsl
from flowdsl import (
    BindingError,
    CompileError,
    CycleError,
    DuplicateVertexError,
    InvalidVertexError,
    TypeMismatchError,
)
from tests.compiler._modules import def_location

HEADER = """
from typing import Annotated, Any, Optional, TypedDict
from flowdsl import From, vertex
"""


def compile_error(module) -> CompileError:
    with pytest.raises(CompileError) as info:
        flowdsl.compile(module)
    return info.value


def assert_context(error, module, vertex: str, parameter: str | None) -> None:
    location = def_location(module, vertex)
    assert error.vertex == vertex
    assert error.parameter == parameter
    assert error.location == location
    assert f"vertex {vertex!r}" in str(error)
    if parameter == "return":
        assert "the return value" in str(error)
    elif parameter is not None:
        assert f"parameter {parameter!r}" in str(error)
    assert f"({location.file}:{location.line})" in str(error)


# --- cycles --------------------------------------------------------------------------------------


def test_cycle_of_three(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def a(c: int) -> int:
    return c

@vertex
def b(a: int) -> int:
    return a

@vertex
def c(b: int) -> int:
    return b

@vertex
def outside(a: int, seed: int) -> int:
    return a
"""
    )
    error = compile_error(module)
    assert type(error) is CycleError
    assert error.cycle == ("a", "b", "c", "a")
    assert_context(error, module, "b", "a")
    message = str(error)
    assert "dependency cycle a -> b -> c -> a" in message
    assert f"b.a reads a ({def_location(module, 'b')})" in message
    assert f"c.b reads b ({def_location(module, 'c')})" in message
    assert f"a.c reads c ({def_location(module, 'a')})" in message
    assert "outside" not in message
    assert error.problems == (error,)


def test_cycle_through_from_markers_names_the_parameters(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def first(x: Annotated[dict, From("second")]) -> int:
    return 1

@vertex
def second(y: Annotated[int, From(first)]) -> dict:
    return {}
"""
    )
    error = compile_error(module)
    assert type(error) is CycleError
    assert error.cycle == ("first", "second", "first")
    assert_context(error, module, "second", "y")
    assert "first -> second -> first" in str(error)
    assert "second.y reads first" in str(error)
    assert "first.x reads second" in str(error)


def test_self_cycle(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def grow(grow: int) -> int:
    return grow + 1
"""
    )
    error = compile_error(module)
    assert type(error) is CycleError
    assert error.cycle == ("grow", "grow")
    assert_context(error, module, "grow", "grow")
    assert "dependency cycle grow -> grow" in str(error)


def test_two_separate_cycles_are_both_reported(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def ping(pong: int) -> int:
    return pong

@vertex
def pong(ping: int) -> int:
    return ping

@vertex
def fine(seed: int) -> int:
    return seed

@vertex
def loop(loop: int, fine: int) -> int:
    return loop
"""
    )
    error = compile_error(module)
    assert type(error) is CompileError
    assert [type(p) for p in error.problems] == [CycleError, CycleError]
    first, second = error.problems
    assert first.cycle == ("ping", "pong", "ping")
    assert_context(first, module, "pong", "ping")
    assert second.cycle == ("loop", "loop")
    assert_context(second, module, "loop", "loop")
    message = str(error)
    assert message.startswith("2 problems found:\n")
    assert "ping -> pong -> ping" in message
    assert "loop -> loop" in message


# --- unknown references and fields ------------------------------------------------------------

USER = (
    HEADER
    + """
class User(TypedDict):
    id: int
    name: str

@vertex
def fetch_user(seed: int) -> User:
    return {"id": seed, "name": "n"}
"""
)


def test_unknown_vertex_in_from_suggests_a_close_name(make_module) -> None:
    module = make_module(
        USER
        + """
@vertex
def save(user_id: Annotated[int, From("fetch_usr.id")]) -> int:
    return user_id
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "save", "user_id")
    assert "From('fetch_usr.id'): there is no vertex named 'fetch_usr'" in str(error)
    assert "did you mean 'fetch_user'?" in str(error)


def test_unknown_vertex_without_a_close_name_has_no_suggestion(make_module) -> None:
    module = make_module(
        USER
        + """
@vertex
def save(user_id: Annotated[int, From("zzz")]) -> int:
    return user_id
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "save", "user_id")
    assert "there is no vertex named 'zzz'" in str(error)
    assert "did you mean" not in str(error)


def test_unknown_field_suggests_a_close_field_and_lists_the_fields(make_module) -> None:
    module = make_module(
        USER
        + """
@vertex
def save(user_name: Annotated[str, From("fetch_user.nmae")]) -> str:
    return user_name
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "save", "user_name")
    message = str(error)
    assert "From('fetch_user.nmae'): 'fetch_user' has no field 'nmae'" in message
    assert "did you mean 'name'?" in message
    assert "(fields: id, name)" in message


def test_unknown_field_of_a_dataclass_output(make_module) -> None:
    module = make_module(
        HEADER
        + """
import dataclasses

@dataclasses.dataclass
class Point:
    x: float
    y: float

@vertex
def point() -> Point:
    return Point(0.0, 0.0)

@vertex
def norm(z: Annotated[Point, From(point)], w: Annotated[float, From("point.w")]) -> float:
    return z
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "norm", "w")
    assert "'point' has no field 'w' (fields: x, y)" in str(error)


@pytest.mark.parametrize(
    ("signature", "parameter", "shown"),
    [("*values: int", "values", "*values"), ("**options: int", "options", "**options")],
)
def test_star_parameters_are_binding_errors(make_module, signature, parameter, shown) -> None:
    module = make_module(
        HEADER
        + f"""
@vertex
def collect(first: int, {signature}) -> int:
    return first
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "collect", parameter)
    assert f"{shown} cannot be bound; a vertex takes named parameters only" in str(error)


def test_args_and_kwargs_are_two_problems(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def collect(*args, **kwargs) -> int:
    return 0
"""
    )
    error = compile_error(module)
    assert type(error) is CompileError
    assert [(type(p), p.parameter) for p in error.problems] == [
        (BindingError, "args"),
        (BindingError, "kwargs"),
    ]


def test_two_from_markers_on_one_parameter(make_module) -> None:
    module = make_module(
        USER
        + """
@vertex
def save(user_id: Annotated[int, From("fetch_user.id"), From("fetch_user")]) -> int:
    return user_id
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "save", "user_id")
    assert "more than one From(...) or Input(...) on one parameter" in str(error)


def test_two_from_markers_in_nested_annotated(make_module) -> None:
    module = make_module(
        USER
        + """
Id = Annotated[int, From("fetch_user.id")]

@vertex
def save(user_id: Annotated[Id, From("fetch_user")]) -> int:
    return user_id
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert "more than one From(...)" in str(error)


def test_from_a_function_that_is_not_a_vertex(make_module) -> None:
    module = make_module(
        HEADER
        + """
def helper() -> int:
    return 1

@vertex
def use(value: Annotated[int, From(helper)]) -> int:
    return value
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "use", "value")
    assert "From(helper): names a function that is not a @vertex" in str(error)


def test_from_a_vertex_that_is_not_compiled(make_module) -> None:
    producer = make_module(
        HEADER
        + """
@vertex
def produce() -> int:
    return 1
"""
    )
    consumer = make_module(
        HEADER
        + f"""
import {producer.__name__} as producer_module

@vertex
def use(value: Annotated[int, From(producer_module.produce)]) -> int:
    return value
"""
    )
    error = compile_error(consumer)
    assert type(error) is BindingError
    assert_context(error, consumer, "use", "value")
    assert "From(produce): there is no vertex named 'produce'" in str(error)
    assert flowdsl.compile(producer, consumer).order == ("produce", "use")


def test_multi_level_field_reference(make_module) -> None:
    module = make_module(
        USER
        + """
@vertex
def save(initial: Annotated[str, From("fetch_user.name.first")]) -> str:
    return initial
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "save", "initial")
    assert "From('fetch_user.name.first'): a reference reads one level of fields" in str(error)


def _make_from(ref: object) -> flowdsl.From:
    return flowdsl.From(ref)  # type: ignore[arg-type]  # the line the errors point at


def _make_input(name: object) -> flowdsl.Input:
    return flowdsl.Input(name)  # type: ignore[arg-type]  # the line the errors point at


def test_bad_from_reference_text_fails_where_it_is_written() -> None:
    line = _make_from.__code__.co_firstlineno + 1
    for ref, problem in [
        ("fetch_user..id", "a reference is 'vertex' or 'vertex.field', each part a Python"),
        ("", "a reference is 'vertex' or 'vertex.field', each part a Python"),
        (42, "From() takes a vertex name or a decorated function"),
    ]:
        with pytest.raises(BindingError) as caught:
            _make_from(ref)
        error = caught.value
        assert error.location == flowdsl.SourceLocation(__file__, line)
        assert str(error).startswith(f"{__file__}:{line}: From({ref!r}): {problem}")
    line = _make_input.__code__.co_firstlineno + 1
    for name in ("", 7, "a.b"):
        with pytest.raises(BindingError) as caught:
            _make_input(name)
        assert str(caught.value) == (
            f"{__file__}:{line}: Input({name!r}): an input name is a Python identifier"
        )


def test_a_bad_from_in_a_postponed_annotation_names_the_vertex(make_module) -> None:
    module = make_module(
        "from __future__ import annotations\n"
        + HEADER
        + """
@vertex
def use(good: int, bad: Annotated[int, From(5)]) -> int:
    return good
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "use", "bad")
    assert "From(5): From() takes a vertex name or a decorated function" in str(error)


def test_unresolvable_parameter_annotation_names_it(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def use(good: int, bad: "Nowhere[int]") -> int:
    return good
"""
    )
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "use", "bad")
    assert "cannot resolve the annotation 'Nowhere[int]'" in str(error)
    assert "NameError" in str(error)
    assert isinstance(error.__cause__, NameError)


def test_unresolvable_postponed_annotations_are_each_reported(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def use(good: int, bad: Missing, worse: AlsoMissing) -> Gone:
    return good
""",
        future=True,
    )
    error = compile_error(module)
    assert type(error) is CompileError
    assert [(type(p), p.vertex, p.parameter) for p in error.problems] == [
        (BindingError, "use", "bad"),
        (BindingError, "use", "worse"),
        (BindingError, "use", "return"),
    ]
    assert "'Missing'" in str(error.problems[0])
    assert "'AlsoMissing'" in str(error.problems[1])
    assert "'Gone'" in str(error.problems[2])
    for problem in error.problems:
        assert problem.location == def_location(module, "use")


def test_unresolvable_field_annotation_of_a_return_type(make_module) -> None:
    module = make_module(
        HEADER
        + """
import dataclasses

@dataclasses.dataclass
class Broken:
    part: "Unknown"

@vertex
def make() -> Broken:
    raise NotImplementedError

@vertex
def use(part: Annotated[int, From("make.part")]) -> int:
    return part
"""
    )
    error = compile_error(module)
    # Reported once, on the producer: the binding to its field is not a second problem.
    assert type(error) is BindingError
    assert_context(error, module, "make", "return")
    assert "cannot resolve the fields of the return type Broken" in str(error)
    assert "Unknown" in str(error)


# --- duplicates ------------------------------------------------------------------------------


def test_two_functions_with_one_name_in_two_modules(make_module) -> None:
    source = (
        HEADER
        + """
@vertex
def normalize(name: str) -> str:
    return name
"""
    )
    first = make_module(source)
    second = make_module(source)
    with pytest.raises(DuplicateVertexError) as info:
        flowdsl.compile(first, second)
    error = info.value
    assert_context(error, second, "normalize", None)
    assert f"already taken by the vertex defined at {def_location(first, 'normalize')}" in str(
        error
    )
    assert "rename one with @vertex(name=...)" in str(error)


def test_a_vertex_name_given_twice_in_one_module(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def load() -> int:
    return 1

@vertex(name="load")
def load_again() -> int:
    return 2
"""
    )
    error = compile_error(module)
    assert type(error) is DuplicateVertexError
    assert error.vertex == "load"
    assert error.location == def_location(module, "load_again")
    assert str(def_location(module, "load")) in str(error)


def test_the_same_function_imported_into_two_modules_is_one_vertex(make_module) -> None:
    first = make_module(
        HEADER
        + """
@vertex
def normalize(name: str) -> str:
    return name.strip()
"""
    )
    second = make_module(
        HEADER
        + f"""
from {first.__name__} import normalize
import {first.__name__} as first_module
alias = normalize

@vertex
def greet(normalize: str) -> str:
    return "hi " + normalize
"""
    )
    graph = flowdsl.compile(first, second)
    assert list(graph.vertices) == ["normalize", "greet"]
    assert graph.vertices["normalize"].function is first.normalize
    assert flowdsl.compile(second, first).order == ("normalize", "greet")
    assert flowdsl.compile(second).order == ("normalize", "greet")
    assert flowdsl.compile(first.normalize, first, first.normalize).order == ("normalize",)


def test_compile_rejects_things_that_are_neither_modules_nor_vertices() -> None:
    def plain() -> int:
        return 1

    with pytest.raises(InvalidVertexError, match="takes modules and @vertex functions"):
        flowdsl.compile(plain)
    with pytest.raises(InvalidVertexError, match="got 42"):
        flowdsl.compile(42)  # type: ignore[arg-type]


# --- type mismatches -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("produced", "expected", "produced_text", "expected_text"),
    [
        ("int", "str", "int", "str"),
        ("list[int]", "list[str]", "list[int]", "list[str]"),
        ("dict[str, int]", "list[int]", "dict[str, int]", "list[int]"),
        ("float", "int", "float", "int"),
        ("Optional[int]", "str", "Optional[int]", "str"),
        ("User", "int", "User", "int"),
    ],
)
def test_type_mismatch_along_a_whole_output_binding(
    make_module, produced, expected, produced_text, expected_text
) -> None:
    module = make_module(
        USER
        + f"""
@vertex
def produce() -> {produced}:
    raise NotImplementedError

@vertex
def consume(produce: {expected}) -> None:
    pass
"""
    )
    error = compile_error(module)
    assert type(error) is TypeMismatchError
    assert isinstance(error, TypeError)
    assert_context(error, module, "consume", "produce")
    assert f"'produce' produces {produced_text}, but the parameter expects {expected_text}" in str(
        error
    )


def test_type_mismatch_from_a_field_into_a_parameter(make_module) -> None:
    module = make_module(
        USER
        + """
@vertex
def save(
    user_id: Annotated[str, From("fetch_user.id")],
    name: Annotated[str, From("fetch_user.name")],
) -> str:
    return user_id
"""
    )
    error = compile_error(module)
    assert type(error) is TypeMismatchError
    assert_context(error, module, "save", "user_id")
    assert "'fetch_user.id' produces int, but the parameter expects str" in str(error)


def test_type_mismatch_through_a_function_reference(make_module) -> None:
    module = make_module(
        USER
        + """
@vertex
def save(user: Annotated[list[int], From(fetch_user)]) -> None:
    pass
"""
    )
    error = compile_error(module)
    assert type(error) is TypeMismatchError
    assert_context(error, module, "save", "user")
    assert "'fetch_user' produces User, but the parameter expects list[int]" in str(error)


@pytest.mark.parametrize(
    ("produced", "expected"),
    [
        ("int", "float"),
        ("int", "complex"),
        ("bool", "int"),
        ("bool", "float"),
        ("Optional[int]", "int"),
        ("int", "Optional[int]"),
        ("int | None", "int | str"),
        ("list[int]", "list[float]"),
        ("list[bool]", "list"),
        ("list", "list[str]"),
        ("Any", "str"),
        ("int", "Any"),
        ("User", "dict"),
        ("User", "dict[str, Any]"),
        ("dict", "User"),
        ("object", "int"),
        ("int", "Annotated[int, 'meta']"),
        ("tuple[int, ...]", "tuple[str, ...]"),
    ],
)
def test_compatible_or_undecidable_bindings_compile(make_module, produced, expected) -> None:
    module = make_module(
        USER
        + f"""
@vertex
def produce() -> {produced}:
    raise NotImplementedError

@vertex
def consume(produce: {expected}) -> None:
    pass
"""
    )
    graph = flowdsl.compile(module)
    assert graph.order == ("fetch_user", "produce", "consume")


def test_unannotated_sides_are_never_mismatches(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def produce():
    return 1

@vertex
def typed() -> int:
    return 1

@vertex
def consume(produce: str, typed) -> None:
    pass
"""
    )
    assert flowdsl.compile(module).order == ("produce", "typed", "consume")


def test_two_consumers_of_one_flow_input_disagree(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def first(x: int) -> int:
    return x

@vertex
def untyped(x) -> int:
    return 0

@vertex
def second(x: str) -> str:
    return x
"""
    )
    error = compile_error(module)
    assert type(error) is TypeMismatchError
    assert_context(error, module, "second", "x")
    assert (
        f"flow input 'x' is str here but int in vertex 'first' ({def_location(module, 'first')})"
        in str(error)
    )


def test_flow_input_disagreement_behind_an_undecidable_first_consumer(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def first(x: Any) -> int:
    return 0

@vertex
def second(x: int) -> int:
    return 0

@vertex
def third(x: str) -> int:
    return 0

@vertex
def fourth(x: bytes) -> int:
    return 0
"""
    )
    error = compile_error(module)
    assert type(error) is CompileError
    assert [(type(p), p.vertex, p.parameter) for p in error.problems] == [
        (TypeMismatchError, "third", "x"),
        (TypeMismatchError, "fourth", "x"),
    ]
    assert "flow input 'x' is str here but int in vertex 'second'" in str(error.problems[0])
    assert "flow input 'x' is bytes here but int in vertex 'second'" in str(error.problems[1])
    assert error.problems[0].location == def_location(module, "third")


@pytest.mark.parametrize(
    ("left", "right"),
    [("int", "float"), ("float", "int"), ("bool", "int"), ("Optional[int]", "int"), ("int", "Any")],
)
def test_flow_input_consumers_that_can_meet(make_module, left, right) -> None:
    module = make_module(
        HEADER
        + f"""
@vertex
def first(x: {left}) -> int:
    return 0

@vertex
def second(x: {right}) -> int:
    return 0
"""
    )
    graph = flowdsl.compile(module)
    assert [c.vertex for c in graph.inputs["x"].consumers] == ["first", "second"]


# --- collecting every problem ----------------------------------------------------------------


def test_three_problems_are_collected_into_one_error(make_module) -> None:
    module = make_module(
        USER
        + """
@vertex
def save(user_id: Annotated[int, From("fetch_usr.id")]) -> int:
    return user_id

@vertex
def spread(*values: int) -> int:
    return 0

@vertex
def label(fetch_user: str) -> str:
    return fetch_user
"""
    )
    error = compile_error(module)
    assert type(error) is CompileError
    problems = error.problems
    assert [(type(p), p.vertex, p.parameter) for p in problems] == [
        (BindingError, "save", "user_id"),
        (BindingError, "spread", "values"),
        (TypeMismatchError, "label", "fetch_user"),
    ]
    assert [p.location for p in problems] == [
        def_location(module, "save"),
        def_location(module, "spread"),
        def_location(module, "label"),
    ]
    message = str(error)
    assert message.splitlines() == ["3 problems found:", *(f"  - {p}" for p in problems)]
    assert "did you mean 'fetch_user'?" in message
    assert "*values cannot be bound" in message
    assert "'fetch_user' produces User, but the parameter expects str" in message
    assert error.vertex is None
    assert error.parameter is None
    assert error.location is None


def test_collected_errors_survive_pickling(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def a(b: int) -> int:
    return b

@vertex
def b(a: int) -> int:
    return a

@vertex
def c(*rest) -> int:
    return 0
"""
    )
    error = compile_error(module)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is CompileError
    assert str(copy) == str(error)
    assert [type(p) for p in copy.problems] == [BindingError, CycleError]
    assert copy.problems[1].cycle == ("a", "b", "a")
    assert [p.location for p in copy.problems] == [p.location for p in error.problems]
