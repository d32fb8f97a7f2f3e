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
    """Builds ``VertexContracts``, compiling each distinct annotation only once."""

    def __init__(self) -> None:
        self._memo: dict[Any, Contract | None] = {}

    def _contract(self, spec: VertexSpec, annotation: Any) -> Contract | None:
        if spec.local_names:  # the same annotation may mean other classes elsewhere
            return compile_contract(annotation, spec.local_names)
        try:
            return self._memo[annotation]
        except KeyError:
            contract = self._memo[annotation] = compile_contract(annotation)
            return contract
        except TypeError:  # an unhashable annotation (Annotated with unhashable metadata)
            return compile_contract(annotation)

    def _checked(self, spec: VertexSpec, name: str, annotation: Any) -> Contract | None:
        if annotation is NO_DEFAULT:
            return None
        contract = self._contract(spec, annotation)
        if contract is not None and contract.unsupported:
            warnings.warn_explicit(
                f"vertex {spec.name!r}, {'the return value' if name == 'return' else repr(name)}"
                f": cannot check {', '.join(contract.unsupported)} at run time; "
                "those parts are let through",
                ContractWarning,
                spec.location.file,
                spec.location.line,
            )
        return contract

    def build(
        self, spec: VertexSpec, bindings: Iterable[Binding], returns: Any
    ) -> VertexContracts | None:
        """The checks of one vertex; ``None`` when it has nothing to check or checks are off."""
        if spec.contracts == "off":
            return None
        parameters = {}
        for binding in bindings:
            contract = self._checked(spec, binding.parameter, binding.annotation)
            if contract is not None:
                parameters[binding.parameter] = contract
        contracts = VertexContracts(parameters, self._checked(spec, "return", returns))
        return contracts if contracts else None
