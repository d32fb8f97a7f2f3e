"""The docs pages show each example script as it is, and what it really prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs_examples import ROOT, pages, render

EXPECTED_PAGES = {
    "atomic-groups.md",
    "checkpoints.md",
    "composing.md",
    "conditions.md",
    "dataframes.md",
    "fallbacks.md",
    "limits.md",
    "listeners.md",
    "loops.md",
    "mapping.md",
    "retries.md",
    "seeing-a-run.md",
    "testing.md",
}


def test_every_feature_page_has_an_example() -> None:
    assert {page.name for page in pages()} >= EXPECTED_PAGES


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_the_page_shows_the_script_and_its_output(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert render(text) == text, (
        f"{page.relative_to(ROOT)} is out of date: run `python -m tests.docs_examples`"
    )
