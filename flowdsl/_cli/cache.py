"""``flowdsl cache info|clear PATH``: what a SQLite cache file holds, or empty it."""

from __future__ import annotations

import argparse
import os

from .. import SQLiteCache
from .._cli_surface import CACHE_FILE, inspect_file
from ..errors import CacheFileError
from .errors import CommandError, UsageError
from .output import write_json, write_text

__all__ = ["main"]


def main(args: argparse.Namespace) -> int:
    """``info``: entries and size on disk; ``clear``: remove every entry."""
    path = args.path
    _check_is_cache(path)
    try:
        store = SQLiteCache(path)
    except CacheFileError as exc:
        raise CommandError(str(exc)) from exc
    with store:
        entries = store.stats().entries
        if args.action == "clear":
            store.clear()
            write_text(f"cleared {entries} {'entry' if entries == 1 else 'entries'} from {path}")
            return 0
    size = sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
    if args.json:
        write_json({"path": path, "entries": entries, "bytes": size})
    else:
        write_text(f"path     {path}\nentries  {entries}\nsize     {_size(size)}")
    return 0


def _check_is_cache(path: str) -> None:
    """Refuse, without changing it, a file that is missing or not a flowdsl cache."""
    if not os.path.exists(path):
        raise UsageError(f"{path} does not exist")
    inspect_file(path, CACHE_FILE, CommandError)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
