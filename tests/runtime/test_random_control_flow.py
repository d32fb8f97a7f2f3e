"""Property tests: random graphs with control flow, in every mode, against an independent reference.

The graphs (``graphs(control=True)``) mix conditions on bool vertices and
flag fields, parameters whose defaults stand in for skipped producers,
mapped vertices (over empty lists too, zipped and over products), flaky
vertices that fail their first calls, retry policies (their own or the
run's), fallbacks and warn checks, on top of plain graphs' sync and async
vertices and field bindings. Each run is compared with ``reference_run``,
which never touches flowdsl: values, states, skip reasons, exact call
counts of vertices and fallbacks, the metrics (attempts, elements, the
fallback that stood in) and each warn check's outcomes.

Each run's checks gather every mismatch and assert once, so that a bug is
one failure for Hypothesis to shrink, reported with all its symptoms and
the generated module's source. Runs are driven synchronously with
``flow.run`` (Hypothesis and anyio's pytest runner do not mix: see
``tests/test_random_graphs.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from flowdsl import RunResult, VertexFailed
from tests.quick import examples
from tests.runtime._modes import MODES
from tests.strategies import (
    BuiltGraph,
    GraphDescription,
    ReferenceRun,
    build_graph,
    effective_retries,
    graphs,
    inputs_for,
    reference_order,
    reference_run,
    to_plain,
)

# No shrinking: a failing example is reported at once, with its generated
# source. Shrinking these graphs spends Hypothesis's whole five-minute budget
# (beyond pytest's timeout) and still leaves most of a graph's vertices, since
# removing one renumbers the vertices after it.
SETTINGS = settings(
    max_examples=examples(15),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: A warn check that does not hold warns (ContractWarning), which the suite
#: otherwise turns into an error; these tests read its outcome in result.checks.
WARN_CHECKS_WARN = pytest.mark.filterwarnings("ignore::flowdsl.ContractWarning")


class Drawn:
    """One drawn case: a graph, its inputs, permanent failures and the run's retry policy."""

    def __init__(self, data: st.DataObject) -> None:
        self.description: GraphDescription = data.draw(graphs(control=True, max_vertices=20))
        self.inputs: dict[str, int] = data.draw(inputs_for(self.description))
        names = self.description.names
        mapped = [v.name for v in self.description.vertices if v.mapped is not None]
        # Mapped vertices fail per element: drawn more often.
        self.failing: frozenset[str] = data.draw(
            st.frozensets(st.sampled_from(names), max_size=3)
        ) | (
            data.draw(st.frozensets(st.sampled_from(mapped), max_size=2)) if mapped else frozenset()
        )
        self.run_retries: int | None = data.draw(st.none() | st.integers(0, 3))
        self.built: BuiltGraph = build_graph(self.description, failing=self.failing)
        self.reference: ReferenceRun = reference_run(
            self.description, self.inputs, self.failing, self.run_retries
        )
        note(f"failing={sorted(self.failing)} retry={self.run_retries}\n{self.built.source}")

    def run(self, mode: tuple[str, str], fresh: bool = False, **options: Any) -> RunResult:
        """A run under ``mode``, call records and flaky counts reset first.

        With ``fresh``, on a newly built module: a run stopped by a failure
        leaves calls already on worker threads to finish in the background,
        where they must not count towards the next run.
        """
        backend, loop = mode
        if fresh:
            self.built = build_graph(self.description, failing=self.failing)
        self.built.reset()
        return self.built.flow.run(
            self.inputs,
            backend=backend,
            anyio_backend=loop,
            max_workers=4,
            retry=self.run_retries,
            **options,
        )

    def listed_keys(self, completed: set[str]) -> set[str]:
        """The keys a result lists when ``completed`` are the completed vertices."""
        return {k for k in self.description.listed_keys() if k.partition(".")[0] in completed}

    def chain_calls(self, name: str) -> int:
        """Calls one call chain of ``name`` makes: k + 1 for k <= r failures, else r + 1."""
        v = self.description.by_name[name]
        retries = effective_retries(v, self.run_retries)
        failures = retries + 1 if name in self.failing else v.flaky
        return failures + 1 if failures <= retries else retries + 1


class Problems(list[str]):
    """The mismatches found in one run."""

    def report(self, mode: tuple[str, str]) -> str:
        """One line per mismatch, under the mode of the run."""
        return "\n".join([f"backend={mode[0]} anyio_backend={mode[1]}:", *self])

    def expect(self, what: str, actual: Any, expected: Any) -> None:
        """Note a mismatch unless ``actual == expected``."""
        if actual != expected:
            self.append(f"{what}: got {actual!r}, expected {expected!r}")

    def expect_mapping(
        self, what: str, actual: Mapping[str, Any], expected: Mapping[str, Any]
    ) -> None:
        """``expect`` for each key of either mapping."""
        for key in sorted(set(actual) | set(expected)):
            absent = "<absent>"
            self.expect(f"{what}[{key!r}]", actual.get(key, absent), expected.get(key, absent))


def _values(result: RunResult) -> dict[str, Any]:
    return {name: to_plain(result[name]) for name in result}


def _states(result: RunResult) -> dict[str, str]:
    return {name: str(state) for name, state in result.states.items()}


def _continue_problems(
    drawn: Drawn, result: RunResult, serial: dict[str, Any], in_process: bool = True
) -> Problems:
    """Every way an ``on_error="continue"`` run differs from the reference (and serial run).

    Calls are counted only for a run ``in_process`` (its vertices record them
    in this process; on Dask workers they record them elsewhere).
    """
    description, reference, built = drawn.description, drawn.reference, drawn.built
    completed = {n for n, s in reference.states.items() if s == "completed"}
    skipped = {n for n, s in reference.states.items() if s == "skipped"}
    ran = completed | reference.failed
    problems = Problems()

    problems.expect_mapping("state", _states(result), reference.states)
    values = _values(result)
    problems.expect("listed keys", sorted(values), sorted(drawn.listed_keys(completed)))
    for name, value in reference.outputs.items():  # "v.total" of a plain dict output too
        problems.expect(f"value of {name!r}", to_plain(result.get(name, "<absent>")), value)
    problems.expect_mapping("value (against serial)", values, serial)

    problems.expect("skipped", sorted(result.skip_reasons), sorted(skipped))
    for name, reason in result.skip_reasons.items():
        if reason not in reference.skip_reasons.get(name, ()):
            problems.append(f"skip reason of {name!r}: {reason!r}")
    problems.expect("failed", sorted(result.errors), sorted(reference.failed))
    for name, error in result.errors.items():
        if not isinstance(error, built.failure_type):
            problems.append(f"error of {name!r}: {error!r}")

    # Exact calls: each chain (one per element when mapped) k + 1 times for k <= r
    # failures, r + 1 times once the retries are spent; each fallback tried once
    # per chain that needs it, in order, until one stands in.
    calls = Counter(built.calls)
    if in_process:
        problems.expect_mapping("calls", calls, reference.calls)
        for name in ran:
            chains = reference.elements.get(name, 1)
            problems.expect(
                f"retried calls of {name!r}", calls[name], chains * drawn.chain_calls(name)
            )
        problems.expect_mapping(
            "fallback calls", Counter(built.fallback_calls), reference.fallback_calls
        )

    metrics = result.metrics.vertices
    problems.expect("vertices with metrics", sorted(metrics), sorted(ran))
    for name in ran & set(metrics):
        problems.expect(f"attempts of {name!r}", metrics[name].attempts, reference.attempts[name])
        problems.expect(
            f"fallback of {name!r}", metrics[name].fallback, reference.fallbacks.get(name)
        )
        problems.expect(
            f"elements of {name!r}", metrics[name].elements, reference.elements.get(name)
        )

    # Warn checks: one outcome per result of a completed vertex (its fallback's too).
    problems.expect(
        "vertices with checks",
        sorted(name for name in result.checks if name in completed),
        sorted(reference.checks),
    )
    for name, held in reference.checks.items():
        outcomes = result.checks.get(name, ())
        problems.expect(f"checks of {name!r}", sorted(o.passed for o in outcomes), held)
        for outcome in outcomes:
            problems.expect(
                f"check of {name!r}",
                (outcome.parameter, outcome.message, outcome.importance),
                ("return", "not a multiple of 3", "warn"),
            )

    problems.expect("completed", sorted(result.order), sorted(completed))
    done = {name: i for i, name in enumerate(result.order)}
    for name in done:
        for parent in description.by_name[name].parents:
            if parent in done and done[parent] > done[name]:
                problems.append(f"{name!r} completed before {parent!r}")
    if result.metrics.backend == "serial":
        order = tuple(n for n in reference_order(description) if n in done)
        problems.expect("serial order", result.order, order)
    _timeline_problems(drawn, result, ran, skipped, in_process, problems)
    return problems


def _timeline_problems(
    drawn: Drawn,
    result: RunResult,
    ran: set[str],
    skipped: set[str],
    in_process: bool,
    problems: Problems,
) -> None:
    """Where the run's timeline disagrees with the reference: a span per call (one for a
    step that made none), each after its producers' spans, within the run; the skips."""
    timeline, reference = result.timeline, drawn.reference
    calls: Counter[str] = Counter()
    fallback_spans = 0
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for span in timeline.spans:
        if span.fallback is None:
            calls[span.vertex] += 1
        else:
            fallback_spans += 1
        first.setdefault(span.vertex, span.start)
        last[span.vertex] = max(last.get(span.vertex, 0.0), span.end)
        if not 0 <= span.start <= span.end <= timeline.makespan + 1e-6:
            problems.append(f"span of {span.vertex!r} outside the run: {span}")
    problems.expect("vertices with spans", sorted(first), sorted(ran))
    if in_process:
        expected = {name: max(reference.attempts[name], 1) for name in ran}
        problems.expect_mapping("spans", dict(calls), expected)
        problems.expect("fallback spans", fallback_spans, len(drawn.built.fallback_calls))
    for name in first:
        for parent in drawn.description.by_name[name].parents:
            if parent in last and last[parent] > first[name] + 1e-6:
                problems.append(f"{name!r} starts before {parent!r} ends")
    problems.expect("timeline skips", sorted(timeline.skips), sorted(skipped))


@WARN_CHECKS_WARN
@SETTINGS
@given(data=st.data())
def test_every_mode_matches_the_reference_under_continue(data: st.DataObject) -> None:
    drawn = Drawn(data)
    serial = None
    for mode in MODES:
        result = drawn.run(mode, on_error="continue")
        if serial is None:
            serial = _values(result)
        problems = _continue_problems(drawn, result, serial)
        assert not problems, problems.report(mode)


def _raise_problems(drawn: Drawn, error: VertexFailed, serial: bool) -> Problems:
    """Every way a run stopped by ``VertexFailed`` differs from what the reference predicts."""
    description, reference, built = drawn.description, drawn.reference, drawn.built
    completed = {n for n, s in reference.states.items() if s == "completed"}
    problems = Problems()
    if error.vertex not in reference.failed:
        problems.append(f"{error.vertex!r} failed; the reference fails {sorted(reference.failed)}")
        return problems
    if not isinstance(error.__cause__, built.failure_type):
        problems.append(f"cause: {error.__cause__!r}")
    failed = description.by_name[error.vertex]
    if failed.mapped is None:
        # Its calls were all made before the failure was recorded.
        problems.expect("attempts", error.attempts, reference.attempts[error.vertex])
    # Whatever ran was part of what the reference runs (a chain may be cut short).
    calls, fallback_calls = Counter(built.calls), Counter(built.fallback_calls)
    if not calls <= reference.calls:
        problems.append(f"calls {dict(calls - reference.calls)} beyond the reference's")
    if not fallback_calls <= reference.fallback_calls:
        extra = dict(fallback_calls - reference.fallback_calls)
        problems.append(f"fallback calls {extra} beyond the reference's")
    partial = error.result
    if partial is None:
        problems.append("no partial result")
        return problems
    problems.expect("state of the failed vertex", str(partial.states[error.vertex]), "failed")
    if not set(partial.order) <= completed:
        problems.append(f"completed {sorted(partial.order)}, of {sorted(completed)}")
    for name in partial:
        problems.expect(f"value of {name!r}", to_plain(partial[name]), reference.outputs.get(name))
    if not serial:
        return problems

    # One step at a time: the first failing vertex in serial order, after exactly
    # what the reference ran before it; a mapped vertex stops at its first element.
    order = reference_order(description)
    first = next(n for n in order if n in reference.failed)
    problems.expect("failed vertex", error.vertex, first)
    before = order[: order.index(first)]
    problems.expect("order", partial.order, tuple(n for n in before if n in completed))
    chain = drawn.chain_calls(first)
    problems.expect("attempts", error.attempts, chain)
    if failed.mapped is not None:
        # Over a product, the first combination: (0, 0).
        problems.expect("failed element", error.element, (0, 0) if failed.product else 0)
    expected_calls = Counter({n: reference.calls[n] for n in before})
    expected_calls[first] = chain
    problems.expect_mapping("calls", calls, +expected_calls)
    fallbacks = {f.function_name for n in before for f in description.by_name[n].fallbacks}
    expected_fallback_calls = Counter(
        {f: n for f, n in reference.fallback_calls.items() if f in fallbacks}
    )
    expected_fallback_calls.update(f.function_name for f in failed.fallbacks)
    problems.expect_mapping("fallback calls", fallback_calls, expected_fallback_calls)
    problems.expect_mapping(
        "state",
        _states(partial),
        {
            n: reference.states[n] if n in before else "failed" if n == first else "pending"
            for n in order
        },
    )
    return problems


@WARN_CHECKS_WARN
@SETTINGS
@given(data=st.data())
def test_every_mode_stops_at_a_failure_the_reference_predicts_under_raise(
    data: st.DataObject,
) -> None:
    drawn = Drawn(data)
    reference = drawn.reference
    completed = {n for n, s in reference.states.items() if s == "completed"}
    for mode in MODES:
        problems = Problems()
        try:
            result = drawn.run(mode, fresh=True)
        except VertexFailed as error:
            if not reference.failed:
                problems.append(f"{error.vertex!r} failed; the reference fails none")
            else:
                problems = _raise_problems(drawn, error, serial=mode[0] == "serial")
        else:
            if reference.failed:
                problems.append(f"no VertexFailed; the reference fails {sorted(reference.failed)}")
            # Nothing fails for good: retries and fallbacks absorb every failure.
            problems.expect_mapping("state", _states(result), reference.states)
            problems.expect_mapping(
                "value",
                _values(result),
                {k: reference.outputs[k] for k in drawn.listed_keys(completed)},
            )
            problems.expect_mapping("calls", Counter(drawn.built.calls), reference.calls)
        assert not problems, problems.report(mode)
