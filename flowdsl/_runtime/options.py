"""Run options, checked strictly: a bad value is a ``SettingsError`` naming its source."""

from __future__ import annotations

import os
from typing import Any, Literal

import attrs

from .._policies import RetryPolicy, retry_policy
from ..errors import SettingsError

__all__ = ["BACKENDS", "ON_ERROR", "RunOptions"]

Backend = Literal["serial", "thread", "async"]
OnError = Literal["raise", "continue"]
BACKENDS: tuple[str, ...] = ("serial", "thread", "async")
ON_ERROR: tuple[str, ...] = ("raise", "continue")
ANYIO_BACKENDS: tuple[str, ...] = ("asyncio", "trio")
CONTRACTS: tuple[str, ...] = ("strict", "warn", "off")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingsError(
            f"{name}={value!r} is not one of: {', '.join(choices)}", source=f"argument {name}"
        )
    return str(value)


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise SettingsError(
            f"{name}={value!r} must be a positive number of seconds", source=f"argument {name}"
        )
    return float(value)


def _cache_option(value: Any) -> Any:
    if value is None:
        return False
    if isinstance(value, (bool, str, os.PathLike)):
        return value
    if all(callable(getattr(value, name, None)) for name in ("get", "set", "clear", "stats")):
        return value
    raise SettingsError(
        f"cache={value!r} is not False, True, a path or a cache store", source="argument cache"
    )


def _retry_option(value: Any) -> RetryPolicy | None:
    try:
        return retry_policy(value)
    except ValueError as exc:
        raise SettingsError(f"retry={value!r}: {exc}", source="argument retry") from None


def _positive(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(
            f"{name}={value!r} must be a positive whole number", source=f"argument {name}"
        )
    return value


@attrs.frozen(kw_only=True)
class RunOptions:
    """How one run executes."""

    backend: Backend = "serial"
    on_error: OnError = "raise"
    max_workers: int | None = None
    max_concurrency: int | None = None
    timeout: float | None = None
    contracts: str = "strict"
    # False, True, a path or a store: see ``caching.open_store``.
    cache: Any = False
    anyio_backend: str = "asyncio"
    # The default policy of vertices that have none of their own.
    retry: RetryPolicy | None = None

    @classmethod
    def parse(
        cls,
        *,
        backend: Any = None,
        on_error: Any = None,
        max_workers: Any = None,
        max_concurrency: Any = None,
        timeout: Any = None,
        contracts: Any = None,
        cache: Any = None,
        anyio_backend: Any = None,
        retry: Any = None,
    ) -> RunOptions:
        """Options from call arguments (``None`` means the default), each one checked."""
        return cls(
            backend=_choice("backend", backend or "serial", BACKENDS),  # type: ignore[arg-type]
            on_error=_choice("on_error", on_error or "raise", ON_ERROR),  # type: ignore[arg-type]
            max_workers=_positive("max_workers", max_workers),
            max_concurrency=_positive("max_concurrency", max_concurrency),
            timeout=_seconds("timeout", timeout),
            contracts=_choice("contracts", contracts or "strict", CONTRACTS),
            cache=_cache_option(cache),
            anyio_backend=_choice("anyio_backend", anyio_backend or "asyncio", ANYIO_BACKENDS),
            retry=_retry_option(retry),
        )
