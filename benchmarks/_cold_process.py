"""One cold path in this fresh process: decorate, compile, first run, then warm runs.

    python benchmarks/_cold_process.py DIRECTORY SHAPE SIZE MODE

Reads the modules ``_scenarios/cold.py`` wrote (and byte-compiled) into
DIRECTORY, prints ``FIGURES <json>`` (``_processes.py``): seconds for each
step, the plain loop's run, the ratios, and the growth of the process's peak
RSS over decorate, compile and first run. The collector stays as a script
has it (enabled) until the cold path is over; it is only made to collect,
outside the clock, before each of the two timed imports, so that both start
from the same state (see ``measure``).
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import Any

import _graphs
import _modes
from _memory import peak_rss_bytes
from _processes import emit_figures
from _references import reference_loop
from _timing import measure_side_by_side

import flowdsl

#: Warm-run repetitions by size (the plain loop is timed as often, alternately).
WARM = {1_000: 21, 10_000: 11, 100_000: 5, 1_000_000: 3}


def measure(directory: Path, shape: str, size: int, mode_name: str) -> dict[str, Any]:
    """The cold path and the warm run of one graph, in this process."""
    spec = _graphs.chain_spec(size) if shape == "chain" else _graphs.layered_spec(size)
    (mode,) = _modes.select([mode_name])
    options = mode.options()
    plain_path = _graphs.module_path(spec, directory, "plain")
    flowdsl_path = _graphs.module_path(spec, directory, "flowdsl")

    # ``import flowdsl`` loads its modules on first use of a public name: read
    # them all first, as ``import flowdsl`` did before it became lazy, so the
    # figures per vertex stay the graph's cost and do not spread the library's
    # import over the vertices (``importing.py`` measures the import itself).
    start_cpu = time.process_time()
    for name in flowdsl.__all__:
        getattr(flowdsl, name)
    library_load_cpu = time.process_time() - start_cpu

    # Only the import is subtracted from the decorated module's: the reference
    # loop's call list is built outside the clock. Both imports start from the
    # same collector state: the objects the library's load left make a full
    # collection due soon, and it fell into one import or the other (the plain
    # one's, at 10,000 vertices, made @vertex look free, and cold totals low).
    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    plain_module = _graphs.import_path(plain_path)
    plain_import = time.perf_counter() - start
    plain_import_cpu = time.process_time() - start_cpu
    plain = _graphs.built(spec, plain_module)
    gc.collect()

    peak_before = peak_rss_bytes()
    start, start_cpu = time.perf_counter(), time.process_time()
    module = _graphs.import_path(flowdsl_path)
    decorated, decorated_cpu = time.perf_counter(), time.process_time()
    flow = flowdsl.Flow(flowdsl.compile(module))
    compiled, compiled_cpu = time.perf_counter(), time.process_time()
    result = flow.run(spec.inputs, **options)
    first, first_cpu = time.perf_counter(), time.process_time()
    peak_growth = peak_rss_bytes() - peak_before

    last = spec.last
    expected = reference_loop(plain.calls, spec.inputs)[last]
    if result[last] != expected:
        raise RuntimeError(f"{spec.label}: flowdsl and the plain loop disagree")
    del result
    repetitions = WARM.get(size, 3)
    timings = measure_side_by_side(
        {
            "warm_run": lambda: flow.run(spec.inputs, **options),
            "plain_loop": lambda: reference_loop(plain.calls, spec.inputs),
        },
        repetitions,
    )
    figures = {
        "vertices": size,
        "plain_import": plain_import,
        "library_load_cpu": library_load_cpu,
        "vertex": max(0.0, decorated - start - plain_import),
        "compile": compiled - decorated,
        "first_run": first - compiled,
        "cold_total": max(0.0, first - start - plain_import),
        "warm_run": timings["warm_run"]["median_s"],
        "plain_loop": timings["plain_loop"]["median_s"],
        "peak_rss_growth": peak_growth,
        # CPU time: what the process itself spent (wall time on a busy machine
        # also counts waiting for a core, more often the longer a step runs).
        "cold_total_cpu": max(0.0, first_cpu - start_cpu - plain_import_cpu),
        "vertex_cpu": max(0.0, decorated_cpu - start_cpu - plain_import_cpu),
        "compile_cpu": compiled_cpu - decorated_cpu,
        "first_run_cpu": first_cpu - compiled_cpu,
        "plain_loop_cpu": timings["plain_loop"]["cpu"]["median_s"],
        "warm_run_cpu": timings["warm_run"]["cpu"]["median_s"],
    }
    figures["cold_to_plain"] = figures["cold_total"] / figures["plain_loop"]
    figures["warm_to_plain"] = figures["warm_run"] / figures["plain_loop"]
    figures["cold_to_plain_cpu"] = figures["cold_total_cpu"] / figures["plain_loop_cpu"]
    figures["warm_to_plain_cpu"] = figures["warm_run_cpu"] / figures["plain_loop_cpu"]
    return figures


if __name__ == "__main__":
    directory, shape, size, mode_name = sys.argv[1:5]
    emit_figures(lambda _scratch: measure(Path(directory), shape, int(size), mode_name))
