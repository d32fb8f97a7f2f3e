"""Dynamic fan-out: ``map_over=`` calls a vertex once per element and collects a list.

Run it from a checkout: ``python examples/map_over.py``.
"""

from __future__ import annotations

import anyio

import flowdsl
from flowdsl import vertex

PAGES = {
    "/": "flowdsl: dataflow graphs from plain functions",
    "/docs": "bindings, backends, caching, contracts",
    "/blog": "",
}


@vertex
def urls(site: str) -> list[str]:
    return [site + path for path in PAGES]


@vertex(map_over="urls", max_concurrency=2)
async def fetch(urls: str) -> str:
    """Called once per URL, at most two at a time; results come back in input order."""
    await anyio.sleep(0.01)
    return PAGES[urls.removeprefix("https://example.org")]


@vertex(map_over="fetch")
def words(fetch: str) -> int:
    if not fetch:
        raise ValueError("empty page")
    return len(fetch.split())


@vertex
def total_words(words: list[int]) -> int:
    return sum(words)


def main() -> None:
    flow = flowdsl.Flow.from_functions(urls, fetch, words, total_words)
    inputs = {"site": "https://example.org"}

    result = flow.run(inputs, backend="async", outputs=["fetch"])
    print("fetched", result.metrics.vertices["fetch"].elements, "pages:", result["fetch"][:2])

    try:
        flow.run(inputs, backend="async")
    except flowdsl.VertexFailed as error:
        print("failed:", error.vertex, "element", error.element, "-", error.__cause__)

    result = flow.run(inputs, backend="async", on_error="continue")
    print("states:", {name: str(state) for name, state in result.states.items()})
    print("failed elements of words:", dict(result.element_errors["words"]))

    # On its own, words reads "fetch" as a flow input: an empty list maps to an empty list.
    print("no pages:", flowdsl.Flow.from_functions(words).run({"fetch": []})["words"])


if __name__ == "__main__":
    main()
