"""List+watch informers that keep a ClusterState in step with the API server.

Each kind is listed with pagination, then watched with bookmarks from the list's
resourceVersion; a watch that ends is resumed from the last version seen, a 410 Gone
relists (and the relist's differences are applied, so the cache converges to what a fresh
LIST shows), and errors reconnect with capped exponential backoff. The API server sends a
bookmark about every minute, so a watch silent for longer (SILENCE_SECONDS) sits on a dead
connection, such as a half-open one after the server's host failed: it is dropped, counted
(weighbridge_watch_restarts_total, reason "silent") and the kind relisted, since events may
have been lost. A kind that may be missing (a CRD not installed, DeviceClasses on a server
without resource.k8s.io/v1 or an account not allowed to read them) is synced with nothing in
it and asked for again a minute later. Events are decoded
straight into lean structs and applied in O(1) inside the event loop, so a request always
sees a consistent view.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from extender import telemetry
from extender.cache.kubeapi import (
    DEVICE_CLASSES,
    HOST_AGGREGATES,
    NODE_RESOURCE_TOPOLOGIES,
    NODES,
    PODS,
    ApiError,
    KubeApi,
    Resource,
    WatchSilent,
)
from extender.cache.state import ClusterState
from extender.errors import ObjectError
from extender.kube.objects import (
    DeviceClass,
    HostAggregate,
    KubeObject,
    Node,
    NodeResourceTopology,
    Pod,
)
from extender.kube.pods import pod_uid

log = logging.getLogger(__name__)

T = TypeVar("T", bound=KubeObject)

#: a kind whose API is not installed: the server answers 404 Not Found
NOT_SERVED = frozenset({404})
#: ... or, for a kind the extender can do without, whose reading is not allowed (403)
NOT_SERVED_OR_FORBIDDEN = frozenset({403, 404})


class ListMeta(msgspec.Struct, rename="camel"):
    resource_version: str = ""
    # "continue" is a keyword; the API's field name is kept through rename
    continue_: str = msgspec.field(default="", name="continue")


class ObjectList(msgspec.Struct, Generic[T]):
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
    items: list[T] = []


class WatchEvent(msgspec.Struct):
    type: str
    object: msgspec.Raw


class Status(msgspec.Struct):
    code: int = 0
    reason: str = ""
    message: str = ""


class _Version(msgspec.Struct):
    class _Meta(msgspec.Struct, rename="camel"):
        resource_version: str = ""

    metadata: _Meta = msgspec.field(default_factory=_Meta)


class WatchExpired(Exception):
    """The resourceVersion we resume from is too old (410 Gone): relist."""


@dataclass(slots=True)
class Handlers(Generic[T]):
    """How one kind changes the ClusterState."""

    upsert: Callable[[T], object]
    delete: Callable[[T], object]
    keys: Callable[[], set[str]]
    key: Callable[[T], str]
    delete_key: Callable[[str], object]

    @classmethod
    def by_name(
        cls,
        upsert: Callable[[T], object],
        delete_name: Callable[[str], object],
        keys: Callable[[], set[str]],
    ) -> Handlers[T]:
        """Handlers for a cluster-scoped kind the cache keys by object name."""
        return cls(upsert, lambda o: delete_name(o.metadata.name), keys, _name, delete_name)


def _name(obj: KubeObject) -> str:
    return obj.metadata.name


class Informer(Generic[T]):
    """List, then watch, one kind for ever; `synced` once the first list is applied."""

    PAGE = 500
    WATCH_SECONDS = 300
    #: bookmarks come about every 60 s (kube-apiserver's cacher): longer silence is death
    SILENCE_SECONDS = 90.0
    BACKOFF_MAX = 30.0

    def __init__(
        self,
        api: KubeApi,
        resource: Resource,
        kind: type[T],
        handlers: Handlers[T],
        absent_on: frozenset[int] = frozenset(),
    ) -> None:
        self.api = api
        self.resource = resource
        self.kind = kind
        self.handlers = handlers
        #: statuses that mean "none of this kind here" rather than a failure to retry
        self.absent_on = absent_on
        self.absent = False
        self.synced = False
        self.resource_version = ""
        self._list_decoder: msgspec.json.Decoder[ObjectList[T]] = msgspec.json.Decoder(
            ObjectList[kind]  # type: ignore[valid-type]
        )
        self._object_decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(kind)
        self._event_decoder = msgspec.json.Decoder(WatchEvent)
        self._label = resource.plural

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                if not self.resource_version:
                    await self.relist()
                await self.watch()
                backoff = 0.5
                telemetry.WATCH_RESTARTS.labels(self._label, "closed").inc()
            except WatchExpired:
                log.info("watch expired, relisting", extra={"kind": self._label})
                telemetry.WATCH_RESTARTS.labels(self._label, "expired").inc()
                self.resource_version = ""
            except WatchSilent:
                log.warning(
                    "watch silent past its bookmarks: connection presumed dead, relisting",
                    extra={"kind": self._label, "silent_s": self.SILENCE_SECONDS},
                )
                telemetry.WATCH_RESTARTS.labels(self._label, "silent").inc()
                self.resource_version = ""
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if exc.status in self.absent_on:
                    self._mark_absent(exc)
                    await asyncio.sleep(60)
                    continue
                await self._backoff(exc, backoff)
                backoff = min(backoff * 2, self.BACKOFF_MAX)
            except Exception as exc:
                await self._backoff(exc, backoff)
                backoff = min(backoff * 2, self.BACKOFF_MAX)

    def _mark_absent(self, exc: ApiError) -> None:
        """An optional kind that is not served (or not readable) is synced with nothing in
        it: what the cache held of it goes, and the next success relists. Logged once per
        absence, a warning when it is our permissions that hide it."""
        if not self.absent:
            level = logging.WARNING if exc.status == 403 else logging.INFO
            log.log(
                level,
                "optional resource not served or not readable; running without it",
                extra={"kind": self._label, "status": exc.status, "error": exc.message},
            )
        self.absent = True
        h = self.handlers
        for stale in sorted(h.keys()):
            h.delete_key(stale)
        self.resource_version = ""
        self.synced = True
        telemetry.CACHE_SYNCED.labels(self._label).set(1)

    async def _backoff(self, exc: BaseException, delay: float) -> None:
        telemetry.WATCH_RESTARTS.labels(self._label, "error").inc()
        log.warning(
            "list/watch failed, retrying",
            extra={"kind": self._label, "error": str(exc), "retry_in_s": round(delay, 2)},
        )
        await asyncio.sleep(delay * (0.5 + random.random()))

    async def relist(self) -> None:
        """List every page, then make the cache hold exactly what was listed."""
        items: list[T] = []
        cont = ""
        version = ""
        while True:
            params = {"limit": str(self.PAGE)}
            if cont:
                params["continue"] = cont
            page = self._list_decoder.decode(await self.api.get(self.resource.path, params))
            items.extend(page.items)
            version = page.metadata.resource_version
            cont = page.metadata.continue_
            if not cont:
                break
        h = self.handlers
        listed = {h.key(obj) for obj in items}
        for stale in h.keys() - listed:
            h.delete_key(stale)
        for obj in items:
            self._apply(h.upsert, obj)
        self.resource_version = version
        self.synced = True
        self.absent = False
        telemetry.CACHE_SYNCED.labels(self._label).set(1)
        log.info("listed", extra={"kind": self._label, "count": len(items), "rv": version})

    async def watch(self) -> None:
        params = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "resourceVersion": self.resource_version,
            "timeoutSeconds": str(self.WATCH_SECONDS),
        }
        try:
            async for line in self.api.stream(self.resource.path, params, self.SILENCE_SECONDS):
                self.handle_event(line)
        except ApiError as exc:
            if exc.status == 410:
                raise WatchExpired(exc.message) from None
            raise

    def handle_event(self, line: bytes) -> None:
        event = self._event_decoder.decode(line)
        if event.type == "ERROR":
            status = msgspec.json.decode(event.object, type=Status)
            if status.code == 410:
                raise WatchExpired(status.message)
            raise ApiError("WATCH", self.resource.path, status.code, status.message)
        if event.type == "BOOKMARK":
            version = msgspec.json.decode(event.object, type=_Version).metadata.resource_version
            self.resource_version = version or self.resource_version
            return
        obj = self._object_decoder.decode(event.object)
        if event.type == "DELETED":
            self._apply(self.handlers.delete, obj)
        else:
            self._apply(self.handlers.upsert, obj)
        telemetry.WATCH_EVENTS.labels(self._label, event.type).inc()
        self.resource_version = obj.metadata.resource_version or self.resource_version

    def _apply(self, fn: Callable[[T], object], obj: T) -> None:
        """A bad object is logged and skipped; it must not stop the rest of the cache."""
        try:
            fn(obj)
        except ObjectError as exc:
            log.warning("skipped object", extra={"kind": self._label, "error": str(exc)})


def _optional(
    api: KubeApi,
    resource: Resource,
    kind: type[T],
    upsert: Callable[[T], object],
    delete: Callable[[str], object],
    keys: Callable[[], set[str]],
    absent_on: frozenset[int] = NOT_SERVED,
) -> Informer[T]:
    """An informer for a cluster-scoped kind keyed by name that may not be served (a CRD not
    installed): a cluster without it still works, and the cache is ready without it."""
    return Informer(api, resource, kind, Handlers.by_name(upsert, delete, keys), absent_on)


class LiveCache:
    """The informers for Nodes, Pods, HostAggregates, NodeResourceTopologies and
    DeviceClasses over one ClusterState."""

    def __init__(self, api: KubeApi, state: ClusterState, assume_sweep_seconds: float = 1.0):
        self.api = api
        self.state = state
        self.sweep_seconds = assume_sweep_seconds
        s = state
        pods = Handlers(
            s.upsert_pod, lambda p: s.delete_pod(pod_uid(p)), s.pod_keys, pod_uid, s.delete_pod
        )
        self.pods = Informer(api, PODS, Pod, pods)
        self.informers: list[Informer[Any]] = [
            Informer(api, NODES, Node, Handlers.by_name(s.upsert_node, s.delete_node, s.node_keys)),
            self.pods,
            _optional(
                api,
                HOST_AGGREGATES,
                HostAggregate,
                s.upsert_aggregate,
                s.delete_aggregate,
                s.aggregate_keys,
            ),
            _optional(
                api,
                NODE_RESOURCE_TOPOLOGIES,
                NodeResourceTopology,
                s.upsert_numa_topology,
                s.delete_numa_topology,
                s.numa_keys,
            ),
            # DRA (docs/filters.md, PciPassthroughFilter): an older server, or a role from
            # before the extender read DeviceClasses, leaves the device filter as it was
            _optional(
                api,
                DEVICE_CLASSES,
                DeviceClass,
                s.upsert_device_class,
                s.delete_device_class,
                s.device_class_keys,
                NOT_SERVED_OR_FORBIDDEN,
            ),
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def not_ready(self) -> str | None:
        """None once every informer has listed; else which have not."""
        missing = [i.resource.plural for i in self.informers if not i.synced]
        return f"cache not synced yet: {', '.join(missing)}" if missing else None

    async def caught_up(self, timeout: float) -> bool:
        """Wait until the pod watch has delivered every write the API server had made when
        called (a consistent read gives that resource version; etcd's versions are ordered
        integers). False when it did not within `timeout`: a quiet pod watch only moves on
        at the next event or bookmark."""
        body = await self.api.get(PODS.path, {"limit": "1"})
        target = _version_number(msgspec.json.decode(body, type=_Version).metadata.resource_version)
        deadline = time.monotonic() + timeout
        while _version_number(self.pods.resource_version) < target:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def start(self) -> None:
        for informer in self.informers:
            telemetry.CACHE_SYNCED.labels(informer.resource.plural).set(0)
            self._tasks.append(asyncio.create_task(informer.run()))
        self._tasks.append(asyncio.create_task(self._sweep()))

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            expired = self.state.expire_assumptions()
            self.state.expire_failures()
            if expired:
                telemetry.ASSUMPTIONS_EXPIRED.inc(expired)
            telemetry.ASSUMED_PODS.set(len(self.state.assumed))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


def _version_number(version: str) -> int:
    """A resource version as the integer etcd makes it; -1 when it is not one."""
    return int(version) if version.isdigit() else -1
