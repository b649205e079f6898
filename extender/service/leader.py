"""One active replica at a time: a coordination.k8s.io Lease, as kube-scheduler's own.

Replicas answer from their own cache and their own assumptions, so two answering at once
can place two pods on the same free capacity (docs/replicas.md has the measurements). Every
replica keeps its cache synced; the one holding the Lease answers, the others are warm
standbys that answer every pod with "no node" (never an error: under `ignorable: true` an
error lets kube-scheduler place the pod without us).

The timeline follows client-go's leaderelection: the holder renews every `retry_seconds`
and stops answering by itself once `renew_deadline_seconds` pass without a renewal; a
standby takes the Lease once it has seen no renewal for `lease_seconds` (measured on its
own clock, so clock skew does not matter). Before answering, a new holder waits until its
pod watch has caught up with the API server, so it sees the Bindings its predecessor made;
then it points the Service's EndpointSlice at itself, so kube-proxy routes kube-scheduler
here. On SIGTERM the holder gives the Lease up at once, so a rolling update hands over in
about one `retry_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from extender import telemetry
from extender.cache.kubeapi import ApiError, KubeApi
from extender.contract import LEADER_ENDPOINTS_MANAGER
from extender.kube.objects import micro_time

log = logging.getLogger(__name__)

CatchUp = Callable[[], Awaitable[bool]]
"""Waits until the cache has seen every write made before the call; False on timeout."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where kube-scheduler reaches this replica, published for the Service `service`."""

    service: str
    address: str
    port: int
    port_name: str


class _LeaseSpec(msgspec.Struct, rename="camel", omit_defaults=True):
    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    lease_transitions: int = 0


class _LeaseMeta(msgspec.Struct, rename="camel", omit_defaults=True):
    name: str = ""
    namespace: str = ""
    resource_version: str = ""


class _Lease(msgspec.Struct, rename="camel", omit_defaults=True):
    metadata: _LeaseMeta = msgspec.field(default_factory=_LeaseMeta)
    spec: _LeaseSpec = msgspec.field(default_factory=_LeaseSpec)


class LeaderElector:
    """Holds or watches one Lease; `why_not_active()` is None only while this replica may
    answer."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_seconds: float,
        renew_deadline_seconds: float,
        retry_seconds: float,
        catch_up: CatchUp,
        endpoint: Endpoint | None = None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_seconds = lease_seconds
        self.renew_deadline = renew_deadline_seconds
        self.retry_seconds = retry_seconds
        self.catch_up = catch_up
        self.endpoint = endpoint
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
        self.holder = ""
        #: monotonic time until which this replica may answer (renewal + renew deadline)
        self._valid_until = float("-inf")
        self._active = False
        #: the Lease as last read, and when (our clock) it last changed
        self._observed: tuple[str, str | None] = ("", None)
        self._observed_at = time.monotonic()

    # -- what the verbs ask ----------------------------------------------------------------

    def why_not_active(self) -> str | None:
        if self._active and time.monotonic() < self._valid_until:
            return None
        holder = self.holder if self.holder and self.holder != self.identity else "none"
        return f"replica {self.identity} is a standby (active replica: {holder})"

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Try to acquire or renew every `retry_seconds` until cancelled."""
        while True:
            started = time.monotonic()
            try:
                held = await self._try()
                if held:
                    self._valid_until = started + self.renew_deadline
                    if not self._active:
                        await self._become_active()
            except ApiError as exc:
                log.warning("lease round failed", extra={"lease": self.name, "error": str(exc)})
                held = False
            if not held and self._active:
                if self.holder not in ("", self.identity):
                    self._step_down(f"lease taken by {self.holder}")
                elif time.monotonic() >= self._valid_until:
                    self._step_down("lease not renewed within the renew deadline")
            await asyncio.sleep(self.retry_seconds)

    async def release(self) -> None:
        """Give the Lease up (on SIGTERM) so a standby takes over without waiting it out."""
        was_active = self._active
        self._step_down("shutting down")
        if not was_active:
            return
        try:
            lease = await self._get()
            if lease is None or lease.spec.holder_identity != self.identity:
                return
            lease.spec.holder_identity = ""
            lease.spec.lease_duration_seconds = 1
            lease.spec.renew_time = micro_time(datetime.now(UTC))
            await self.api.put(self.path, msgspec.to_builtins(lease))
            log.info("lease released", extra={"lease": self.name})
        except ApiError as exc:
            log.warning("lease release failed", extra={"lease": self.name, "error": str(exc)})

    # -- one attempt -----------------------------------------------------------------------

    async def _get(self) -> _Lease | None:
        try:
            return msgspec.json.decode(await self.api.get(self.path), type=_Lease)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def _try(self) -> bool:
        """One acquire-or-renew; True when this replica holds the Lease afterwards."""
        lease = await self._get()
        now = micro_time(datetime.now(UTC))
        if lease is None:
            fresh = _Lease(
                _LeaseMeta(self.name, self.namespace),
                self._spec(acquired=now, transitions=0),
            )
            try:
                await self.api.post(self.path.rsplit("/", 1)[0], msgspec.to_builtins(fresh))
            except ApiError as exc:
                if exc.status == 409:
                    return False
                raise
            self.holder = self.identity
            return True
        spec = lease.spec
        self._observe(spec)
        self.holder = spec.holder_identity
        if spec.holder_identity == self.identity:
            spec.renew_time = now
            spec.lease_duration_seconds = round(self.lease_seconds)
        elif spec.holder_identity and not self._expired(spec):
            return False
        else:
            lease.spec = self._spec(acquired=now, transitions=spec.lease_transitions + 1)
        try:
            await self.api.put(self.path, msgspec.to_builtins(lease))
        except ApiError as exc:
            if exc.status == 409:  # someone else wrote it first; read again next time
                return False
            raise
        self.holder = self.identity
        return True

    def _spec(self, acquired: str, transitions: int) -> _LeaseSpec:
        return _LeaseSpec(
            holder_identity=self.identity,
            lease_duration_seconds=round(self.lease_seconds),
            acquire_time=acquired,
            renew_time=acquired,
            lease_transitions=transitions,
        )

    def _observe(self, spec: _LeaseSpec) -> None:
        """Note when the Lease last changed, on our own clock."""
        seen = (spec.holder_identity, spec.renew_time)
        if seen != self._observed:
            self._observed = seen
            self._observed_at = time.monotonic()

    def _expired(self, spec: _LeaseSpec) -> bool:
        duration = spec.lease_duration_seconds or self.lease_seconds
        return time.monotonic() - self._observed_at > duration

    # -- transitions -----------------------------------------------------------------------

    async def _become_active(self) -> None:
        """Catch up with the API server, publish the endpoint, then answer."""
        if not await self.catch_up():
            log.info(
                "pod watch still behind the API server's latest write (a quiet watch moves "
                "only on pod events); answering"
            )
        if self.endpoint is not None:
            await self._publish(self.endpoint)
        if time.monotonic() >= self._valid_until:
            return  # lost while catching up; the next round tries again
        self._active = True
        failover = time.monotonic() - self._observed_at
        telemetry.LEADER.set(1)
        telemetry.LEADER_ACQUISITIONS.inc()
        telemetry.LEADER_FAILOVER_SECONDS.set(failover)
        log.info(
            "active: holding the lease",
            extra={
                "lease": self.name,
                "identity": self.identity,
                "since_last_renewal_seen_s": round(failover, 2),
            },
        )

    def _step_down(self, why: str) -> None:
        if self._active:
            log.warning("standby: no longer answering", extra={"lease": self.name, "why": why})
        self._active = False
        self._valid_until = float("-inf")
        telemetry.LEADER.set(0)

    async def _publish(self, endpoint: Endpoint) -> None:
        """Make this replica the only endpoint of the Service (selector-less in the chart)."""
        path = f"/apis/discovery.k8s.io/v1/namespaces/{self.namespace}/endpointslices"
        name = f"{endpoint.service}-active"
        body: dict[str, Any] = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {
                    "kubernetes.io/service-name": endpoint.service,
                    "endpointslice.kubernetes.io/managed-by": LEADER_ENDPOINTS_MANAGER,
                },
            },
            "addressType": "IPv6" if ":" in endpoint.address else "IPv4",
            "endpoints": [{"addresses": [endpoint.address], "conditions": {"ready": True}}],
            "ports": [{"name": endpoint.port_name, "port": endpoint.port, "protocol": "TCP"}],
        }
        try:
            await self.api.put(f"{path}/{name}", body)
        except ApiError as exc:
            if exc.status != 404:
                raise
            await self.api.post(path, body)
        log.info(
            "endpoint published",
            extra={"service": endpoint.service, "address": f"{endpoint.address}:{endpoint.port}"},
        )
