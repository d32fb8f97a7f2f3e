"""The keyword arguments of a run, declared once for ``Flow.run``, ``start``, ``arun`` and
``map`` (each takes ``**options: Unpack[...]``, so IDEs and type checkers see every one).

The options among them (``backend`` ... ``dask_address``) are those of
``Settings``, where each is declared with its check, environment variable
and help; a test keeps the two lists equal. The others name what to run and
how one run is fed, named and watched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

from ._arguments import Outputs
from ._policies import RetryPolicy
from ._suggest import did_you_mean

if TYPE_CHECKING:
    from ._services.cache import CacheStore

__all__ = ["AsyncRunKeywords", "RunKeywords", "check_keywords"]


class AsyncRunKeywords(TypedDict, total=False):
    """What ``Flow.arun`` takes besides ``inputs`` (``Flow.run`` documents each)."""

    outputs: Outputs | None
    flow: str | None
    backend: str | None
    on_error: str | None
    max_workers: int | None
    max_concurrency: int | None
    timeout: float | None
    contracts: str | None
    cache: bool | str | os.PathLike[str] | CacheStore | None
    retry: RetryPolicy | int | None
    progress: bool | None
    checkpoint: str | os.PathLike[str] | None
    run_id: str | None
    resume: bool
    serializer: str
    secret: str | bytes | None
    overrides: Mapping[str, Any] | None
    listeners: Sequence[object]
    dask_address: str | None
    dask_client: Any


class RunKeywords(AsyncRunKeywords, total=False):
    """What ``Flow.run``, ``Flow.start`` and ``Flow.map`` take besides ``inputs``: those of
    ``arun``, and the event loop to start when the run needs one."""

    anyio_backend: str | None


#: Per keyword, its value when not given.
DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(RunKeywords.__annotations__),
    "resume": False,
    "serializer": "pickle",
    "listeners": (),
}


def check_keywords(method: str, given: Mapping[str, Any], accepted: type) -> dict[str, Any]:
    """Every run keyword, given or at its default (``given`` checked against ``accepted``,
    a TypedDict).

    Raises:
        TypeError: a keyword ``method`` does not take, as Python would say it
            (with "did you mean").
    """
    names = accepted.__annotations__
    if not given.keys() <= names.keys():
        unknown = next(name for name in given if name not in names)
        raise TypeError(
            f"{method}() got an unexpected keyword argument {unknown!r}"
            f"{did_you_mean(unknown, names)}"
        )
    # A keyword ``accepted`` lacks (arun's anyio_backend) stays None: not given.
    return {**DEFAULTS, **given}
