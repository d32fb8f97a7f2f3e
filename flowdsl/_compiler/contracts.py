"""Compile each vertex's annotations into contract checks, once, at compile time.

An annotation that cannot be fully checked is a ``ContractWarning`` pointing
at the vertex's ``def`` line: never silently ignored.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from .._dsl import VertexSpec
from .._model.graph import NO_DEFAULT, Binding, VertexContracts
from .._services.contracts import Contract, compile_contract
from ..errors import ContractWarning

__all__ = ["ContractCompiler"]


class ContractCompiler:
    """Builds ``VertexContracts``, compiling each distinct annotation only once.

    Warnings about annotations it cannot check wait until ``warn()``: a
    graph that fails to compile does not also warn.
    """

    def __init__(self) -> None:
        # Per local namespace (``None``: the module's), each annotation's contract.
        # The same annotation may mean other classes where other local names are
        # seen; vertices made from one local function by vertex.expand share theirs.
        self._memos: dict[int | None, dict[Any, Contract | None]] = {}
        self._warnings: list[tuple[str, VertexSpec]] = []

    def warn(self) -> None:
        """Issue the warnings collected so far, each at its vertex's ``def`` line."""
        for message, spec in self._warnings:
            warnings.warn_explicit(message, ContractWarning, spec.location.file, spec.location.line)
        self._warnings.clear()

    def build(
        self, spec: VertexSpec, bindings: Iterable[Binding], returns: Any
    ) -> VertexContracts[Contract] | None:
        """The checks of one vertex; ``None`` when it has nothing to check or checks are off."""
        if spec.options.contracts == "off":
            return None
        local_names = spec.local_names or None
        key = None if local_names is None else id(local_names)
        try:
            memo = self._memos[key]
        except KeyError:
            memo = self._memos[key] = {}
        # Most vertices check one parameter: it waits in ``name``/``first`` for a second.
        name = ""
        first: Contract | None = None
        parameters: dict[str, Contract] | None = None
        for binding in bindings:
            annotation = binding.annotation
            # A transaction is the backend's own object, whatever its annotation says.
            if annotation is NO_DEFAULT or binding.transaction:
                continue
            try:  # ``_contract``, inlined for the usual hit
                contract = memo[annotation]
            except (KeyError, TypeError):
                contract = _contract(memo, annotation, local_names)
            if contract is not None:
                if contract.unsupported:
                    self._unsupported(spec, repr(binding.parameter), contract)
                if first is None:
                    name, first = binding.parameter, contract
                elif parameters is None:
                    parameters = {name: first, binding.parameter: contract}
                else:
                    parameters[binding.parameter] = contract
        if returns is NO_DEFAULT:
            returned = None
        else:
            try:
                returned = memo[returns]
            except (KeyError, TypeError):
                returned = _contract(memo, returns, local_names)
            if returned is not None and returned.unsupported:
                self._unsupported(spec, "the return value", returned)
        if parameters is not None:
            return VertexContracts.taking(parameters, returned)
        if first is not None:
            return VertexContracts.one(name, first, returned)
        return None if returned is None else VertexContracts({}, returned)

    def _unsupported(self, spec: VertexSpec, what: str, contract: Contract) -> None:
        self._warnings.append(
            (
                f"vertex {spec.name!r}, {what}: cannot check "
                f"{', '.join(contract.unsupported)} at run time; those parts are let through",
                spec,
            )
        )


def _contract(
    memo: dict[Any, Contract | None], annotation: Any, local_names: Mapping[str, Any] | None
) -> Contract | None:
    try:
        return memo[annotation]
    except KeyError:
        contract = memo[annotation] = compile_contract(annotation, local_names)
        return contract
    except TypeError:  # an unhashable annotation (Annotated with unhashable metadata)
        return compile_contract(annotation, local_names)
