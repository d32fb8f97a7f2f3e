"""Contracts benchmark: the cost of checking values, and of contracts on a serial run.

It measures a compiled contract's ``check`` on one ``int`` and one ``str``
(per call), on a ``list[dict[str, int]]`` of 10,000 elements and on a
``list[int]`` of 1,000,000 (passing, and failing at the last element), then a
1,000-vertex chain of trivial ``int -> int`` vertices run serially with
``contracts="strict"`` and with ``contracts="off"``. Every value is checked in
full: there is no sampling. It prints a table and writes every figure as JSON.

    python benchmarks/contracts.py [--quick] [--json PATH]
"""

from __future__ import annotations

import datetime
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _modes
from _scenarios.graphs import CHAIN, chain_overhead
from _timing import command_line, duration, machine, machine_line, measure, write_report

from flowdsl._services.contracts import Contract, compile_contract

#: The issue's target, reported (never asserted): strict costs less than this times off.
STRICT_TO_OFF_TARGET = 2.0
LIST_OF_DICTS = 10_000
DICT_KEYS = 5
BIG_LIST = 1_000_000
# Calls per timed batch of one-value checks, and repetitions of each measure (the
# chain's are those of run.py's chain-overhead scenario).
FULL = {"batch": 10_000, "scalar": 31, "list_of_dicts": 31, "big_list": 11}
QUICK = {"batch": 1_000, "scalar": 3, "list_of_dicts": 3, "big_list": 2}


def _contract(annotation: Any) -> Contract:
    contract = compile_contract(annotation)
    if contract is None:
        raise RuntimeError(f"{annotation!r} compiled to no contract")
    return contract


def _checking(contract: Contract, value: Any, passes: bool) -> Callable[[], object]:
    """One check of ``value``, after making sure it gives the expected verdict."""
    if (contract.check(value, "x") is None) is not passes:
        raise RuntimeError(f"{contract.annotation!r}: unexpected verdict on the benchmark value")
    return lambda: contract.check(value, "x")


def bench_scalar(annotation: type, value: Any, batch: int, repetitions: int) -> dict[str, Any]:
    """Per-call cost of ``contract.check`` on one value: a batch of calls timed, divided."""
    contract = _contract(annotation)
    _checking(contract, value, passes=True)
    check = contract.check

    def calls() -> None:
        for _ in range(batch):
            check(value, "x")

    timing = measure(calls, repetitions, warmup=1)
    return {
        "annotation": annotation.__name__,
        "calls_per_batch": batch,
        "per_check": {
            "median_s": timing["median_s"] / batch,
            "min_s": timing["min_s"] / batch,
            "repetitions": repetitions,
            "warmup": timing["warmup"],
        },
    }


def bench_list_of_dicts(repetitions: int) -> dict[str, Any]:
    """``list[dict[str, int]]``: 10,000 dicts of five ``str: int`` items each."""
    value = [{f"k{j}": i + j for j in range(DICT_KEYS)} for i in range(LIST_OF_DICTS)]
    check = _checking(_contract(list[dict[str, int]]), value, passes=True)
    timing = measure(check, repetitions, warmup=1)
    return {
        "annotation": "list[dict[str, int]]",
        "elements": LIST_OF_DICTS,
        "keys_per_dict": DICT_KEYS,
        "check": timing,
        "per_element_s": timing["median_s"] / LIST_OF_DICTS,
    }


def bench_big_list(repetitions: int) -> dict[str, Any]:
    """``list[int]`` of a million: all good, then with a ``str`` at the very end."""
    contract = _contract(list[int])
    good = list(range(BIG_LIST))
    bad = [*good[:-1], "last"]
    passing = measure(_checking(contract, good, passes=True), repetitions, warmup=1)
    failing = measure(_checking(contract, bad, passes=False), repetitions, warmup=1)
    return {
        "annotation": "list[int]",
        "elements": BIG_LIST,
        "strategy": "full check",
        "check": passing,
        "check_failing_last": failing,
        "per_element_s": passing["median_s"] / BIG_LIST,
    }


def bench_chain(quick: bool) -> dict[str, Any]:
    """The serial 1,000-vertex chain, contracts strict against off (``run.py``'s scenario)."""
    runs = {}
    with tempfile.TemporaryDirectory(prefix="flowdsl-bench-") as tmp:
        for contracts, mode in (("strict", "serial"), ("off", "contracts-off")):
            (chosen,) = _modes.select([mode])
            runs[contracts] = chain_overhead(chosen, quick, Path(tmp))["run"]
    strict, off = runs["strict"]["median_s"], runs["off"]["median_s"]
    return {
        "vertices": CHAIN,
        "backend": "serial",
        "strict": runs["strict"],
        "off": runs["off"],
        "ratio_strict_to_off": strict / off,
        "per_vertex_strict_us": strict / CHAIN * 1e6,
        "per_vertex_off_us": off / CHAIN * 1e6,
        "per_vertex_contract_cost_us": (strict - off) / CHAIN * 1e6,
    }


def table(report: dict[str, Any]) -> str:
    """The figures as a fixed-width text table."""
    lines = [
        "flowdsl contracts benchmark: time.perf_counter, gc enabled "
        "(gc.collect() before each timed call), full checks (no sampling)",
        machine_line(report),
        "",
    ]
    header = f"{'measure':<52} {'median':>11} {'min':>11} {'reps':>5}"
    lines += [header, "-" * len(header)]
    checks = report["checks"]
    rows = [
        ("contract.check on one int (per check)", checks["int"]["per_check"]),
        ("contract.check on one str (per check)", checks["str"]["per_check"]),
        ("list[dict[str, int]], 10,000 dicts of 5 items", checks["list_of_dicts"]["check"]),
        ("list[int], 1,000,000 elements, all good", checks["big_list"]["check"]),
        ("list[int], 1,000,000 elements, last one a str", checks["big_list"]["check_failing_last"]),
    ]
    chain = report["chain"]
    rows += [
        (f"serial run, chain of {chain['vertices']}, contracts='strict'", chain["strict"]),
        (f"serial run, chain of {chain['vertices']}, contracts='off'", chain["off"]),
    ]
    for description, m in rows:
        lines.append(
            f"{description:<52} {duration(m['median_s']):>11} "
            f"{duration(m['min_s']):>11} {m['repetitions']:>5}"
        )
    lines += [
        f"{'ratio strict / off (medians)':<52} {chain['ratio_strict_to_off']:>10.2f}x",
        f"{'per vertex, strict':<52} {duration(chain['per_vertex_strict_us'] * 1e-6):>11}",
        f"{'per vertex, off':<52} {duration(chain['per_vertex_off_us'] * 1e-6):>11}",
        f"{'contract cost per vertex (strict - off) / N':<52} "
        f"{duration(chain['per_vertex_contract_cost_us'] * 1e-6):>11}",
        "",
    ]
    target = report["targets"]["chain_strict_to_off"]
    verdict = "met" if target["met"] else "NOT met"
    lines.append(f"target: {target['description']}: {target['value']} -> {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = command_line(__doc__, "contracts")
    args = parser.parse_args(argv)
    today = datetime.date.today().isoformat()
    plan = QUICK if args.quick else FULL

    checks = {
        "int": bench_scalar(int, 12_345, plan["batch"], plan["scalar"]),
        "str": bench_scalar(str, "hello", plan["batch"], plan["scalar"]),
        "list_of_dicts": bench_list_of_dicts(plan["list_of_dicts"]),
        "big_list": bench_big_list(plan["big_list"]),
    }
    chain = bench_chain(args.quick)
    ratio = chain["ratio_strict_to_off"]
    report = {
        "benchmark": "contracts",
        "date": today,
        "quick": args.quick,
        "machine": machine(),
        "method": {
            "timer": "time.perf_counter",
            "gc": "enabled; gc.collect() before each timed call",
            "statistics": "median and min over repetitions, after warm-up calls",
            "one_value_checks": "a batch of calls timed, divided by the batch size",
            "strategy": "full check of every element; no sampling mode",
        },
        "checks": checks,
        "chain": chain,
        "targets": {
            "chain_strict_to_off": {
                "description": (
                    f"serial chain-{CHAIN} with contracts='strict' within "
                    f"{STRICT_TO_OFF_TARGET:g}x contracts='off'"
                ),
                "value": f"{ratio:.2f}x",
                "met": ratio < STRICT_TO_OFF_TARGET,
            }
        },
    }
    print(table(report))
    write_report(report, args.json, "contracts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
