"""flowdsl: decorate plain functions, get a dataflow graph.

The public API, by layer (each depends only on the ones above it)::

    dsl        vertex, From, Check                 mark functions and bindings
    compiler   compile, Flow.from_module           build and check the graph
    model      Graph, VertexNode, Binding, ...     the immutable compiled graph
    runtime    Flow.run / Flow.arun / Flow.start   plan once, run on a backend
    settings   configure, settings, Settings       run options: call > configure > env > default
    caching    MemoryCache, SQLiteCache, CacheStore  where pure results are kept
    results    RunResult, VertexState, metrics     what a run returns
    errors     FlowDSLError and its tree           see ``flowdsl.errors``

Everything importable from a private module (``flowdsl._x``) is internal.
"""

import contextlib

from ._dsl import vertex
from ._flow import Flow, compile
from ._handle import RunHandle
from ._lineage import Lineage, Trace, TraceEdge, TraceStep
from ._location import SourceLocation
from ._markers import Check, From
from ._metrics import RunMetrics, VertexMetrics
from ._model.graph import Binding, FlowInput, Graph, InputConsumer, VertexNode
from ._result import RunResult, VertexState
from ._runtime.options import Settings
from ._services.cache import CacheStats, CacheStore, MemoryCache, SQLiteCache
from ._settings import EffectiveSettings, SettingValue, configure, settings
from .errors import (
    BindingError,
    CacheWarning,
    CompileError,
    ContractViolation,
    ContractWarning,
    CycleError,
    DataResolutionError,
    DuplicateVertexError,
    FlowCancelled,
    FlowDSLError,
    FlowDSLWarning,
    InvalidVertexError,
    MissingInputError,
    SettingsError,
    TypeMismatchError,
    UnknownInputError,
    VertexFailed,
    VertexTimeout,
)

__version__ = "0.1.0"

__all__ = [
    "Binding",
    "BindingError",
    "CacheStats",
    "CacheStore",
    "CacheWarning",
    "Check",
    "CompileError",
    "ContractViolation",
    "ContractWarning",
    "CycleError",
    "DataResolutionError",
    "DuplicateVertexError",
    "EffectiveSettings",
    "Flow",
    "FlowCancelled",
    "FlowDSLError",
    "FlowDSLWarning",
    "FlowInput",
    "From",
    "Graph",
    "InputConsumer",
    "InvalidVertexError",
    "Lineage",
    "MemoryCache",
    "MissingInputError",
    "RunHandle",
    "RunMetrics",
    "RunResult",
    "SQLiteCache",
    "SettingValue",
    "Settings",
    "SettingsError",
    "SourceLocation",
    "Trace",
    "TraceEdge",
    "TraceStep",
    "TypeMismatchError",
    "UnknownInputError",
    "VertexFailed",
    "VertexMetrics",
    "VertexNode",
    "VertexState",
    "VertexTimeout",
    "compile",
    "configure",
    "settings",
    "vertex",
]

# Show public names as flowdsl.X in reprs, tracebacks and docs (errors keep flowdsl.errors).
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("flowdsl._"):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "flowdsl"
del _name, _obj
