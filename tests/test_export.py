"""Exports of the user pipeline (``examples/pipeline.py``): Mermaid, Graphviz DOT and JSON."""

import json
import types

import pytest

import flowdsl
from flowdsl import SourceLocation, vertex
from flowdsl._export import to_dot, to_json, to_mermaid
from tests.conftest import PIPELINE_PATH


@pytest.fixture(scope="module")
def flow(pipeline: types.ModuleType) -> flowdsl.Flow:
    return flowdsl.Flow.from_module(pipeline)


def location(pipeline: types.ModuleType, name: str) -> str:
    """``file:line`` of ``def name(`` in the example (the def line, below its decorators)."""
    lines = PIPELINE_PATH.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith(f"def {name}("))
    return str(SourceLocation(pipeline.__file__, line))


def test_mermaid(flow: flowdsl.Flow) -> None:
    assert flow.to_mermaid() == to_mermaid(flow.graph)
    assert flow.to_mermaid().splitlines() == [
        "flowchart TD",
        '    in_name[/"name"/]',
        '    v_normalize["normalize"]',
        '    v_validate["validate"]',
        '    v_fetch_user["fetch_user"]',
        '    v_save["save"]',
        '    in_name -->|"name"| v_normalize',
        '    v_normalize -->|"normalize"| v_validate',
        '    v_normalize -->|"normalize"| v_fetch_user',
        '    v_fetch_user -->|"user_id ← fetch_user.id"| v_save',
        '    v_validate -->|"validate"| v_save',
    ]
    assert flow.to_mermaid().endswith("\n")


def test_dot(flow: flowdsl.Flow) -> None:
    assert flow.to_dot() == to_dot(flow.graph)
    assert flow.to_dot().splitlines() == [
        "digraph flow {",
        "    rankdir=LR;",
        "    node [fontname=Helvetica];",
        '    "input:name" [shape=parallelogram, label="name"];',
        '    "normalize" [shape=box, label="normalize"];',
        '    "validate" [shape=box, label="validate"];',
        '    "fetch_user" [shape=box, label="fetch_user"];',
        '    "save" [shape=box, label="save"];',
        '    "input:name" -> "normalize" [label="name"];',
        '    "normalize" -> "validate" [label="normalize"];',
        '    "normalize" -> "fetch_user" [label="normalize"];',
        '    "fetch_user" -> "save" [label="user_id ← fetch_user.id"];',
        '    "validate" -> "save" [label="validate"];',
        "}",
    ]


def test_json_round_trips(flow: flowdsl.Flow, pipeline: types.ModuleType) -> None:
    text = flow.to_json()
    assert text == to_json(flow.graph)
    data = json.loads(text)
    assert set(data) == {"vertices", "inputs", "order", "stages", "flows"}

    def node(name, returns, bindings, fields=(), pure=False):
        return {
            "name": name,
            "function": f"{pipeline.__name__}.{name}",
            "location": location(pipeline, name),
            "async": False,
            "pure": pure,
            "blocking": False,
            "flows": [],
            "tags": {},
            "after": [],
            "returns": returns,
            "fields": [{"name": n, "type": t} for n, t in fields],
            "bindings": [
                {"parameter": p, "kind": k, "source": s, "type": t, "has_default": False}
                for p, k, s, t in bindings
            ],
            "control": {},
        }

    assert data["vertices"] == [
        node("normalize", "str", [("name", "input", "name", "str")]),
        node("validate", "bool", [("normalize", "output", "normalize", "str")], pure=True),
        node(
            "fetch_user",
            "User",
            [("normalize", "output", "normalize", "str")],
            fields=[("id", "int"), ("name", "str")],
        ),
        node(
            "save",
            "int",
            [
                ("user_id", "field", "fetch_user.id", "int"),
                ("validate", "output", "validate", "bool"),
            ],
        ),
    ]
    assert data["inputs"] == [
        {"name": "name", "required": True, "type": "str", "consumers": ["normalize.name"]}
    ]
    assert data["order"] == ["normalize", "validate", "fetch_user", "save"]
    assert data["stages"] == [["normalize"], ["validate", "fetch_user"], ["save"]]
    assert data["stages"] == flow.stages()
    assert data["flows"] == {}
    assert json.loads(json.dumps(data)) == data


def test_exports_mark_async_vertices_flows_defaults_and_untyped_parts() -> None:
    @vertex(flows=("nightly",))
    async def fetch(url, retries: int = 3) -> dict:  # type: ignore[no-untyped-def]
        return {}

    @vertex(flows="nightly", blocking=True)
    def store(fetch: dict, body=None):  # type: ignore[no-untyped-def]
        return None

    flow = flowdsl.Flow.from_functions(fetch, store)
    mermaid = flow.to_mermaid()
    assert '    v_fetch["fetch (async)"]' in mermaid
    assert '    v_store["store"]' in mermaid
    assert '    in_url -->|"url"| v_fetch' in mermaid
    assert '    in_retries -->|"retries"| v_fetch' in mermaid
    assert '    in_body -->|"body"| v_store' in mermaid
    dot = flow.to_dot()
    assert '    "fetch" [shape=box, label="fetch", style=dashed];' in dot
    assert '    "store" [shape=box, label="store"];' in dot
    assert '    "input:retries" -> "fetch" [label="retries"];' in dot

    data = json.loads(flow.to_json())
    fetch_data, store_data = data["vertices"]
    assert fetch_data["async"] is True
    assert fetch_data["flows"] == ["nightly"]
    assert fetch_data["bindings"] == [
        {"parameter": "url", "kind": "input", "source": "url", "type": None, "has_default": False},
        {
            "parameter": "retries",
            "kind": "input",
            "source": "retries",
            "type": "int",
            "has_default": True,
        },
    ]
    assert store_data["blocking"] is True
    assert store_data["returns"] is None
    assert store_data["bindings"][1]["type"] is None
    assert data["inputs"] == [
        {"name": "url", "required": True, "type": None, "consumers": ["fetch.url"]},
        {"name": "retries", "required": False, "type": "int", "consumers": ["fetch.retries"]},
        {"name": "body", "required": False, "type": None, "consumers": ["store.body"]},
    ]
    assert data["flows"] == {"nightly": ["fetch", "store"]}


def test_edge_labels_name_the_parameter_and_the_reference() -> None:
    from typing import Annotated

    from flowdsl import From

    @vertex
    def source() -> dict:
        return {}

    @vertex
    def sink(
        renamed: Annotated[dict, From("source")], key: Annotated[int, From("source.key")]
    ) -> None:
        pass

    flow = flowdsl.Flow.from_functions(source, sink)
    assert '    v_source -->|"renamed ← source"| v_sink' in flow.to_mermaid()
    assert '    v_source -->|"key ← source.key"| v_sink' in flow.to_mermaid()
    assert '"source" -> "sink" [label="renamed ← source"];' in flow.to_dot()
    bindings = json.loads(flow.to_json())["vertices"][1]["bindings"]
    assert [(b["kind"], b["source"]) for b in bindings] == [
        ("output", "source"),
        ("field", "source.key"),
    ]
