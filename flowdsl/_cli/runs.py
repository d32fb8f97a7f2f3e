"""``flowdsl runs list|show|delete CHECKPOINT [RUN_ID]``: the runs a checkpoint file holds."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
from collections.abc import Iterator

from .. import CheckpointStore, RunRecord
from ..errors import CheckpointError
from .errors import CommandError, UsageError
from .output import write_json, write_text

__all__ = ["main"]


def main(args: argparse.Namespace) -> int:
    """``list`` every run, ``show`` one, or ``delete`` one."""
    if args.action != "list" and args.run_id is None:
        raise UsageError(f"runs {args.action} needs a RUN_ID")
    with _opened(args.checkpoint) as store:
        return _act(store, args)


def require_run(path: str, run_id: str) -> None:
    """Refuse, as ``runs show`` does, a run that checkpoint file ``path`` does not hold."""
    with _opened(path) as store:
        _find({run.run_id: run for run in store.runs()}, run_id, path)


@contextlib.contextmanager
def _opened(path: str) -> Iterator[CheckpointStore]:
    # A missing file is a usage error (status 2); one flowdsl cannot use, status 1.
    if not os.path.exists(path):
        raise UsageError(f"{path} does not exist")
    try:
        store = CheckpointStore(path)
        try:
            yield store
        finally:
            store.close()
    except CheckpointError as exc:
        raise CommandError(str(exc)) from exc


def _find(runs: dict[str, RunRecord], run_id: str, path: str) -> RunRecord:
    run = runs.get(run_id)
    if run is None:
        known = ", ".join(runs) or "none"
        raise UsageError(f"no run {run_id!r} in {path}", hint=f"runs: {known}")
    return run


def _act(store: CheckpointStore, args: argparse.Namespace) -> int:
    runs = {run.run_id: run for run in store.runs()}
    if args.action == "list":
        if args.json:
            write_json([_data(run) for run in runs.values()])
        else:
            lines = [f"{'run':<20}  {'started':<19}  vertices"]
            lines += [
                f"{run.run_id:<20}  {_when(run.started)}  {len(run.vertices)}"
                for run in runs.values()
            ]
            write_text("\n".join(lines))
        return 0
    run = _find(runs, args.run_id, args.checkpoint)
    if args.action == "delete":
        store.delete(run.run_id)
        write_text(f"deleted run {run.run_id!r} from {args.checkpoint}")
    elif args.json:
        write_json(_data(run))
    else:
        write_text(
            f"run         {run.run_id}\nstarted     {_when(run.started)}\n"
            f"serializer  {run.serializer}\nrecorded    {', '.join(run.vertices) or 'nothing'}"
        )
    return 0


def _when(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _data(run: RunRecord) -> dict[str, object]:
    return {
        "run_id": run.run_id,
        "started": run.started,
        "serializer": run.serializer,
        "vertices": list(run.vertices),
    }
