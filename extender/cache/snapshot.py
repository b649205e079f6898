"""A snapshot source: Kubernetes objects read from YAML or JSON files into a ClusterState.

Takes what `kubectl get nodes,pods -A -o yaml` prints (a `List`), single objects, and
multi-document YAML; Node, Pod, HostAggregate, NodeResourceTopology and DeviceClass objects
are used, other kinds skipped.
A bad object is reported with its file, document and field, and nothing is half-loaded.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import yaml

from extender.cache.state import ClusterState
from extender.errors import ObjectError, SnapshotError
from extender.kube.objects import KINDS, CacheObject
from extender.model.options import Options

log = logging.getLogger(__name__)

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _documents(path: Path) -> Iterator[Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot {path}: {exc.strerror}") from None
    if path.suffix == ".json":
        try:
            yield msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise SnapshotError(f"{path}: not valid JSON: {exc}") from None
        return
    try:
        yield from yaml.load_all(raw, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise SnapshotError(f"{path}: not valid YAML: {exc}") from None


def _flatten(doc: Any, where: str) -> Iterator[tuple[str, Any]]:
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise SnapshotError(f"{where}: expected a Kubernetes object, got {type(doc).__name__}")
    if doc.get("kind", "").endswith("List") and "items" in doc:
        for i, item in enumerate(doc.get("items") or []):
            yield from _flatten(item, f"{where} items[{i}]")
        return
    yield where, doc


def read_objects(paths: Iterable[str | Path]) -> list[CacheObject]:
    """Decode every object in the files; raises SnapshotError naming the first bad one."""
    objects: list[CacheObject] = []
    skipped: Counter[str] = Counter()
    for p in paths:
        path = Path(p)
        for n, doc in enumerate(_documents(path)):
            for where, item in _flatten(doc, f"{path} document {n}"):
                kind = item.get("kind")
                cls = KINDS.get(kind) if isinstance(kind, str) else None
                if cls is None:
                    skipped[str(kind)] += 1
                    continue
                name = (item.get("metadata") or {}).get("name", "?")
                try:
                    objects.append(msgspec.convert(item, cls, strict=False))
                except msgspec.ValidationError as exc:
                    raise SnapshotError(f"{where} ({kind} {name}): {exc}") from None
    if skipped:
        log.info("snapshot: skipped objects of other kinds", extra={"kinds": dict(skipped)})
    return objects


def load_snapshot(paths: Iterable[str | Path], options: Options | None = None) -> ClusterState:
    """Build a ClusterState from snapshot files: aggregates and device classes, then nodes,
    then pods."""
    state = ClusterState(options)
    try:
        state.load(read_objects(paths))
    except ObjectError as exc:
        raise SnapshotError(f"snapshot: {exc}") from None
    return state
