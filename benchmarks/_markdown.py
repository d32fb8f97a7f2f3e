"""Markdown for the reports: a pipe table, and a cell that is not a measurement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["cell_text", "table"]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` inside a cell is escaped)."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(row) for row in rows)])


def cell_text(cell: dict[str, Any], summary: Any) -> str:
    """A cell's text: ``summary(figures)`` when it ran, else why it did not."""
    if cell["status"] == "ok":
        return str(summary(cell["figures"]))
    if cell["status"] == "failed":
        return f"failed: {cell['reason']}"
    return str(cell["reason"])
