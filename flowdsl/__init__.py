"""flowdsl: decorate plain functions, get a dataflow graph.

The public API, by layer (each depends only on the ones above it)::

    dsl        vertex, From, Input, Check, Previous  mark functions and bindings
               vertex(fn, bind=...), vertex.expand  many vertices from one function
               Columns                             a DataFrame's columns and dtypes
               RetryPolicy                         how a failing vertex is retried
               AtomicGroup, Transaction            vertices that commit or roll back together
    compiler   compile, Flow.from_module           build and check the graph
    model      Graph, VertexNode, Binding, ...     the immutable compiled graph
    runtime    Flow.run / Flow.arun / Flow.start   plan once, run on a backend
    settings   configure, settings, Settings       run options: call > configure > env > default
    caching    MemoryCache, SQLiteCache, CacheStore  where pure results are kept
    results    RunResult, VertexState, metrics     what a run returns
               Timeline, Span                      what ran when and where (result.timeline)
               CheckOutcome                        what each Check found (result.checks)
    events     Listener, RunStarted, VertexEnded, ...  what a run tells its listeners
    errors     FlowDSLError and its tree           see ``flowdsl.errors``
    fingerprint  register(type, fn)                cache keys for your own types

Everything importable from a private module (``flowdsl._x``) is internal.
"""

from __future__ import annotations

import importlib
import sys

#: ``typing.TYPE_CHECKING``, without importing ``typing`` (type checkers know the name).
TYPE_CHECKING = False

# A script pays for what it uses: each public name is imported from its module
# on first access (PEP 562), so ``import flowdsl`` alone loads no other module,
# and ``flowdsl.vertex`` loads the DSL without the runtime. Type checkers and
# documentation read the imports below; ``_WHERE`` says the same to Python
# (a test checks that the two agree).
if TYPE_CHECKING:
    from . import errors as errors
    from . import fingerprint as fingerprint
    from ._checks import CheckOutcome
    from ._columns import Columns
    from ._dsl import vertex
    from ._events import (
        CacheHit,
        Event,
        Listener,
        RunEnded,
        RunStarted,
        VertexEnded,
        VertexErrored,
        VertexRetrying,
        VertexSkipped,
        VertexStarted,
    )
    from ._flow import Flow, compile
    from ._groups import AtomicGroup, TransactionBackend
    from ._handle import RunHandle
    from ._lineage import Lineage, Trace, TraceEdge, TraceStep
    from ._location import SourceLocation
    from ._mapping import MapOver, product
    from ._markers import Check, From, Input, Previous, Transaction
    from ._metrics import RunMetrics, VertexMetrics
    from ._model.graph import Binding, FlowInput, Graph, InputConsumer, VertexNode
    from ._options import Settings
    from ._policies import RetryPolicy
    from ._report.timeline import Span, Timeline
    from ._result import RunResult, VertexState
    from ._run_keywords import RunKeywords
    from ._services.cache import CacheStats, CacheStore, MemoryCache, SQLiteCache
    from ._services.checkpoints import CheckpointStore, RunRecord
    from ._services.transactions import MemoryTransaction, SQLiteTransaction
    from ._settings import EffectiveSettings, SettingValue, configure, settings
    from ._subflow import SubFlow
    from .errors import (
        ArgumentTypeError,
        BindingError,
        CacheFileError,
        CacheWarning,
        CheckpointError,
        CompileError,
        ContractViolation,
        ContractWarning,
        CycleError,
        DataResolutionError,
        DuplicateVertexError,
        FlowCancelled,
        FlowDSLError,
        FlowDSLWarning,
        GroupError,
        InvalidVertexError,
        IterationLimitError,
        MissingAndUnknownInputError,
        MissingInputError,
        RollbackFailed,
        SettingsError,
        TypeMismatchError,
        UnknownInputError,
        VertexFailed,
        VertexTimeout,
    )

__version__ = "0.1.0"

__all__ = [
    "ArgumentTypeError",
    "AtomicGroup",
    "Binding",
    "BindingError",
    "CacheFileError",
    "CacheHit",
    "CacheStats",
    "CacheStore",
    "CacheWarning",
    "Check",
    "CheckOutcome",
    "CheckpointError",
    "CheckpointStore",
    "Columns",
    "CompileError",
    "ContractViolation",
    "ContractWarning",
    "CycleError",
    "DataResolutionError",
    "DuplicateVertexError",
    "EffectiveSettings",
    "Event",
    "Flow",
    "FlowCancelled",
    "FlowDSLError",
    "FlowDSLWarning",
    "FlowInput",
    "From",
    "Graph",
    "GroupError",
    "Input",
    "InputConsumer",
    "InvalidVertexError",
    "IterationLimitError",
    "Lineage",
    "Listener",
    "MapOver",
    "MemoryCache",
    "MemoryTransaction",
    "MissingAndUnknownInputError",
    "MissingInputError",
    "Previous",
    "RetryPolicy",
    "RollbackFailed",
    "RunEnded",
    "RunHandle",
    "RunKeywords",
    "RunMetrics",
    "RunRecord",
    "RunResult",
    "RunStarted",
    "SQLiteCache",
    "SQLiteTransaction",
    "SettingValue",
    "Settings",
    "SettingsError",
    "SourceLocation",
    "Span",
    "SubFlow",
    "Timeline",
    "Trace",
    "TraceEdge",
    "TraceStep",
    "Transaction",
    "TransactionBackend",
    "TypeMismatchError",
    "UnknownInputError",
    "VertexEnded",
    "VertexErrored",
    "VertexFailed",
    "VertexMetrics",
    "VertexNode",
    "VertexRetrying",
    "VertexSkipped",
    "VertexStarted",
    "VertexState",
    "VertexTimeout",
    "compile",
    "configure",
    "product",
    "settings",
    "vertex",
]

#: The module that defines each public name (relative to this package).
_WHERE: dict[str, tuple[str, ...]] = {
    "._checks": ("CheckOutcome",),
    "._columns": ("Columns",),
    "._dsl": ("vertex",),
    "._events": (
        "CacheHit",
        "Event",
        "Listener",
        "RunEnded",
        "RunStarted",
        "VertexEnded",
        "VertexErrored",
        "VertexRetrying",
        "VertexSkipped",
        "VertexStarted",
    ),
    "._flow": ("Flow", "compile"),
    "._groups": ("AtomicGroup", "TransactionBackend"),
    "._handle": ("RunHandle",),
    "._lineage": ("Lineage", "Trace", "TraceEdge", "TraceStep"),
    "._location": ("SourceLocation",),
    "._mapping": ("MapOver", "product"),
    "._markers": ("Check", "From", "Input", "Previous", "Transaction"),
    "._metrics": ("RunMetrics", "VertexMetrics"),
    "._model.graph": ("Binding", "FlowInput", "Graph", "InputConsumer", "VertexNode"),
    "._options": ("Settings",),
    "._policies": ("RetryPolicy",),
    "._report.timeline": ("Span", "Timeline"),
    "._result": ("RunResult", "VertexState"),
    "._run_keywords": ("RunKeywords",),
    "._services.cache": ("CacheStats", "CacheStore", "MemoryCache", "SQLiteCache"),
    "._services.checkpoints": ("CheckpointStore", "RunRecord"),
    "._services.transactions": ("MemoryTransaction", "SQLiteTransaction"),
    "._settings": ("EffectiveSettings", "SettingValue", "configure", "settings"),
    "._subflow": ("SubFlow",),
    ".errors": (
        "ArgumentTypeError",
        "BindingError",
        "CacheFileError",
        "CacheWarning",
        "CheckpointError",
        "CompileError",
        "ContractViolation",
        "ContractWarning",
        "CycleError",
        "DataResolutionError",
        "DuplicateVertexError",
        "FlowCancelled",
        "FlowDSLError",
        "FlowDSLWarning",
        "GroupError",
        "InvalidVertexError",
        "IterationLimitError",
        "MissingAndUnknownInputError",
        "MissingInputError",
        "RollbackFailed",
        "SettingsError",
        "TypeMismatchError",
        "UnknownInputError",
        "VertexFailed",
        "VertexTimeout",
    ),
}

#: The public submodules, imported on first access like the names.
_SUBMODULES = frozenset({"errors", "fingerprint"})
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def _import_public(name: str) -> object:
    """The public ``name``, imported from its module and kept as this package's attribute."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    _show_as_public()
    globals()[name] = value
    return value


#: The modules of ``_WHERE`` whose public names ``_show_as_public`` has seen.
_SHOWN: set[str] = set()


def _show_as_public() -> None:
    """Show the public names of every module loaded so far as flowdsl.X in reprs,
    tracebacks, pickles and docs (errors keep flowdsl.errors).

    Every module imported with the one asked for is done too, so that a
    result's class reads ``flowdsl.RunResult`` though only ``flowdsl.Flow``
    was read.
    """
    for module, names in _WHERE.items():
        loaded = sys.modules.get(__name__ + module)
        if loaded is None or module in _SHOWN:
            continue
        _SHOWN.add(module)
        for name in names:
            value = getattr(loaded, name)
            if getattr(value, "__module__", "").startswith("flowdsl._"):
                try:  # noqa: SIM105 (contextlib would be this module's only other import)
                    value.__module__ = __name__
                except (AttributeError, TypeError):
                    pass


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})


# Hidden from type checkers, which would otherwise type every unknown attribute as Any.
if not TYPE_CHECKING:
    __getattr__ = _import_public
