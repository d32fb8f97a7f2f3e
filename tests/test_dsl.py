"""The ``@vertex`` decorator: it records a spec and leaves the function as it was."""

from __future__ import annotations

import asyncio
import functools
import inspect
import pickle
from typing import Annotated, Any

import attrs
import pytest

import flowdsl
import flowdsl._dsl
from flowdsl import From, InvalidVertexError, SourceLocation, vertex
from flowdsl._dsl import VertexSpec, spec_of
from flowdsl._model.options import DEFAULT_OPTIONS

HERE = __file__


def here(fn: Any) -> SourceLocation:
    """The location of ``fn``'s ``def`` line in this file (below its decorators)."""
    lines, first = inspect.getsourcelines(fn)
    starts = ("def ", "async def ")
    offset = next((i for i, text in enumerate(lines) if text.lstrip().startswith(starts)), 0)
    return SourceLocation(HERE, first + offset)


# --- decorating keeps the function -------------------------------------------------------------


def test_bare_decorator_returns_the_same_function_still_callable() -> None:
    def normalize(name: str, *, upper: bool = False) -> str:
        text = name.strip().lower()
        return text.upper() if upper else text

    before = inspect.signature(normalize)
    decorated = vertex(normalize)

    assert decorated is normalize
    assert normalize(" A ") == "a"
    assert normalize(" A ", upper=True) == "A"
    assert inspect.signature(normalize) == before
    assert str(inspect.signature(normalize)) == "(name: 'str', *, upper: 'bool' = False) -> 'str'"
    assert normalize.__name__ == "normalize"


def test_bare_decorator_records_the_default_spec() -> None:
    @vertex
    def normalize(name: str) -> str:
        return name.strip().lower()

    spec = spec_of(normalize)
    assert isinstance(spec, VertexSpec)
    assert spec.function is normalize
    assert spec.name == "normalize"
    assert spec.options.pure is False
    assert spec.options.flows == ()
    assert spec.options.blocking is False
    assert spec.is_async is False
    assert spec.location == here(normalize)
    assert normalize(" A ") == "a"


def test_decorator_with_options_records_them_and_returns_the_function() -> None:
    def fetch(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    decorated = vertex(name="load_user", pure=True, flows=("signup", "admin"), blocking=True)(fetch)

    assert decorated is fetch
    assert fetch(3) == {"id": 3}
    spec = spec_of(fetch)
    assert spec is not None
    assert spec.name == "load_user"
    assert spec.function is fetch
    assert spec.options.pure is True
    assert spec.options.flows == ("signup", "admin")
    assert spec.options.blocking is True
    assert spec.location == here(fetch)


def test_decorator_called_without_options_is_the_bare_decorator() -> None:
    @vertex()
    def double(x: int) -> int:
        return 2 * x

    spec = spec_of(double)
    assert spec is not None
    assert (spec.name, spec.options.pure, spec.options.flows, spec.options.blocking) == (
        "double",
        False,
        (),
        False,
    )
    assert double(4) == 8


def test_async_functions_stay_coroutine_functions() -> None:
    async def fetch(user_id: int) -> int:
        await asyncio.sleep(0)
        return user_id + 1

    @vertex(pure=True)
    async def load(x: int) -> int:
        return x * 10

    assert vertex(fetch) is fetch
    assert inspect.iscoroutinefunction(fetch)
    assert inspect.iscoroutinefunction(load)
    assert asyncio.run(fetch(1)) == 2
    assert asyncio.run(load(2)) == 20
    fetch_spec, load_spec = spec_of(fetch), spec_of(load)
    assert fetch_spec is not None
    assert fetch_spec.is_async is True
    assert load_spec is not None
    assert load_spec.is_async is True
    assert load_spec.options.pure is True
    assert load_spec.location == here(load)


def test_signature_with_annotated_from_is_intact() -> None:
    @vertex
    def save(user_id: Annotated[int, From("fetch_user.id")], /, validate: bool = True) -> int:
        return user_id if validate else -1

    params = inspect.signature(save).parameters
    assert list(params) == ["user_id", "validate"]
    assert params["user_id"].kind is inspect.Parameter.POSITIONAL_ONLY
    assert params["validate"].default is True
    assert save(7) == 7
    assert save(7, validate=False) == -1


@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        ("signup", ("signup",)),
        (("a", "b"), ("a", "b")),
        (["a", "b"], ("a", "b")),
        ((name for name in ("x", "y")), ("x", "y")),
        ((), ()),
    ],
)
def test_flows_becomes_a_tuple(flows: object, expected: tuple[str, ...]) -> None:
    def step() -> None:
        return None

    vertex(flows=flows)(step)  # type: ignore[arg-type]
    spec = spec_of(step)
    assert spec is not None
    assert spec.options.flows == expected


def test_lambda_with_a_name_is_a_vertex() -> None:
    double = vertex(name="double")(lambda x: 2 * x)

    assert double(21) == 42
    spec = spec_of(double)
    assert spec is not None
    assert spec.name == "double"
    assert spec.function is double
    assert spec.location.file == HERE


def test_spec_is_frozen_and_spec_of_other_objects_is_none() -> None:
    @vertex
    def one() -> int:
        return 1

    spec = spec_of(one)
    assert spec is not None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.name = "two"  # type: ignore[misc]

    def plain() -> int:
        return 1

    plain.__flowdsl_vertex__ = 42  # type: ignore[attr-defined]
    assert spec_of(plain) is None
    assert spec_of(42) is None
    assert spec_of(len) is None


def test_decorator_inside_a_function_captures_the_local_names() -> None:
    class Local:
        pass

    @vertex
    def make() -> Local:
        return Local()

    spec = spec_of(make)
    assert spec is not None
    assert spec.local_names is not None
    assert spec.local_names["Local"] is Local


def test_decorator_at_module_level_captures_no_local_names() -> None:
    assert _module_level_spec.local_names is None


@vertex
def _module_level(x: int) -> int:
    return x


_module_level_spec = spec_of(_module_level)
assert _module_level_spec is not None


def test_a_bare_module_level_vertex_keeps_its_name_and_reads_as_one_vertex() -> None:
    # Such a function holds its vertex name, not a record (a module may define
    # a million); every read gives an equal spec, and reaching it twice
    # (given again, or through its module) is still one vertex.
    assert spec_of(_module_level) == _module_level_spec
    assert (_module_level_spec.function, _module_level_spec.name) == (
        _module_level,
        "_module_level",
    )
    assert _module_level_spec.options is DEFAULT_OPTIONS
    assert _module_level_spec.location == SourceLocation.of(_module_level)
    graph = flowdsl.compile(_module_level, _module_level)
    assert list(graph.vertices) == ["_module_level"]


def test_a_bare_vertex_reads_as_the_record_its_constructor_makes() -> None:
    # ``spec_of`` writes a bare vertex's record field by field (a compile makes
    # one a vertex): every field as the constructor sets it, and frozen.
    spec = spec_of(_module_level)
    made = VertexSpec(function=_module_level, name="_module_level")
    assert type(spec) is VertexSpec
    fields = [f.name for f in attrs.fields(VertexSpec)]
    assert [getattr(spec, f) for f in fields] == [getattr(made, f) for f in fields]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc,union-attr]


_wrapper_calls: list[str] = []


def _logged(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _wrapper_calls.append(fn.__name__)
        return fn(*args, **kwargs)

    return wrapper


@_logged
@vertex
def _doubled(x: int) -> int:
    return 2 * x


@_logged
@vertex(pure=True)
def _tripled(_doubled: int) -> int:
    return 3 * _doubled


def test_a_decorator_over_vertex_runs_its_wrapper_with_the_vertex_options() -> None:
    # functools.wraps copies the vertex's mark onto the wrapper, which is what
    # the module holds: the wrapper runs, under the vertex's name and options.
    _wrapper_calls.clear()
    result = flowdsl.Flow.from_functions(_doubled, _tripled).run({"x": 2})
    assert (result["_doubled"], result["_tripled"]) == (4, 12)
    assert _wrapper_calls == ["_doubled", "_tripled"]
    spec = spec_of(_tripled)
    assert spec is not None
    assert (spec.function, spec.name, spec.options.pure) == (_tripled, "_tripled", True)
    # The function inside is a vertex of the same name: given both, the compile
    # cannot tell which one runs.
    inner = _tripled.__wrapped__
    with pytest.raises(flowdsl.DuplicateVertexError, match="_tripled"):
        flowdsl.compile(_doubled, _tripled, inner)


def test_location_is_the_def_line_after_decorators() -> None:
    # SourceLocation.of's docstring: errors point at the ``def`` line.
    @vertex(
        pure=True,
    )
    def step() -> int:
        return 1

    lines, first = inspect.getsourcelines(step)
    def_line = first + next(i for i, text in enumerate(lines) if "def step(" in text)
    spec = spec_of(step)
    assert spec is not None
    assert spec.location == SourceLocation(HERE, def_line)


def test_decorating_reads_no_source_the_location_does_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Finding the def line below the decorators reads the source file; most
    # locations only serve an error that never comes, so @vertex leaves it
    # for the first read (a module of thousands of vertices kept its whole
    # text in memory, and paid for the lookups when decorating).
    def refuse(*args: Any) -> list[str]:
        raise AssertionError("the source was read while decorating")

    with monkeypatch.context() as patch:
        patch.setattr("linecache.getlines", refuse)

        @vertex
        def step(x: int) -> int:
            return x

        graph = flowdsl.compile(step)
    assert graph.vertices["step"].location == here(step)
    assert graph.vertices["step"].location == spec_of(step).location  # type: ignore[union-attr]


def test_a_location_found_on_first_read_is_a_plain_location() -> None:
    def step() -> int:
        return 1

    found, plain = SourceLocation.of(step), here(step)
    assert (found, hash(found), repr(found), str(found)) == (
        plain,
        hash(plain),
        repr(plain),
        str(plain),
    )
    assert SourceLocation.of(step) == plain
    assert plain == SourceLocation.of(step)
    assert SourceLocation.of(step) != SourceLocation(HERE, plain.line + 1)
    copied = pickle.loads(pickle.dumps(SourceLocation.of(step)))
    assert type(copied) is SourceLocation
    assert copied == plain
    assert attrs.evolve(SourceLocation.of(step), line=3) == SourceLocation(HERE, 3)
    assert attrs.asdict(SourceLocation.of(step)) == {"file": HERE, "line": plain.line}
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        found.line = 3  # type: ignore[misc]


# --- what cannot be a vertex -------------------------------------------------------------------


class _Thing:
    def method(self) -> int:
        return 1


def _plain(x: int) -> int:
    return x


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (42, "not callable"),
        ("normalize", "not callable"),
        (len, "defined with def or async def"),
        (_Thing, "defined with def or async def"),
        (_Thing().method, "defined with def or async def"),
        (functools.partial(len, [1]), "defined with def or async def"),
    ],
    ids=["int", "str", "builtin", "class", "bound-method", "partial-of-builtin"],
)
def test_non_functions_are_rejected_at_the_line_that_made_the_vertex(
    target: object, message: str
) -> None:
    with pytest.raises(InvalidVertexError, match=message) as info:
        vertex(target)  # type: ignore[call-overload]
    line = inspect.currentframe().f_lineno - 1  # type: ignore[union-attr]
    assert info.value.location == SourceLocation(HERE, line)
    with pytest.raises(InvalidVertexError, match=message):
        vertex(name="named")(target)  # type: ignore[arg-type]
    if hasattr(target, "__dict__") and not isinstance(target, type):
        assert spec_of(target) is None


def test_invalid_vertex_error_is_a_compile_error_and_a_type_error() -> None:
    from flowdsl import CompileError

    with pytest.raises(CompileError):
        vertex(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        vertex(42)  # type: ignore[call-overload]


def test_generator_function_is_rejected_with_its_location() -> None:
    def numbers(n: int):  # type: ignore[no-untyped-def]
        yield from range(n)

    with pytest.raises(InvalidVertexError, match="generator function cannot be a vertex") as info:
        vertex(numbers)
    error = info.value
    assert error.vertex == "numbers"
    assert error.location == here(numbers)
    assert f"{HERE}:{here(numbers).line}" in str(error)
    assert spec_of(numbers) is None


def test_async_generator_function_is_rejected_with_its_location() -> None:
    async def numbers(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield i

    with pytest.raises(InvalidVertexError, match="generator function cannot be a vertex") as info:
        vertex(pure=True)(numbers)
    assert info.value.vertex == "numbers"
    assert info.value.location == here(numbers)
    assert spec_of(numbers) is None


def test_lambda_without_a_name_is_rejected_with_its_location() -> None:
    anonymous = lambda x: x  # noqa: E731

    with pytest.raises(InvalidVertexError, match=r"vertex\(name='...'\)") as info:
        vertex(anonymous)
    assert info.value.location == here(anonymous)
    assert "lambda has no name" in str(info.value)
    assert str(info.value).startswith(f"{HERE}:{anonymous.__code__.co_firstlineno}: ")
    assert here(anonymous).line == anonymous.__code__.co_firstlineno
    assert spec_of(anonymous) is None


@pytest.mark.parametrize("bad_name", ["not-ok", "", "1abc", "two words", "a.b", 5])
def test_vertex_name_must_be_an_identifier(bad_name: object) -> None:
    def step() -> int:
        return 1

    with pytest.raises(InvalidVertexError, match="must be a Python identifier") as info:
        vertex(name=bad_name)(step)  # type: ignore[arg-type]
    assert repr(bad_name) in str(info.value)
    assert info.value.location == here(step)
    assert spec_of(step) is None


def test_vertex_on_a_vertex_makes_a_new_one_and_leaves_the_first_as_it_was() -> None:
    @vertex(pure=True)
    def step() -> int:
        return 1

    first = spec_of(step)
    other = vertex(step, name="other", timeout=2)
    again = vertex(pure=False)(step)
    assert spec_of(step) is first
    other_spec, again_spec = spec_of(other), spec_of(again)
    assert other_spec is not None
    assert again_spec is not None
    assert (other_spec.name, other_spec.options.pure, other_spec.options.timeout) == (
        "other",
        True,
        2.0,
    )
    assert (again_spec.name, again_spec.options.pure) == ("step", False)
    assert other() == again() == step() == 1


@pytest.mark.parametrize(
    ("flows", "shown"),
    [
        ([1], "got 1"),
        ([""], "got ''"),
        (("ok", None), "got None"),
        (5, "got 5"),
        (None, "got None"),
        (b"signup", "got b'signup'"),
    ],
    ids=["int-entry", "empty-entry", "none-entry", "int", "none", "bytes"],
)
def test_bad_flows_are_rejected(flows: object, shown: str) -> None:
    def step() -> int:
        return 1

    with pytest.raises(InvalidVertexError, match="flows=") as info:
        vertex(flows=flows)(step)  # type: ignore[arg-type]
    assert shown in str(info.value)
    assert info.value.vertex == "step"
    assert info.value.location == here(step)
    assert spec_of(step) is None


def test_a_plain_vertex_does_not_read_its_callers_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # A frame's line is found by walking its code's line table: read for every
    # @vertex, decorating thousands of functions in one module was quadratic.
    def refuse(frame: object) -> None:
        raise AssertionError("the call site was read")

    monkeypatch.setattr(flowdsl._dsl, "_call_site", refuse)

    @vertex
    def one(x: int) -> int:
        return x

    @vertex(pure=True)
    def two(one: int) -> int:
        return one

    assert flowdsl.Flow.from_functions(one, two).run({"x": 1})["two"] == 1


@pytest.mark.parametrize("option", ["pure", "blocking"])
@pytest.mark.parametrize("value", ["false", "true", 0, 1, None])
def test_a_flag_takes_only_a_bool(option: str, value: object) -> None:
    def step() -> int:
        return 1

    with pytest.raises(InvalidVertexError) as info:
        vertex(**{option: value})(step)  # type: ignore[call-overload]
    assert str(info.value) == (
        f"vertex 'step' ({here(step)}): {option}= takes True or False; got {value!r}"
    )
    assert spec_of(step) is None


def test_a_vertex_name_python_would_read_as_another_is_refused() -> None:
    def step() -> int:
        return 1

    ligature = "\ufb01le"  # "file" written with the "fi" ligature
    with pytest.raises(InvalidVertexError) as info:
        vertex(name=ligature)(step)
    assert str(info.value) == (
        f"{here(step)}: the vertex name {ligature!r} reads as 'file' in Python code "
        "(Unicode NFKC); name it 'file'"
    )
    assert spec_of(step) is None
    with pytest.raises(InvalidVertexError, match="reads as 'file'"):
        vertex(step, name=ligature)


class _CallableThing:
    def __call__(self, x: int) -> int:
        return x


def test_a_callable_instance_is_refused_at_the_line_that_decorates_it() -> None:
    thing = _CallableThing()
    with pytest.raises(InvalidVertexError, match="defined with def or async def") as info:
        vertex(pure=True)(thing)  # type: ignore[arg-type]
    line = inspect.currentframe().f_lineno - 1  # type: ignore[union-attr]
    assert info.value.location == SourceLocation(HERE, line)
    assert str(info.value).startswith(f"{HERE}:{line}: ")
