"""A run's checkpoint: what a resumed run restores, and recording each output as it completes.

Resuming restores a recorded vertex only when its code is unchanged (the same
fingerprint as when it was recorded) and everything it reads was restored
too: a vertex whose code changed re-runs, and so does everything downstream
of it. Restored vertices are given to the run like ``overrides``, so what
only they needed does not run either.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from .._model.graph import Graph, VertexNode
from .._services.checkpoints import SERIALIZERS, CheckpointStore, StoredOutput
from .._services.fingerprint import Unfingerprintable, fingerprint_code, fingerprint_value
from ..errors import CheckpointError

__all__ = ["Checkpoint", "PreparedCheckpoint", "prepare_checkpoint"]


def _code(node: VertexNode) -> str:
    # The vertex's code, version and bind= constants: a change to any re-runs it.
    try:
        code = fingerprint_code(node.function)
        constants = [
            (b.parameter, fingerprint_value(b.constant)) for b in node.bindings if b.is_constant
        ]
    except Unfingerprintable:
        # Never matches a recorded one: such a vertex always runs again.
        return f"unfingerprintable:{uuid.uuid4().hex}"
    if constants:
        code += ":" + hashlib.sha256(repr(constants).encode()).hexdigest()[:32]
    return f"{code}:{node.options.version or ''}"


class Checkpoint:
    """Writes a run's completed outputs to its checkpoint file."""

    def __init__(self, store: CheckpointStore, run_id: str, codes: Mapping[str, str]) -> None:
        self.store = store
        self.run_id = run_id
        self.codes = codes

    def record(self, node: VertexNode, value: Any, *, committed: bool = False) -> None:
        """Write ``node``'s output now; a failure names the vertex.

        A vertex of an atomic group is written only when its group has
        ``committed``.
        """
        if node.options.group is not None and not committed:
            return
        try:
            self.store.record(self.run_id, node.name, self.codes[node.name], value)
        except CheckpointError as exc:
            raise CheckpointError(
                exc.message, vertex=node.name, parameter="return", location=node.location
            ) from exc.__cause__

    def close(self) -> None:
        """Close the file."""
        self.store.close()


@attrs.frozen
class PreparedCheckpoint:
    """What a checkpointed run starts from."""

    checkpoint: Checkpoint
    inputs: Mapping[str, Any]
    restored: Mapping[str, Any]


def prepare_checkpoint(
    graph: Graph,
    path: str | os.PathLike[str],
    run_id: str,
    *,
    resume: bool,
    inputs: Mapping[str, Any] | None,
    serializer: str,
    secret: str | bytes | None,
) -> PreparedCheckpoint:
    """Open the checkpoint file and begin run ``run_id`` in it, or load it to resume.

    Raises:
        CheckpointError: the file cannot be used; resuming a run that is not
            there, with other inputs, or whose records do not verify.
    """
    store = CheckpointStore(path, serializer, secret)
    try:
        codes = {name: _code(node) for name, node in graph.vertices.items()}
        if not resume:
            given = dict(inputs or {})
            store.start(run_id, _fingerprint(graph), given)
            return PreparedCheckpoint(Checkpoint(store, run_id, codes), given, {})
        stored_inputs, outputs = store.load(run_id)
        if inputs is not None and not _same(store, dict(inputs), stored_inputs):
            raise CheckpointError(
                f"run {run_id!r} in {store.path} was started with other inputs; resume it "
                f"with the same ones (or none, to use the stored ones: "
                f"{', '.join(sorted(stored_inputs)) or 'none'}), or start a new run"
            )
        restored = _restorable(graph, outputs, codes)
        return PreparedCheckpoint(Checkpoint(store, run_id, codes), stored_inputs, restored)
    except BaseException:
        store.close()
        raise


def _fingerprint(graph: Graph) -> str:
    # The vertices and what each reads: kept with the run, to tell graphs apart.
    shape = [(name, [b.ref for b in node.bindings]) for name, node in graph.vertices.items()]
    return hashlib.sha256(repr(shape).encode("utf-8")).hexdigest()


def _same(store: CheckpointStore, given: dict[str, Any], stored: dict[str, Any]) -> bool:
    # Equal, or equal once written (JSON turns tuples into lists).
    if given == stored:
        return True
    dumps, _ = SERIALIZERS[store.serializer]
    try:
        return dumps(given) == dumps(stored)
    except Exception:
        return False


def _restorable(
    graph: Graph, outputs: Mapping[str, StoredOutput], codes: Mapping[str, str]
) -> dict[str, Any]:
    restored: dict[str, Any] = {}
    for name in graph.order:  # upstream first
        stored = outputs.get(name)
        if stored is None or stored.code != codes[name]:
            continue
        if all(parent in restored for parent in graph.vertices[name].upstream):
            restored[name] = stored.value
    return restored
