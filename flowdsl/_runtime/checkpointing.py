"""A run's checkpoint: what a resumed run restores, and recording each output as it completes.

Resuming restores a recorded vertex only when its fingerprint is unchanged
(its code, its bindings, its annotations: ``vertex_fingerprint``), it is
not overridden, and everything it reads was restored too: a vertex that
changed re-runs, and so does everything downstream of it. Restored
vertices are given to the run like ``overrides``, so what only they needed
does not run either.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from .._model.graph import Graph, VertexNode
from .._services.checkpoints import SERIALIZERS, CheckpointStore, StoredOutput
from .._services.vertex_fingerprint import vertex_fingerprint
from ..errors import CheckpointError

__all__ = ["Checkpoint", "PreparedCheckpoint", "resume_checkpoint", "start_checkpoint"]


class Checkpoint:
    """Writes a run's completed outputs to its checkpoint file."""

    def __init__(
        self, store: CheckpointStore, run_id: str, fingerprints: Mapping[str, str]
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.fingerprints = fingerprints

    def record(self, node: VertexNode, value: Any, *, committed: bool = False) -> None:
        """Write ``node``'s output now; a failure names the vertex.

        A vertex of an atomic group is written only when its group has
        ``committed``.
        """
        if node.options.group is not None and not committed:
            return
        try:
            self.store.record(self.run_id, node.name, self.fingerprints[node.name], value)
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


def start_checkpoint(
    graph: Graph,
    path: str | os.PathLike[str],
    run_id: str,
    inputs: Mapping[str, Any],
    *,
    serializer: str,
    secret: str | bytes | None,
) -> Checkpoint:
    """Open (or create) the checkpoint file and begin run ``run_id`` afresh in it.

    Raises:
        CheckpointError: the file cannot be used, or an input cannot be stored.
    """
    store = CheckpointStore(path, serializer, secret, create=True)
    try:
        store.start(run_id, _fingerprint(graph), inputs)
    except BaseException:
        store.close()
        raise
    return Checkpoint(store, run_id, _fingerprints(graph))


def resume_checkpoint(
    graph: Graph,
    path: str | os.PathLike[str],
    run_id: str,
    *,
    inputs: Mapping[str, Any] | None,
    overridden: Collection[str],
    serializer: str,
    secret: str | bytes | None,
) -> PreparedCheckpoint:
    """Load run ``run_id`` from the checkpoint file, to resume it.

    Raises:
        CheckpointError: the file cannot be used; the run is not there, was
            started with other inputs, or has records that do not verify.
    """
    store = CheckpointStore(path, serializer, secret)
    try:
        stored_inputs, outputs = store.load(run_id)
        if inputs is not None and not _same(store, dict(inputs), stored_inputs):
            raise CheckpointError(
                f"run {run_id!r} in {store.path} was started with other inputs; resume it "
                f"with the same ones (or none, to use the stored ones: "
                f"{', '.join(sorted(stored_inputs)) or 'none'}), or start a new run"
            )
        fingerprints = _fingerprints(graph)
        restored = _restorable(graph, outputs, fingerprints, overridden)
        return PreparedCheckpoint(Checkpoint(store, run_id, fingerprints), stored_inputs, restored)
    except BaseException:
        store.close()
        raise


def _fingerprints(graph: Graph) -> dict[str, str]:
    return {name: vertex_fingerprint(node) for name, node in graph.vertices.items()}


def _fingerprint(graph: Graph) -> str:
    # The vertices and what each reads: kept with the run, to tell graphs apart.
    shape = [(name, [b.ref for b in node.bindings]) for name, node in graph.vertices.items()]
    return hashlib.sha256(repr(shape).encode("utf-8")).hexdigest()


def _same(store: CheckpointStore, given: dict[str, Any], stored: dict[str, Any]) -> bool:
    # Equal, or written alike (values whose == is not a bool, such as arrays).
    try:
        if bool(given == stored):
            return True
    except Exception:
        pass
    dumps, _ = SERIALIZERS[store.serializer]
    try:
        return dumps(given) == dumps(stored)
    except Exception:
        return False


def _restorable(
    graph: Graph,
    outputs: Mapping[str, StoredOutput],
    fingerprints: Mapping[str, str],
    overridden: Collection[str],
) -> dict[str, Any]:
    restored: dict[str, Any] = {}
    for name in graph.order:  # upstream first
        stored = outputs.get(name)
        if stored is None or stored.code != fingerprints[name] or name in overridden:
            continue
        if all(parent in restored for parent in graph.vertices[name].upstream):
            restored[name] = stored.value
    return restored
