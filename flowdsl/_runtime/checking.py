"""Contract checks around a step's call: arguments before it, the return value after.

For each contracts mode a plan gets, once, one invoker per step: a function
that gathers the arguments, checks them, calls, and checks the result; or
``None`` where there is nothing to check, so the caller keeps its fast path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from .._checks import CheckOutcome
from .._model.graph import NO_DEFAULT, VertexContracts, VertexNode
from .._services.contracts import Contract, Violation, describe
from ..errors import ContractViolation
from .check_log import record_checks
from .logs import log_extra, logger
from .plan import Plan, Step, gather

__all__ = ["Invoker", "StepChecks", "check_given_output", "checked_invokers", "step_checks"]

Invoker = Callable[[list[Any]], Any]


def _reporter(node: VertexNode, mode: str) -> Callable[[Violation, str], None]:
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
        logger.warning("contract violation: %s", error, extra=log_extra(node.name))

    return report


class _Check:
    """One value's contract, with the exact type that passes without a call."""

    __slots__ = ("contract", "default", "exact", "name")

    def __init__(self, name: str, contract: Contract, default: Any = NO_DEFAULT) -> None:
        self.name = name
        self.contract = contract
        # ``type(v) is exact`` settles the common case inline; None never matches.
        self.exact = contract.exact_type
        # A parameter's own default is the function author's choice (``x: int =
        # None`` is common); Python never checks it, and neither does flowdsl.
        self.default = default


class StepChecks:
    """The contract checks of one step under one mode: its arguments, and its result."""

    def __init__(self, step: Step, mode: str, contracts: VertexContracts[Contract]) -> None:
        self.node = step.node
        self.position = step.position
        self.report = _reporter(step.node, mode)
        # A bind= constant met its contract at compile time, by this same check;
        # only its Check(...) predicates run again, to record their outcomes.
        rules = {
            b.parameter: _Check(b.parameter, contract, b.default)
            for b in step.sources
            if (contract := contracts.parameters.get(b.parameter)) is not None
            and not (b.is_constant and not contract.checks)
        }
        names = [b.parameter for b in step.sources]
        # (index into the positional arguments, rule), and the keyword rules.
        self.positional = [
            (i, rules[name]) for i, name in enumerate(names[: len(step.args)]) if name in rules
        ]
        self.keyword = [rules[name] for name, _, _ in step.kwargs if name in rules]
        self.returns = None if contracts.returns is None else _Check("return", contracts.returns)

    def check(self, value: Any, rule: _Check) -> None:
        """Check one value against its rule (the exact type and the default pass as they are)."""
        if type(value) is not rule.exact and value is not rule.default:
            violation = rule.contract.check_type(value, rule.name)
            if violation is not None:
                self.report(violation, rule.name)
            if rule.contract.checks:
                self.run_checks(value, rule)

    def run_checks(self, value: Any, rule: _Check) -> None:
        """Run the value's own checks, record each outcome, then report failed fail-checks."""
        found = rule.contract.run_checks(value, rule.name)
        outcomes = [
            CheckOutcome(
                self.node.name,
                rule.name,
                check.message,
                check.importance,
                passed=violation is None,
                path=None if violation is None else violation.path,
                actual=None if violation is None else violation.actual,
            )
            for check, violation in found
        ]
        record_checks(self.node, self.position, outcomes)
        for check, violation in found:
            if violation is not None and check.importance == "fail":
                self.report(violation, rule.name)

    def arguments(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        """Check the arguments of one call."""
        for index, rule in self.positional:
            self.check(args[index], rule)
        for rule in self.keyword:
            self.check(kwargs[rule.name], rule)

    def result(self, output: Any) -> None:
        """Check what one call returned."""
        if self.returns is not None:
            self.check(output, self.returns)


def check_given_output(node: VertexNode, value: Any, mode: str) -> None:
    """Check a value given for ``node``'s output (``run(overrides=...)``, a restored one)
    like a result: for a mapped vertex, each of its calls' results, in the (nested, for a
    product) lists they make."""
    mode = node.options.contracts or mode
    if mode == "off" or node.contracts is None or node.contracts.returns is None:
        return
    map_over = node.options.map_over
    depth = 0 if map_over is None else map_over.depth
    violation = _check_results(node.contracts.returns, value, depth, "return")
    if violation is not None:
        _reporter(node, mode)(violation, "return")


def _check_results(returns: Contract, value: Any, depth: int, path: str) -> Violation | None:
    if not depth:
        return returns.check(value, path)
    if not isinstance(value, list):
        return Violation(path, "list (one result per element)", describe(value))
    for i, item in enumerate(value):
        violation = _check_results(returns, item, depth - 1, f"{path}[{i}]")
        if violation is not None:
            return violation
    return None


def step_checks(step: Step, mode: str) -> StepChecks | None:
    """The checks of ``step`` under the run's ``mode`` (its own mode wins), or ``None``."""
    mode = step.node.options.contracts or mode
    contracts = step.node.contracts
    if mode == "off" or contracts is None:
        return None
    return StepChecks(step, mode, contracts)


def _checked(step: Step, mode: str) -> Invoker | None:
    checks = step_checks(step, mode)
    if checks is None:
        return None
    check, returns = checks.check, checks.returns
    function, fetch, unary = step.function, step.fetch, step.unary

    if fetch is not None and len(checks.positional) <= 1 and not step.is_async:
        # The most common vertices: one whole value in (alone, or with bind=
        # constants), one out. Kept tight, since strict checking is the default
        # on every call.
        index, argument_rule = checks.positional[0] if checks.positional else (0, None)

        if unary:

            def invoke_unary(values: list[Any]) -> Any:
                argument = fetch(values)
                if argument_rule is not None and type(argument) is not argument_rule.exact:
                    check(argument, argument_rule)
                output = function(argument)
                if returns is not None and type(output) is not returns.exact:
                    check(output, returns)
                return output

            return invoke_unary

        def invoke_one_checked(values: list[Any]) -> Any:
            args = fetch(values)
            if argument_rule is not None and type(args[index]) is not argument_rule.exact:
                check(args[index], argument_rule)
            output = function(*args)
            if returns is not None and type(output) is not returns.exact:
                check(output, returns)
            return output

        return invoke_one_checked

    def arguments(values: list[Any]) -> tuple[Sequence[Any], dict[str, Any]]:
        if fetch is not None:
            args: Sequence[Any] = (fetch(values),) if unary else fetch(values)
            kwargs: dict[str, Any] = {}
        else:
            args, kwargs = gather(step, values)
        checks.arguments(args, kwargs)
        return args, kwargs

    if step.is_async:

        async def invoke_async(values: list[Any]) -> Any:
            args, kwargs = arguments(values)
            awaitable: Awaitable[Any] = function(*args, **kwargs)
            output = await awaitable
            checks.result(output)
            return output

        return invoke_async

    def invoke(values: list[Any]) -> Any:
        args, kwargs = arguments(values)
        output = function(*args, **kwargs)
        checks.result(output)
        return output

    return invoke


def checked_invokers(plan: Plan, mode: str) -> tuple[Invoker | None, ...]:
    """Per step of ``plan``: the checked invoker under contracts ``mode``, or ``None``
    (built once per plan and mode: ``call_plan.call_plan``)."""
    return tuple(_checked(step, mode) for step in plan.steps)
