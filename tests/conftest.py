"""Shared fixtures: the async loops every async test runs on, and the design card's pipeline."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

from flowdsl import Flow, RunResult
from tests.strategies import import_file

#: ``examples/pipeline.py``: the design card's user pipeline.
PIPELINE_PATH = Path(__file__).resolve().parent.parent / "examples" / "pipeline.py"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The event loop an ``@pytest.mark.anyio`` test runs on."""
    return str(request.param)


@pytest.fixture(scope="module")
def pipeline() -> ModuleType:
    """The design card's pipeline module, imported from ``examples/``."""
    return import_file(PIPELINE_PATH)


@pytest.fixture
def result(pipeline: ModuleType) -> RunResult:
    """A full serial run of the pipeline for the name ``" Alice "``."""
    return Flow.from_module(pipeline).run({"name": " Alice "})


@pytest.fixture(autouse=True)
def _no_flowdsl_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the defaults: ``FLOWDSL_*`` variables of the shell are hidden."""
    for name in [name for name in os.environ if name.startswith("FLOWDSL_")]:
        monkeypatch.delenv(name)
