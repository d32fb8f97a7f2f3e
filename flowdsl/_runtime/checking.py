"""Contract checks around a step's call: arguments before it, the return value after.

For each contracts mode a plan gets, once, one invoker per step: a function
that gathers the arguments, checks them, calls, and checks the result; or
``None`` where there is nothing to check, so the caller keeps its fast path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .._services.contracts import Contract, Violation
from ..errors import ContractViolation
from .plan import Plan, Step, gather

__all__ = ["Invoker", "invokers"]

Invoker = Callable[[list[Any]], Any]

logger = logging.getLogger("flowdsl")


def _reporter(step: Step, mode: str) -> Callable[[Violation, str], None]:
    node = step.node

    def report(violation: Violation, parameter: str) -> None:
        error = ContractViolation(
            f"{violation.path}: expected {violation.expected}, got {violation.actual}",
            vertex=node.name,
            parameter=parameter,
            location=node.location,
            path=violation.path,
            expected=violation.expected,
            actual=violation.actual,
        )
        if mode == "strict":
            raise error
        logger.warning("contract violation: %s", error, extra={"vertex": node.name})

    return report


def _checked(step: Step, mode: str) -> Invoker | None:
    contracts = step.node.contracts
    if mode == "off" or contracts is None:
        return None
    report = _reporter(step, mode)
    positional_names = [b.parameter for b in step.sources[: len(step.args)]]
    positional: list[tuple[int, str, Contract]] = [
        (i, name, contracts.parameters[name])
        for i, name in enumerate(positional_names)
        if name in contracts.parameters
    ]
    keyword = [
        (name, contracts.parameters[name])
        for name, _, _ in step.kwargs
        if name in contracts.parameters
    ]
    returns = contracts.returns
    function = step.function

    def arguments(values: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        args, kwargs = gather(step, values)
        for index, name, contract in positional:
            violation = contract.check(args[index], name)
            if violation is not None:
                report(violation, name)
        for name, contract in keyword:
            violation = contract.check(kwargs[name], name)
            if violation is not None:
                report(violation, name)
        return args, kwargs

    def result(output: Any) -> Any:
        if returns is not None:
            violation = returns.check(output, "return")
            if violation is not None:
                report(violation, "return")
        return output

    if step.is_async:

        async def invoke_async(values: list[Any]) -> Any:
            args, kwargs = arguments(values)
            awaitable: Awaitable[Any] = function(*args, **kwargs)
            return result(await awaitable)

        return invoke_async

    def invoke(values: list[Any]) -> Any:
        args, kwargs = arguments(values)
        return result(function(*args, **kwargs))

    return invoke


def invokers(plan: Plan, mode: str) -> tuple[Invoker | None, ...]:
    """Per step of ``plan``: the checked invoker under ``mode``, or ``None`` (built once)."""
    key = ("invokers", mode)
    found: tuple[Invoker | None, ...] | None = plan.memo.get(key)
    if found is None:
        found = plan.memo[key] = tuple(
            _checked(step, step.node.contracts_mode or mode) for step in plan.steps
        )
    return found
