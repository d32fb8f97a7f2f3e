"""``Flow``: the public face of a compiled graph — inspect it, export it, run it."""

from __future__ import annotations

import functools
import os
import types
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import _export
from ._arguments import Outputs, run_arguments
from ._compiler import compile_graph
from ._handle import RunHandle
from ._model.graph import FlowInput, Graph, VertexNode
from ._policies import RetryPolicy
from ._progress import progress_listener
from ._result import RunResult
from ._runtime.checkpointing import prepare_checkpoint
from ._runtime.executor import execute, run_blocking
from ._runtime.plan import Plan, build_plan
from ._runtime.state import RunState
from ._services.cache import CacheStore
from ._settings import resolve
from .errors import (
    DataResolutionError,
    FlowDSLError,
    SettingsError,
    VertexFailed,
    VertexTimeout,
)

__all__ = ["Flow", "compile"]


def compile(
    *sources: types.ModuleType | Callable[..., Any] | Mapping[str, Callable[..., Any]],
) -> Graph:
    """Compile modules and ``@vertex`` functions into one immutable ``Graph``.

    Every problem in the sources is reported at once. A source is a module,
    a vertex, or the mapping ``vertex.expand`` returns.

    >>> import flowdsl
    >>> from flowdsl import vertex
    >>> @vertex
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> flowdsl.compile(double).order
    ('double',)

    Raises:
        CompileError: a subclass for a single problem (``CycleError``,
            ``BindingError``, ``DuplicateVertexError``, ``TypeMismatchError``,
            ``InvalidVertexError``), or a ``CompileError`` listing them all.
    """
    return compile_graph(*sources)


class Flow:
    """A compiled dataflow graph, ready to run.

    >>> import flowdsl
    >>> from flowdsl import vertex
    >>> @vertex
    ... def normalize(name: str) -> str:
    ...     return name.strip().lower()
    >>> @vertex
    ... def greet(normalize: str) -> str:
    ...     return f"hello {normalize}"
    >>> flow = flowdsl.Flow.from_functions(normalize, greet)
    >>> flow.run({"name": " Ada "})["greet"]
    'hello ada'
    """

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        # Plans depend only on the selection, so they are built once each (bounded, thread-safe).
        self._plan: Callable[[tuple[str, ...] | None, str | None, frozenset[str]], Plan] = (
            functools.lru_cache(maxsize=64)(functools.partial(build_plan, graph))
        )

    @classmethod
    def from_module(cls, *modules: types.ModuleType) -> Flow:
        """Compile the ``@vertex`` functions of one or more modules into one flow."""
        return cls(compile_graph(*modules))

    @classmethod
    def from_functions(
        cls, *functions: Callable[..., Any] | Mapping[str, Callable[..., Any]]
    ) -> Flow:
        """Compile the given vertices (and mappings from ``vertex.expand``) into a flow."""
        return cls(compile_graph(*functions))

    @property
    def graph(self) -> Graph:
        """The immutable graph model."""
        return self._graph

    @property
    def vertices(self) -> Mapping[str, VertexNode]:
        """Vertices by name, in topological order."""
        return self._graph.vertices

    @property
    def inputs(self) -> Mapping[str, FlowInput]:
        """Flow inputs by name (``.required`` says which must be given)."""
        return self._graph.inputs

    def stages(self) -> list[list[str]]:
        """Vertex names grouped so that each group only reads from earlier groups."""
        return [list(stage) for stage in self._graph.stages]

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart."""
        return _export.to_mermaid(self._graph)

    def to_dot(self) -> str:
        """The graph as Graphviz DOT."""
        return _export.to_dot(self._graph)

    def to_json(self) -> str:
        """The graph as JSON: vertices, bindings, inputs, order, stages, flows."""
        return _export.to_json(self._graph)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        # Jupyter's rich display: the graph as SVG (Graphviz when installed, else
        # flowdsl's own layout) and as Mermaid.
        from ._report.notebook import flow_mimebundle

        return flow_mimebundle(self._graph)

    def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        outputs: Outputs | None = None,
        flow: str | None = None,
        backend: str | None = None,
        on_error: str | None = None,
        max_workers: int | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        contracts: str | None = None,
        cache: bool | str | os.PathLike[str] | CacheStore | None = None,
        anyio_backend: str | None = None,
        retry: RetryPolicy | int | None = None,
        progress: bool | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        run_id: str | None = None,
        resume: bool = False,
        serializer: str = "pickle",
        secret: str | bytes | None = None,
        overrides: Mapping[str, Any] | None = None,
        listeners: Sequence[object] = (),
        dask_address: str | None = None,
        dask_client: Any = None,
    ) -> RunResult:
        """Run the flow and return its ``RunResult``.

        Every option left ``None`` (from ``backend`` on) is not given: it comes
        from ``flowdsl.configure(...)``, else its ``FLOWDSL_<NAME>``
        environment variable, else its default (``flowdsl.settings()`` shows
        which).

        Args:
            inputs: flow input values by name.
            outputs: compute only what these outputs need: names (``"u"``,
                ``"u.field"``) or ``@vertex`` functions; the result then holds
                exactly them. A flow input's name gives the input's value (the
                one given, else its default).
            flow: run the vertices tagged ``@vertex(flows=...)`` with this name,
                and what they need.
            backend: where sync vertices run: ``"serial"`` (default; one at a
                time, inline), ``"thread"`` (on worker threads) or ``"async"``
                (inline on the event loop's thread, ``blocking=True`` ones on
                worker threads). Coroutine vertices run on the event loop
                under every local backend, concurrently except under
                ``"serial"``. ``"dask"`` makes each vertex a task on a Dask
                cluster (extra ``dask``).
            on_error: ``"raise"`` (default) stops at the first failure;
                ``"continue"`` runs every vertex that does not depend on a
                failure and lists errors in ``result.errors``.
            max_workers: upper bound on worker threads (default 40).
            max_concurrency: upper bound on coroutine vertices in flight
                (default: unbounded).
            timeout: seconds for the whole run; past it the run stops and
                raises ``VertexTimeout`` with the partial result.
            contracts: ``"strict"`` (default) checks every argument against
                its parameter's annotation before a call, and the result
                against the return annotation after it, raising
                ``ContractViolation``; ``"warn"`` logs the violation and goes
                on; ``"off"`` checks nothing. A vertex's own
                ``@vertex(contracts=...)`` wins.
            cache: where ``@vertex(pure=True)`` results are cached: ``False``
                (default: nowhere), ``True`` (the process-wide in-memory
                store), a path (a persistent SQLite store, shared across
                processes and runs) or a store object (``MemoryCache``,
                ``SQLiteCache`` or your own ``CacheStore``).
            anyio_backend: the event loop for a run that needs one:
                ``"asyncio"`` (default) or ``"trio"``.
            retry: the retry policy (a ``RetryPolicy``, or a number of
                retries) of every vertex without its own ``retries=`` or
                ``retry=``.
            listeners: objects told what happens as the run goes (see
                ``flowdsl.Listener``): run start and end, each vertex's
                start, end, error, retry, skip and cache hit.
            progress: show the run's progress on stderr: a bar on a terminal
                when rich is installed (extra ``progress``), else a plain
                line every few seconds and one at the end.
            checkpoint: a SQLite file where each completed vertex's output is
                written as it completes, under ``run_id``
                ([Checkpoints](checkpoints.md)).
            run_id: the run's id (default: a new random one); with
                ``checkpoint``, the name to resume it by.
            resume: load what run ``run_id`` completed from ``checkpoint``
                and run only the rest (a vertex whose code changed re-runs,
                and what depends on it).
            serializer: how checkpointed values are stored: ``"pickle"``
                (default; the file is trusted input) or ``"json"`` (data only).
            secret: sign every checkpoint record (HMAC-SHA256); a record
                that fails verification is refused.
            overrides: outputs to use instead of running those vertices
                (vertex name to value); what only they needed is not run.
                Each value is checked against its vertex's return annotation.
            dask_address: with ``backend="dask"``, the address of a running
                Dask scheduler (``tcp://host:8786``) to connect to for the run.
            dask_client: with ``backend="dask"``, a ``distributed.Client`` to
                run on (it wins over ``dask_address``); with neither, a local
                cluster is started for the run and closed after it
                ([Scaling out](scaling-out.md)).

        Raises:
            MissingInputError: required inputs are missing (all are listed).
            UnknownInputError: an input name is not a flow input (each is
                listed, with its "did you mean"). When inputs are missing
                too, one ``MissingAndUnknownInputError`` reports both: it is
                an instance of both classes.
            ArgumentTypeError: an argument has the wrong type (``inputs=``
                not a mapping, ``outputs=5``, ...); a ``TypeError``.
            VertexFailed: a vertex raised (``__cause__`` is the original,
                ``.result`` the partial result).
            VertexTimeout: a vertex or the run passed its timeout.
            ContractViolation: a value broke its annotation (``"strict"``).
            DataResolutionError: a field a binding or ``outputs=`` asked for
                is not in the output.
            SettingsError: an option has a bad value.
        """
        state = self._prepare(locals())
        return _finish(run_blocking(state))

    def start(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        outputs: Outputs | None = None,
        flow: str | None = None,
        backend: str | None = None,
        on_error: str | None = None,
        max_workers: int | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        contracts: str | None = None,
        cache: bool | str | os.PathLike[str] | CacheStore | None = None,
        anyio_backend: str | None = None,
        retry: RetryPolicy | int | None = None,
        progress: bool | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        run_id: str | None = None,
        resume: bool = False,
        serializer: str = "pickle",
        secret: str | bytes | None = None,
        overrides: Mapping[str, Any] | None = None,
        listeners: Sequence[object] = (),
        dask_address: str | None = None,
        dask_client: Any = None,
    ) -> RunHandle:
        """Start a run on a background thread and return its ``RunHandle`` at once.

        Takes the same arguments as ``run``; options are resolved here, in the
        calling thread. Input and option errors are raised here, before the run
        starts; everything else comes from ``handle.result()``.
        """
        state = self._prepare(locals())
        return RunHandle(state, _finish)

    async def arun(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        outputs: Outputs | None = None,
        flow: str | None = None,
        backend: str | None = None,
        on_error: str | None = None,
        max_workers: int | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        contracts: str | None = None,
        cache: bool | str | os.PathLike[str] | CacheStore | None = None,
        retry: RetryPolicy | int | None = None,
        progress: bool | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        run_id: str | None = None,
        resume: bool = False,
        serializer: str = "pickle",
        secret: str | bytes | None = None,
        overrides: Mapping[str, Any] | None = None,
        listeners: Sequence[object] = (),
        dask_address: str | None = None,
        dask_client: Any = None,
    ) -> RunResult:
        """``run`` as a coroutine, inside a running asyncio or trio event loop.

        Takes the same arguments as ``run`` except ``anyio_backend``: the
        running loop is used. Cancelling the caller cancels the run promptly
        and the loop's own cancellation propagates.
        """
        state = self._prepare(locals())
        return _finish(await execute(state))

    def resume(
        self,
        run_id: str,
        *,
        checkpoint: str | os.PathLike[str],
        **options: Any,
    ) -> RunResult:
        """Resume run ``run_id`` from ``checkpoint`` with its stored inputs:
        ``run(checkpoint=checkpoint, run_id=run_id, resume=True, **options)``.

        Raises:
            CheckpointError: there is no such run in the file, or a record
                fails verification.
        """
        return self.run(None, checkpoint=checkpoint, run_id=run_id, resume=True, **options)

    def _prepare(self, call: Mapping[str, Any]) -> RunState:
        """Check the inputs and options of a ``run``/``start``/``arun`` call (nothing runs yet).

        ``call`` is the method's ``locals()``: its arguments by name, one list
        for the three methods. Options resolve through ``flowdsl.settings``'
        order: this call, then ``configure(...)``, the environment, defaults.
        """
        arguments = run_arguments(call, self._graph)
        options = resolve(call)
        listeners = list(arguments.listeners)
        if options.progress:
            listeners.append(progress_listener(on_error=options.on_error))
        overrides = arguments.overrides
        outputs, flow = arguments.outputs, arguments.flow
        if options.checkpoint is None:
            if arguments.resume:
                raise SettingsError(
                    "resume=True needs checkpoint= (the file the run was recorded in)",
                    source="argument resume",
                )
            plan = self._plan(outputs, flow, frozenset(overrides))
            return RunState(
                plan,
                arguments.inputs or {},
                options,
                overrides,
                listeners,
                run_id=arguments.run_id,
                dask_client=call["dask_client"],
            )
        run_id = arguments.run_id or uuid.uuid4().hex
        prepared = prepare_checkpoint(
            self._graph,
            options.checkpoint,
            run_id,
            resume=arguments.resume,
            inputs=arguments.inputs,
            serializer=arguments.serializer,
            secret=arguments.secret,
        )
        try:
            given = {**prepared.restored, **overrides}
            return RunState(
                self._plan(outputs, flow, frozenset(given)),
                prepared.inputs,
                options,
                given,
                listeners,
                run_id=run_id,
                checkpoint=prepared.checkpoint,
                restored=prepared.restored.keys() - overrides.keys(),
                dask_client=call["dask_client"],
            )
        except BaseException:
            prepared.checkpoint.close()
            raise

    def __repr__(self) -> str:
        return f"<Flow: {len(self._graph.vertices)} vertices, {len(self._graph.inputs)} inputs>"


def _failure(
    state: RunState, position: int, error: BaseException, result: RunResult
) -> VertexFailed:
    """The ``VertexFailed`` reporting ``error`` of step ``position`` (attempts, element...)."""
    node = state.plan.steps[position].node
    attempts = state.attempts.get(position, 1)
    elements = state.element_errors.get(position)
    element = None if not elements else next(iter(elements))
    what = f"raised {type(error).__name__}: {error}"
    if element is not None:
        what = f"element {element} of {state.elements[position]} {what}"
        if len(elements or ()) > 1:
            what += f" ({len(elements or ())} elements failed)"
    if attempts > 1 and element is None:
        what += f" (after {attempts} attempts)"
    tried = state.fallback_errors.get(position)
    if tried:
        fallbacks = "; ".join(f"{name} raised {type(exc).__name__}: {exc}" for name, exc in tried)
        what += f"; its fallbacks failed too: {fallbacks}"
    return VertexFailed(
        what,
        vertex=node.name,
        location=node.location,
        result=result,
        attempts=attempts,
        element=element,
    )


def _finish(state: RunState) -> RunResult:
    """The result of a run; raises when it stopped at a failure or lacks a requested field."""
    result = RunResult(state)
    if state.failed_fast:
        position, error = next(iter(state.errors.items()))
        if isinstance(error, VertexFailed):
            error.result = result
            error.attempts = state.attempts.get(position, error.attempts)
            elements = state.element_errors.get(position)
            if elements:
                error.element = next(iter(elements))
            raise error
        if isinstance(error, FlowDSLError):
            raise error
        raise _failure(state, position, error, result) from error
    if state.timed_out:
        running = ", ".join(sorted(state.plan.steps[p].name for p in state.running)) or "none"
        raise VertexTimeout(
            f"the run did not finish within its timeout of {state.options.timeout:g}s "
            f"(still running: {running})",
            result=result,
        )
    for name in state.plan.outputs or ():
        vertex, _, field = name.partition(".")
        if field and result.states[vertex] == "completed" and name not in result:
            raise DataResolutionError(
                f"the output {name!r} was requested, but the output of vertex {vertex!r} has "
                f"no field {field!r}",
                vertex=vertex,
                location=state.plan.graph.vertices[vertex].location,
            )
    return result
