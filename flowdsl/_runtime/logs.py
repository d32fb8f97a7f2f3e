"""The library's logger, and the run each record belongs to.

Every record flowdsl logs carries ``run_id`` and ``vertex`` in its extra. The
run id travels in a context variable set when a run starts: anyio's worker
threads copy the context, and so does the run's own worker pool.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

__all__ = ["current_run", "log_extra", "logger"]

logger = logging.getLogger("flowdsl")

#: The id of the run the current code works for (None outside a run).
current_run: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flowdsl_run", default=None
)


def log_extra(vertex: str | None) -> dict[str, Any]:
    """The extra of a record about ``vertex`` in the current run."""
    return {"run_id": current_run.get(), "vertex": vertex}
