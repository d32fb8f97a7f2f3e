"""Compile each vertex's annotations into contract checks, once, at compile time.

An annotation that cannot be fully checked is a ``ContractWarning`` pointing
at the vertex's ``def`` line: never silently ignored.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
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
        self._memo: dict[tuple[Any, int | None], Contract | None] = {}
        self._warnings: list[tuple[str, VertexSpec]] = []

    def warn(self) -> None:
        """Issue the warnings collected so far, each at its vertex's ``def`` line."""
        for message, spec in self._warnings:
            warnings.warn_explicit(message, ContractWarning, spec.location.file, spec.location.line)
        self._warnings.clear()

    def _contract(self, spec: VertexSpec, annotation: Any) -> Contract | None:
        # The same annotation may mean other classes where other local names are
        # seen: the memo is per local namespace (vertices made from one local
        # function by vertex.expand share theirs).
        key = (annotation, id(spec.local_names) if spec.local_names else None)
        try:
            return self._memo[key]
        except KeyError:
            contract = self._memo[key] = compile_contract(annotation, spec.local_names or None)
            return contract
        except TypeError:  # an unhashable annotation (Annotated with unhashable metadata)
            return compile_contract(annotation, spec.local_names or None)

    def _checked(self, spec: VertexSpec, name: str, annotation: Any) -> Contract | None:
        if annotation is NO_DEFAULT:
            return None
        contract = self._contract(spec, annotation)
        if contract is not None and contract.unsupported:
            what = "the return value" if name == "return" else repr(name)
            self._warnings.append(
                (
                    f"vertex {spec.name!r}, {what}: cannot check "
                    f"{', '.join(contract.unsupported)} at run time; those parts are let through",
                    spec,
                )
            )
        return contract

    def build(
        self, spec: VertexSpec, bindings: Iterable[Binding], returns: Any
    ) -> VertexContracts[Contract] | None:
        """The checks of one vertex; ``None`` when it has nothing to check or checks are off."""
        if spec.options.contracts == "off":
            return None
        parameters = {}
        for binding in bindings:
            # A transaction is the backend's own object, whatever its annotation says.
            if binding.annotation is NO_DEFAULT or binding.transaction:
                continue
            contract = self._checked(spec, binding.parameter, binding.annotation)
            if contract is not None:
                parameters[binding.parameter] = contract
        returned = self._checked(spec, "return", returns)
        if not parameters and returned is None:
            return None
        return VertexContracts(parameters, returned)
