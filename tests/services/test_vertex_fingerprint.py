"""The fingerprint a resume compares: what changes a vertex's result counts, the rest does not."""

from typing import Annotated, Any

import attrs

import flowdsl
from flowdsl import From, vertex
from flowdsl._model.graph import Binding
from flowdsl._services.vertex_fingerprint import vertex_fingerprint


def _fingerprint_of(**options: Any) -> str:
    """The fingerprint of ``double``, compiled with ``options``, next to ``src`` and ``alt``."""
    annotation = options.pop("annotation", int)
    source = options.pop("source", "src")
    default = options.pop("default", 2)

    def src(x: int) -> int:
        return x

    def alt(x: int) -> int:
        return x + 1

    def double(v: Annotated[annotation, From(source)], k: int = default) -> int:  # type: ignore[valid-type]
        return v * k

    graph = flowdsl.compile(vertex(src), vertex(alt), vertex(**options)(double))
    return vertex_fingerprint(graph.vertices["double"])


def test_the_same_vertex_compiled_twice_has_the_same_fingerprint() -> None:
    assert _fingerprint_of() == _fingerprint_of()
    assert _fingerprint_of().startswith("vertex-1:")


def test_what_changes_the_result_changes_the_fingerprint() -> None:
    plain = _fingerprint_of()
    assert _fingerprint_of(source="alt") != plain  # another binding
    assert _fingerprint_of(annotation=float) != plain  # another annotation
    assert _fingerprint_of(default=3) != plain  # another default
    assert _fingerprint_of(version="2") != plain


def test_how_and_when_it_runs_does_not_change_the_fingerprint() -> None:
    plain = _fingerprint_of()
    assert _fingerprint_of(timeout=5.0) == plain
    assert _fingerprint_of(retries=3) == plain
    assert _fingerprint_of(flows=("nightly",)) == plain
    assert _fingerprint_of(blocking=True) == plain


def test_where_a_vertex_was_made_does_not_change_the_fingerprint() -> None:
    def src(x: int) -> int:
        return x

    node = flowdsl.compile(vertex(src)).vertices["src"]
    moved = attrs.evolve(node, location=flowdsl.SourceLocation("elsewhere.py", 1))
    assert moved.location != node.location
    assert vertex_fingerprint(moved) == vertex_fingerprint(node)


def test_every_field_of_a_binding_counts_even_one_added_later() -> None:
    # A binding field the fingerprint has never heard of still counts:
    # fields are read from the record itself.
    @attrs.frozen
    class WithExtra(Binding):
        extra: Any = None

    def src(x: int) -> int:
        return x

    node = flowdsl.compile(vertex(src)).vertices["src"]
    one, two = (
        attrs.evolve(node, bindings=(WithExtra(**attrs.asdict(node.bindings[0]), extra=c),))
        for c in (1, 2)
    )
    assert vertex_fingerprint(one) != vertex_fingerprint(two)


def test_a_vertex_whose_code_cannot_be_fingerprinted_never_matches() -> None:
    lock = __import__("threading").Lock()

    def locked(x: int) -> int:
        with lock:
            return x

    node = flowdsl.compile(vertex(locked)).vertices["locked"]
    assert vertex_fingerprint(node) != vertex_fingerprint(node)
    assert vertex_fingerprint(node).startswith("unfingerprintable:")


def test_a_bind_constant_counts_and_an_unknowable_one_never_matches() -> None:
    def scale(x: int, k: Any) -> int:
        return x * k

    def of(constant: Any) -> str:
        node = flowdsl.compile(vertex(scale, name="s", bind={"k": constant})).vertices["s"]
        return vertex_fingerprint(node)

    assert of(2) == of(2)
    assert of(2) != of(3)
    assert of(2) != of(2.0)
    opaque = object.__new__(type("Opaque", (), {}))
    assert of(opaque) != of(opaque)
