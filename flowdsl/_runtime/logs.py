"""The library's logger, and the run each record belongs to.

Every record flowdsl logs carries ``run_id`` and ``vertex`` in its extra. The
run id travels in a context variable set when a run starts: anyio's worker
threads copy the context, and so does the run's own worker pool.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import logging

__all__ = ["current_run", "log_extra", "logger"]


class _Logger:
    """The ``"flowdsl"`` logger, found when a record is logged: most runs log
    nothing, and need not import ``logging``."""

    def __getattr__(self, name: str) -> Any:
        import logging

        return getattr(logging.getLogger("flowdsl"), name)


logger = cast("logging.Logger", _Logger())

#: The id of the run the current code works for (None outside a run).
current_run: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flowdsl_run", default=None
)


def log_extra(vertex: str | None) -> dict[str, Any]:
    """The extra of a record about ``vertex`` in the current run."""
    return {"run_id": current_run.get(), "vertex": vertex}
