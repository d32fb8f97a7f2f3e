"""What a step's fast path compares its values with: the exact types of its contracts.

A value whose type is exactly its annotation's class passes its contract at
once, with ``type(value) is exact``; any other goes through the step's full
checks (``checking.StepChecks``). The plan records, per step, these exact
types (its ``Exacts``), found in the same pass over the vertices that places
their arguments (``plan.build_plan``); a contracts mode then only picks which
steps are checked (``checking.PlanChecks``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._model.graph import NO_DEFAULT, Binding, VertexNode

if TYPE_CHECKING:
    from .._services.contracts import Contract

__all__ = [
    "THROUGH_INVOKER",
    "Exacts",
    "ExactsOfContracts",
    "rule_contract",
]

#: A step's contracts on the fast path: the exact type of its one argument (a unary
#: step) or its (argument index, exact type) pairs, then the exact type of its result;
#: ``None`` where nothing is checked.
Exacts = tuple[Any, "type | None"]

#: The step is checked through its invoker: it takes keyword arguments or reads
#: fields, or is a coroutine function.
THROUGH_INVOKER: Exacts = (None, None)


class _Never:
    """The exact type of a contract that has none: no value is of it, so every value
    is checked in full."""


class _ExactTypes(dict[Any, Any]):
    """Each contract's exact type (``None`` for no contract), found on first use:
    contracts are compiled once per annotation, so most steps share a few."""

    def __init__(self) -> None:
        super().__init__({None: None})

    def __missing__(self, contract: Contract) -> type:
        exact = self[contract] = contract.exact_type or _Never
        return exact


def rule_contract(binding: Binding, parameters: Mapping[str, Contract]) -> Contract | None:
    """The contract a run checks the argument of ``binding`` against, if any.

    A bind= constant met its contract at compile time, by this same check;
    only its Check(...) predicates run again, to record their outcomes.
    """
    contract = parameters.get(binding.parameter)
    if contract is None or (binding.constant is not NO_DEFAULT and not contract.checks):
        return None
    return contract


class ExactsOfContracts(dict[tuple[Any, ...], "Exacts | None"]):
    """Steps' ``Exacts`` by the contracts they check: a key is the contract of each
    argument (``None``: it has none), then the result's; found on first use.

    Contracts are compiled once per annotation, so most steps share a few keys:
    a plan finds each step's ``Exacts`` with one lookup of its key, and equal
    ``Exacts`` are one object.
    """

    __slots__ = ("_exact", "_shared")

    def __init__(self) -> None:
        super().__init__()
        self._exact = _ExactTypes()
        self._shared: dict[Exacts, Exacts] = {}

    def __missing__(self, key: tuple[Any, ...]) -> Exacts | None:
        exact = self._exact
        *arguments, returns = key
        checked: Any
        if len(arguments) == 1:  # a unary step: the exact type of its one argument
            checked = exact[arguments[0]]
        else:
            checked = tuple((i, exact[c]) for i, c in enumerate(arguments) if c is not None)
        found = None
        if checked or exact[returns] is not None:
            candidate = (checked, exact[returns])
            found = self._shared.setdefault(candidate, candidate)
        self[key] = found
        return found

    def of_step(
        self, node: VertexNode, sources: Sequence[Binding], fetch: Callable[[list[Any]], Any] | None
    ) -> Exacts | None:
        """The ``Exacts`` of a step of ``node`` when its contracts are checked (``None``:
        it checks nothing, or its vertex turned its checks off).

        ``sources`` and ``fetch`` are the step's (see ``plan.Step``).
        """
        contracts = node.contracts
        if contracts is None or node.options.contracts == "off":
            return None
        if fetch is None or node.is_async:
            return THROUGH_INVOKER
        parameters = contracts.parameters
        key = (*(rule_contract(b, parameters) for b in sources), contracts.returns)
        return self[key]
