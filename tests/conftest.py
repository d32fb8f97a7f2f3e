"""Shared fixtures: the async loops every async test runs on, the user pipeline of
``examples/pipeline.py``, and a local Dask cluster."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import tests.quick
from flowdsl import Flow, RunResult
from tests.strategies import import_file

#: ``examples/pipeline.py``: the user pipeline the README and the quickstart show.
PIPELINE_PATH = Path(__file__).resolve().parent.parent / "examples" / "pipeline.py"


def pytest_configure(config: pytest.Config) -> None:
    """The quick loop (``-m "not slow"``) draws fewer random examples (``tests/quick.py``)."""
    tests.quick.QUICK = "not slow" in (config.getoption("markexpr", "") or "")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The event loop an ``@pytest.mark.anyio`` test runs on."""
    return str(request.param)


@pytest.fixture(scope="module")
def pipeline() -> ModuleType:
    """The user pipeline module, imported from ``examples/``."""
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


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A client of a local Dask cluster of two worker processes, shared by the session."""
    distributed = pytest.importorskip(
        "distributed", reason='backend="dask" needs the dask extra: pip install "flowdsl[dask]"'
    )
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=4,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
