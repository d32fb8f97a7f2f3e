"""Drive ``python -m flowdsl`` as a user would, in a folder of generated target files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli._targets import SHOP, Cli, write


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """Run ``python -m flowdsl ARGS...`` in ``tmp_path`` (which holds ``shop.py``)."""
    write(tmp_path, "shop.py", SHOP)

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "flowdsl", *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run
