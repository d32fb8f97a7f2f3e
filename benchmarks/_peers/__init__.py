"""The peers ``compare.py`` runs beside flowdsl: Apache Hamilton, pipefunc, Dask.

Each peer module expresses the comparison scenarios the way that library's
documentation writes them, and says why where it cannot. It provides:

- ``LABEL``, ``PACKAGE`` (what to ``pip install``; all are in the ``bench``
  extra) and ``MODULE`` (what to import);
- ``SCENARIOS``: comparison name -> a function ``(quick, directory) -> figures``
  with the same keys as flowdsl's scenario, or the reason it cannot be expressed.

The functions reuse the measuring pieces of ``_scenarios`` so that every
library is timed the same way.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["PEERS", "PeerFunction", "load", "unavailable", "version"]

PeerFunction = Callable[[bool, Path], dict[str, Any]]

#: Peer name -> (module of this package, import name of the library).
PEERS: dict[str, tuple[str, str]] = {
    "hamilton": ("_peers.with_hamilton", "hamilton"),
    "pipefunc": ("_peers.with_pipefunc", "pipefunc"),
    "dask": ("_peers.with_dask", "dask"),
}


def unavailable(peer: str) -> str | None:
    """Why ``peer`` cannot run here (its library is not installed), or ``None``."""
    library = PEERS[peer][1]
    if importlib.util.find_spec(library) is None:
        return f"not installed (pip install -e '.[bench]' installs {library})"
    return None


def load(peer: str) -> types.ModuleType:
    """The peer's module (imports the library)."""
    return importlib.import_module(PEERS[peer][0])


def version(peer: str) -> str:
    """The installed version of the peer's distribution."""
    return importlib.metadata.version(load(peer).PACKAGE)
