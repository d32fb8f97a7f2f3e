"""Pure-function caching through real runs: what hits, what never does, and single flight."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path
from typing import Any

import anyio
import pytest

import flowdsl
from flowdsl import CacheStats, MemoryCache, SQLiteCache, vertex
from tests.compiler._modules import ModuleMaker, make_module
from tests.runtime import _probe as probe

__all__ = ["make_module"]  # the fixture, imported for this module's tests

BACKENDS = ["serial", "thread", "async"]
PATIENCE = 10.0
RATE = 2


@pytest.fixture(autouse=True)
def _fresh_probe() -> None:
    probe.calls = []
    probe.release = threading.Event()


def _counted() -> tuple[flowdsl.Flow, list[Any]]:
    @vertex(pure=True)
    def square(x: Any) -> Any:
        probe.calls.append(x)
        return x * x

    @vertex
    def shown(square: Any) -> str:
        return f"{square!r}"

    return flowdsl.Flow.from_functions(square, shown), probe.calls


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pure_vertex_is_computed_once_per_input(backend: str) -> None:
    flow, calls = _counted()
    store = MemoryCache()
    first = flow.run({"x": 3}, cache=store, backend=backend)
    second = flow.run({"x": 3}, cache=store, backend=backend)
    assert first["square"] == second["square"] == 9
    assert calls == [3]
    assert first.metrics.vertices["square"].cache == "miss"
    assert second.metrics.vertices["square"].cache == "hit"
    assert second.metrics.vertices["square"].cache_hit
    assert second.metrics.vertices["square"].attempts == 0
    assert second.metrics.vertices["shown"].cache is None
    assert store.stats() == CacheStats(hits=1, misses=1, entries=1, errors=0)


def test_no_cache_unless_asked_and_only_pure_vertices() -> None:
    flow, calls = _counted()
    flow.run({"x": 2})
    flow.run({"x": 2})
    assert calls == [2, 2]

    @vertex
    def impure(x: int) -> int:
        probe.calls.append(-x)
        return x

    other = flowdsl.Flow.from_functions(impure)
    store = MemoryCache()
    other.run({"x": 1}, cache=store)
    other.run({"x": 1}, cache=store)
    assert calls == [2, 2, -1, -1]
    assert store.stats().entries == 0


def test_a_changed_global_or_closure_value_misses() -> None:
    global RATE

    @vertex(pure=True)
    def scaled(x: int) -> int:
        probe.calls.append(x)
        return x * RATE

    flow = flowdsl.Flow.from_functions(scaled)
    store = MemoryCache()
    assert flow.run({"x": 5}, cache=store)["scaled"] == 10
    assert flow.run({"x": 5}, cache=store)["scaled"] == 10
    RATE = 3
    try:
        assert flow.run({"x": 5}, cache=store)["scaled"] == 15
    finally:
        RATE = 2
    assert probe.calls == [5, 5]

    offsets = [1]

    @vertex(pure=True)
    def shifted(x: int) -> int:
        return x + offsets[0]

    shifting = flowdsl.Flow.from_functions(shifted)
    assert shifting.run({"x": 1}, cache=store)["shifted"] == 2
    offsets[0] = 10
    assert shifting.run({"x": 1}, cache=store)["shifted"] == 11


_SEEN: list[int] = []


def test_a_pure_vertex_that_changes_a_global_it_reads_is_warned_about_once() -> None:
    @vertex(pure=True)
    def remember(x: int) -> int:
        _SEEN.append(x)  # changes what its own cache key covers
        return x

    flow = flowdsl.Flow.from_functions(remember)
    store = MemoryCache()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcomes = [flow.run({"x": 1}, cache=store).metrics.vertices["remember"].cache]
        outcomes += [flow.run({"x": 1}, cache=store).metrics.vertices["remember"].cache]
    assert outcomes == ["miss", "miss"]  # never a hit: the key changes with _SEEN
    messages = [str(w.message) for w in caught if issubclass(w.category, flowdsl.CacheWarning)]
    assert messages == [
        "vertex 'remember' reads the module-level value '_SEEN', which changed while the vertex "
        "ran (does it change it?): the cache key covers that value, so what it cached will never "
        "be found again. Keep such state out of a pure vertex, or drop pure=True"
    ]
    assert caught[0].filename == __file__


def test_a_closure_variable_changed_by_the_call_is_named() -> None:
    counts = {"calls": 0}

    @vertex(pure=True)
    def counted(x: int) -> int:
        counts["calls"] += 1
        return x

    with pytest.warns(flowdsl.CacheWarning, match="reads the closure variable 'counts'"):
        flowdsl.Flow.from_functions(counted).run({"x": 1}, cache=MemoryCache())


def test_a_global_changed_between_runs_is_not_warned_about() -> None:
    global RATE

    @vertex(pure=True)
    def rated(x: int) -> int:
        return x * RATE

    flow = flowdsl.Flow.from_functions(rated)
    store = MemoryCache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flow.run({"x": 1}, cache=store)
        RATE = 5
        try:
            assert flow.run({"x": 1}, cache=store)["rated"] == 5
        finally:
            RATE = 2


def test_a_lambda_held_in_a_global_is_cached_and_invalidated_by_its_code(
    make_module: ModuleMaker,
) -> None:
    module = make_module(
        """
from flowdsl import vertex

scale = lambda x: 2 * x

@vertex(pure=True)
def scaled(x: int) -> int:
    return scale(x)
"""
    )
    flow = flowdsl.Flow.from_module(module)
    store = MemoryCache()
    assert flow.run({"x": 3}, cache=store)["scaled"] == 6
    assert flow.run({"x": 3}, cache=store).metrics.vertices["scaled"].cache == "hit"
    module.scale = lambda x: 3 * x
    changed = flow.run({"x": 3}, cache=store)
    assert (changed["scaled"], changed.metrics.vertices["scaled"].cache) == (9, "miss")


def test_equal_looking_values_of_other_types_never_share_an_entry() -> None:
    @vertex(pure=True)
    def echo(x: Any) -> Any:
        probe.calls.append(x)
        return x

    flow = flowdsl.Flow.from_functions(echo)
    store = MemoryCache()
    values: list[Any] = [1, 1.0, True, "1", 1 + 0j, (1,), [1]]
    results = [flow.run({"x": value}, cache=store)["echo"] for value in values]
    assert probe.calls == values
    assert [type(r) for r in results] == [type(v) for v in values]
    assert store.stats().hits == 0
    assert flow.run({"x": [1]}, cache=store).metrics.vertices["echo"].cache == "hit"


def test_a_numpy_array_in_another_memory_order_misses() -> None:
    np = pytest.importorskip("numpy")

    @vertex(pure=True)
    def flat(v: Any) -> list[int]:
        return [int(x) for x in v.ravel(order="K")]

    flow = flowdsl.Flow.from_functions(flat)
    store = MemoryCache()
    a = np.arange(6).reshape(2, 3)
    copied = flow.run({"v": a.T.copy()}, cache=store)
    transposed = flow.run({"v": a.T}, cache=store)
    assert copied["flat"] == [0, 3, 1, 4, 2, 5]
    assert transposed["flat"] == [0, 1, 2, 3, 4, 5]
    assert transposed.metrics.vertices["flat"].cache == "miss"
    assert flow.run({"v": a.T}, cache=store).metrics.vertices["flat"].cache == "hit"


def test_dict_order_does_not_change_the_key() -> None:
    calls = probe.calls

    @vertex(pure=True)
    def total(d: dict[str, int]) -> int:
        probe.calls.append(d)
        return sum(d.values())

    flow = flowdsl.Flow.from_functions(total)
    store = MemoryCache()
    flow.run({"d": {"a": 1, "b": 2}}, cache=store)
    result = flow.run({"d": {"b": 2, "a": 1}}, cache=store)
    assert result["total"] == 3
    assert len(calls) == 1


def test_changing_the_code_or_the_version_misses(make_module: ModuleMaker) -> None:
    store = MemoryCache()
    source = """
        from flowdsl import vertex

        @vertex(pure=True{version})
        def score(x: int) -> int:
            return x {op} 1
    """
    results = []
    for op, version in (("+", ""), ("+", ""), ("-", ""), ("-", ", version='2'")):
        # One module name throughout: only the code (or the version) differs.
        module = make_module(source.format(op=op, version=version), name="flowdsl_cached_score")
        result = flowdsl.Flow.from_module(module).run({"x": 10}, cache=store)
        results.append((result["score"], result.metrics.vertices["score"].cache))
    assert results == [(11, "miss"), (11, "hit"), (9, "miss"), (9, "miss")]


def test_a_value_that_cannot_be_fingerprinted_is_never_cached() -> None:
    class Connection:
        pass

    calls = probe.calls

    @vertex(pure=True)
    def query(conn: Connection, n: int) -> int:
        probe.calls.append(n)
        return n

    flow = flowdsl.Flow.from_functions(query)
    store = MemoryCache()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowdsl.CacheWarning)
        for _ in range(2):
            result = flow.run({"conn": Connection(), "n": 5}, cache=store)
    assert calls == [5, 5]
    assert result.metrics.vertices["query"].cache == "uncacheable"
    assert store.stats().entries == 0


def test_the_sqlite_store_serves_another_process(tmp_path: Path) -> None:
    module = tmp_path / "cached_flow.py"
    module.write_text(
        textwrap.dedent(
            """
            import sys
            import flowdsl
            from flowdsl import vertex

            @vertex(pure=True)
            def slow(x: int) -> int:
                print("computed", flush=True)
                return x * 7

            if __name__ == "__main__":
                result = flowdsl.Flow.from_functions(slow).run({"x": 6}, cache=sys.argv[1])
                print(result["slow"], result.metrics.vertices["slow"].cache)
            """
        )
    )
    path = str(tmp_path / "cache.db")
    outputs = [
        subprocess.run(
            [sys.executable, str(module), path], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert outputs == [["computed", "42", "miss"], ["42", "hit"]]
    with SQLiteCache(path) as store:
        assert store.stats().entries == 1


def test_a_path_option_opens_and_closes_a_sqlite_store(tmp_path: Path) -> None:
    flow, calls = _counted()
    path = tmp_path / "runs.db"
    flow.run({"x": 4}, cache=path)
    assert flow.run({"x": 4}, cache=str(path))["square"] == 16
    assert calls == [4]


class _CountingStore(MemoryCache):
    """A memory store that counts lookups, so a test can wait until every run looked."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        self.looked = threading.Condition()

    def get(self, key: str) -> tuple[bool, Any]:
        found = super().get(key)
        with self.looked:
            self.lookups += 1
            self.looked.notify_all()
        return found


def _start_runs(
    count: int, **options: Any
) -> tuple[list[threading.Thread], list[flowdsl.RunResult]]:
    """``count`` threads, started, each running ``expensive`` on x=5 with ``options``:
    it records its call in ``probe.calls``, then waits for ``probe.release``."""

    @vertex(pure=True)
    def expensive(x: int) -> int:
        probe.calls.append(x)
        probe.release.wait(PATIENCE)
        return x * 2

    flow = flowdsl.Flow.from_functions(expensive)
    results: list[flowdsl.RunResult] = []
    runs = [
        threading.Thread(target=lambda: results.append(flow.run({"x": 5}, **options)))
        for _ in range(count)
    ]
    for run in runs:
        run.start()
    return runs, results


@pytest.mark.parametrize("backend", BACKENDS)
def test_identical_keys_at_the_same_time_run_once(backend: str) -> None:
    store = _CountingStore()
    calls = probe.calls
    runs, results = _start_runs(4, cache=store, backend=backend)
    with store.looked:
        # Every run has looked the key up (and missed) before the first finishes.
        assert store.looked.wait_for(lambda: store.lookups >= 4, PATIENCE)
    probe.release.set()
    for run in runs:
        run.join(PATIENCE)
    assert calls == [5]
    assert sorted(r.metrics.vertices["expensive"].cache or "" for r in results) == [
        "hit",
        "hit",
        "hit",
        "miss",
    ]
    assert {r["expensive"] for r in results} == {10}


@pytest.mark.anyio
async def test_identical_async_keys_in_one_loop_run_once() -> None:
    store = MemoryCache()
    calls = probe.calls

    @vertex(pure=True)
    async def fetch(x: int) -> int:
        probe.calls.append(x)
        while not probe.release.is_set():
            await anyio.sleep(0.001)
        return x + 1

    flow = flowdsl.Flow.from_functions(fetch)
    results: list[int] = []

    async def one() -> None:
        results.append((await flow.arun({"x": 1}, cache=store, backend="async"))["fetch"])

    with anyio.fail_after(PATIENCE):
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(one)
            while not calls:
                await anyio.sleep(0.001)
            probe.release.set()
    assert calls == [1]
    assert results == [2, 2, 2]


def test_a_corrupt_entry_is_a_miss_and_the_vertex_runs_again(tmp_path: Path) -> None:
    import sqlite3

    flow, calls = _counted()
    path = tmp_path / "cache.db"
    flow.run({"x": 3}, cache=path)
    with sqlite3.connect(path) as connection:
        (table,) = connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            " AND sql LIKE '%value%'"
        ).fetchone()
        connection.execute(f"UPDATE {table} SET value = ?", (b"garbage",))
    connection.close()
    with pytest.warns(flowdsl.CacheWarning, match="corrupt"):
        result = flow.run({"x": 3}, cache=path)
    assert result["square"] == 9
    assert calls == [3, 3]


def test_a_bad_cache_option_is_a_settings_error() -> None:
    flow, _ = _counted()
    with pytest.raises(flowdsl.SettingsError, match="cache=42") as caught:
        flow.run({"x": 1}, cache=42)  # type: ignore[arg-type]
    assert caught.value.source == "argument cache"


def test_the_process_wide_store_serves_cache_true() -> None:
    flow, calls = _counted()
    flow.run({"x": 123456789}, cache=True)
    result = flow.run({"x": 123456789}, cache=True)
    assert calls == [123456789]
    assert result.metrics.vertices["square"].cache == "hit"


def test_runs_given_one_cache_path_compute_a_key_once(tmp_path: Path) -> None:
    # Each run opens its own store on the file: the flight is the file's.
    path = tmp_path / "cache.db"
    SQLiteCache(path).close()  # created up front: this test is about the flights
    calls = probe.calls
    started = threading.Semaphore(0)

    class Started(flowdsl.Listener):
        def on_vertex_start(self, event: Any) -> None:
            started.release()

    runs, results = _start_runs(8, cache=path, backend="thread", listeners=[Started()])
    for _ in runs:  # every run is at the vertex before the first one finishes it
        assert started.acquire(timeout=PATIENCE)
    probe.release.set()
    for run in runs:
        run.join(PATIENCE)
    assert calls == [5]
    outcomes = sorted(r.metrics.vertices["expensive"].cache or "" for r in results)
    assert outcomes == ["hit"] * 7 + ["miss"]
    assert {r["expensive"] for r in results} == {10}


def test_a_kept_code_fingerprint_sees_every_change_it_covers(make_module: ModuleMaker) -> None:
    # One flow, many runs: the code fingerprint is reused between runs only
    # while nothing it covers can have changed; every change below must miss.
    module = make_module(
        """
        from flowdsl import vertex

        FACTOR = 2
        TABLE = {"offset": 0}
        PAIR = (1, [0])

        def helper(x):
            return x * FACTOR

        def other(x):
            return x * 100

        def make_adder():
            amount = 0

            def add(x):
                return x + amount

            def set_amount(value):
                nonlocal amount
                amount = value

            return add, set_amount

        add, set_amount = make_adder()

        @vertex(pure=True)
        def score(x: int) -> int:
            return add(helper(x))

        @vertex(pure=True)
        def lookup(x: int) -> int:
            return x + TABLE["offset"] + PAIR[1][0]
        """
    )
    flow = flowdsl.Flow.from_module(module)
    store = MemoryCache()

    def outcome(name: str) -> tuple[int, str | None]:
        result = flow.run({"x": 1}, cache=store, outputs=[name])
        return result[name], result.metrics.vertices[name].cache

    assert outcome("score") == (2, "miss")
    assert outcome("score") == (2, "hit")
    module.FACTOR = 3  # a global the helper reads, rebound
    assert outcome("score") == (3, "miss")
    assert outcome("score") == (3, "hit")
    module.helper.__code__ = module.other.__code__  # the helper's code replaced
    assert outcome("score") == (100, "miss")
    module.set_amount(5)  # a closure cell of a function it calls
    assert outcome("score") == (105, "miss")
    assert outcome("score") == (105, "hit")

    assert outcome("lookup") == (1, "miss")
    assert outcome("lookup") == (1, "hit")
    module.TABLE["offset"] = 7  # a mutable global, changed in place
    assert outcome("lookup") == (8, "miss")
    module.PAIR[1][0] = 1  # an immutable global holding a mutable value
    assert outcome("lookup") == (9, "miss")
    assert outcome("lookup") == (9, "hit")


@pytest.mark.parametrize("backend", BACKENDS)
def test_kept_hits_see_every_change_under_each_backend(
    make_module: ModuleMaker, backend: str
) -> None:
    # A warm hit reuses the vertex's keys while its stamp holds; each change
    # below must miss and compute again, on every backend.
    module = make_module(
        """
        from flowdsl import vertex

        RATE = 2
        TABLE = {"offset": 0}

        def helper(x):
            return x * RATE

        def make_scaled():
            factor = 1

            def scaled(x):
                return x * factor

            def set_factor(value):
                nonlocal factor
                factor = value

            return scaled, set_factor

        scaled, set_factor = make_scaled()

        @vertex(pure=True)
        def rated(x: int) -> int:
            return helper(x) + scaled(x)

        @vertex(pure=True)
        def shifted(rated: int) -> str:
            return f"n{rated + TABLE['offset']}"

        @vertex(pure=True)
        async def awaited(shifted: str) -> str:
            return shifted + "!"
        """
    )
    flow = flowdsl.Flow.from_module(module)
    store = MemoryCache()

    def outcome() -> tuple[str, tuple[str | None, ...]]:
        result = flow.run({"x": 1}, cache=store, backend=backend)
        vertices = result.metrics.vertices
        return result["awaited"], tuple(vertices[n].cache for n in ("rated", "shifted", "awaited"))

    miss, hit = ("miss",) * 3, ("hit",) * 3
    assert outcome() == ("n3!", miss)
    assert outcome() == ("n3!", hit)
    module.RATE = 3  # a global a called function reads, rebound
    assert outcome() == ("n4!", ("miss", "miss", "miss"))
    assert outcome() == ("n4!", hit)
    module.TABLE["offset"] = 10  # a mutable global, changed in place
    assert outcome() == ("n14!", ("hit", "miss", "miss"))
    module.set_factor(5)  # a closure cell of a called function
    assert outcome() == ("n18!", miss)
    assert outcome() == ("n18!", hit)

    def helper(x: int, scale: int = 1) -> int:
        return x * 100 * scale

    module.helper = helper  # a called function redefined
    assert outcome() == ("n115!", miss)
    helper.__defaults__ = (2,)  # its defaults replaced
    assert outcome() == ("n215!", miss)

    async def replacement(shifted: str) -> str:
        return shifted + "?"

    module.awaited.__code__ = replacement.__code__  # the vertex's own code
    assert outcome() == ("n215?", ("hit", "hit", "miss"))
    assert outcome() == ("n215?", hit)
    stats = store.stats()
    assert (stats.hits, stats.misses) == (15, 18)  # as the runs reported them


@pytest.mark.parametrize("backend", BACKENDS)
def test_kept_hits_in_many_threads_count_once_each(backend: str) -> None:
    @vertex(pure=True)
    def first(x: int) -> int:
        return x + 1

    @vertex(pure=True)
    def second(first: int, y: str) -> str:
        return f"{y}{first}"

    flow = flowdsl.Flow.from_functions(first, second)
    store = MemoryCache(maxsize=8)  # small: runs evict each other's entries
    outcomes: list[str | None] = []
    wrong: list[tuple[int, str]] = []

    def runs(worker: int) -> None:
        for i in range(60):
            x = (worker * 7 + i) % 12
            result = flow.run({"x": x, "y": "v"}, cache=store, backend=backend)
            if result["second"] != f"v{x + 1}":
                wrong.append((x, result["second"]))
            outcomes.extend(result.metrics.vertices[n].cache for n in ("first", "second"))

    threads = [threading.Thread(target=runs, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE * 6)
    assert wrong == []
    assert len(outcomes) == 4 * 60 * 2
    stats = store.stats()
    # Every hit a run reported was counted by the store, and no other.
    assert stats.hits == outcomes.count("hit")
    assert stats.hits + outcomes.count("miss") >= len(outcomes)


def test_a_store_a_run_used_is_not_kept_alive() -> None:
    import gc
    import weakref

    flow, _ = _counted()
    store = MemoryCache()
    flow.run({"x": 2}, cache=store)
    flow.run({"x": 2}, cache=store)
    gone = weakref.ref(store)
    del store
    gc.collect()
    assert gone() is None


def test_a_kept_fingerprint_beside_one_taken_every_run_sees_changes(
    make_module: ModuleMaker,
) -> None:
    # ``offset`` reads a list, so its fingerprint is taken on every run; ``rated``
    # keeps its own while its stamp holds, and must still see a rebound global.
    module = make_module(
        """
        from flowdsl import vertex

        RATE = 2
        OFFSETS = [0]

        @vertex(pure=True)
        def rated(x: int) -> int:
            return x * RATE

        @vertex(pure=True)
        def offset(rated: int) -> int:
            return rated + OFFSETS[0]
        """
    )
    flow = flowdsl.Flow.from_module(module)
    store = MemoryCache()

    def outcome() -> tuple[int, str | None, str | None]:
        result = flow.run({"x": 1}, cache=store)
        vertices = result.metrics.vertices
        return result["offset"], vertices["rated"].cache, vertices["offset"].cache

    assert outcome() == (2, "miss", "miss")
    assert outcome() == (2, "hit", "hit")
    module.RATE = 3
    assert outcome() == (3, "miss", "miss")
    module.OFFSETS[0] = 10
    assert outcome() == (13, "hit", "miss")
    module.RATE = 4
    assert outcome() == (14, "miss", "miss")
    assert outcome() == (14, "hit", "hit")


@pytest.mark.parametrize("backend", BACKENDS)
def test_hits_of_calls_placed_on_worker_threads_are_recorded(backend: str) -> None:
    # A timeout or blocking=True sends the call to a worker thread, where the
    # kept invoker finds its run through the run's context.
    @vertex(pure=True, timeout=PATIENCE)
    def timed(x: int) -> int:
        probe.calls.append(x)
        return x + 1

    @vertex(pure=True, blocking=True)
    def blocking(timed: int) -> int:
        probe.calls.append(timed)
        return timed + 1

    flow = flowdsl.Flow.from_functions(timed, blocking)
    store = MemoryCache()
    outcomes = []
    for _ in range(2):
        result = flow.run({"x": 1}, cache=store, backend=backend)
        assert result["blocking"] == 3
        outcomes.append([result.metrics.vertices[n].cache for n in ("timed", "blocking")])
    assert outcomes == [["miss", "miss"], ["hit", "hit"]]
    assert probe.calls == [1, 2]
    assert store.stats() == CacheStats(hits=2, misses=2, entries=2, errors=0)


@pytest.mark.anyio
async def test_kept_hits_inside_a_running_loop() -> None:
    flow, calls = _counted()
    store = MemoryCache()
    for backend in BACKENDS:
        result = await flow.arun({"x": 4}, cache=store, backend=backend)
        assert result["square"] == 16
    assert calls == [4]
    assert store.stats().hits == 2
