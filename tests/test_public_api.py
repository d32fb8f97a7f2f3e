"""The public surface: ``flowdsl.__all__`` pinned, public names shown as ``flowdsl.X``, errors."""

import ast
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import flowdsl
import flowdsl.errors
from flowdsl import SourceLocation

EXPECTED_ALL = [
    "ArgumentTypeError",
    "AtomicGroup",
    "Binding",
    "BindingError",
    "CacheFileError",
    "CacheHit",
    "CacheStats",
    "CacheStore",
    "CacheWarning",
    "Check",
    "CheckOutcome",
    "CheckpointError",
    "CheckpointStore",
    "Columns",
    "CompileError",
    "ContractViolation",
    "ContractWarning",
    "CycleError",
    "DataResolutionError",
    "DuplicateVertexError",
    "EffectiveSettings",
    "Event",
    "Flow",
    "FlowCancelled",
    "FlowDSLError",
    "FlowDSLWarning",
    "FlowInput",
    "From",
    "Graph",
    "GroupError",
    "Input",
    "InputConsumer",
    "InvalidVertexError",
    "IterationLimitError",
    "Lineage",
    "Listener",
    "MapOver",
    "MemoryCache",
    "MemoryTransaction",
    "MissingAndUnknownInputError",
    "MissingInputError",
    "Previous",
    "RetryPolicy",
    "RollbackFailed",
    "RunEnded",
    "RunHandle",
    "RunKeywords",
    "RunMetrics",
    "RunRecord",
    "RunResult",
    "RunStarted",
    "SQLiteCache",
    "SQLiteTransaction",
    "SettingValue",
    "Settings",
    "SettingsError",
    "SourceLocation",
    "Span",
    "SubFlow",
    "Timeline",
    "Trace",
    "TraceEdge",
    "TraceStep",
    "Transaction",
    "TransactionBackend",
    "TypeMismatchError",
    "UnknownInputError",
    "VertexEnded",
    "VertexErrored",
    "VertexFailed",
    "VertexMetrics",
    "VertexNode",
    "VertexRetrying",
    "VertexSkipped",
    "VertexStarted",
    "VertexState",
    "VertexTimeout",
    "compile",
    "configure",
    "product",
    "settings",
    "vertex",
]

DESIGN_ERRORS = [
    "FlowDSLError",
    "CompileError",
    "CycleError",
    "BindingError",
    "DuplicateVertexError",
    "TypeMismatchError",
    "MissingInputError",
    "DataResolutionError",
    "ContractViolation",
    "VertexFailed",
    "VertexTimeout",
    "FlowCancelled",
    "SettingsError",
]


def test_all_is_pinned() -> None:
    assert flowdsl.__all__ == EXPECTED_ALL


def test_all_is_sorted_without_duplicates() -> None:
    assert flowdsl.__all__ == sorted(flowdsl.__all__)
    assert len(flowdsl.__all__) == len(set(flowdsl.__all__))
    assert flowdsl.errors.__all__ == sorted(flowdsl.errors.__all__)
    assert len(flowdsl.errors.__all__) == len(set(flowdsl.errors.__all__))


@pytest.mark.parametrize("name", EXPECTED_ALL)
def test_every_public_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from flowdsl import {name}", namespace)
    assert namespace[name] is getattr(flowdsl, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from flowdsl import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == EXPECTED_ALL


@pytest.mark.parametrize("name", EXPECTED_ALL)
def test_public_names_report_the_package_as_their_module(name: str) -> None:
    obj = getattr(flowdsl, name)
    if name in flowdsl.errors.__all__:
        assert obj.__module__ == "flowdsl.errors"
    else:
        assert obj.__module__ == "flowdsl"


def test_only_errors_live_in_the_public_errors_module() -> None:
    public = {name for name in EXPECTED_ALL if getattr(flowdsl, name).__module__ != "flowdsl"}
    assert public == set(flowdsl.errors.__all__)


@pytest.mark.parametrize("name", flowdsl.errors.__all__)
def test_error_classes_are_flowdsl_errors_exported_from_the_package(name: str) -> None:
    cls = getattr(flowdsl.errors, name)
    assert isinstance(cls, type)
    assert issubclass(cls, (flowdsl.errors.FlowDSLError, flowdsl.errors.FlowDSLWarning))
    assert name in flowdsl.__all__
    assert getattr(flowdsl, name) is cls


def test_the_design_cards_errors_are_all_there() -> None:
    assert set(DESIGN_ERRORS) <= set(flowdsl.errors.__all__)


@pytest.mark.parametrize(
    ("child", "parents"),
    [
        ("CycleError", ("CompileError",)),
        ("BindingError", ("CompileError",)),
        ("DuplicateVertexError", ("CompileError",)),
        ("TypeMismatchError", ("CompileError", TypeError)),
        ("InvalidVertexError", ("CompileError", TypeError)),
        ("MissingInputError", ("FlowDSLError", LookupError)),
        ("UnknownInputError", ("FlowDSLError", LookupError)),
        ("DataResolutionError", ("FlowDSLError", LookupError)),
        ("VertexTimeout", ("VertexFailed", TimeoutError)),
        ("IterationLimitError", ("VertexFailed",)),
        ("SettingsError", ("FlowDSLError", ValueError)),
        ("CompileError", ("FlowDSLError",)),
        ("CacheFileError", ("FlowDSLError", ValueError)),
        ("ArgumentTypeError", ("FlowDSLError", TypeError)),
        ("MissingAndUnknownInputError", ("MissingInputError", "UnknownInputError")),
    ],
)
def test_error_tree(child: str, parents: tuple[object, ...]) -> None:
    cls = getattr(flowdsl, child)
    for parent in parents:
        assert issubclass(cls, getattr(flowdsl, parent) if isinstance(parent, str) else parent)


def _type_checking_imports() -> dict[str, tuple[str, ...]]:
    """What ``flowdsl/__init__.py`` imports for type checkers: module -> names, in order."""
    tree = ast.parse(Path(flowdsl.__file__).read_text(encoding="utf-8"))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    found: dict[str, tuple[str, ...]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        module = "." * node.level + (node.module or "")
        found[module] = found.get(module, ()) + tuple(alias.name for alias in node.names)
    return found


def test_the_lazy_names_are_the_ones_type_checkers_see() -> None:
    """``_WHERE`` (what Python imports on first access) and the imports under
    ``TYPE_CHECKING`` (what type checkers and the docs read) name the same modules."""
    seen = _type_checking_imports()
    assert seen.pop(".") == ("errors", "fingerprint")
    assert seen == flowdsl._WHERE
    assert sorted(name for names in seen.values() for name in names) == EXPECTED_ALL


def test_dir_lists_the_public_names_before_they_are_loaded() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import flowdsl, sys\nprint(sorted(dir(flowdsl)))\n"
            "print(sorted(m for m in sys.modules if m.startswith('flowdsl')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    listed, loaded = (ast.literal_eval(line) for line in completed.stdout.splitlines())
    assert set(EXPECTED_ALL) | {"errors", "fingerprint", "__version__"} <= set(listed)
    assert loaded == ["flowdsl"]


def test_the_public_submodules_are_attributes_of_a_plain_import() -> None:
    code = (
        "import flowdsl\n"
        "assert flowdsl.errors.CompileError is flowdsl.CompileError\n"
        "assert callable(flowdsl.fingerprint.register)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_classes_loaded_with_a_public_name_show_as_flowdsl_names() -> None:
    """A script that reads only ``flowdsl.vertex`` and ``flowdsl.Flow`` still sees its
    result's and graph's classes as ``flowdsl.RunResult`` and ``flowdsl.Graph``."""
    code = (
        "import flowdsl\n"
        "@flowdsl.vertex\n"
        "def double(x: int) -> int:\n"
        "    return 2 * x\n"
        "flow = flowdsl.Flow.from_functions(double)\n"
        "result = flow.run({'x': 2})\n"
        "print([type(v).__module__ for v in (result, flow.graph, result.states['double'])])\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert ast.literal_eval(completed.stdout) == ["flowdsl", "flowdsl", "flowdsl"]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'flowdsl' has no attribute 'Flw'"):
        flowdsl.Flw  # type: ignore[attr-defined]
    assert not hasattr(flowdsl, "_lazy_nothing")


def test_public_objects_unpickle_in_a_process_that_never_imported_flowdsl() -> None:
    """What a Dask worker does: unpickling finds each class as ``flowdsl.X`` on first use."""
    dump = (
        "import pickle, sys, flowdsl\n"
        "values = [flowdsl.From('load.id'), flowdsl.RetryPolicy(max_retries=2),"
        " flowdsl.SourceLocation('p.py', 3), flowdsl.VertexState.COMPLETED]\n"
        "sys.stdout.buffer.write(pickle.dumps(values))\n"
    )
    load = (
        "import pickle, sys\n"
        "values = pickle.loads(sys.stdin.buffer.read())\n"
        "print([type(v).__module__ + '.' + type(v).__qualname__ for v in values])\n"
        "print(values[1].max_retries, values[3].name)\n"
    )
    pickled = subprocess.run([sys.executable, "-c", dump], capture_output=True, check=True)
    loaded = subprocess.run(
        [sys.executable, "-c", load], input=pickled.stdout, capture_output=True, check=True
    )
    types_line, values_line = loaded.stdout.decode().splitlines()
    assert ast.literal_eval(types_line) == [
        "flowdsl.From",
        "flowdsl.RetryPolicy",
        "flowdsl.SourceLocation",
        "flowdsl.VertexState",
    ]
    assert values_line == "2 COMPLETED"


def test_version() -> None:
    assert isinstance(flowdsl.__version__, str)
    assert flowdsl.__version__.count(".") >= 1


# --- errors: messages and pickling ------------------------------------------------------------

LOCATION = SourceLocation("/src/pipeline.py", 23)


def test_message_is_prefixed_with_the_context() -> None:
    error = flowdsl.BindingError(
        "unknown vertex", vertex="save", parameter="user_id", location=LOCATION
    )
    assert str(error) == (
        "vertex 'save', parameter 'user_id' (/src/pipeline.py:23): unknown vertex"
    )
    assert error.message == "unknown vertex"
    assert str(flowdsl.FlowDSLError("plain")) == "plain"
    assert str(flowdsl.FlowDSLError("at", location=LOCATION)) == "/src/pipeline.py:23: at"
    assert str(flowdsl.FlowDSLError("v", vertex="a")) == "vertex 'a': v"
    assert str(LOCATION) == "/src/pipeline.py:23"


def make_errors() -> list[flowdsl.FlowDSLError]:
    context = {"vertex": "save", "parameter": "user_id", "location": LOCATION}
    return [
        flowdsl.FlowDSLError("base", **context),
        flowdsl.CompileError("compile", **context),
        flowdsl.CycleError("cycle", cycle=("a", "b", "a"), **context),
        flowdsl.BindingError("binding", **context),
        flowdsl.DuplicateVertexError("duplicate", **context),
        flowdsl.TypeMismatchError("mismatch", **context),
        flowdsl.InvalidVertexError("invalid", **context),
        flowdsl.MissingInputError("missing", missing=("x", "y"), **context),
        flowdsl.UnknownInputError("unknown", unknown=("z",), **context),
        flowdsl.DataResolutionError("resolution", **context),
        flowdsl.ContractViolation(
            "contract", path="return['id']", expected="int", actual="'7'", **context
        ),
        flowdsl.VertexFailed("failed", attempts=3, **context),
        flowdsl.VertexTimeout("timeout", attempts=2, **context),
        flowdsl.IterationLimitError("loop", max_iterations=5, attempts=5, **context),
        flowdsl.FlowCancelled("cancelled", **context),
        flowdsl.SettingsError("settings", source="FLOWDSL_BACKEND", **context),
        flowdsl.ArgumentTypeError("argument", argument="outputs", **context),
        flowdsl.CacheFileError("cache file", path="cache.db", **context),
        flowdsl.MissingAndUnknownInputError("both", missing=("x",), unknown=("y",), **context),
    ]


@pytest.mark.parametrize("error", make_errors(), ids=lambda e: type(e).__name__)
def test_errors_pickle_round_trip(error: flowdsl.FlowDSLError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.vertex == "save"
    assert copy.parameter == "user_id"
    assert copy.location == LOCATION
    assert copy.message == error.message
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert str(copy).startswith("vertex 'save', parameter 'user_id' (/src/pipeline.py:23): ")
    extras = {
        "cycle",
        "missing",
        "unknown",
        "path",
        "expected",
        "actual",
        "attempts",
        "element",
        "max_iterations",
        "source",
        "argument",
    }
    for attribute in extras & set(vars(error)):
        assert getattr(copy, attribute) == getattr(error, attribute)


def test_pickled_errors_keep_their_specific_attributes() -> None:
    by_type = {type(e).__name__: pickle.loads(pickle.dumps(e)) for e in make_errors()}
    assert by_type["CycleError"].cycle == ("a", "b", "a")
    assert by_type["MissingInputError"].missing == ("x", "y")
    assert by_type["UnknownInputError"].unknown == ("z",)
    assert by_type["ContractViolation"].path == "return['id']"
    assert by_type["ContractViolation"].expected == "int"
    assert by_type["VertexFailed"].attempts == 3
    assert by_type["VertexFailed"].result is None
    assert by_type["SettingsError"].source == "FLOWDSL_BACKEND"
    assert by_type["ArgumentTypeError"].argument == "outputs"
    assert by_type["CacheFileError"].path == "cache.db"
    both = by_type["MissingAndUnknownInputError"]
    assert (both.missing, both.unknown) == (("x",), ("y",))


def test_an_error_without_context_pickles() -> None:
    copy = pickle.loads(pickle.dumps(flowdsl.CompileError("just a message")))
    assert (copy.vertex, copy.parameter, copy.location) == (None, None, None)
    assert str(copy) == "just a message"
    assert copy.problems == (copy,)


def test_collected_compile_errors_list_their_problems() -> None:
    first = flowdsl.BindingError("one", vertex="a", location=LOCATION)
    second = flowdsl.CycleError("two", cycle=("b", "b"), vertex="b")
    assert flowdsl.CompileError.collect([first]) is first
    error = flowdsl.CompileError.collect([first, second])
    assert type(error) is flowdsl.CompileError
    assert error.problems == (first, second)
    assert str(error) == (
        "2 problems found:\n  - vertex 'a' (/src/pipeline.py:23): one\n  - vertex 'b': two"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert [type(p) for p in copy.problems] == [flowdsl.BindingError, flowdsl.CycleError]
    assert [str(p) for p in copy.problems] == [str(first), str(second)]
    assert copy.problems[1].cycle == ("b", "b")
