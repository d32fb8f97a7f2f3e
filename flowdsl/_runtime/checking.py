"""Contract checks around a step's call: arguments before it, the return value after.

For each contracts mode a plan gets, once, its ``PlanChecks``: per step, the
exact types its fast path compares values with, and on first use its
invoker: a function that gathers the arguments, checks them, calls, and
checks the result; or ``None`` where there is nothing to check, so the
caller keeps its fast path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from .._checks import CheckOutcome
from .._model.graph import NO_DEFAULT, VertexContracts, VertexNode
from .._services.contracts import Contract, Violation, describe
from ..errors import ContractViolation
from .check_log import record_checks
from .exacts import THROUGH_INVOKER, Exacts, rule_contract
from .logs import log_extra, logger
from .plan import Plan, Step, gather

__all__ = [
    "NO_KEYWORDS",
    "Invoker",
    "PlanChecks",
    "StepChecks",
    "check_given_output",
    "step_checks",
]

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
        rules = {
            b.parameter: _Check(b.parameter, contract, b.default)
            for b in step.sources
            if (contract := rule_contract(b, contracts.parameters)) is not None
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


#: The keyword arguments of a step that takes none.
NO_KEYWORDS: Mapping[str, Any] = {}


class PlanChecks:
    """The contract checks of a plan's steps under one contracts mode (a step's own mode
    wins), built once per plan and mode (``call_plan.call_plan``).

    ``exacts`` says per step what its fast path compares (see ``Exacts``): the
    serial loop makes those comparisons itself. The rest is built on first
    use: a step's ``StepChecks`` the first time one of its values needs more
    than the exact-type test (most never do), and its invoker (a function
    that gathers the arguments, checks them, calls, and checks the result)
    when a scheduler asks for it.
    """

    __slots__ = ("_cached", "_found", "_invokers", "_one", "exacts", "mode", "plan")

    def __init__(self, plan: Plan, mode: str) -> None:
        self.plan = plan
        self.mode = mode
        # The plan has each step's ``Exacts`` for when its contracts are checked, and
        # None for a vertex that turned its own off; a run with contracts off checks
        # only the vertices that turned theirs on.
        self.exacts = (
            plan.exacts
            if mode != "off"
            else tuple(
                None if node.options.contracts is None else exacts
                for node, exacts in zip(plan.nodes, plan.exacts, strict=True)
            )
        )
        self._found: dict[int, StepChecks] = {}
        self._one: dict[int, Invoker | None] = {}
        self._invokers: tuple[Invoker | None, ...] | None = None
        self._cached: tuple[Exacts | None, ...] | None = None

    @property
    def exacts_with_cache(self) -> tuple[Exacts | None, ...]:
        """``exacts`` for a run with a cache: the pure steps go through their invokers,
        which look the cache up first (built on first use, then kept)."""
        if self._cached is None:
            self._cached = tuple(
                THROUGH_INVOKER if node.options.pure else exacts
                for node, exacts in zip(self.plan.nodes, self.exacts, strict=True)
            )
        return self._cached

    def of(self, step: Step) -> StepChecks:
        """The checks of ``step`` (built on first use)."""
        checks = self._found.get(step.position)
        if checks is None:
            contracts = step.node.contracts
            assert contracts is not None  # steps without contracts are never checked
            mode = step.node.options.contracts or self.mode
            checks = self._found[step.position] = StepChecks(step, mode, contracts)
        return checks

    def invoker(self, position: int) -> Invoker | None:
        """Step ``position``'s checked invoker, or ``None`` where nothing is checked
        (``Step.invoke`` will do)."""
        if self._invokers is not None:
            return self._invokers[position]
        if position not in self._one:
            self._one[position] = self._invoker(position)
        return self._one[position]

    @property
    def invokers(self) -> tuple[Invoker | None, ...]:
        """Every step's ``invoker`` (built on first use, then kept)."""
        if self._invokers is None:
            self._invokers = tuple(self.invoker(p) for p in range(len(self.exacts)))
        return self._invokers

    def _invoker(self, position: int) -> Invoker | None:
        exacts = self.exacts[position]
        if exacts is None:
            return None
        step = self.plan.step(position)
        if exacts is THROUGH_INVOKER:
            return _general(step, self.of(step))
        assert step.fetch is not None  # steps with exacts take whole values by position
        make = _unary_invoker if step.unary else _tuple_invoker
        return make(step.fetch, step.function, *exacts, step, self)


def _unary_invoker(
    fetch: Callable[[list[Any]], Any],
    function: Callable[..., Any],
    aexact: type | None,
    rexact: type | None,
    step: Step,
    checks: PlanChecks,
) -> Invoker:
    # What the invoker reads are its defaults: local variables to it, the fastest
    # to read, and lighter than a closure's cells.
    def invoke_unary(
        values: list[Any],
        fetch: Callable[[list[Any]], Any] = fetch,
        function: Callable[..., Any] = function,
        aexact: type | None = aexact,
        rexact: type | None = rexact,
        step: Step = step,
        checks: PlanChecks = checks,
    ) -> Any:
        argument = fetch(values)
        if aexact is not None and type(argument) is not aexact:
            checks.of(step).arguments((argument,), NO_KEYWORDS)
        output = function(argument)
        if rexact is not None and type(output) is not rexact:
            checks.of(step).result(output)
        return output

    return invoke_unary


def _tuple_invoker(
    fetch: Callable[[list[Any]], Any],
    function: Callable[..., Any],
    exacts: tuple[tuple[int, type], ...],
    rexact: type | None,
    step: Step,
    checks: PlanChecks,
) -> Invoker:
    # As ``_unary_invoker``; ``exacts`` (argument index, exact type) is shared by the
    # steps whose checked arguments are alike.
    def invoke_checked(
        values: list[Any],
        fetch: Callable[[list[Any]], Any] = fetch,
        function: Callable[..., Any] = function,
        exacts: tuple[tuple[int, type], ...] = exacts,
        rexact: type | None = rexact,
        step: Step = step,
        checks: PlanChecks = checks,
    ) -> Any:
        args = fetch(values)
        for index, exact in exacts:
            if type(args[index]) is not exact:
                checks.of(step).arguments(args, NO_KEYWORDS)
                break
        output = function(*args)
        if rexact is not None and type(output) is not rexact:
            checks.of(step).result(output)
        return output

    return invoke_checked


def _general(step: Step, checks: StepChecks) -> Invoker:
    # Keyword arguments, field reads, or a coroutine function.
    function, fetch, unary = step.function, step.fetch, step.unary

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
