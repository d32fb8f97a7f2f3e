"""Flow modules written to a file, whose vertices log each of their calls to another file.

The log is a file because a global list would change between runs, and with it
the code fingerprint that a resumed run or the cache compares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.strategies import import_file

#: The start of such a module: ``called(name)`` appends ``name`` to the file ``{log}``.
LOGGING = """
import flowdsl
from flowdsl import vertex

LOG = {log!r}


def called(name):
    with open(LOG, "a") as file:
        file.write(name + "\\n")
"""


def logged_module(path: Path, log: Path | str, body: str, **fields: Any) -> Any:
    """Write ``LOGGING`` and ``body`` (formatted with ``log`` and ``fields``) to ``path``,
    and import it."""
    text = (LOGGING + body).format(log=str(log), **fields)
    path.write_text(text, encoding="utf-8")
    return import_file(path)
