"""The dask backend: each vertex one task on a Dask ``distributed`` cluster.

The whole plan goes to the scheduler at once as one graph: a task per step
(``remote.run_packed``) whose dependencies are the tasks of the outputs it
reads, and a data node per flow input and given output. Data moves between
workers the Dask way; the driver fetches a value only when the result keeps
it (or a checkpoint records it), in one ``gather`` at the end.

The driver follows the futures as they complete and settles each step once
its producers are settled, so that outcomes are decided in dependency order,
as a local scheduler decides them:

- a finished task is a completed step, or a skipped one when its result is
  ``MISSING`` (read from the result's type, not fetched);
- an erred task whose producer is dead (failed, or skipped after a failure)
  was never run by Dask: it is skipped; otherwise the step failed, and under
  ``on_error="raise"`` the run stops and cancels what is left.

What a result cannot say (attempts, times, skip reasons, retries) comes from
the workers as Dask events on the run's own topic; Dask delivers a task's
events before its completion, and the driver sends the run's listener events
as it settles each step.

A pure vertex's key derives from its code and the keys it reads (inputs by
their fingerprints), as flowdsl's cache key does, so identical work submitted
by two runs at once is done once. Every other key is unique to the run.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import attrs

from .._services.fingerprint import (
    Unfingerprintable,
    cache_key,
    fingerprint_code,
    fingerprint_value,
    is_library_file,
)
from ..errors import FlowCancelled, SettingsError
from .check_log import keep
from .plan import Plan, Step
from .remote import PICKLED, Job, local_step, run_packed
from .state import MISSING, RunState

__all__ = ["client_for", "run_dask"]

logger = logging.getLogger("flowdsl")

#: Seconds to wait for the events of a task that completed before them (Dask
#: sends them first; this only covers a worker whose events were lost).
_REPORT_GRACE = 2.0


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SettingsError(
            'backend="dask" needs Dask\'s distributed scheduler: pip install "flowdsl[dask]"',
            source="argument backend",
        ) from None
    return distributed


def _check_supported(plan: Plan) -> None:
    groups = sorted(
        {step.node.options.group.name for step in plan.steps if step.node.options.group is not None}
    )
    if groups:
        raise SettingsError(
            f'backend="dask" cannot run atomic groups ({", ".join(map(repr, groups))}): a '
            "group's transaction lives in one process; run the flow on a local backend",
            source="argument backend",
        )


@contextlib.asynccontextmanager
async def client_for(state: RunState) -> AsyncIterator[Any]:
    """The caller's client; else one connected to ``dask_address``; else one on a
    local cluster started for the run. What is opened here is closed here."""
    if state.dask_client is not None:
        yield state.dask_client
        return
    distributed = _distributed()
    address = state.options.dask_address

    def connect() -> tuple[Any, Any]:
        if address is not None:
            return distributed.Client(address, set_as_default=False), None
        # Any free port for its HTTP server: several clusters may run on one machine.
        cluster = distributed.LocalCluster(dashboard_address=":0", silence_logs=logging.ERROR)
        return distributed.Client(cluster, set_as_default=False), cluster

    client, cluster = await anyio.to_thread.run_sync(connect)
    try:
        yield client
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(client.close)
            if cluster is not None:
                await anyio.to_thread.run_sync(cluster.close)


async def run_dask(state: RunState) -> None:
    """Run ``state.plan`` on a Dask cluster, recording outcomes in ``state``."""
    _check_supported(state.plan)
    async with client_for(state) as client:
        driver = _Driver(state, client)
        try:
            await anyio.to_thread.run_sync(driver.run, abandon_on_cancel=True)
        finally:
            # Also when the run failed, was cancelled or passed its deadline:
            # cancel what is left, and fetch what completed for the result.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(driver.finish)


def _send_by_value(plan: Plan) -> None:
    """Have cloudpickle send the user's code by value, and libraries by name.

    A vertex's module may be one the workers cannot import (``__main__``, a
    file loaded by path as ``flowdsl run pipeline.py`` does, a project not
    installed on the cluster); by value it runs anywhere. Installed packages
    (and the standard library) must be installed on the workers.
    """
    import cloudpickle

    for step in plan.steps:
        node = step.node
        for function in (node.function, *node.options.fallbacks, node.options.until):
            name = getattr(function, "__module__", None) or "__main__"
            module = sys.modules.get(name)
            if module is None or name == "__main__" or name in _SORTED:
                continue  # cloudpickle sends what no import finds by value anyway
            _SORTED.add(name)
            file = getattr(module, "__file__", None)
            if file is None or not is_library_file(file):
                cloudpickle.register_pickle_by_value(module)


#: Modules already sent by value, or found to be libraries (once per process).
_SORTED: set[str] = set()


def _worker_options(state: RunState) -> Any:
    # A worker runs one step serially; the run-wide options stay with the driver.
    return attrs.evolve(
        state.options, backend="serial", timeout=None, checkpoint=None, progress=False
    )


class _Graph:
    """The Dask graph of one run: a task per step, a data node per given value."""

    def __init__(self, state: RunState, topic: str) -> None:
        from dask._task_spec import DataNode, Task, TaskRef

        plan = state.plan
        _send_by_value(plan)
        options = _worker_options(state)
        run_token = uuid.uuid4().hex[:16]
        self.tasks: dict[str, Any] = {}
        self.keys: list[str] = []
        # Keys computed from content (may be shared with another run's).
        self.shared: list[bool] = []
        key_of: dict[int, str] = {}
        given = [
            *((fill.slot, f"input-{fill.name}") for fill in plan.fills),
            *((slot, f"given-{name}") for name, slot in plan.overrides),
            *((slot, "constant") for slot, _ in plan.constants),
        ]
        for slot, prefix in given:
            value = state.values[slot]
            key = f"{prefix}-{_value_token(value) or run_token}"
            key_of[slot] = key
            self.tasks[key] = DataNode(key, value)
        for step in plan.steps:
            slots = [slot for slot, _ in step.args] + [slot for _, slot, _ in step.kwargs]
            if step.condition is not None:
                slots.append(step.condition[0])
            read = [key_of.get(slot) for slot in slots]  # None: the constant None slot
            digest = _pure_digest(step, read, options.contracts)
            # The vertices after= names: dependencies for the order, values for their skips.
            after = [p for p in step.needs if plan.steps[p].name in step.node.requires]
            read += [key_of[p] for p in after]
            key = f"{step.name}-{digest or run_token}"
            key_of[step.position] = key
            names = tuple(plan.steps[p].name for p in after)
            job = Job(local_step(step), step.position, options, state.run_id, topic, names)
            self.tasks[key] = Task(
                key, run_packed, job.packed(), *(None if k is None else TaskRef(k) for k in read)
            )
            self.keys.append(key)
            self.shared.append(digest is not None)


def _value_token(value: Any) -> str | None:
    try:
        return fingerprint_value(value).hex()[:32]
    except Unfingerprintable:
        return None


def _pure_digest(step: Step, read: list[str | None], contracts: str) -> str | None:
    # flowdsl's cache key, over the keys the step reads instead of their values.
    node = step.node
    if not node.options.pure:
        return None
    try:
        code = fingerprint_code(step.function)
    except Unfingerprintable:
        return None
    names = [b.parameter for b in step.sources] + ["when"] * (step.condition is not None)
    function = step.function
    identity = f"{function.__module__}.{function.__qualname__}:{node.name}:{contracts}"
    reads = [(name, (key or "None").encode()) for name, key in zip(names, read, strict=True)]
    return cache_key(identity, code, node.options.version, reads)[:32]


class _Driver:
    """Follows one run's futures and settles its steps in dependency order."""

    def __init__(self, state: RunState, client: Any) -> None:
        plan = state.plan
        count = len(plan.steps)
        self.state = state
        self.client = client
        self.steps = plan.steps
        self.topic = f"flowdsl-{state.run_id}-{uuid.uuid4().hex[:8]}"
        counts = plan.reader_counts
        # Whose values the result keeps (all, unless ``outputs=`` says which).
        self.kept = [counts is None or counts[i] == -1 for i in range(count)]
        self.futures: list[Any] = [None] * count
        self.waiting = [len(step.after) for step in plan.steps]
        self.arrived = [False] * count
        self.settled = [False] * count
        self.dead = [False] * count
        self.to_fetch: list[int] = []
        self.reports: dict[int, dict[str, Any]] = {}
        self.reported = threading.Condition()
        self.lock = threading.Lock()
        self.stopped = False
        self.shared: list[bool] = []
        # Workers report when a step began by the wall clock (``time.time``): the
        # run's timeline takes it onto the run's own clock from this pair of readings.
        self.clocks = (time.time(), time.perf_counter())
        state.starts = [0.0] * count

    # Events from the workers (called on the client's event loop thread).

    def on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        message = event[1]
        position = message["step"]
        if message["kind"] == "retry":
            emitter = self.state.emitter
            if emitter is not None and not self.stopped:
                error = pickle.loads(message["error"])
                emitter.retrying(
                    self.steps[position].name, message["attempt"], error, message["delay"]
                )
            return
        with self.reported:
            self.reports[position] = message
            self.reported.notify_all()

    def _report(self, position: int) -> dict[str, Any]:
        # The step's report; a shared key may have been computed for another run.
        with self.reported:
            if position not in self.reports and not self.shared[position]:
                self.reported.wait_for(lambda: position in self.reports, _REPORT_GRACE)
            return self.reports.pop(position, {})

    # The driver's thread.

    def run(self) -> None:
        """Submit the graph, settle each step as its future completes, fetch the kept values."""
        distributed = _distributed()
        graph = _Graph(self.state, self.topic)
        self.shared = graph.shared
        position_of = {key: i for i, key in enumerate(graph.keys)}
        self.client.subscribe_topic(self.topic, self.on_event)
        futures = self.client.get(graph.tasks, graph.keys, sync=False)
        with self.lock:
            if self.stopped:
                return
            self.futures = list(futures)
            self.state.running.update(i for i, count in enumerate(self.waiting) if not count)
        for future in distributed.as_completed(futures, loop=self.client.loop):
            if not self._completed(position_of[future.key]):
                return

    def _completed(self, position: int) -> bool:
        # A future completed: settle what it allows; whether the run goes on
        # (it stops at a failure under on_error="raise", or from outside).
        with self.lock:
            if not self.stopped:
                self._arrive(position)
            return not self.stopped

    def _arrive(self, position: int) -> None:
        # Lock held. Settle ``position`` and whatever it unblocks, producers first.
        self.arrived[position] = True
        work = [position]
        while work and not self.stopped:
            i = work.pop()
            if self.waiting[i] or not self.arrived[i] or self.settled[i]:
                continue
            self._settle(i)
            for child in self.steps[i].downstream:
                self.waiting[child] -= 1
                if not self.waiting[child]:
                    self.state.running.add(child)
                    work.append(child)

    def _settle(self, position: int) -> None:
        state, step = self.state, self.steps[position]
        self.settled[position] = True
        state.running.discard(position)
        future = self.futures[position]
        status = future.status
        if status == "error":
            self._erred(position, future)
        elif status == "finished" and future.type is type(MISSING):
            reason = self._report(position).get("skip", "skipped on the worker")
            state.step_skipped(position, reason)
        elif status == "finished":
            self._record(position, self._report(position))
            # The value stays on the cluster (fetched at the end if kept), unless
            # the checkpoint keeps it now.
            output = MISSING if state.checkpoint is None else future.result()
            self._ended(position, output, None)
            if not self.kept[position]:
                state.values[position] = MISSING
            elif position not in state.errors:
                self.to_fetch.append(position)
        else:  # cancelled on the cluster, not by this run
            self._ended(
                position, None, FlowCancelled(f"the task of vertex {step.name!r} was cancelled")
            )
        if not self.kept[position]:
            self.futures[position] = None  # Dask frees the value once its readers ran

    def _erred(self, position: int, future: Any) -> None:
        steps, state = self.steps, self.state
        for parent in steps[position].after:
            if self.dead[parent]:
                # Dask never ran it: a producer failed, or was skipped after a failure.
                self.dead[position] = True
                cause = "failed" if parent in state.errors else "was skipped after a failure"
                state.step_skipped(position, f"{steps[parent].name!r} {cause}")
                return
        error = future.exception()
        error = error.with_traceback(future.traceback())
        self._record(position, self._report(position))
        self._ended(position, None, error)

    def _ended(self, position: int, output: Any, error: Exception | None) -> None:
        # Its listeners hear that it started only now: the worker could not tell them.
        state = self.state
        if state.emitter is not None:
            state.emitter.vertex_started(self.steps[position].name, 1)
        if state.step_ended(position, output, state.durations[position], error) is not None:
            self.dead[position] = True
            self.stopped = state.failed_fast

    def _record(self, position: int, report: dict[str, Any]) -> None:
        # What the worker measured, into the run's metrics.
        state = self.state
        if "began" in report and state.starts is not None:
            wall, clock = self.clocks
            state.starts[position] = clock + report["began"] - wall
            state.lanes[position] = report["thread"]
        state.take_report(
            position,
            {
                name: pickle.loads(value) if name in PICKLED else value
                for name, value in report.items()
            },
        )
        if "checks" in report:
            keep(state, position, pickle.loads(report["checks"]))
        if report.get("cache") == "hit" and state.emitter is not None:
            state.emitter.cache_hit(self.steps[position].name)

    def finish(self) -> None:
        """The run is over, or stops now: record nothing more, cancel what is left,
        and fetch the kept values of the completed steps in one round trip."""
        with self.lock:
            self.stopped = True
            futures, self.futures = self.futures, [None] * len(self.futures)
        pending = [f for f in futures if f is not None and not f.done()]
        with contextlib.suppress(Exception):  # a client closing under us has nothing left
            if pending:
                self.client.cancel(pending)
            self.client.unsubscribe_topic(self.topic)
        positions = self.to_fetch
        values = self.client.gather([futures[i] for i in positions])
        for position, value in zip(positions, values, strict=True):
            self.state.values[position] = value
