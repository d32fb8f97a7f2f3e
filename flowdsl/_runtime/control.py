"""Vertices that are more than one call: retries, fallbacks, loops, mapped elements, limits.

Such a step runs through a ``StepRunner`` instead of the schedulers' fast
path. The runner gathers the arguments once, then nests, from the outside in:

- map: one call chain per element of the mapped sequence (concurrently
  under the concurrent backends), results collected in order;
- loop: re-run until ``until(output)`` holds, feeding ``Previous()``;
- fallbacks: when the retries are spent, each fallback in turn;
- retries: the policy's attempts, waiting on the event loop between them
  (no worker thread or concurrency slot is held while waiting);
- one call: this vertex's concurrency limit and rate spacing, the cache, the
  contract check of the result, and the call itself where its mode says,
  under its timeout.

A step whose producer was skipped by a condition (its parameter falling back
to its default) runs through a runner too, since its arguments are not all
in the run's slots.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import itertools
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._lazy import lazy_module
from .._mapping import ElementIndex
from .._typing import type_name
from ..errors import ContractViolation, IterationLimitError
from .call_plan import retry_policy
from .calls import CallPlacement, call_placed, named_call
from .checking import Invoker, StepChecks, step_checks
from .logs import log_extra, logger
from .plan import CallMode, Step, call_mode, gather
from .state import MISSING, RunState

if TYPE_CHECKING:
    import anyio

    from . import caching
    from .atomic import GroupRun
    from .caching import CachedCall, RunLookups
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")
    # Fingerprints and stores: imported by the first run that caches.
    caching = lazy_module("flowdsl._runtime.caching")

__all__ = ["StepRunners", "StepRunner"]

Arguments = tuple[list[Any], dict[str, Any]]


class StepRunners:
    """How one run calls each step: a fast invoker, or a runner built on first use."""

    def __init__(self, state: RunState, placement: CallPlacement) -> None:
        self.state = state
        # Without a cache, no step looks itself up: an empty dict answers as RunLookups would.
        self._lookups: RunLookups | dict[int, CachedCall]
        # The run's invokers: those of its call plan (built when first asked for),
        # or, with a cache, those that look the cache up first.
        self._invokers: tuple[Invoker | None, ...] | None
        if state.cache_store is None:
            self._invokers, self._lookups = None, {}
        else:
            self._invokers, self._lookups = caching.run_invokers(state)
        self.modes = state.call_plan.modes
        self.placement = placement
        self._runners: dict[int, StepRunner] = {}
        self._groups: dict[int, GroupRun] = {}

    @property
    def cached(self) -> bool:
        """Whether the run's invokers look the cache up (its ``Step.invoke`` does not)."""
        return self.state.cache_store is not None

    @property
    def invokers(self) -> tuple[Invoker | None, ...]:
        """Per step, the invoker a run calls (contract checks, then caching), or ``None``:
        ``Step.invoke`` will do."""
        if self._invokers is None:
            self._invokers = self.state.call_plan.invokers
        return self._invokers

    def invoker(self, position: int) -> Invoker | None:
        """``invokers[position]``, without building every step's invoker to answer it."""
        if self._invokers is None:
            return self.state.call_plan.checks.invoker(position)
        return self._invokers[position]

    def group_run(self, step: Step) -> GroupRun | None:
        """The run of ``step``'s atomic group (one per group and run), or None."""
        group = step.node.options.group
        if group is None:
            return None
        found = self._groups.get(id(group))
        if found is None:
            from .atomic import GroupRun  # a run without atomic groups never needs it

            members = tuple(
                s.position for s in self.state.plan.steps if s.node.options.group is group
            )
            found = self._groups[id(group)] = GroupRun(self.state, group, members, self.placement)
        return found

    async def abandon_open_groups(self) -> None:
        """Roll back the transaction of any group the run stopped in the middle of."""
        for group_run in self._groups.values():
            if group_run.open:
                await group_run.abandon()

    def runner(self, position: int) -> StepRunner:
        """The runner of ``position`` (built once per run: limits hold across its calls)."""
        runner = self._runners.get(position)
        if runner is None:
            runner = self._runners[position] = StepRunner(
                self.state,
                self.state.plan.steps[position],
                self.modes[position],
                self._lookups.get(position),
                self.placement,
                self.group_run(self.state.plan.steps[position]),
            )
        return runner


class _Fallback:
    """One fallback function: where it runs and which of the vertex's arguments it takes."""

    def __init__(self, function: Callable[..., Any], name: str, step: Step, backend: str) -> None:
        self.function = function
        self.name = name
        self.is_async = inspect.iscoroutinefunction(function)
        self.mode = call_mode(self.is_async, step.node, backend)


class StepRunner:
    """Runs one step of one run through its control flow (see the module docstring)."""

    def __init__(
        self,
        state: RunState,
        step: Step,
        mode: CallMode,
        cached: CachedCall | None,
        placement: CallPlacement,
        group_run: GroupRun | None = None,
    ) -> None:
        own = step.node.options
        options = state.options
        self.state = state
        self.step = step
        self.mode = mode
        self.position = step.position
        self.names = [b.parameter for b in step.sources]
        self.positional_count = len(step.args)
        self.checks: StepChecks | None = step_checks(step, options.contracts)
        # Caching is off inside an atomic group: a call there acts on its transaction.
        self.cached = cached if group_run is None else None
        self.group_run = group_run
        self.policy = retry_policy(step.node, options.retry)
        self.fallbacks = [
            _Fallback(f, name, step, options.backend)
            for f, name in zip(own.fallbacks, own.fallback_names, strict=True)
        ]
        self.concurrent = options.backend != "serial"
        self.placement = placement
        self.limiter = anyio.CapacityLimiter(own.max_concurrency) if own.max_concurrency else None
        self.interval = 1.0 / own.rate_limit if own.rate_limit else 0.0
        self.next_start = 0.0
        self.turns = anyio.Lock()
        # The layers of the chain this step has (see the module docstring); those
        # it lacks are left out, each a frame fewer in the vertex's tracebacks.
        # Without a cache or fallbacks, ``_retried`` checks the arguments itself.
        self.plain = self.cached is None and not self.fallbacks
        one = self._retried if self.plain else self._resilient
        local = one if own.until is None else self._looped
        # A call ``_retried`` makes right where it is: inline, without a deadline,
        # a limit or a rate to wait for first.
        self.direct = (
            mode is CallMode.INLINE
            and own.timeout is None
            and self.limiter is None
            and not self.interval
        )
        # Where a mapped step's elements run: here, or (on a Dask worker) each
        # as a Dask task of its own, all at once.
        runner = state.element_runner
        self.element = local if runner is None else functools.partial(runner, self)
        self.spread = runner is not None or (self.concurrent and mode is not CallMode.INLINE)
        self.body: Callable[[list[Any], dict[str, Any]], Awaitable[Any]] = (
            local if step.map_indices is None else self._map
        )

    # The outside: arguments, then map or not.

    def arguments(self, values: list[Any], defaults: bool) -> Arguments:
        """The call's arguments from the slots; with ``defaults``, a skipped producer's
        parameters take their defaults."""
        if not defaults:
            args, kwargs = gather(self.step, values)
            return list(args), kwargs
        step = self.step
        slots = [(slot, reader) for slot, reader in step.args] + [
            (slot, reader) for _, slot, reader in step.kwargs
        ]
        gathered = []
        for (slot, reader), binding in zip(slots, step.sources, strict=True):
            value = values[slot]
            if value is MISSING and binding.reads_vertex and binding.has_default:
                gathered.append(binding.default)
            else:
                gathered.append(value if reader is None else reader(value))
        count = self.positional_count
        return gathered[:count], dict(zip(self.names[count:], gathered[count:], strict=True))

    async def run(self, values: list[Any], defaults: bool = False) -> Any:
        """The step's output: the result of its call, or the list of its mapped calls'."""
        args, kwargs = self.arguments(values, defaults)
        group_run = self.group_run
        if group_run is None:
            return await self.body(args, kwargs)
        transaction = await group_run.begin(self.position)
        if self.step.transaction_index is not None:
            args, kwargs = self._put(args, kwargs, self.step.transaction_index, transaction)
        try:
            output = await self.body(args, kwargs)
        except Exception as error:
            failure = await group_run.fail(self.position, error)
            if failure is error:
                raise
            raise failure from error
        except BaseException:  # cancelled in the middle of the group
            await group_run.abandon(self.position)
            raise
        named = dict(zip(self.names, [*args, *kwargs.values()], strict=True))
        await group_run.completed(self.step, named, output)
        return output

    async def _map(self, args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
        map_over = self.step.node.options.map_over
        indices = self.step.map_indices
        assert map_over is not None
        assert indices is not None
        sequences = [
            self._elements(self._get(args, kwargs, index), parameter)
            for index, parameter in zip(indices, map_over.parameters, strict=True)
        ]
        # Each call's place: its index, or its indices in a product (the
        # first sequence outermost), and the elements it takes.
        keys: Sequence[ElementIndex]
        if map_over.product:
            keys = list(itertools.product(*(range(len(s)) for s in sequences)))
            picks: Sequence[Sequence[int]] = keys  # type: ignore[assignment]
        else:
            self._check_lengths(sequences)
            keys = range(len(sequences[0]))
            picks = [(i,) * len(sequences) for i in keys]
        count = len(keys)
        # Attempts count the elements' calls: none for an empty sequence.
        self.state.mapped(self.position, count)
        results: list[Any] = [None] * count
        failures: dict[int, BaseException] = {}
        keep_going = self.state.options.on_error == "continue"

        def placed(i: int) -> Arguments:
            placed_args, placed_kwargs = args, kwargs
            for index, sequence, pick in zip(indices, sequences, picks[i], strict=True):
                placed_args, placed_kwargs = self._put(
                    placed_args, placed_kwargs, index, sequence[pick]
                )
            return placed_args, placed_kwargs

        async def one(i: int, scope: anyio.CancelScope | None) -> None:
            try:
                results[i] = await self.element(*placed(i))
            except Exception as exc:  # recorded per element
                failures[i] = exc
                if scope is not None and not keep_going:
                    scope.cancel()

        if self.spread and count > 1:
            async with anyio.create_task_group() as group:
                for i in range(count):
                    group.start_soon(one, i, group.cancel_scope)
        else:
            for i in range(count):
                await one(i, None)
                if failures and not keep_going:
                    break
        if failures:
            self.state.elements_failed(
                self.position, {keys[i]: failures[i] for i in sorted(failures)}
            )
            raise failures[min(failures)]
        if map_over.product:
            return _nested(results, [len(s) for s in sequences])
        return results

    def _check_lengths(self, sequences: list[Sequence[Any]]) -> None:
        # Zipped sequences of unequal lengths: an error before any call.
        lengths = [len(s) for s in sequences]
        if len(set(lengths)) <= 1:
            return
        node = self.step.node
        assert node.options.map_over is not None
        got = ", ".join(
            f"{name} has {n} element{'' if n == 1 else 's'}"
            for name, n in zip(node.options.map_over.parameters, lengths, strict=True)
        )
        raise ContractViolation(
            f"map_over={node.options.map_over!r} zips sequences of equal length; {got}",
            vertex=node.name,
            parameter=node.options.map_over.parameters[lengths.index(min(lengths))],
            location=node.location,
            path=", ".join(node.options.map_over.parameters),
            expected="sequences of equal length",
            actual=got,
        )

    def _elements(self, sequence: Any, parameter: str) -> Sequence[Any]:
        # Elements are used as they are; only a non-sequence iterable is listed.
        if isinstance(sequence, collections.abc.Sequence) and not isinstance(
            sequence, (str, bytes, bytearray)
        ):
            return sequence
        if isinstance(sequence, collections.abc.Iterable) and not isinstance(
            sequence,
            (str, bytes, bytearray, collections.abc.Mapping, collections.abc.Set),
        ):
            return list(sequence)
        node = self.step.node
        actual = f"{type_name(type(sequence))} {sequence!r:.60}"
        raise ContractViolation(
            f"map_over={node.options.map_over!r} needs a list, tuple or other ordered sequence "
            f"for {parameter!r}; got {actual}",
            vertex=node.name,
            parameter=parameter,
            location=node.location,
            path=parameter,
            expected="an ordered sequence",
            actual=actual,
        )

    # One element: a loop, or a single resilient call.

    async def _looped(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        node = self.step.node
        assert node.options.until is not None
        assert node.options.max_iterations is not None
        one = self._retried if self.plain else self._resilient
        previous_index = self.step.previous_index
        previous: Any = None
        for _ in range(node.options.max_iterations):
            if previous_index is not None:
                args, kwargs = self._put(args, kwargs, previous_index, previous)
            output = await one(args, kwargs)
            self.state.count_iterations(self.position)
            if node.options.until(output):
                return output
            previous = output
        raise IterationLimitError(
            f"until= did not hold after max_iterations={node.options.max_iterations} iterations "
            f"(last output: {previous!r:.60})",
            vertex=node.name,
            location=node.location,
            max_iterations=node.options.max_iterations,
            attempts=self.state.attempts.get(self.position, 0),
        )

    async def _resilient(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        # The retried calls behind the cache, with fallbacks when they fail.
        checks = self.checks
        if checks is not None:
            # Arguments are the same for every attempt and fallback: checked once.
            checks.arguments(args, kwargs)
        try:
            key = None if self.cached is None else self.cached.key_of(args, kwargs)
            if key is None:
                return await self._retried(args, kwargs)
            assert self.cached is not None
            return await caching.through_cache(
                self.cached, key, functools.partial(self._retried, args, kwargs)
            )
        except Exception as error:
            if not self.fallbacks:
                raise
            return await self._fall_back(args, kwargs, error)

    async def _retried(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        # The policy's attempts, each entered in the run's attempt log; a direct
        # call is made right here (no frame between this one and the vertex).
        state, position, step = self.state, self.position, self.step
        checks, policy, function = self.checks, self.policy, step.function
        if self.plain and checks is not None:
            checks.arguments(args, kwargs)  # the same for every attempt: checked once
        retry = 0
        while True:
            attempt = state.count_attempts(position)
            if state.emitter is not None:
                state.emitter.vertex_started(step.name, attempt)
            try:
                with _Logged(state.log_attempt(position, None)) as entry:
                    if self.direct:
                        entry[2], entry[4] = time.perf_counter(), threading.get_ident()
                        try:
                            output = function(*args, **kwargs)
                        finally:
                            entry[3] = time.perf_counter()
                        if checks is not None:
                            checks.result(output)
                    else:
                        call = functools.partial(function, *args, **kwargs)
                        output = await self._checked_call(self.mode, entry, call)
                return output
            except Exception as error:
                if policy is None or retry >= policy.max_retries or not policy.retries(error):
                    raise
                retry += 1
                entry[7] = True  # a retry follows
                wait = policy.delay_before(retry)
                logger.info(
                    "vertex %r failed (attempt %d: %s: %s); retrying in %.3gs",
                    step.name,
                    attempt,
                    type(error).__name__,
                    error,
                    wait,
                    extra=log_extra(step.name),
                )
                if state.emitter is not None:
                    state.emitter.retrying(step.name, attempt, error, wait)
                if wait > 0:
                    await anyio.sleep(wait)

    async def _fall_back(
        self, args: list[Any], kwargs: dict[str, Any], error: BaseException
    ) -> Any:
        named = dict(zip(self.names, [*args, *kwargs.values()], strict=True))
        failed: list[tuple[str, BaseException]] = []
        for fallback in self.fallbacks:
            try:
                call = named_call(fallback.function, named)
                with _Logged(self.state.log_attempt(self.position, fallback.name)) as entry:
                    output = await self._checked_call(fallback.mode, entry, call)
            except Exception as exc:  # the next fallback may do better
                failed.append((fallback.name, exc))
                continue
            self.state.fell_back(self.position, fallback.name, failed)
            return output
        self.state.fell_back(self.position, None, failed)
        raise error

    async def _checked_call(self, mode: CallMode, entry: list[Any], call: Callable[[], Any]) -> Any:
        # One call where ``mode`` says, noting in ``entry`` where and when it really
        # ran, and the check of its result.
        output = await self._limited(mode, _traced(entry, call, mode is CallMode.AWAIT))
        if self.checks is not None:
            self.checks.result(output)
        return output

    async def _limited(self, mode: CallMode, call: Callable[[], Any]) -> Any:
        if self.limiter is None:
            await self.wait_turn()
            return await call_placed(self.step, mode, call, self.placement, self.group_run)
        async with self.limiter:
            # Spaced once it holds its slot, so that calls start the interval
            # apart however the slots free up.
            await self.wait_turn()
            return await call_placed(self.step, mode, call, self.placement, self.group_run)

    async def wait_turn(self) -> None:
        """Wait until the vertex's ``rate_limit`` lets its next call start."""
        # Calls take turns (the lock queues them in order); each starts
        # ``interval`` after the previous one really started.
        if not self.interval:
            return
        async with self.turns:
            # A loop's timer may wake a little early (trio's does): sleep
            # until the clock really says so.
            while (wait := self.next_start - time.monotonic()) > 0:
                await anyio.sleep(wait)
            self.next_start = time.monotonic() + self.interval

    # Arguments by index: positional first, then keyword-only.

    def _get(self, args: list[Any], kwargs: dict[str, Any], index: int) -> Any:
        if index < self.positional_count:
            return args[index]
        return kwargs[self.names[index]]

    def _put(self, args: list[Any], kwargs: dict[str, Any], index: int, value: Any) -> Arguments:
        if index < self.positional_count:
            args = list(args)
            args[index] = value
            return args, kwargs
        return args, {**kwargs, self.names[index]: value}


class _Logged:
    """A ``with`` block around one call entered in the run's attempt log: it notes the
    call's failure, and its end when the call could not (abandoned at its deadline, or
    never started). Not a frame while the call runs, as a wrapping function would be."""

    __slots__ = ("entry",)

    def __init__(self, entry: list[Any]) -> None:
        self.entry = entry

    def __enter__(self) -> list[Any]:
        return self.entry

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        entry = self.entry
        if isinstance(error, Exception):
            entry[5] = error
        if entry[3] is None:
            entry[3] = time.perf_counter()


def _nested(flat: list[Any], shape: list[int]) -> list[Any]:
    """``flat`` (row-major) as nested lists of ``shape``: the outer index over the first."""
    if len(shape) == 1:
        return flat
    size = math.prod(shape[1:])
    return [_nested(flat[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]


def _traced(entry: list[Any], call: Callable[[], Any], is_async: bool) -> Callable[[], Any]:
    # ``call`` noting in ``entry`` when it starts and ends, and on which thread.
    if is_async:

        async def traced_coroutine() -> Any:
            entry[2], entry[4] = time.perf_counter(), threading.get_ident()
            try:
                return await call()
            finally:
                entry[3] = time.perf_counter()

        return traced_coroutine

    def traced() -> Any:
        entry[2], entry[4] = time.perf_counter(), threading.get_ident()
        try:
            return call()
        finally:
            entry[3] = time.perf_counter()

    return traced
