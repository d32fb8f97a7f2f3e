"""Many runs of one flow at once on threads, each scenario in a fresh process (see _many_runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.runtime._modes import in_fresh_process


def _scenario(name: str, folder: Path) -> dict[str, Any]:
    # A fresh process: trio is imported by the first trio run, on a thread,
    # while the other threads' runs ask which loop runs on theirs.
    done = in_fresh_process("tests.runtime._many_runs", name, str(folder))
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert not report["trio_before"]
    return report


def test_runs_on_threads_go_on_while_another_thread_imports_trio(tmp_path: Path) -> None:
    report = _scenario("trio-import", tmp_path)
    assert report["failures"] == []
    assert report["runs"] == 24


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
def test_eight_threads_of_runs_on_every_backend_share_a_cache_and_checkpoints(
    tmp_path: Path,
) -> None:
    report = _scenario("stress", tmp_path)
    assert report["failures"] == []
    assert report["runs"] == 8 * 25 + 40  # and every fifth run resumed


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
def test_eight_threads_of_dask_runs_share_a_cache_and_checkpoints(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    report = _scenario("dask-stress", tmp_path)
    assert report["failures"] == []
    assert report["runs"] == 8 * 25 + 40
