"""``import flowdsl`` alone stays light: what only a run, a store or the CLI needs loads later."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowdsl._lazy import lazy_module

#: Modules a plain ``import flowdsl`` must not load (a run may load what it uses).
#: anyio before 4.15 imports ssl itself, so it waits for the first concurrent run too.
NOT_AT_IMPORT = (
    "asyncio",
    "anyio",
    "sqlite3",
    "pickle",
    "ssl",
    "flowdsl._cli",
    "flowdsl.__main__",
)


def _loaded_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(completed.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if any(name == heavy or name.startswith(heavy + ".") for heavy in NOT_AT_IMPORT)
    )


def test_import_flowdsl_loads_no_event_loop_store_or_cli_module() -> None:
    assert _heavy(_loaded_after("import flowdsl")) == []


def test_a_serial_run_needs_no_event_loop() -> None:
    code = (
        "import flowdsl\n"
        "@flowdsl.vertex\n"
        "def double(x: int) -> int:\n"
        "    return 2 * x\n"
        "assert flowdsl.Flow.from_functions(double).run({'x': 2})['double'] == 4"
    )
    assert "asyncio" not in _loaded_after(code)


def test_what_a_run_uses_is_loaded_when_it_runs() -> None:
    code = (
        "import tempfile, os, flowdsl\n"
        "@flowdsl.vertex(pure=True)\n"
        "async def double(x: int) -> int:\n"
        "    return 2 * x\n"
        "path = os.path.join(tempfile.mkdtemp(), 'cache.sqlite')\n"
        "flow = flowdsl.Flow.from_functions(double)\n"
        "assert flow.run({'x': 2}, backend='async', cache=path)['double'] == 4\n"
        "assert flow.run({'x': 2}, backend='async', cache=path)['double'] == 4"
    )
    loaded = _loaded_after(code)
    assert {"asyncio", "anyio", "sqlite3", "pickle"} <= loaded


def test_a_lazy_module_reaches_submodules_its_package_does_not_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lazy_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("TOP = 1\n")
    (package / "inner.py").write_text("VALUE = 2\n")
    (package / "broken.py").write_text("import lazy_pkg_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    proxy = lazy_module("lazy_pkg")
    try:
        assert proxy.TOP == 1
        assert proxy.inner.VALUE == 2  # as after ``import lazy_pkg.inner``
        with pytest.raises(AttributeError, match="'lazy_pkg' has no 'absent'"):
            proxy.absent
        # A submodule that fails to import is not mistaken for a missing name.
        with pytest.raises(ModuleNotFoundError, match="lazy_pkg_missing_dependency"):
            proxy.broken
    finally:
        for name in ("lazy_pkg", "lazy_pkg.inner", "lazy_pkg.broken"):
            sys.modules.pop(name, None)
