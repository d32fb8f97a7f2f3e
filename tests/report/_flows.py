"""Flows the report tests draw: a small one with every kind of outcome, and layered
graphs of any size (generated as a module, as users write them)."""

from __future__ import annotations

import time
import types

import flowdsl
from flowdsl import RetryPolicy, vertex

calls = {"fetch": 0}


@vertex
def load(x: int) -> list[int]:
    time.sleep(0.01)
    return list(range(x))


@vertex
def clean(load: list[int]) -> list[int]:
    time.sleep(0.02)
    return [v for v in load if v % 2 == 0]


@vertex
def stats(load: list[int]) -> dict[str, int]:
    return {"n": len(load)}


@vertex(retry=RetryPolicy(max_retries=2, delay=0.01))
def fetch(clean: list[int], stats: dict[str, int]) -> int:
    calls["fetch"] += 1
    if calls["fetch"] == 1:
        raise ConnectionError("upstream hiccup")
    time.sleep(0.01)
    return sum(clean)


@vertex(pure=True)
def score(fetch: int) -> float:
    return fetch * 1.5


@vertex
def large(stats: dict[str, int]) -> bool:
    return stats["n"] > 100


@vertex(when="large")
def review(score: float) -> str:
    return f"review {score}"


@vertex
def broken(stats: dict[str, int]) -> int:
    raise ValueError("</script><script>alert('stats are bad')</script>")


@vertex
def after_broken(broken: int) -> int:
    return broken


SMALL = flowdsl.Flow.from_functions(
    load, clean, stats, fetch, score, large, review, broken, after_broken
)


def run_small(backend: str = "thread", cache: object = None) -> flowdsl.RunResult:
    """A run of ``SMALL`` with a retry, a failure, skips and (given a store) a cache hit."""
    calls["fetch"] = 0
    return SMALL.run({"x": 6}, backend=backend, on_error="continue", cache=cache)


def layered_flow(size: int) -> flowdsl.Flow:
    """A layered graph of ``size`` vertices, about sqrt(size) layers: each vertex reads
    two of the layer before."""
    width = max(1, round(size**0.5))
    lines = ["from flowdsl import vertex"]
    for i in range(size):
        if i < width:
            lines.append(f"@vertex\ndef v{i}(x: int) -> int:\n    return x + {i}")
            continue
        base = (i // width - 1) * width
        a, b = i - width, base + (i * 7) % width
        if a == b:
            b = base + (i * 7 + 1) % width
        lines.append(f"@vertex\ndef v{i}(v{a}: int, v{b}: int) -> int:\n    return v{a} ^ v{b}")
    module = types.ModuleType(f"layered_{size}")
    exec(compile("\n\n".join(lines), f"layered_{size}.py", "exec"), module.__dict__)
    return flowdsl.Flow.from_module(module)
