"""``CheckOutcome``: what one ``Check`` found on one value of one call (an immutable record)."""

from __future__ import annotations

import attrs

__all__ = ["CheckOutcome"]


@attrs.frozen
class CheckOutcome:
    """One evaluation of one ``Check``: on which vertex and value, and whether it held.

    ``parameter`` is the checked parameter's name, or ``"return"``.
    ``importance`` is the check's (``"fail"`` or ``"warn"``). When the check
    did not hold, ``path`` locates the offending element (``"return['age'][7]"``
    for a frame's column and row), ``actual`` shows it, and ``expected`` is
    the check's message; all three are ``None`` when it held.

    Examples:
        >>> from flowdsl import CheckOutcome
        >>> outcome = CheckOutcome("clean", "ages", "ages are positive", "warn", passed=False,
        ...                        path="ages", actual="-2 (int)")
        >>> outcome.failed, outcome.warned
        (True, True)
    """

    vertex: str
    parameter: str
    message: str
    importance: str
    passed: bool
    path: str | None = None
    actual: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the check did not hold."""
        return not self.passed

    @property
    def warned(self) -> bool:
        """Whether this is a failed ``importance="warn"`` check: a warning, never an error."""
        return not self.passed and self.importance == "warn"

    def __str__(self) -> str:
        verdict = "passed" if self.passed else f"failed at {self.path}: got {self.actual}"
        return f"{self.vertex} {self.parameter}: {self.message!r} ({self.importance}) {verdict}"
