"""``flowdsl cache info|clear PATH``: what a SQLite cache file holds, or empty it."""

from __future__ import annotations

import argparse
import os
import pathlib
import sqlite3

from .._services.cache import CacheFileError, SQLiteCache
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
    if not os.path.isfile(path):
        raise UsageError(f"no cache file at {path}")
    uri = pathlib.Path(path).resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            row = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flowdsl_cache'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise CommandError(f"{path} is not a SQLite database ({exc})") from exc
    if row is None:
        raise CommandError(f"{path} is a SQLite database but not a flowdsl cache")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
