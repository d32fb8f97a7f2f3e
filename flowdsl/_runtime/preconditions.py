"""Whether a ready step runs: failures upstream, skipped producers, and ``when=`` conditions.

Both schedulers ask ``Preconditions.decide`` about a ready step, but only when
something could stop it (a failure or skip so far, or a condition of its
own), so a run without any keeps its fast path.

Two kinds of absence propagate differently. A failure (under
``on_error="continue"``) skips everything downstream of it. A step skipped by
its condition is merely absent: a parameter bound to it takes its default if
it has one, and only a parameter without one skips its vertex too.
"""

from __future__ import annotations

import enum
from typing import Any

from ..errors import DataResolutionError
from .plan import Step
from .state import MISSING, RunState

__all__ = ["Preconditions", "StartDecision", "condition_skips", "needs_skipped"]


class StartDecision(enum.Enum):
    """What to do with a ready step."""

    RUN = "run"
    DEFAULTS = "defaults"  # run, with defaults for parameters bound to skipped steps
    SKIP = "skip"
    FAIL = "fail"  # its condition could not be read: ``Preconditions.error`` says why


class Preconditions:
    """The failed and skipped steps of one run, and what they decide about a ready step."""

    __slots__ = ("absent", "any_missing", "dead", "error", "state")

    def __init__(self, state: RunState) -> None:
        count = len(state.plan.nodes)
        self.state = state
        # dead: failed, or skipped because of a failure; absent: skipped by a condition.
        self.dead = [False] * count
        self.absent = [False] * count
        # Whether any step is dead or absent yet (until then no decision is needed).
        self.any_missing = False
        self.error: BaseException | None = None

    def failed(self, position: int) -> None:
        """``position`` failed: what depends on it will be skipped."""
        self.dead[position] = self.any_missing = True

    def decide(self, step: Step) -> StartDecision:
        """Decide about a ready ``step``; a skip is recorded in the run's state."""
        position, steps, state = step.position, self.state.plan.steps, self.state
        if self.any_missing:
            for parent in step.after:
                if self.dead[parent]:
                    self.dead[position] = True
                    cause = "failed" if parent in state.errors else "was skipped after a failure"
                    state.step_skipped(position, f"{steps[parent].name!r} {cause}")
                    return StartDecision.SKIP
            for parent in step.needs:
                if self.absent[parent]:
                    self.absent[position] = True
                    state.step_skipped(position, needs_skipped(steps[parent].name))
                    return StartDecision.SKIP
        if step.condition is not None:
            holds = self._condition(step)
            if holds is None:
                return StartDecision.FAIL
            if not holds:
                return StartDecision.SKIP
        if self.any_missing and any(self.absent[parent] for parent in step.upstream):
            return StartDecision.DEFAULTS
        return StartDecision.RUN

    def _condition(self, step: Step) -> bool | None:
        # True or False (a skip recorded), or None with ``self.error`` set.
        assert step.condition is not None
        try:
            reason = condition_skips(step, self.state.values[step.condition[0]])
        except DataResolutionError as error:
            self.error = error
            return None
        if reason is not None:
            self._absent(step, reason)
            return False
        return True

    def _absent(self, step: Step, reason: str) -> None:
        self.absent[step.position] = self.any_missing = True
        self.state.step_skipped(step.position, reason)


def needs_skipped(producer: str) -> str:
    """Why a step is skipped whose parameter without a default reads skipped ``producer``."""
    return f"needs the output of {producer!r}, which was skipped"


def condition_skips(step: Step, value: Any) -> str | None:
    """Why ``step`` is skipped when its ``when=`` source holds ``value`` (None: it runs).

    Raises:
        DataResolutionError: the condition's field cannot be read from ``value``.
    """
    assert step.condition is not None
    assert step.node.condition is not None
    reader = step.condition[1]
    ref = step.node.condition.ref
    if value is MISSING:
        return f"condition {ref!r} has no value: its vertex was skipped"
    try:
        holds = bool(value if reader is None else reader(value))
    except Exception as exc:
        raise DataResolutionError(
            f"cannot read the condition {ref!r}: {type(exc).__name__}: {exc}",
            vertex=step.name,
            parameter="when",
            location=step.node.location,
        ) from exc
    return None if holds else f"condition {ref!r} was false"
