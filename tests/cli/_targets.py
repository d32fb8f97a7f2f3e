"""Target files for the command line tests."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

#: ``cli(*args, env=None)``: run ``python -m flowdsl`` with ``args``.
Cli = Callable[..., subprocess.CompletedProcess[str]]

#: A flow with typed inputs, a failing vertex and two named flows.
SHOP = """
from pathlib import Path

from flowdsl import vertex


@vertex(flows=("pricing",))
def total(count: int, price: float, tags: list[str], express: bool = False) -> float:
    return count * price + (5.0 if express else 0.0)


@vertex(pure=True)
def kinds(count: int, note: str = "-", where: Path = Path(".")) -> str:
    return f"{type(count).__name__}:{count!r} {type(note).__name__}:{note!r} {where.name}"


@vertex
def odd(total: float) -> set[int]:
    return {1, 2}


@vertex(flows=("audit",))
def audit(total: float) -> float:
    if total > 100:
        raise ValueError(f"total {total} is over the limit")
    return total
"""


def write(folder: Path, name: str, source: str) -> Path:
    """Write a target file into ``folder``."""
    path = folder / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path
