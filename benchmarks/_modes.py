"""The execution modes the benchmarks run flowdsl in: one table, read by every script.

A mode is a set of ``flow.run`` options. Adding a row here adds a column to
``run.py``'s table. A mode whose backend flowdsl does not have, or whose
library is not installed, is reported with the reason, never dropped.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import flowdsl

__all__ = ["MODES", "Mode", "select", "unavailable"]


@dataclass(frozen=True)
class Mode:
    """A named set of run options."""

    name: str
    description: str
    backend: str = "serial"
    anyio_backend: str = "asyncio"
    cache: bool = False
    contracts: str = "strict"
    #: Modules that must be importable for the mode to run.
    requires: tuple[str, ...] = ()
    #: Why the mode is measured by another script, not by the scenarios here.
    elsewhere: str | None = None

    @property
    def concurrent(self) -> bool:
        """Whether vertices may run at the same time (every backend but serial)."""
        return self.backend != "serial"

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``flow.run`` for this mode."""
        return {
            "backend": self.backend,
            "anyio_backend": self.anyio_backend,
            "cache": self.cache,
            "contracts": self.contracts,
        }


MODES: tuple[Mode, ...] = (
    Mode("serial", "serial backend; cache off, contracts strict (the defaults)"),
    Mode("thread", "thread backend, asyncio loop", backend="thread"),
    Mode(
        "thread-trio",
        "thread backend, trio loop",
        backend="thread",
        anyio_backend="trio",
        requires=("trio",),
    ),
    Mode("async-asyncio", "async backend on asyncio", backend="async"),
    Mode(
        "async-trio",
        "async backend on trio",
        backend="async",
        anyio_backend="trio",
        requires=("trio",),
    ),
    Mode("cache-on", "serial, cache=True (pure vertices cached in memory)", cache=True),
    Mode("contracts-off", "serial, contracts='off'", contracts="off"),
    Mode(
        "dask",
        "dask backend",
        backend="dask",
        requires=("dask", "distributed"),
        elsewhere="measured on a cluster by benchmarks/dask_backend.py",
    ),
)


@flowdsl.vertex
def _probe(flag: bool) -> bool:
    return flag


@functools.cache
def _backend_missing(backend: str) -> str | None:
    """Why flowdsl cannot run ``backend``, asked through the public API (``None``: it can)."""
    flow = flowdsl.Flow.from_functions(_probe)
    try:
        flow.run({"flag": True}, backend=backend)
    except flowdsl.SettingsError:
        return f"flowdsl has no {backend} backend yet"
    except Exception as error:  # the backend exists but cannot run here
        return f"the {backend} backend failed on a one-vertex flow: {error}"
    return None


def unavailable(mode: Mode) -> str | None:
    """Why ``mode`` cannot run on this machine, or ``None`` when it can."""
    if mode.elsewhere is not None:
        return f"not available here: {mode.elsewhere}"
    reason = _backend_missing(mode.backend)
    if reason is None:
        missing = [name for name in mode.requires if importlib.util.find_spec(name) is None]
        if missing:
            reason = f"{', '.join(missing)} not installed"
    return None if reason is None else f"not available: {reason}"


def select(names: Sequence[str] | None) -> tuple[Mode, ...]:
    """The modes named (all of them for ``None``), in table order; unknown names are an error."""
    if not names:
        return MODES
    known = {mode.name: mode for mode in MODES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown mode {', '.join(unknown)}; modes: {', '.join(known)}")
    return tuple(mode for mode in MODES if mode.name in names)
