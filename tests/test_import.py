"""``import flowdsl`` alone stays light, and so does a script that compiles and runs a flow:
what only a store, a concurrent run, a report or the CLI needs loads when it is used."""

from __future__ import annotations

import ast
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
    script = f"{code}\nimport sys\nprint(sorted(sys.modules))"
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return set(ast.literal_eval(completed.stdout.splitlines()[-1]))


def _heavy(modules: set[str], heavy: tuple[str, ...] = NOT_AT_IMPORT) -> list[str]:
    return sorted(
        name
        for name in modules
        if any(name == package or name.startswith(package + ".") for package in heavy)
    )


#: Modules that a script which decorates, compiles and runs a flow serially, without a
#: cache, listeners or checkpoints, does not use: each is loaded by the call that needs it.
NOT_IN_A_PLAIN_RUN = (
    *NOT_AT_IMPORT,
    # the standard library's
    "json",
    "decimal",
    "fractions",
    "difflib",
    "random",
    "secrets",
    "hmac",
    "logging",
    "sysconfig",
    "ipaddress",
    "urllib",
    "uuid",  # a run's id is os.urandom's: importing uuid took most of a small flow's first run
    "cachetools",
    # flowdsl's: exports, sweeps, progress, a result's metrics,
    # timeline, lineage and DataFrame, events, event loops, concurrent schedulers,
    # atomic groups, caching, fingerprints, checkpoints, DataFrame schemas
    "flowdsl.fingerprint",
    "flowdsl._export",
    "flowdsl._progress",
    "flowdsl._runtime.sweep",
    "flowdsl._metrics",
    "flowdsl._report",
    "flowdsl._lineage",
    "flowdsl._frame_result",
    "flowdsl._events",
    "flowdsl._runtime.loops",
    "flowdsl._runtime.concurrent",
    "flowdsl._runtime.atomic",
    "flowdsl._runtime.caching",
    "flowdsl._runtime.checkpointing",
    "flowdsl._services.cache",
    "flowdsl._services.fingerprint",
    "flowdsl._services.vertex_fingerprint",
    "flowdsl._services.checkpoints",
    "flowdsl._services.sqlite_files",
    "flowdsl._services._frame_schemas",
)

PLAIN_RUN = """\
import flowdsl

@flowdsl.vertex
def load(x: int) -> int:
    return x + 1

@flowdsl.vertex
def double(load: int) -> int:
    return 2 * load

flow = flowdsl.Flow(flowdsl.compile(load, double))
result = flow.run({"x": 1})
assert result["double"] == 4 and result.states["double"] == "completed"
"""


def test_import_flowdsl_loads_no_event_loop_store_or_cli_module() -> None:
    assert _heavy(_loaded_after("import flowdsl")) == []


def test_import_flowdsl_loads_none_of_its_modules_until_a_name_is_used() -> None:
    """Each public name is imported from its module on first access (PEP 562)."""
    loaded = _loaded_after("import flowdsl")
    assert sorted(m for m in loaded if m.startswith("flowdsl")) == ["flowdsl"]
    assert not loaded & {"attrs", "typing_extensions", "inspect"}


def test_the_dsl_loads_without_the_compiler_or_the_runtime() -> None:
    loaded = _loaded_after("from flowdsl import vertex, From")
    assert not {m for m in loaded if m.startswith(("flowdsl._runtime", "flowdsl._compiler"))}
    assert "flowdsl._flow" not in loaded


def test_a_plain_serial_run_loads_only_what_it_uses() -> None:
    assert _heavy(_loaded_after(PLAIN_RUN), NOT_IN_A_PLAIN_RUN) == []


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
