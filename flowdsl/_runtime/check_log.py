"""Where the outcomes of a run's checks go: into its state, and failed warn-checks announced.

A step's checks run wherever its call runs (an inline step, a worker thread,
an event loop task, a Dask worker); the run they belong to travels in a
context variable set when the run starts, as its id does for log records. A
one-step run on a Dask worker only keeps its outcomes: they go back to the
driver with the step's report, and the driver announces them.
"""

from __future__ import annotations

import contextvars
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._checks import CheckOutcome
from .._model.graph import VertexNode
from ..errors import ContractWarning
from .logs import log_extra, logger

if TYPE_CHECKING:
    from .state import RunState

__all__ = ["announce", "current_checks", "keep", "record_checks"]

#: The state of the run whose steps are being checked (None outside a run).
current_checks: contextvars.ContextVar[RunState | None] = contextvars.ContextVar(
    "flowdsl_checks", default=None
)


def record_checks(node: VertexNode, position: int, outcomes: list[CheckOutcome]) -> None:
    """Record a call's check outcomes in the current run (announcing failed warn-checks)."""
    state = current_checks.get()
    if state is None:  # checked outside a run (a given output): nothing to record in
        announce(node, outcomes)
        return
    keep(state, position, outcomes)


def keep(state: RunState, position: int, outcomes: Iterable[CheckOutcome]) -> None:
    """Add ``outcomes`` to the step at ``position``; announce them unless a driver will."""
    outcomes = list(outcomes)
    state.checks_made(position, outcomes)
    if state.announces_checks:
        announce(state.plan.nodes[position], outcomes)


def announce(node: VertexNode, outcomes: Iterable[CheckOutcome]) -> None:
    """One ``ContractWarning`` and one log record per failed ``importance="warn"`` check."""
    for outcome in outcomes:
        if not outcome.warned:
            continue
        message = (
            f"vertex {node.name!r}, {outcome.parameter}: check {outcome.message!r} "
            f"failed at {outcome.path}: got {outcome.actual}"
        )
        logger.warning("check failed: %s", message, extra=log_extra(node.name))
        warnings.warn_explicit(message, ContractWarning, node.location.file, node.location.line)
