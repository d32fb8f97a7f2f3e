"""The binding rules, and qualified fields of structured outputs."""

import dataclasses
import inspect
from typing import Annotated, Any, NamedTuple

import pytest
from typing_extensions import NotRequired, Required, TypedDict

import flowdsl
from flowdsl import Binding, BindingError, From, vertex
from flowdsl._model.graph import NO_DEFAULT

FUTURE = pytest.mark.parametrize("future", [False, True], ids=["eager", "postponed"])


def summary(binding: Binding) -> tuple[object, ...]:
    """What a binding binds, without the annotation and default."""
    return (
        binding.parameter,
        binding.source,
        binding.field,
        binding.access,
        binding.is_input,
        binding.keyword_only,
    )


def bindings_of(graph: flowdsl.Graph, name: str) -> list[tuple[object, ...]]:
    return [summary(b) for b in graph.vertices[name].bindings]


PIPELINE = """
from typing import Annotated, TypedDict
from flowdsl import From, vertex

class User(TypedDict):
    id: int
    name: str

@vertex
def normalize(name: str) -> str:
    return name.strip().lower()

@vertex(pure=True)
def validate(normalize: str) -> bool:
    return normalize.isalnum()

@vertex
def fetch_user(normalize: str) -> User:
    return {"id": 7, "name": normalize}

@vertex
def save(user_id: Annotated[int, From("fetch_user.id")], validate: bool) -> int:
    return user_id if validate else -1

@vertex
def whole(
    by_name: Annotated[User, From("fetch_user")],
    by_function: Annotated[User, From(fetch_user)],
) -> str:
    return by_name["name"]
"""


@FUTURE
def test_design_card_pipeline_bindings(make_module, future: bool) -> None:
    module = make_module(PIPELINE, future=future)
    graph = flowdsl.compile(module)

    assert bindings_of(graph, "normalize") == [("name", "name", None, None, True, False)]
    assert bindings_of(graph, "validate") == [("normalize", "normalize", None, None, False, False)]
    assert bindings_of(graph, "fetch_user") == [
        ("normalize", "normalize", None, None, False, False)
    ]
    assert bindings_of(graph, "save") == [
        ("user_id", "fetch_user", "id", "item", False, False),
        ("validate", "validate", None, None, False, False),
    ]
    assert bindings_of(graph, "whole") == [
        ("by_name", "fetch_user", None, None, False, False),
        ("by_function", "fetch_user", None, None, False, False),
    ]
    save = graph.vertices["save"]
    assert save.bindings[0].ref == "fetch_user.id"
    assert save.bindings[0].annotation == Annotated[int, From("fetch_user.id")]
    assert save.bindings[1].annotation is bool
    assert graph.vertices["fetch_user"].returns is module.User
    assert graph.vertices["fetch_user"].field_names == ("id", "name")
    assert list(graph.inputs) == ["name"]


def test_from_beats_a_parameter_named_after_a_vertex() -> None:
    @vertex
    def a() -> int:
        return 1

    @vertex
    def b() -> int:
        return 2

    @vertex
    def c(a: Annotated[int, From("b")], b: Annotated[int, From(a)]) -> int:
        return a + b

    graph = flowdsl.compile(a, b, c)
    assert bindings_of(graph, "c") == [
        ("a", "b", None, None, False, False),
        ("b", "a", None, None, False, False),
    ]


def test_from_a_function_uses_its_vertex_name_not_its_function_name() -> None:
    @vertex(name="loader")
    def load() -> dict[str, int]:
        return {}

    @vertex
    def use(
        whole: Annotated[dict[str, int], From(load)], one: Annotated[int, From("loader.key")]
    ) -> int:
        return one

    graph = flowdsl.compile(load, use)
    assert list(graph.vertices) == ["loader", "use"]
    assert bindings_of(graph, "use") == [
        ("whole", "loader", None, None, False, False),
        ("one", "loader", "key", "lookup", False, False),
    ]


def test_a_parameter_named_after_a_vertex_beats_a_flow_input_even_with_a_default() -> None:
    @vertex
    def config() -> int:
        return 1

    @vertex
    def use(config: int = 5, other: int = 6) -> int:
        return config + other

    graph = flowdsl.compile(config, use)
    assert bindings_of(graph, "use") == [
        ("config", "config", None, None, False, False),
        ("other", "other", None, None, True, False),
    ]
    assert graph.vertices["use"].bindings[0].has_default
    assert list(graph.inputs) == ["other"]
    assert graph.vertices["use"].upstream == ("config",)


def test_flow_inputs_required_unless_every_consumer_has_a_default() -> None:
    @vertex
    def first(needed: int, optional: int = 1, mixed: int = 2) -> int:
        return needed

    @vertex
    def second(mixed: int, both_default: str = "x", *, kw_needed: float) -> int:
        return mixed

    @vertex
    def third(both_default: str = "y") -> str:
        return both_default

    graph = flowdsl.compile(first, second, third)
    inputs = graph.inputs
    assert list(inputs) == ["needed", "optional", "mixed", "both_default", "kw_needed"]
    assert {name: i.required for name, i in inputs.items()} == {
        "needed": True,
        "optional": False,
        "mixed": True,
        "both_default": False,
        "kw_needed": True,
    }
    assert [(c.vertex, c.parameter, c.default) for c in inputs["mixed"].consumers] == [
        ("first", "mixed", 2),
        ("second", "mixed", NO_DEFAULT),
    ]
    assert inputs["mixed"].required_by({"first"}) is False
    assert inputs["mixed"].required_by({"second"}) is True
    assert inputs["mixed"].required_by(set()) is False
    assert inputs["kw_needed"].annotation is float
    first_bindings = graph.vertices["first"].bindings
    assert [b.default for b in first_bindings] == [NO_DEFAULT, 1, 2]
    assert [b.has_default for b in first_bindings] == [False, True, True]


def test_keyword_only_and_positional_only_parameters() -> None:
    @vertex
    def source() -> int:
        return 1

    @vertex
    def mixed(source: int, /, plain: int, *, option: str = "o", required_kw: int) -> str:
        return f"{source}{plain}{option}{required_kw}"

    graph = flowdsl.compile(source, mixed)
    assert bindings_of(graph, "mixed") == [
        ("source", "source", None, None, False, False),
        ("plain", "plain", None, None, True, False),
        ("option", "option", None, None, True, True),
        ("required_kw", "required_kw", None, None, True, True),
    ]
    assert [p.kind for p in inspect.signature(mixed).parameters.values()] == [
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.KEYWORD_ONLY,
    ]


def test_positional_only_and_keyword_only_parameters_receive_their_values_when_run() -> None:
    @vertex
    def source(seed: int) -> int:
        return seed * 10

    @vertex
    def mixed(source: int, /, plain: int, *, option: str = "o", required_kw: int) -> str:
        return f"{source}-{plain}-{option}-{required_kw}"

    flow = flowdsl.Flow.from_functions(source, mixed)
    result = flow.run({"seed": 1, "plain": 2, "required_kw": 3})
    assert result["mixed"] == "10-2-o-3"


def test_unannotated_parameters_are_bound_by_name() -> None:
    @vertex
    def producer():  # type: ignore[no-untyped-def]
        return 1

    @vertex
    def consumer(producer, extra):  # type: ignore[no-untyped-def]
        return producer

    graph = flowdsl.compile(producer, consumer)
    assert bindings_of(graph, "consumer") == [
        ("producer", "producer", None, None, False, False),
        ("extra", "extra", None, None, True, False),
    ]
    assert graph.vertices["consumer"].bindings[0].annotation is NO_DEFAULT
    assert graph.vertices["producer"].returns is NO_DEFAULT
    assert graph.inputs["extra"].annotation is NO_DEFAULT


# --- annotations: postponed, strings, forward references, local classes ----------------------

FORWARD = """
from typing import Annotated
from flowdsl import From, vertex

@vertex
def make(seed: "int") -> "Later":
    return Later(seed, "x")

@vertex
def use(
    value: Annotated["int", From("make.value")],
    label: "Annotated[str, From('make.label')]",
    make: "Later",
) -> "list[Later]":
    return [make]

class Later:
    __annotations__ = {"value": "int", "label": "str"}
    def __init__(self, value, label):
        self.value, self.label = value, label

import dataclasses
Later = dataclasses.dataclass(Later)
"""


@FUTURE
def test_string_annotations_and_types_defined_later_in_the_module(make_module, future) -> None:
    module = make_module(FORWARD, future=future)
    graph = flowdsl.compile(module)

    make = graph.vertices["make"]
    assert make.returns is module.Later
    assert [(f.name, f.annotation, f.access) for f in make.fields] == [
        ("value", int, "attr"),
        ("label", str, "attr"),
    ]
    assert bindings_of(graph, "use") == [
        ("value", "make", "value", "attr", False, False),
        ("label", "make", "label", "attr", False, False),
        ("make", "make", None, None, False, False),
    ]
    use = graph.vertices["use"]
    assert use.bindings[2].annotation is module.Later
    assert use.returns == list[module.Later]
    assert graph.inputs["seed"].annotation is int


POSTPONED_LATER = """
from typing import Annotated
from flowdsl import From, vertex

@vertex
def make() -> Record:
    return Record(1)

@vertex
def use(n: Annotated[int, From("make.n")]) -> Record:
    return Record(n)

from typing import NamedTuple

class Record(NamedTuple):
    n: int
"""


def test_postponed_annotations_naming_types_defined_later(make_module) -> None:
    module = make_module(POSTPONED_LATER, future=True)
    graph = flowdsl.compile(module)
    assert graph.vertices["make"].returns is module.Record
    assert graph.vertices["use"].returns is module.Record
    assert bindings_of(graph, "use") == [("n", "make", "n", "attr", False, False)]


def test_local_classes_in_a_test_function_resolve() -> None:
    @dataclasses.dataclass
    class Inner:
        x: int

    @dataclasses.dataclass
    class Point:
        inner: "Inner"
        label: str

    @vertex
    def make() -> "Point":
        return Point(Inner(1), "p")

    @vertex
    def use(
        inner: "Annotated[Inner, From('make.inner')]",
        point: Annotated["Point", From(make)],
    ) -> "Inner":
        return inner

    graph = flowdsl.compile(make, use)
    assert graph.vertices["make"].returns is Point
    assert [(f.name, f.annotation) for f in graph.vertices["make"].fields] == [
        ("inner", Inner),
        ("label", str),
    ]
    assert bindings_of(graph, "use") == [
        ("inner", "make", "inner", "attr", False, False),
        ("point", "make", None, None, False, False),
    ]
    assert graph.vertices["use"].bindings[1].annotation == Annotated[Point, From(make)]


LOCAL_POSTPONED = """
import dataclasses
from typing import Annotated
from typing_extensions import TypedDict
from flowdsl import From, vertex

def build():
    class Inner(TypedDict):
        x: int

    @dataclasses.dataclass
    class Point:
        inner: Inner
        label: str

    @vertex
    def make() -> Point:
        return Point({"x": 1}, "p")

    @vertex
    def use(inner: Annotated[Inner, From("make.inner")], make: Point) -> Inner:
        return inner

    return make, use, Inner, Point
"""


def test_local_classes_with_postponed_annotations_resolve(make_module) -> None:
    module = make_module(LOCAL_POSTPONED, future=True)
    make, use, inner_cls, point_cls = module.build()
    graph = flowdsl.compile(make, use)
    assert graph.vertices["make"].returns is point_cls
    assert [(f.name, f.annotation) for f in graph.vertices["make"].fields] == [
        ("inner", inner_cls),
        ("label", str),
    ]
    assert graph.vertices["use"].returns is inner_cls
    assert bindings_of(graph, "use") == [
        ("inner", "make", "inner", "attr", False, False),
        ("make", "make", None, None, False, False),
    ]


def test_local_class_defined_after_the_vertex_is_not_visible() -> None:
    # The decorator captures the enclosing function's names when it runs.
    @vertex
    def make() -> "DefinedAfter":
        return DefinedAfter()

    class DefinedAfter:
        pass

    with pytest.raises(BindingError, match="DefinedAfter") as info:
        flowdsl.compile(make)
    assert info.value.vertex == "make"
    assert info.value.parameter == "return"


# --- structured outputs: qualified fields -------------------------------------------------------


class UserTD(TypedDict):
    id: int
    name: str


class PartialTD(TypedDict, total=False):
    id: int
    nick: str


class MixedTD(TypedDict):
    id: int
    nick: NotRequired[str]


class MixedPartialTD(TypedDict, total=False):
    id: Required[int]
    nick: str


@dataclasses.dataclass
class UserDC:
    id: int
    name: str


@dataclasses.dataclass
class ChildDC(UserDC):
    extra: bool = False


class UserNT(NamedTuple):
    id: int
    name: str


import attrs  # noqa: E402


@attrs.define
class UserAttrs:
    id: int
    name: str


@attrs.define
class UntypedAttrs:
    id = attrs.field(type=int)
    name = attrs.field()


@pytest.mark.parametrize(
    ("returns", "access", "fields"),
    [
        (UserTD, "item", [("id", int, True), ("name", str, True)]),
        (PartialTD, "item", [("id", int, False), ("nick", str, False)]),
        (MixedTD, "item", [("id", int, True), ("nick", str, False)]),
        (MixedPartialTD, "item", [("id", int, True), ("nick", str, False)]),
        (UserDC, "attr", [("id", int, True), ("name", str, True)]),
        (ChildDC, "attr", [("id", int, True), ("name", str, True), ("extra", bool, True)]),
        (UserNT, "attr", [("id", int, True), ("name", str, True)]),
        (UserAttrs, "attr", [("id", int, True), ("name", str, True)]),
        (UntypedAttrs, "attr", [("id", int, True), ("name", Any, True)]),
        (Annotated[UserTD, "meta"], "item", [("id", int, True), ("name", str, True)]),
    ],
    ids=[
        "typeddict",
        "typeddict-total-false",
        "typeddict-notrequired",
        "typeddict-required",
        "dataclass",
        "dataclass-inherited",
        "namedtuple",
        "attrs",
        "attrs-untyped",
        "annotated-typeddict",
    ],
)
def test_structured_outputs_have_qualified_fields(returns, access, fields) -> None:
    def make():  # type: ignore[no-untyped-def]
        raise NotImplementedError

    make.__annotations__ = {"return": returns}
    vertex(make)

    @vertex
    def use(value: Annotated[int, From("make.id")]) -> int:
        return value

    graph = flowdsl.compile(make, use)
    node = graph.vertices["make"]
    assert [(f.name, f.annotation, f.required) for f in node.fields] == fields
    assert {f.access for f in node.fields} == {access}
    assert node.field_names == tuple(name for name, _, _ in fields)
    assert bindings_of(graph, "use") == [("value", "make", "id", access, False, False)]


POSTPONED_TYPEDDICT = """
from typing import Annotated
from typing_extensions import NotRequired, Required, TypedDict
from flowdsl import From, vertex

class Profile(TypedDict):
    id: int
    nick: NotRequired[str]

class Sparse(TypedDict, total=False):
    id: Required[int]
    nick: str

@vertex
def profile() -> Profile:
    return {"id": 1}

@vertex
def sparse() -> Sparse:
    return {"id": 1}

@vertex
def use(
    nick: Annotated[str, From("profile.nick")], sid: Annotated[int, From("sparse.id")]
) -> str:
    return nick
"""


def test_notrequired_fields_with_postponed_annotations(make_module) -> None:
    module = make_module(POSTPONED_TYPEDDICT, future=True)
    graph = flowdsl.compile(module)
    assert [(f.name, f.annotation, f.required) for f in graph.vertices["profile"].fields] == [
        ("id", int, True),
        ("nick", str, False),
    ]
    assert [(f.name, f.annotation, f.required) for f in graph.vertices["sparse"].fields] == [
        ("id", int, True),
        ("nick", str, False),
    ]
    assert bindings_of(graph, "use") == [
        ("nick", "profile", "nick", "item", False, False),
        ("sid", "sparse", "id", "item", False, False),
    ]


def test_fields_inherited_from_a_class_in_another_module(make_module) -> None:
    base = make_module(
        """
        import dataclasses

        class Payload:
            pass

        @dataclasses.dataclass
        class Base:
            payload: Payload
        """,
        future=True,
    )
    child = make_module(
        f"""
        import dataclasses
        from {base.__name__} import Base
        from flowdsl import vertex

        @dataclasses.dataclass
        class Child(Base):
            count: int

        @vertex
        def make() -> Child:
            raise NotImplementedError
        """,
        future=True,
    )
    graph = flowdsl.compile(child)
    assert [(f.name, f.annotation) for f in graph.vertices["make"].fields] == [
        ("payload", base.Payload),
        ("count", int),
    ]


@pytest.mark.parametrize(
    "returns",
    [dict, dict[str, int], "Mapping[str, Any]", Any, None, "Annotated[dict, 'x']"],
    ids=["dict", "dict-generic", "mapping", "any", "unannotated", "annotated-dict"],
)
def test_unstructured_mapping_like_outputs_are_looked_up(returns) -> None:
    from collections.abc import Mapping  # noqa: F401  (resolved from the string annotations)

    def make():  # type: ignore[no-untyped-def]
        return {}

    if returns is not None:
        make.__annotations__ = {"return": returns}
    vertex(make)

    @vertex
    def use(key: Annotated[int, From("make.key")], other: Annotated[Any, From("make.other")]):  # type: ignore[no-untyped-def]
        return key

    graph = flowdsl.compile(make, use)
    assert graph.vertices["make"].fields is None
    assert graph.vertices["make"].field_names == ()
    assert bindings_of(graph, "use") == [
        ("key", "make", "key", "lookup", False, False),
        ("other", "make", "other", "lookup", False, False),
    ]
    assert [b.ref for b in graph.vertices["use"].bindings] == ["make.key", "make.other"]


@pytest.mark.parametrize(
    ("returns", "shown"),
    [(int, "int"), (list[int], "list[int]"), (str, "str"), (int | None, "int | None")],
)
def test_fields_of_a_non_structured_output_are_a_binding_error(returns, shown) -> None:
    def make():  # type: ignore[no-untyped-def]
        raise NotImplementedError

    make.__annotations__ = {"return": returns}
    vertex(make)

    @vertex
    def use(part: Annotated[int, From("make.part")]) -> int:
        return part

    with pytest.raises(BindingError) as info:
        flowdsl.compile(make, use)
    error = info.value
    assert error.vertex == "use"
    assert error.parameter == "part"
    # The def line, just below @vertex.
    assert error.location == flowdsl.SourceLocation(__file__, use.__code__.co_firstlineno + 1)
    message = str(error)
    assert f"'make' returns {shown}, which has no fields" in message
    assert "TypedDict, attrs class, dataclass or NamedTuple" in message
    assert "From('make.part')" in message
