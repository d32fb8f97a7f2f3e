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

import contextlib

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

# Show public names as flowdsl.X in reprs, tracebacks and docs (errors keep flowdsl.errors).
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("flowdsl._"):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "flowdsl"
del _name, _obj
