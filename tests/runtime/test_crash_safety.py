"""Crash safety: a run killed with SIGKILL at random moments resumes to the uninterrupted result.

Each of the seeded kill points starts the flow in a subprocess, kills it a
random time after it started, resumes it in a second subprocess, and checks
the outputs against an uninterrupted run and that no vertex recorded before
the kill ran again. Vertices record their calls in a SQLite file of their
own, so a killed process cannot lose them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from flowdsl import CheckpointStore

# Slow: runs killed with SIGKILL in subprocesses.
pytestmark = pytest.mark.slow

KILL_POINTS = 20
VERTICES = 14

SCRIPT = f"""
import json, os, sqlite3, sys, time
from contextlib import closing
import flowdsl
from flowdsl import vertex

def called(name):
    # Read at call time: a global holding the phase would change the code's fingerprint.
    with closing(sqlite3.connect(os.environ["CALLS_DB"], timeout=30)) as db, db:
        db.execute("INSERT INTO calls VALUES (?, ?)", (os.environ["PHASE"], name))
    time.sleep(0.01)


class Started:
    def on_run_start(self, event):
        print("started", flush=True)


namespace = {{"vertex": vertex, "called": called}}
for i in range({VERTICES}):
    parents = [f"v{{j}}" for j in (i - 1, i - 3) if j >= 0]
    params = ", ".join(f"{{p}}: int" for p in parents) or "x: int"
    total = " + ".join(parents) or "x"
    exec(
        f"@vertex\\ndef v{{i}}({{params}}) -> int:\\n"
        f"    called('v{{i}}')\\n    return ({{total}}) * 3 % 1000003 + {{i}}\\n",
        namespace,
    )
flow = flowdsl.Flow.from_functions(*(namespace[f"v{{i}}"] for i in range({VERTICES})))

if __name__ == "__main__":
    database, backend = sys.argv[1], sys.argv[2]
    if sys.argv[3] == "run":
        flow.run({{"x": 5}}, checkpoint=database, run_id="crash", backend=backend,
                 listeners=[Started()])
    else:
        result = flow.resume("crash", checkpoint=database, backend=backend)
        print(json.dumps(dict(result)))
"""


def _expected() -> dict[str, int]:
    values: dict[str, int] = {}
    for i in range(VERTICES):
        parents = [f"v{j}" for j in (i - 1, i - 3) if j >= 0]
        total = sum(values[p] for p in parents) if parents else 5
        values[f"v{i}"] = total * 3 % 1000003 + i
    return values


def _calls(path: Path, phase: str) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT vertex FROM calls WHERE phase = ?", (phase,))]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_random_kills_resume_to_the_uninterrupted_result(tmp_path: Path) -> None:
    script = tmp_path / "crashing.py"
    script.write_text(SCRIPT, encoding="utf-8")
    rng = random.Random(20261121)
    expected = _expected()
    killed_midway = 0
    for point in range(KILL_POINTS):
        folder = tmp_path / f"point{point}"
        folder.mkdir()
        database, calls = folder / "runs.db", folder / "calls.db"
        with closing(sqlite3.connect(calls)) as db, db:
            db.execute("CREATE TABLE calls (phase TEXT, vertex TEXT)")
        backend = ("serial", "thread", "async")[point % 3]
        environment = {**os.environ, "CALLS_DB": str(calls), "PYTHONPATH": os.getcwd()}
        process = subprocess.Popen(
            [sys.executable, str(script), str(database), backend, "run"],
            env={**environment, "PHASE": "first"},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started"
        # The run takes about 14 x 10 ms: kill it somewhere in there (or just after).
        delay = rng.uniform(0.0, 0.2)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        process.stdout.close()

        store = CheckpointStore(database)
        recorded = set(store.runs()[0].vertices)
        store.close()
        killed_midway += len(recorded) < VERTICES

        resumed = subprocess.run(
            [sys.executable, str(script), str(database), backend, "resume"],
            env={**environment, "PHASE": "resume"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout) == expected, (point, backend)
        again = set(_calls(calls, "resume"))
        assert not (again & recorded), (point, sorted(again & recorded))
        assert again | recorded == set(expected)
    # The kill points must really land inside runs, not all after them.
    assert killed_midway >= KILL_POINTS // 2
