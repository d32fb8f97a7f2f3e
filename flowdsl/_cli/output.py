"""Writing results for people (``name = repr`` lines, tables) and for tools (JSON)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["jsonable", "write_json", "write_text"]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data; what JSON cannot hold becomes its ``repr``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: jsonable(item) for key, item in value.items()}
    return repr(value)


def write_json(data: Any) -> None:
    """Write ``data`` to stdout as indented JSON."""
    sys.stdout.write(json.dumps(jsonable(data), indent=2) + "\n")


def write_text(text: str) -> None:
    """Write ``text`` to stdout, ending it with a newline."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
