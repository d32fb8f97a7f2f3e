"""Keep the docs' example blocks true: each is an ``examples/`` script and its real output.

A docs page marks where a script goes and where its output goes::

    <!-- example: examples/retries.py -->
    <!-- output: examples/retries.py -->

``render(page)`` puts the script's source in a ``python`` block after the
first marker and what running it prints in a ``text`` block after the second
(replacing the blocks already there). ``tests/test_docs_examples.py`` checks
that every page is up to date; ``python -m tests.docs_examples`` rewrites the
pages after an example changed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_MARKER = re.compile(r"^<!-- (example|output): (\S+) -->\n(?:\n?```\w*\n.*?^```\n)?", re.M | re.S)


def run_example(script: Path, *args: str, cwd: Path = ROOT, **env: str) -> str:
    """What ``python script *args`` prints (run in ``cwd``, with ``env`` added);
    fails when it exits with an error or prints a traceback."""
    environment = {**os.environ, **env}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [environment.get("PYTHONPATH")])]
    )
    completed = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return completed.stdout


def render(text: str) -> str:
    """``text`` with every marked block filled from its script."""
    outputs: dict[str, str] = {}

    def block(match: re.Match[str]) -> str:
        kind, path = match.group(1), match.group(2)
        if kind == "example":
            body, language = (ROOT / path).read_text(encoding="utf-8"), "python"
        else:
            if path not in outputs:
                outputs[path] = run_example(ROOT / path)
            body, language = outputs[path], "text"
        return f"<!-- {kind}: {path} -->\n```{language}\n{body.rstrip()}\n```\n"

    return _MARKER.sub(block, text)


def pages() -> list[Path]:
    """The docs pages with example markers."""
    return sorted(p for p in DOCS.glob("*.md") if "<!-- example: " in p.read_text("utf-8"))


if __name__ == "__main__":
    for page in pages():
        page.write_text(render(page.read_text(encoding="utf-8")), encoding="utf-8")
        print("rendered", page.relative_to(ROOT))
