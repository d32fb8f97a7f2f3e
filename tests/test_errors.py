"""Each error class of ``flowdsl.errors``, triggered through real library use."""

from __future__ import annotations

import inspect
import pickle
import re
import threading
import typing
from pathlib import Path
from typing import Annotated, Any

import anyio
import pytest

import flowdsl
import flowdsl.errors
from flowdsl import (
    BindingError,
    CompileError,
    ContractViolation,
    CycleError,
    DataResolutionError,
    DuplicateVertexError,
    Flow,
    FlowCancelled,
    FlowDSLError,
    From,
    InvalidVertexError,
    MissingInputError,
    SettingsError,
    SourceLocation,
    TypeMismatchError,
    UnknownInputError,
    VertexFailed,
    VertexTimeout,
    vertex,
)
from tests.strategies import definition_lines

#: Classes of ``flowdsl.errors.__all__`` that nothing in the library raises yet.
NOT_RAISED_YET: frozenset[str] = frozenset()


def assert_location(location: SourceLocation | None, fn: Any) -> None:
    assert location is not None
    assert location.file == inspect.getsourcefile(fn)
    assert location.line in definition_lines(fn)


# --------------------------------------------------------------------------- compile errors


def test_cycle_error() -> None:
    @vertex
    def ping(pong: int) -> int:
        return pong

    @vertex
    def pong(ping: int) -> int:
        return ping

    with pytest.raises(CycleError) as caught:
        Flow.from_functions(ping, pong)

    error = caught.value
    assert isinstance(error, CompileError)
    assert isinstance(error, FlowDSLError)
    assert error.cycle == ("ping", "pong", "ping")
    assert error.vertex == "pong"
    assert error.parameter == "ping"
    assert_location(error.location, pong)
    assert "dependency cycle ping -> pong -> ping" in str(error)
    assert "pong.ping reads ping" in str(error)
    assert "ping.pong reads pong" in str(error)
    assert error.problems == (error,)


def test_binding_error_for_an_unknown_reference() -> None:
    @vertex
    def fetch(x: int) -> int:
        return x

    @vertex
    def use(value: Annotated[int, From("fetc")]) -> int:
        return value

    with pytest.raises(BindingError) as caught:
        flowdsl.compile(fetch, use)

    error = caught.value
    assert error.vertex == "use"
    assert error.parameter == "value"
    assert_location(error.location, use)
    assert "there is no vertex named 'fetc'; did you mean 'fetch'?" in str(error)
    assert str(error).startswith(f"vertex 'use', parameter 'value' ({error.location}): ")


def test_binding_error_for_star_args() -> None:
    @vertex
    def spread(*values: int) -> int:
        return sum(values)

    with pytest.raises(BindingError) as caught:
        flowdsl.compile(spread)
    assert caught.value.parameter == "values"
    assert "*values cannot be bound" in str(caught.value)


def test_duplicate_vertex_error() -> None:
    @vertex
    def load(x: int) -> int:
        return x

    @vertex(name="load")
    def load_again(x: int) -> int:
        return x

    with pytest.raises(DuplicateVertexError) as caught:
        Flow.from_functions(load, load_again)

    error = caught.value
    assert error.vertex == "load"
    assert_location(error.location, load_again)
    assert f"already taken by the vertex defined at {inspect.getsourcefile(load)}:" in str(error)


def test_type_mismatch_error() -> None:
    @vertex
    def count(x: int) -> int:
        return x

    @vertex
    def shout(count: str) -> str:
        return count.upper()

    with pytest.raises(TypeMismatchError) as caught:
        Flow.from_functions(count, shout)

    error = caught.value
    assert isinstance(error, TypeError)
    assert error.vertex == "shout"
    assert error.parameter == "count"
    assert_location(error.location, shout)
    assert "'count' produces int, but the parameter expects str" in str(error)


def test_invalid_vertex_error() -> None:
    with pytest.raises(InvalidVertexError) as caught:
        vertex(42)  # type: ignore[call-overload]
    error = caught.value
    assert isinstance(error, TypeError)
    assert error.vertex is None
    assert "not callable" in str(error)

    with pytest.raises(InvalidVertexError, match="a lambda has no name"):
        vertex(lambda x: x)

    def gen(x: int) -> Any:
        yield x

    with pytest.raises(InvalidVertexError) as caught:
        vertex(gen)
    assert caught.value.vertex == "gen"
    assert "generator function cannot be a vertex" in str(caught.value)


def test_several_problems_are_one_compile_error() -> None:
    @vertex
    def first(y: Annotated[int, From("nowhere")]) -> int:
        return y

    @vertex
    def second(*rest: int) -> int:
        return 0

    with pytest.raises(CompileError) as caught:
        flowdsl.compile(first, second)

    error = caught.value
    assert type(error) is CompileError
    assert [type(p) for p in error.problems] == [BindingError, BindingError]
    assert [p.vertex for p in error.problems] == ["first", "second"]
    assert str(error).startswith("2 problems found:\n  - vertex 'first'")
    assert "  - vertex 'second', parameter 'rest'" in str(error)


# --------------------------------------------------------------------------- run errors


@vertex
def greet(name: str, greeting: str = "hello") -> str:
    return f"{greeting} {name}"


@vertex
def shout(greet: str, times: int) -> str:
    return greet.upper() * times


def test_missing_input_error() -> None:
    with pytest.raises(MissingInputError) as caught:
        Flow.from_functions(greet, shout).run({})
    error = caught.value
    assert isinstance(error, LookupError)
    assert error.missing == ("name", "times")
    assert error.vertex is None
    assert "missing 2 required inputs" in str(error)
    assert "'name', read by greet.name" in str(error)


def test_unknown_input_error() -> None:
    with pytest.raises(UnknownInputError) as caught:
        Flow.from_functions(greet).run({"name": "a", "nmae": 2})
    error = caught.value
    assert type(error) is UnknownInputError
    assert isinstance(error, LookupError)
    assert error.unknown == ("nmae",)
    assert "'nmae' (did you mean 'name'?)" in str(error)


def test_missing_and_unknown_input_error() -> None:
    # The typo 'time' also leaves 'times' missing: one error tells both.
    with pytest.raises(UnknownInputError) as caught:
        Flow.from_functions(greet, shout).run({"name": "a", "time": 2})
    error = caught.value
    assert type(error) is flowdsl.MissingAndUnknownInputError
    assert isinstance(error, MissingInputError)
    assert (error.missing, error.unknown) == (("times",), ("time",))
    assert str(error).splitlines() == [
        "1 unknown input: 'time' (did you mean 'times'?) (the flow inputs are: name, greeting, "
        "times)",
        "missing 1 required input:",
        f"  - 'times', read by shout.times ({SourceLocation.of(shout)})",
    ]


def test_argument_type_error() -> None:
    with pytest.raises(TypeError) as caught:
        Flow.from_functions(greet).run({"name": "a"}, outputs=5)  # type: ignore[arg-type]
    error = caught.value
    assert type(error) is flowdsl.ArgumentTypeError
    assert isinstance(error, FlowDSLError)
    assert error.argument == "outputs"
    assert str(error) == (
        "outputs= takes an output name, a @vertex function, or a list of them; got 5 (an int)"
    )


def test_data_resolution_error() -> None:
    @vertex
    def config(x: int) -> dict[str, int]:
        return {"depth": x}

    @vertex
    def build(width: Annotated[int, From("config.width")]) -> int:
        return width

    with pytest.raises(DataResolutionError) as caught:
        Flow.from_functions(config, build).run({"x": 1})
    error = caught.value
    assert isinstance(error, LookupError)
    assert error.vertex == "build"
    assert error.parameter == "width"
    assert "vertex 'config'" in str(error)
    assert "no field 'width'" in str(error)


def test_contract_violation() -> None:
    @vertex
    def parse(text: str) -> int:
        return int(text)

    @vertex
    def label(parse: int) -> str:
        return f"#{parse}"

    flow = Flow.from_functions(parse, label)
    with pytest.raises(ContractViolation) as caught:
        flow.run({"text": 7})
    error = caught.value
    assert isinstance(error, FlowDSLError)
    assert error.vertex == "parse"
    assert error.parameter == "text"
    assert_location(error.location, parse)
    assert (error.path, error.expected, error.actual) == ("text", "str", "7 (int)")
    assert "text: expected str, got 7 (int)" in str(error)
    assert flow.run({"text": 7}, contracts="off")["label"] == "#7"


def test_contract_warning() -> None:
    class Opaque(typing.Protocol):  # not runtime-checkable: an instance check is impossible
        def size(self) -> int: ...

    def measure(thing: Opaque) -> int:
        return thing.size()

    with pytest.warns(flowdsl.ContractWarning, match="cannot check") as caught:
        Flow.from_functions(vertex(measure))
    (warning,) = caught
    assert issubclass(warning.category, flowdsl.FlowDSLWarning)
    assert "vertex 'measure', 'thing'" in str(warning.message)
    assert warning.filename == inspect.getsourcefile(measure)
    assert warning.lineno in definition_lines(measure)


def test_cache_warning() -> None:
    class Handle:  # a plain object: nothing about it can be fingerprinted
        pass

    calls: list[int] = []

    def size(handle: Handle) -> int:
        calls.append(1)
        return 1

    flow = Flow.from_functions(vertex(pure=True)(size))
    with pytest.warns(flowdsl.CacheWarning, match="cannot be fingerprinted") as caught:
        result = flow.run({"handle": Handle()}, cache=True)
    assert result["size"] == 1
    assert calls == [1]
    assert result.metrics.vertices["size"].cache == "uncacheable"
    (warning,) = caught
    assert issubclass(warning.category, flowdsl.FlowDSLWarning)
    assert "vertex 'size' is not cached" in str(warning.message)
    assert "Handle" in str(warning.message)
    assert warning.filename == inspect.getsourcefile(size)
    assert warning.lineno in definition_lines(size)


def test_vertex_failed() -> None:
    @vertex
    def divide(x: int) -> float:
        return 1 / x

    with pytest.raises(VertexFailed) as caught:
        Flow.from_functions(divide).run({"x": 0})
    error = caught.value
    assert isinstance(error.__cause__, ZeroDivisionError)
    assert error.vertex == "divide"
    assert error.attempts == 1
    assert_location(error.location, divide)
    assert "raised ZeroDivisionError: division by zero" in str(error)
    assert error.result is not None
    assert error.result.states["divide"] == "failed"


def test_iteration_limit_error() -> None:
    @vertex(until=lambda n: n > 100, max_iterations=2)
    def grow(start: int, last: Annotated[int | None, flowdsl.Previous()]) -> int:
        return start if last is None else last * 2

    with pytest.raises(flowdsl.IterationLimitError) as caught:
        Flow.from_functions(grow).run({"start": 3})
    error = caught.value
    assert isinstance(error, VertexFailed)
    assert error.vertex == "grow"
    assert error.max_iterations == 2
    assert error.attempts == 2
    assert_location(error.location, grow)
    assert "until= did not hold after max_iterations=2 iterations (last output: 6)" in str(error)


def test_checkpoint_error(tmp_path: Path) -> None:
    @vertex
    def opaque(x: int) -> object:
        return object()

    with pytest.raises(flowdsl.CheckpointError) as caught:
        Flow.from_functions(opaque).run(
            {"x": 1}, checkpoint=tmp_path / "runs.db", serializer="json"
        )
    error = caught.value
    assert error.vertex == "opaque"
    assert error.parameter == "return"
    assert_location(error.location, opaque)
    assert "cannot be written with the 'json' serializer" in str(error)


def test_cache_file_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database " * 100)
    with pytest.raises(flowdsl.CacheFileError) as caught:
        Flow.from_functions(greet).run({"name": "a"}, cache=tmp_path / "notes.txt")
    error = caught.value
    assert isinstance(error, FlowDSLError)
    assert isinstance(error, ValueError)  # what it was before it joined the tree
    assert error.path == str(tmp_path / "notes.txt")
    assert str(error).startswith(f"{tmp_path / 'notes.txt'} is not a SQLite database")


def test_group_error() -> None:
    group = flowdsl.AtomicGroup("g", backend=flowdsl.MemoryTransaction())

    @vertex(group=group)
    def first(x: int) -> int:
        return x

    @vertex
    def between(first: int) -> int:
        return first

    @vertex(group=group)
    def last(between: int) -> int:
        return between

    with pytest.raises(flowdsl.GroupError) as caught:
        flowdsl.compile(first, between, last)
    assert isinstance(caught.value, flowdsl.CompileError)
    assert caught.value.vertex == "between"
    assert_location(caught.value.location, between)


def test_rollback_failed() -> None:
    class Stuck(flowdsl.MemoryTransaction):
        def rollback(self, transaction: Any) -> None:
            raise OSError("cannot roll back")

    group = flowdsl.AtomicGroup("g", backend=Stuck())

    @vertex(group=group)
    def write(x: int) -> int:
        raise ValueError("write failed")

    with pytest.raises(flowdsl.RollbackFailed) as caught:
        Flow.from_functions(write).run({"x": 1})
    error = caught.value
    assert isinstance(error, VertexFailed)
    assert isinstance(error.__cause__, ValueError)
    assert [str(e) for e in error.errors] == ["cannot roll back"]
    assert error.vertex == "write"
    assert error.result is not None


def test_settings_error() -> None:
    with pytest.raises(SettingsError) as caught:
        Flow.from_functions(greet).run({"name": "a"}, on_error="sometimes")
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.source == "argument on_error"
    assert "on_error='sometimes' is not one of: raise, continue" in str(error)


def test_vertex_timeout_of_one_vertex() -> None:
    @vertex
    def quick(x: int) -> int:
        return x

    @vertex(timeout=0.05)
    async def stuck(quick: int) -> int:
        await anyio.sleep(60)
        return quick

    with pytest.raises(VertexTimeout) as caught:
        Flow.from_functions(quick, stuck).run({"x": 1})
    error = caught.value
    assert isinstance(error, VertexFailed)
    assert isinstance(error, TimeoutError)
    assert error.vertex == "stuck"
    assert_location(error.location, stuck)
    assert "did not finish within its timeout of 0.05s" in str(error)
    assert error.result is not None
    assert dict(error.result.states) == {"quick": "completed", "stuck": "failed"}
    assert error.result["quick"] == 1


def test_vertex_timeout_of_the_run() -> None:
    @vertex
    async def stuck(x: int) -> int:
        await anyio.sleep(60)
        return x

    with pytest.raises(VertexTimeout) as caught:
        Flow.from_functions(stuck).run({"x": 1}, timeout=0.05)
    error = caught.value
    assert error.vertex is None
    assert "the run did not finish within its timeout of 0.05s (still running: stuck)" in str(error)
    assert error.result is not None
    assert error.result.states["stuck"] == "running"


def test_flow_cancelled() -> None:
    started = threading.Event()

    @vertex
    def before(x: int) -> int:
        return x

    @vertex
    async def waiting(before: int) -> int:
        started.set()
        await anyio.sleep(60)
        return before

    handle = Flow.from_functions(before, waiting).start({"x": 2})
    assert started.wait(10)
    handle.cancel()

    with pytest.raises(FlowCancelled) as caught:
        handle.result(timeout=10)
    error = caught.value
    assert handle.done()
    assert "cancelled" in str(error)
    assert error.result is not None
    assert error.result["before"] == 2
    assert error.result.states["waiting"] == "running"


def test_error_location_is_the_def_line_of_a_decorated_vertex() -> None:
    """``SourceLocation.of`` documents "the ``def`` line, after decorators"."""

    @vertex(name="decorated")
    def fails(x: int) -> int:
        raise ValueError(x)

    with pytest.raises(VertexFailed) as caught:
        Flow.from_functions(fails).run({"x": 1})
    location = caught.value.location
    assert location is not None
    assert location.line == definition_lines(fails)[-1]  # the `def fails(` line


# --------------------------------------------------------------------------- the tree


def test_every_error_class_is_covered() -> None:
    """Each class in ``__all__`` has a test above that triggers it, or is not raised yet."""
    covered = {
        "FlowDSLError": test_cycle_error,  # asserts the base class too
        "CompileError": test_several_problems_are_one_compile_error,
        "CycleError": test_cycle_error,
        "BindingError": test_binding_error_for_an_unknown_reference,
        "DuplicateVertexError": test_duplicate_vertex_error,
        "TypeMismatchError": test_type_mismatch_error,
        "InvalidVertexError": test_invalid_vertex_error,
        "MissingInputError": test_missing_input_error,
        "UnknownInputError": test_unknown_input_error,
        "MissingAndUnknownInputError": test_missing_and_unknown_input_error,
        "ArgumentTypeError": test_argument_type_error,
        "DataResolutionError": test_data_resolution_error,
        "VertexFailed": test_vertex_failed,
        "VertexTimeout": test_vertex_timeout_of_one_vertex,
        "IterationLimitError": test_iteration_limit_error,
        "CheckpointError": test_checkpoint_error,
        "CacheFileError": test_cache_file_error,
        "GroupError": test_group_error,
        "RollbackFailed": test_rollback_failed,
        "FlowCancelled": test_flow_cancelled,
        "SettingsError": test_settings_error,
        "ContractViolation": test_contract_violation,
        "ContractWarning": test_contract_warning,
        "FlowDSLWarning": test_contract_warning,
        "CacheWarning": test_cache_warning,
    }
    for name, test in covered.items():
        assert name in inspect.getsource(test), name
    assert set(covered) | NOT_RAISED_YET == set(flowdsl.errors.__all__)
    assert not set(covered) & NOT_RAISED_YET


def test_the_not_raised_yet_list_is_current() -> None:
    """Once the library raises one of them, it needs a trigger test above."""
    package = Path(flowdsl.__file__).parent
    sources = {
        path: path.read_text(encoding="utf-8")
        for path in package.rglob("*.py")
        if path.name != "errors.py" and path != package / "__init__.py"
    }
    for name in NOT_RAISED_YET:
        raised = [str(p) for p, text in sources.items() if re.search(rf"\b{name}\(", text)]
        assert not raised, f"{name} is raised in {raised}: add a test that triggers it"


def docstring_tree() -> list[str]:
    """The lines of the fenced ``text`` block in the ``flowdsl.errors`` docstring."""
    doc = flowdsl.errors.__doc__ or ""
    block = doc.split("```text\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def test_the_module_docstring_tree_mentions_every_class() -> None:
    words = {re.sub(r"^[\s|+-]*", "", line).split(" ")[0] for line in docstring_tree()}
    for name in flowdsl.errors.__all__:
        assert name in words, name


def test_the_docstring_tree_matches_the_class_hierarchy() -> None:
    depth: dict[str, int] = {}
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in docstring_tree():
        stripped = line.strip()
        if not stripped:
            continue
        word = stripped.removeprefix("|").strip().removeprefix("+--").strip().split(" ")[0]
        if word not in flowdsl.errors.__all__:
            continue
        level = line.find(word)
        while stack and depth[stack[-1]] >= level:
            stack.pop()
        if stack:
            parents[word] = stack[-1]
        depth[word] = level
        stack.append(word)
    assert set(depth) == set(flowdsl.errors.__all__)
    assert parents["CycleError"] == "CompileError"
    assert parents["VertexTimeout"] == "VertexFailed"
    assert parents["SettingsError"] == "FlowDSLError"
    for child, parent in parents.items():
        assert issubclass(getattr(flowdsl.errors, child), getattr(flowdsl.errors, parent))


def test_errors_are_re_exported_from_flowdsl() -> None:
    for name in flowdsl.errors.__all__:
        assert getattr(flowdsl, name) is getattr(flowdsl.errors, name)
        assert name in flowdsl.__all__
        assert issubclass(getattr(flowdsl, name), (FlowDSLError, flowdsl.FlowDSLWarning))


def test_errors_pickle_with_their_context() -> None:
    with pytest.raises(MissingInputError) as caught:
        Flow.from_functions(greet, shout).run({"name": "a"})
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is MissingInputError
    assert copy.missing == ("times",)
    assert str(copy) == str(caught.value)

    @vertex
    def orphan(v: Annotated[int, From("nothing")]) -> int:
        return v

    with pytest.raises(BindingError) as bound:
        flowdsl.compile(orphan)
    restored = pickle.loads(pickle.dumps(bound.value))
    assert (restored.vertex, restored.parameter, restored.location) == (
        "orphan",
        "v",
        bound.value.location,
    )
