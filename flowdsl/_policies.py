"""``RetryPolicy``: how often a failing vertex is called again, and how long to wait between.

A plain frozen value at the bottom of the layering: the DSL validates it, the
compiler copies it into the model, and the runtime asks it two questions
(``retries`` and ``delay``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import attrs

from .errors import ContractViolation, DataResolutionError

__all__ = ["RetryPolicy", "retry_policy"]

RetryOn = Union[tuple[type[BaseException], ...], Callable[[BaseException], bool]]  # noqa: UP007


def _non_negative_int(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"RetryPolicy({attribute.name}={value!r}): a whole number >= 0")


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None and attribute.name == "max_delay":
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"RetryPolicy({attribute.name}={value!r}): a number of seconds >= 0")


def _backoff(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
        raise ValueError(f"RetryPolicy(backoff={value!r}): a factor >= 1")


def _retry_on(value: Any) -> RetryOn:
    if isinstance(value, type) and issubclass(value, BaseException):
        return (value,)
    if isinstance(value, tuple) and all(
        isinstance(t, type) and issubclass(t, BaseException) for t in value
    ):
        return value
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ValueError(
        f"RetryPolicy(retry_on={value!r}): an exception type, a tuple of them, or a predicate"
    )


@attrs.frozen
class RetryPolicy:
    """Call a failing vertex again: at most ``max_retries`` more times, waiting between calls.

    The wait before retry ``n`` (1, 2, ...) is ``delay * backoff ** (n - 1)``,
    capped at ``max_delay``, plus a random ``0 .. jitter`` seconds. A failure
    is retried when it is an instance of ``retry_on`` (a tuple of exception
    types) or when ``retry_on(exception)`` is true (a predicate). Contract
    violations and missing fields are never retried: the same inputs would
    break them again.

    Examples:
        >>> from flowdsl import RetryPolicy
        >>> policy = RetryPolicy(max_retries=3, delay=0.5, backoff=2.0, max_delay=1.5)
        >>> [policy.delay_before(n) for n in (1, 2, 3)]
        [0.5, 1.0, 1.5]
        >>> policy.retries(ConnectionError("reset"))
        True
    """

    max_retries: int = attrs.field(default=0, validator=_non_negative_int)
    delay: float = attrs.field(default=0.0, validator=_non_negative)
    backoff: float = attrs.field(default=2.0, validator=_backoff)
    max_delay: float | None = attrs.field(default=None, validator=_non_negative)
    jitter: float = attrs.field(default=0.0, validator=_non_negative)
    retry_on: RetryOn = attrs.field(default=(Exception,), converter=_retry_on)

    def retries(self, error: BaseException) -> bool:
        """Whether ``error`` is the kind of failure this policy retries."""
        if isinstance(error, (ContractViolation, DataResolutionError)):
            return False
        if isinstance(self.retry_on, tuple):
            return isinstance(error, self.retry_on)
        return bool(self.retry_on(error))

    def delay_before(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first), jitter included."""
        wait = self.delay * self.backoff ** (retry - 1) if self.delay else 0.0
        if self.max_delay is not None:
            wait = min(wait, self.max_delay)
        if self.jitter:
            import random  # only a jittered retry needs it

            wait += random.uniform(0.0, self.jitter)
        return wait

    @property
    def waits(self) -> bool:
        """Whether a retry may wait at all (a wait needs an event loop's timer)."""
        return self.max_retries > 0 and (self.delay > 0 or self.jitter > 0)


def retry_policy(value: Any) -> RetryPolicy | None:
    """A ``RetryPolicy`` from ``None``, a policy, or a whole number of retries.

    Raises:
        ValueError: anything else.
    """
    if value is None or isinstance(value, RetryPolicy):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return RetryPolicy(max_retries=value)
    raise ValueError(f"expected a RetryPolicy or a whole number of retries >= 0; got {value!r}")
