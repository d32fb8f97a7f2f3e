"""Run plans: built once per selection, with sensible slots, arguments and release points."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import attrs
import pytest

import flowdsl._flow
from flowdsl import DataResolutionError, Flow, From, RetryPolicy, vertex
from flowdsl._options import Settings
from flowdsl._runtime import plan as plan_module
from flowdsl._runtime.call_plan import call_plan
from flowdsl._runtime.plan import CallMode, Plan, build_plan


class Point(TypedDict):
    x: int
    y: int


@vertex
def a(seed: int) -> Point:
    return {"x": seed, "y": seed + 1}


@vertex
def b(a: Point) -> int:
    return a["x"] * 2


@vertex
def c(y: Annotated[int, From("a.y")], scale: int = 10) -> int:
    return y * scale


@vertex
async def d(b: int, *, c: int, seed: int) -> int:
    return b + c + seed


@vertex(flows=("side",))
def e(c: int) -> int:
    return -c


def make_flow() -> Flow:
    return Flow.from_functions(a, b, c, d, e)


def test_the_same_selection_reuses_one_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[tuple[Any, Any]] = []

    def counting(
        graph: Any, outputs: Any = None, flow: Any = None, overridden: Any = frozenset()
    ) -> Plan:
        built.append((outputs, flow))
        return build_plan(graph, outputs, flow, overridden)

    monkeypatch.setattr(flowdsl._flow, "build_plan", counting)
    flow = make_flow()

    for _ in range(3):
        flow.run({"seed": 1})
    assert built == [(None, None)]

    flow.run({"seed": 1}, outputs=["b"])
    flow.run({"seed": 2}, outputs="b")
    flow.run({"seed": 3}, outputs=("b",))
    assert built == [(None, None), (("b",), None)]

    flow.run({"seed": 1}, flow="side")
    flow.run({"seed": 1}, flow="side")
    assert built[2:] == [(None, "side")]


def test_cached_plans_are_the_same_object() -> None:
    flow = make_flow()
    first = flow._plan(("b", "c"), None)
    assert flow._plan(("b", "c"), None) is first
    assert flow._plan(("c", "b"), None) is not first
    assert flow._plan(None, None) is flow._plan(None, None)


def test_a_call_plan_is_built_once_per_plan_and_configuration() -> None:
    plan = build_plan(make_flow().graph)
    serial = call_plan(plan, Settings())
    assert call_plan(plan, Settings()) is serial
    # Options the call plan does not depend on do not build another one.
    assert call_plan(plan, Settings(on_error="continue", max_workers=3)) is serial
    retrying = call_plan(plan, Settings(retry=RetryPolicy(max_retries=1)))
    assert retrying is not serial
    assert all(retrying.via_runner)
    assert not any(serial.via_runner)
    assert call_plan(plan, Settings(contracts="off")).invokers == (None,) * len(plan.steps)
    thread = call_plan(plan, Settings(backend="thread"))
    assert thread.tables is not None
    assert serial.tables is None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        serial.needs_event_loop = False  # type: ignore[misc]


def test_a_full_plan_has_every_step_and_keeps_every_value() -> None:
    plan = build_plan(make_flow().graph)

    assert [s.name for s in plan.steps] == ["a", "b", "c", "d", "e"]
    assert [s.position for s in plan.steps] == [0, 1, 2, 3, 4]
    assert plan.outputs is None
    assert _needs_event_loop(plan, "serial")  # it has a coroutine vertex
    assert plan.reader_counts is None
    assert all(step.release == () for step in plan.steps)
    # Slots: one per vertex, one holding None (a loop's first Previous()), then
    # one per input binding (each consumer its own default).
    assert plan.slot_count == len(plan.steps) + 1 + len(plan.fills)
    assert plan.none_slot == len(plan.steps)
    assert [(f.name, f.required) for f in plan.fills] == [
        ("seed", True),
        ("scale", False),
        ("seed", True),
    ]
    assert [f.slot for f in plan.fills] == [6, 7, 8]
    assert plan.fills[1].default == 10
    assert plan.input_names == frozenset({"seed", "scale"})
    assert plan.required_inputs == ("seed",)

    steps = {s.name: s for s in plan.steps}
    assert steps["a"].args == ((6, None),)
    assert steps["b"].args == ((0, None),)
    (slot, reader), scale = steps["c"].args
    assert slot == 0
    assert reader is not None
    assert reader({"x": 1, "y": 2}) == 2
    assert scale == (7, None)
    assert steps["d"].args == ((1, None),)
    assert steps["d"].kwargs == (("c", 2, None), ("seed", 8, None))
    assert steps["d"].is_async
    assert steps["a"].upstream == ()
    assert steps["a"].downstream == (1, 2)
    assert steps["c"].upstream == (0,)
    assert steps["c"].downstream == (3, 4)
    assert steps["d"].upstream == (1, 2)
    assert steps["e"].function is e


def test_a_pruned_plan_releases_values_after_their_last_reader() -> None:
    plan = build_plan(make_flow().graph, outputs=["d"])

    assert [s.name for s in plan.steps] == ["a", "b", "c", "d"]
    steps = {s.name: s for s in plan.steps}
    # e is not planned, so c's only reader is d.
    assert steps["c"].downstream == (3,)
    assert steps["a"].release == ()
    assert sorted(steps["c"].release) == [0]  # a is last read by c
    assert sorted(steps["d"].release) == [1, 2]
    assert plan.outputs == ("d",)
    assert plan.reader_counts == (2, 1, 1, -1)


def test_a_requested_intermediate_is_never_released() -> None:
    plan = build_plan(make_flow().graph, outputs=["d", "a.x"])
    released = {slot for step in plan.steps for slot in step.release}
    assert 0 not in released
    assert released == {1, 2}


def test_a_plan_for_a_field_output_keeps_only_what_it_needs() -> None:
    plan = build_plan(make_flow().graph, outputs=["a.y"])
    assert [s.name for s in plan.steps] == ["a"]
    assert [f.name for f in plan.fills] == ["seed"]
    assert not _needs_event_loop(plan, "serial")
    # Under the thread backend its one sync step runs on a worker, which the
    # caller's thread waits for: no loop either.
    assert not _needs_event_loop(plan, "thread")
    assert call_plan(plan, Settings(backend="thread")).workers_alone
    assert plan.slot_count == 3


def test_a_plan_for_a_flow_tag() -> None:
    plan = build_plan(make_flow().graph, flow="side")
    assert [s.name for s in plan.steps] == ["a", "c", "e"]
    assert plan.required_inputs == ("seed",)
    assert plan.outputs is None


def test_unknown_names_fail_when_planning() -> None:
    graph = make_flow().graph
    with pytest.raises(DataResolutionError, match="did you mean 'd'"):
        build_plan(graph, outputs=["dd"])
    with pytest.raises(DataResolutionError, match="no flow named 'sid'; did you mean 'side'"):
        build_plan(graph, flow="sid")


def test_parse_output_name() -> None:
    graph = make_flow().graph
    assert plan_module.parse_output_name(graph, "a") == ("a", None)
    assert plan_module.parse_output_name(graph, "a.y") == ("a", "y")


def _needs_event_loop(plan: Plan, backend: str) -> bool:
    return call_plan(plan, Settings(backend=backend)).needs_event_loop


def test_a_serial_run_leaves_who_waits_for_whom_unbuilt_until_read() -> None:
    # The links between steps serve the concurrent and Dask schedulers and
    # failures; a serial run that nothing fails in does without them, and a
    # plan is built faster for it.
    flow = make_flow()
    flow.run({"seed": 1})
    plan = flow._plan(None, None, frozenset())
    links = ("upstream", "downstream", "after", "needs")
    assert all(name not in step.__dict__ for step in plan.steps for name in links)
    # Read once, they are there for every step.
    assert plan.steps[0].downstream == (1, 2)
    assert all(name in step.__dict__ for step in plan.steps for name in links)
    assert [step.after for step in plan.steps] == [(), (0,), (0,), (1, 2), (2,)]


def test_a_first_serial_run_builds_only_the_steps_off_the_common_case() -> None:
    # Steps that take whole values by position (of vertices or flow inputs) run
    # from the plan's columns; a serial run that nothing fails in never builds them.
    @vertex
    def first(seed: int) -> int:
        return seed + 1

    @vertex
    def second(first: int) -> int:
        return first * 2

    @vertex
    def third(first: int, second: int, seed: int) -> int:
        return first + second + seed

    @vertex
    def fourth(*, third: int) -> int:
        return third

    flow = Flow.from_functions(first, second, third, fourth)
    assert flow.run({"seed": 1})["fourth"] == 7
    plan = flow._plan(None, None, frozenset())
    assert list(plan.built) == [3]  # ``fourth`` takes a keyword argument
    assert not plan._steps
    # Built on first use, each step is the one the plan describes.
    steps = plan.steps
    assert plan.steps is steps
    assert plan.step(3) is plan.built[3] is steps[3]
    assert [step.position for step in steps] == [0, 1, 2, 3]
    # A unary step's column holds its argument's slot; its step gets a fetch of it.
    # Each flow input read gets a slot of its own, after the None slot (4).
    assert [fill.slot for fill in plan.fills] == [5, 6]
    assert plan.fetches[:2] == (5, 0)
    values = [10, 11, 12, 13, None, 15, 16]
    assert [step.fetch(values) for step in steps[:3]] == [15, 10, (10, 11, 16)]
    assert steps[2].fetch is plan.fetches[2]
    assert steps[3].fetch is plan.fetches[3] is None
    assert [step.args for step in steps] == [
        ((5, None),),
        ((0, None),),
        ((0, None), (1, None), (6, None)),
        (),
    ]
    assert [step.unary for step in steps] == [True, True, False, False]
    assert [step.sources for step in steps] == [n.bindings for n in plan.nodes]
    assert [step.after for step in steps] == [(), (0,), (0, 1), (2,)]
    assert steps[0].downstream == (1, 2)
    assert flow.run({"seed": 1}, backend="thread")["fourth"] == 7


def test_steps_built_on_first_use_release_what_the_plan_releases() -> None:
    plan = build_plan(make_flow().graph, outputs=["d"])
    assert plan.releases is not None
    assert [step.release for step in plan.steps] == list(plan.releases)


def test_two_threads_reading_a_plan_s_steps_get_one_set() -> None:
    import threading

    plan = build_plan(make_flow().graph)
    barrier = threading.Barrier(4)
    seen: list[tuple[Any, ...]] = []

    def read() -> None:
        barrier.wait()
        seen.append(plan.steps)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(steps) for steps in seen}) == 1
    assert all(step.downstream is not None for step in seen[0])


def test_a_step_travels_with_every_field_and_without_its_plan() -> None:
    import cloudpickle

    plan = build_plan(make_flow().graph)
    fields = ("position", "kwargs", "upstream", "downstream", "after", "needs")
    for step in plan.steps:
        copy = cloudpickle.loads(cloudpickle.dumps(step))
        assert copy._links is None
        assert [getattr(copy, f) for f in fields] == [getattr(step, f) for f in fields]
        # (A field reader is a new object on the other side.)
        assert [slot for slot, _ in copy.args] == [slot for slot, _ in step.args]
        assert copy.sources == step.sources
        assert copy.name == step.name
        assert {name: copy.producers[name] for name in copy.producers} == {
            b.source: step.producers[b.source] for b in step.sources if b.reads_vertex
        }
    changed = plan.steps[1].replace(position=0, upstream=())
    assert (changed.position, changed.upstream, changed.args) == (0, (), plan.steps[1].args)
    assert plan.steps[1].position == 1


def test_a_sent_step_does_not_carry_the_whole_graph() -> None:
    # Each Dask task carries its step: its size must not grow with the graph.
    import cloudpickle

    def chain_flow(length: int) -> Flow:
        functions = []
        for i in range(length):
            read = f"v{i - 1}" if i else "x"
            namespace: dict[str, Any] = {}
            exec(f"def v{i}({read}: int) -> int:\n    return {read} + 1", namespace)
            functions.append(vertex(namespace[f"v{i}"]))
        return Flow.from_functions(*functions)

    steps = [build_plan(chain_flow(length).graph).steps[5] for length in (10, 400)]
    sizes = [len(cloudpickle.dumps(step)) for step in steps]
    assert sizes[1] < 1.2 * sizes[0], sizes


def test_a_plan_has_each_step_s_exact_types_and_steps_alike_share_them() -> None:
    @vertex
    def first(seed: int) -> int:
        return seed

    @vertex
    def second(first: int) -> int:
        return first

    @vertex
    def both(first: int, second: int) -> str:
        return str(first + second)

    @vertex
    def loose(both: str, first):  # type: ignore[no-untyped-def]
        return both

    @vertex(contracts="off")
    def unchecked(first: int) -> int:
        return first

    @vertex(contracts="strict")
    def always(first: int) -> int:
        return first

    @vertex
    async def later(first: int) -> int:
        return first

    flow = Flow.from_functions(first, second, both, loose, unchecked, always, later)
    plan = flow._plan(None, None, frozenset())
    exacts = dict(zip((node.name for node in plan.nodes), plan.exacts, strict=True))
    assert exacts["first"] == exacts["second"] == exacts["always"] == (int, int)
    assert exacts["second"] is exacts["first"] is exacts["always"]
    assert exacts["both"] == (((0, int), (1, int)), str)
    assert exacts["loose"] == (((0, str),), None)
    assert exacts["unchecked"] is None
    assert exacts["later"] == (None, None)  # a coroutine function: checked by its invoker
    # A contracts mode only picks: "off" keeps the vertices that turned theirs on.
    assert call_plan(plan, Settings()).checks.exacts is plan.exacts
    off = dict(zip(exacts, call_plan(plan, Settings(contracts="off")).checks.exacts, strict=True))
    assert off == {name: (int, int) if name == "always" else None for name in exacts}
    assert flow.run({"seed": 2}, contracts="off")["both"] == "4"


def test_an_input_read_before_a_field_gets_one_slot() -> None:
    # ``mixed`` reads a flow input, then a field: the plan meets the input on its
    # common path first, then plans the step the long way; the input keeps one slot.
    @vertex
    def mixed(seed: int, y: Annotated[int, From("a.y")], extra: int = 5) -> int:
        return seed * 100 + y * 10 + extra

    @vertex
    def after(mixed: int, seed: int) -> int:
        return mixed + seed

    flow = Flow.from_functions(a, mixed, after)
    plan = flow._plan(None, None, frozenset())
    assert [(f.name, f.slot) for f in plan.fills] == [
        ("seed", 4),
        ("seed", 5),
        ("extra", 6),
        ("seed", 7),
    ]
    assert plan.slot_count == 8
    assert list(plan.built) == [1]
    assert plan.step(1).args == ((5, None), (0, plan.step(1).args[1][1]), (6, None))
    assert plan.fetches[2](list(range(8))) == (1, 7)  # type: ignore[operator]
    assert dict(flow.run({"seed": 3})) == {
        "a": {"x": 3, "y": 4},
        "a.x": 3,
        "a.y": 4,
        "mixed": 345,
        "after": 348,
    }


def test_a_call_plan_decides_once_for_steps_with_one_options_record() -> None:
    def chain(*extra: Any) -> Flow:
        @vertex
        def one(x: int) -> int:
            return x + 1

        @vertex
        def two(one: int) -> int:
            return one * 2

        return Flow.from_functions(one, two, *extra)

    @vertex(retries=2)
    def retried(two: int) -> int:
        return two

    @vertex
    async def awaited(two: int) -> int:
        return two

    @vertex
    def flag(two: int) -> bool:
        return two > 0

    @vertex(when="flag")
    def conditional(two: int) -> int:
        return two

    uniform = build_plan(chain().graph)
    assert uniform.common_options is uniform.nodes[0].options
    plain = call_plan(uniform, Settings())
    assert plain.modes == (CallMode.INLINE,) * 2
    assert plain.via_runner == (False, False)
    assert call_plan(uniform, Settings(retry=RetryPolicy(max_retries=1))).via_runner == (True,) * 2
    for extra, expected in [
        ((retried,), (False, False, True)),
        ((awaited,), (False, False, False)),
        ((flag, conditional), (False, False, False, True)),
    ]:
        plan = build_plan(chain(*extra).graph)
        assert plan.common_options is None
        assert call_plan(plan, Settings()).off_fast_path == expected
    assert call_plan(build_plan(chain(awaited).graph), Settings()).modes[2] is CallMode.AWAIT
