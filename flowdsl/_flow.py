"""``Flow``: the public face of a compiled graph — inspect it, export it, run it."""

from __future__ import annotations

import functools
import os
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from typing_extensions import Unpack

from ._arguments import run_arguments
from ._compiler import compile_graph
from ._handle import RunHandle
from ._location import SourceLocation
from ._model.graph import FlowInput, Graph, VertexNode
from ._options import Settings
from ._result import RunResult
from ._run_keywords import AsyncRunKeywords, RunKeywords, check_keywords
from ._runtime.executor import execute, run_blocking, run_on_a_loop
from ._runtime.plan import Plan, build_plan
from ._runtime.state import RunState, SharedWorkers, new_run_id
from ._settings import resolve
from ._subflow import SubFlow, sub_flow
from .errors import (
    DataResolutionError,
    FlowDSLError,
    RollbackFailed,
    SettingsError,
    VertexFailed,
    VertexTimeout,
)

# What only some calls use (an export, a sweep, progress, checkpoints, worker
# threads) is imported by them: a script that compiles and runs a flow once does
# not load it. (``RunHandle`` stays: the run methods' hints resolve at run time.)

__all__ = ["Flow", "compile"]


def compile(
    *sources: types.ModuleType | Callable[..., Any] | Mapping[str, Callable[..., Any]] | SubFlow,
    config: Mapping[str, Any] | None = None,
) -> Graph:
    """Compile modules and ``@vertex`` functions into one immutable ``Graph``.

    Every problem in the sources is reported at once. A source is a module,
    a vertex, or the mapping ``vertex.expand`` returns. ``config`` selects
    the config variants (``@vertex(config={...})``) that exist; keys no
    variant uses are allowed.

    Examples:
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
    return compile_graph(*sources, config=config)


class Flow:
    """A compiled dataflow graph, ready to run.

    Examples:
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
    def from_module(
        cls, *modules: types.ModuleType, config: Mapping[str, Any] | None = None
    ) -> Flow:
        """Compile the vertices of one or more modules into one flow (``config``: see
        ``flowdsl.compile``)."""
        return cls(compile_graph(*modules, config=config))

    @classmethod
    def from_functions(
        cls,
        *functions: Callable[..., Any] | Mapping[str, Callable[..., Any]] | SubFlow,
        config: Mapping[str, Any] | None = None,
    ) -> Flow:
        """Compile the given vertices (mappings from ``vertex.expand``, sub-flows) into a
        flow (``config``: see ``flowdsl.compile``)."""
        return cls(compile_graph(*functions, config=config))

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

    def select(self, *, tags: Mapping[str, Any]) -> list[str]:
        """The names of the vertices whose tags hold every pair of ``tags``, in topological
        order.

        Examples:
            >>> import flowdsl
            >>> from flowdsl import vertex
            >>> @vertex(tags={"owner": "growth", "tier": 1})
            ... def signups(day: int) -> int:
            ...     return 3 * day
            >>> @vertex(tags={"owner": "finance"})
            ... def revenue(signups: int) -> float:
            ...     return 9.5 * signups
            >>> flow = flowdsl.Flow.from_functions(signups, revenue)
            >>> flow.select(tags={"owner": "growth"}), flow.select(tags={})
            (['signups'], ['signups', 'revenue'])
        """
        wanted = list(tags.items())
        return [
            name
            for name, node in self._graph.vertices.items()
            if all(pair in node.options.tags for pair in wanted)
        ]

    def as_vertex(
        self,
        name: str,
        *,
        bind: Mapping[str, Any] | None = None,
        outputs: str | Sequence[str] | None = None,
    ) -> SubFlow:
        """This whole flow as one vertex ``name`` of another flow.

        The vertex's parameters are this flow's inputs, bound by ``bind=``
        (``From(...)`` or a decorated function: that output; any other value:
        a constant) or else by the usual rules where it is used (a vertex of
        the same name, else a flow input of the same name). Its output is a
        mapping of this flow's ``outputs`` (default: its sinks) to their
        values, so ``"name.output"`` is addressable and readable with
        ``From``. Its vertices run inside the outer run as ``"name/inner"``:
        the same backend, loop, deadline, cancellation, listeners and
        checkpoints. Used twice under two names, it is two independent
        vertices. A module-level name holding it is collected by
        ``Flow.from_module``.

        Examples:
            >>> import flowdsl
            >>> from flowdsl import From, vertex
            >>> @vertex
            ... def doubled(x: int) -> int:
            ...     return 2 * x
            >>> inner = flowdsl.Flow.from_functions(doubled)
            >>> @vertex
            ... def base() -> int:
            ...     return 5
            >>> @vertex
            ... def total(a: dict, b: dict) -> int:
            ...     return a["doubled"] + b["doubled"]
            >>> outer = flowdsl.Flow.from_functions(
            ...     base, total, inner.as_vertex("a", bind={"x": From("base")}),
            ...     inner.as_vertex("b", bind={"x": 1}))
            >>> result = outer.run()
            >>> result["total"], result["a.doubled"], result["b/doubled"]
            (12, 10, 2)

        Raises:
            InvalidVertexError: ``name`` is not a Python identifier.
            BindingError: a ``bind`` key is not an input of this flow, or an
                ``outputs`` name is not one of its vertices.
        """
        caller = sys._getframe(1)
        location = SourceLocation(caller.f_code.co_filename, caller.f_lineno)
        chosen = (
            None if outputs is None else (outputs,) if isinstance(outputs, str) else tuple(outputs)
        )
        return sub_flow(self._graph, name, bind, chosen, location)

    def stages(self) -> list[list[str]]:
        """Vertex names grouped so that each group only reads from earlier groups."""
        return [list(stage) for stage in self._graph.stages]

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart."""
        from ._export import to_mermaid

        return to_mermaid(self._graph)

    def to_dot(self) -> str:
        """The graph as Graphviz DOT."""
        from ._export import to_dot

        return to_dot(self._graph)

    def to_json(self) -> str:
        """The graph as JSON: vertices, bindings, inputs, order, stages, flows."""
        from ._export import to_json

        return to_json(self._graph)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        # Jupyter's rich display: the graph as SVG (Graphviz when installed, else
        # flowdsl's own layout) and as Mermaid.
        from ._report.notebook import flow_mimebundle

        return flow_mimebundle(self._graph)

    def run(
        self, inputs: Mapping[str, Any] | None = None, **options: Unpack[RunKeywords]
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
                raises ``VertexTimeout`` with the partial result (``math.inf``:
                no limit, whatever is configured).
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
                and run only the rest (a vertex whose code, bindings or
                annotations changed re-runs, and what depends on it; so
                does an overridden one's).
            serializer: how checkpointed values are stored: ``"pickle"``
                (default; the file is trusted input) or ``"json"`` (data only).
            secret: sign every checkpoint record (HMAC-SHA256), bound to
                this run's inputs and start; a record that fails
                verification (changed, or copied from another run) is
                refused.
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
        state = self._prepare("run", inputs, options, RunKeywords)
        return _finish(run_blocking(state))

    def start(
        self, inputs: Mapping[str, Any] | None = None, **options: Unpack[RunKeywords]
    ) -> RunHandle:
        """Start a run on a background thread and return its ``RunHandle`` at once.

        Takes the same arguments as ``run``; options are resolved here, in the
        calling thread. Input and option errors are raised here, before the run
        starts; everything else comes from ``handle.result()``.
        """
        state = self._prepare("start", inputs, options, RunKeywords)
        return RunHandle(state, _finish)

    async def arun(
        self, inputs: Mapping[str, Any] | None = None, **options: Unpack[AsyncRunKeywords]
    ) -> RunResult:
        """``run`` as a coroutine, inside a running asyncio or trio event loop.

        Takes the same arguments as ``run`` except ``anyio_backend``: the
        running loop is used. Cancelling the caller cancels the run promptly
        and the loop's own cancellation propagates.
        """
        state = self._prepare("arun", inputs, options, AsyncRunKeywords)
        return _finish(await execute(state))

    def map(
        self, inputs: Sequence[Mapping[str, Any] | None], **options: Unpack[RunKeywords]
    ) -> list[RunResult]:
        """Run the flow once per input set (a sweep); return their ``RunResult``s in order.

        Takes the options of ``run``, for every run of the sweep. Under
        ``serial`` the input sets run one after another; under the other
        backends all at once, on one event loop (``thread``: sharing
        ``max_workers`` worker threads among them; ``dask``: one client).

        Identical pure calls across the sweep run once: when ``cache`` is not
        given (and the settings name no cache), the sweep caches in a store
        of its own, in memory, for its duration; a store (or ``True``, or a
        path) given is shared by every run; ``cache=False`` turns it off.
        Only calls whose arguments can be fingerprinted are shared.

        With ``on_error="raise"``, the first run to fail (in time) cancels the
        runs still going and its ``VertexFailed`` is raised, with ``.index``
        the position of its input set. With ``"continue"``, every run
        finishes and each result carries its own errors. ``progress=True``
        shows the sweep's progress (runs done) on stderr. A ``run_id`` names
        the runs ``"<run_id>-<index>"``.

        Examples:
            >>> import flowdsl
            >>> from flowdsl import vertex
            >>> @vertex
            ... def square(x: int) -> int:
            ...     return x * x
            >>> results = flowdsl.Flow.from_functions(square).map([{"x": 2}, {"x": 3}])
            >>> [r["square"] for r in results]
            [4, 9]

        Raises:
            VertexFailed: a run failed (``on_error="raise"``); ``.index`` says which.
            MissingInputError, UnknownInputError: an input set does not fit
                the flow (raised before anything runs).
            SettingsError: an option has a bad value.
        """
        from ._progress import SweepProgress
        from ._runtime.concurrent import DEFAULT_MAX_WORKERS
        from ._runtime.sweep import run_all
        from ._services.cache import MemoryCache

        call = check_keywords("map", options, RunKeywords)
        settings = resolve(call)
        if call["cache"] is None and not settings.cache and settings.backend != "dask":
            # On Dask, a pure call's task key is its cache key: runs share it already.
            call["cache"] = MemoryCache()
            settings = resolve(call)
        if settings.progress:
            call["listeners"] = (*call["listeners"], SweepProgress(len(inputs)))
            settings = attrs.evolve(settings, progress=False)
        run_id = call["run_id"]
        sweep = [
            {**call, "inputs": given, "run_id": None if run_id is None else f"{run_id}-{i}"}
            for i, given in enumerate(inputs)
        ]
        if settings.backend == "serial":
            # One after another: each run is prepared as its turn comes.
            return [
                _indexed(i, functools.partial(self._run_blocking, run, settings))
                for i, run in enumerate(sweep)
            ]
        states: list[RunState] = []
        try:
            for run in sweep:
                states.append(self._state(run, settings))
        except BaseException:
            for state in states:
                if state.checkpoint is not None:
                    state.checkpoint.close()
            raise
        if settings.backend == "thread":
            shared = SharedWorkers(settings.max_workers or DEFAULT_MAX_WORKERS)
            for state in states:
                state.shared_workers = shared
        stop = settings.on_error == "raise"
        first = run_on_a_loop(functools.partial(run_all, states, stop), settings.anyio_backend)
        if first is not None:
            _indexed(first, lambda: _finish(states[first]))
        return [_indexed(i, functools.partial(_finish, state)) for i, state in enumerate(states)]

    def _run_blocking(self, call: Mapping[str, Any], settings: Settings) -> RunResult:
        return _finish(run_blocking(self._state(call, settings)))

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

    def _prepare(
        self,
        method: str,
        inputs: Mapping[str, Any] | None,
        keywords: Mapping[str, Any],
        accepted: type,
    ) -> RunState:
        """Check the inputs and keywords of a ``run``/``start``/``arun`` call (nothing runs
        yet). Options resolve through ``flowdsl.settings``' order: this call, then
        ``configure(...)``, the environment, defaults.
        """
        call = {**check_keywords(method, keywords, accepted), "inputs": inputs}
        return self._state(call, resolve(call))

    def _state(self, call: Mapping[str, Any], options: Settings) -> RunState:
        # The run of one call whose keywords are all in ``call``, its options resolved.
        arguments = run_arguments(call, self._graph)
        listeners = list(arguments.listeners)
        if options.progress:
            from ._progress import progress_listener

            listeners.append(progress_listener(on_error=options.on_error))
        overrides = arguments.overrides
        outputs, flow = arguments.outputs, arguments.flow
        if not arguments.resume:
            # Inputs and overrides are checked before a stored run is replaced.
            state = RunState(
                self._plan(outputs, flow, frozenset(overrides)),
                arguments.inputs or {},
                options,
                overrides,
                listeners,
                run_id=arguments.run_id,
                dask_client=arguments.dask_client,
            )
            if options.checkpoint is not None:
                from ._runtime.checkpointing import start_checkpoint

                state.checkpoint = start_checkpoint(
                    self._graph,
                    options.checkpoint,
                    state.run_id,
                    state.inputs,
                    serializer=arguments.serializer,
                    secret=arguments.secret,
                )
            return state
        if options.checkpoint is None:
            raise SettingsError(
                "resume=True needs checkpoint= (the file the run was recorded in)",
                source="argument resume",
            )
        from ._runtime.checkpointing import resume_checkpoint

        run_id = arguments.run_id or new_run_id()
        prepared = resume_checkpoint(
            self._graph,
            options.checkpoint,
            run_id,
            inputs=arguments.inputs,
            overridden=overrides.keys(),
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
                restored=prepared.restored.keys(),
                dask_client=arguments.dask_client,
            )
        except BaseException:
            prepared.checkpoint.close()
            raise

    def __reduce__(self) -> tuple[Any, ...]:
        # A flow travels (to a Dask worker, whose vertex runs it) as its graph;
        # its plans are rebuilt there.
        return (Flow, (self._graph,))

    def __repr__(self) -> str:
        return f"<Flow: {len(self._graph.vertices)} vertices, {len(self._graph.inputs)} inputs>"


def _failure(
    state: RunState, position: int, error: BaseException, result: RunResult
) -> VertexFailed:
    """The ``VertexFailed`` reporting ``error`` of step ``position`` (attempts, element...)."""
    node = state.plan.nodes[position]
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


def _indexed(index: int, finish: Callable[[], RunResult]) -> RunResult:
    # A sweep's run: its failure says which input set it ran.
    try:
        return finish()
    except VertexFailed as failure:
        failure.index = index
        raise


def _finish(state: RunState) -> RunResult:
    """The result of a run; raises when it stopped at a failure or lacks a requested field."""
    result = RunResult(state)
    # A group that could not be undone is raised under every on_error: it
    # left something behind that the caller must know about.
    undo = next(
        (item for item in state.errors.items() if isinstance(item[1], RollbackFailed)), None
    )
    if state.failed_fast or undo is not None:
        position, error = undo or next(iter(state.errors.items()))
        node = state.plan.nodes[position]
        if isinstance(error, VertexFailed) and error.result is None and error.vertex == node.name:
            # The runtime's own report of this vertex (its timeout, its loop's
            # limit, its group's rollback); a VertexFailed from a run inside
            # the vertex's body is that vertex's failure, wrapped below.
            error.result = result
            error.attempts = state.attempts.get(position, error.attempts)
            elements = state.element_errors.get(position)
            if elements:
                error.element = next(iter(elements))
            raise error
        if isinstance(error, FlowDSLError) and not isinstance(error, VertexFailed):
            raise error
        raise _failure(state, position, error, result) from error
    if state.timed_out:
        running = ", ".join(sorted(state.plan.nodes[p].name for p in state.running)) or "none"
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
