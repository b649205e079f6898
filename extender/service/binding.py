"""The bind verb: create the Binding, then consume the pod on its node at once.

Between kube-scheduler choosing a node and the pod watch showing the binding, the next pod
would otherwise be weighed against capacity that is already taken. As Nova's
consume_from_request, the extender counts the pod on the node the moment the Binding is
created; the watch's view replaces the assumption when it arrives, and an assumption never
confirmed expires. A failed bind assumes nothing and is remembered for RetryFilter and
BuildFailureWeigher.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from extender import telemetry
from extender.cache.kubeapi import ApiError, KubeApi
from extender.cache.state import ClusterState
from extender.kube.wire import ExtenderBindingArgs, ExtenderBindingResult, binding_uid

log = logging.getLogger(__name__)

_ALREADY_BOUND = re.compile(r'already assigned to node "([^"]+)"')


class BindBarrier:
    """Lets a filter call wait for the binds of pods filtered just before it.

    kube-scheduler binds in a goroutine of its own and starts the next pod's scheduling
    cycle at once, so the next /filter can arrive before the previous pod's /bind: without
    this, both pods would be weighed against the same free capacity. A filter waits (up to
    `wait_seconds`) while other pods it passed recently have not been bound yet; pods that
    never get bound (kube-scheduler chose not to) stop counting after `stale_seconds`. The
    barrier only engages while binds keep arriving (one in the last `engaged_seconds`), so a
    kube-scheduler that does not use the bind verb never waits.
    """

    def __init__(
        self, wait_seconds: float, stale_seconds: float = 2.0, engaged_seconds: float = 60.0
    ) -> None:
        self.wait_seconds = wait_seconds
        self.stale_seconds = stale_seconds
        self.engaged_seconds = engaged_seconds
        self.inflight: dict[str, float] = {}
        self.last_bind = float("-inf")
        self._changed = asyncio.Event()

    def filtered(self, uid: str) -> None:
        """A filter call passed nodes for `uid`: a bind for it may follow."""
        self.inflight[uid] = time.monotonic()

    def bound(self, uid: str) -> None:
        self.last_bind = time.monotonic()
        self.inflight.pop(uid, None)
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, uid: str) -> None:
        """Return once no other recently filtered pod awaits its bind, or on timeout."""
        start = time.monotonic()
        if self.wait_seconds <= 0 or start - self.last_bind > self.engaged_seconds:
            return
        deadline = start + self.wait_seconds
        while True:
            now = time.monotonic()
            stale = [u for u, at in self.inflight.items() if now - at > self.stale_seconds]
            for u in stale:
                del self.inflight[u]
            if not any(u != uid for u in self.inflight) or now >= deadline:
                return
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - now)
            except TimeoutError:
                return


class Binder:
    """Binds pods through the API and keeps the cache's assumptions."""

    def __init__(
        self,
        api: KubeApi,
        state: ClusterState,
        assume_seconds: float,
        barrier: BindBarrier,
    ) -> None:
        self.api = api
        self.state = state
        self.assume_seconds = assume_seconds
        self.barrier = barrier

    async def bind(self, args: ExtenderBindingArgs) -> ExtenderBindingResult:
        uid = binding_uid(args)
        try:
            return await self._bind(uid, args)
        finally:
            self.barrier.bound(uid)

    async def _bind(self, uid: str, args: ExtenderBindingArgs) -> ExtenderBindingResult:
        path = f"/api/v1/namespaces/{args.PodNamespace}/pods/{args.PodName}/binding"
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {
                "name": args.PodName,
                "namespace": args.PodNamespace,
                **({"uid": args.PodUID} if args.PodUID else {}),
            },
            "target": {"apiVersion": "v1", "kind": "Node", "name": args.Node},
        }
        start = time.perf_counter()
        try:
            await self.api.post(path, body)
            outcome = "bound"
        except ApiError as exc:
            bound_to = _ALREADY_BOUND.search(exc.message) if exc.status == 409 else None
            if bound_to is None or bound_to.group(1) != args.Node:
                return self._failed(uid, args, str(exc))
            outcome = "already_bound"
        finally:
            telemetry.BIND_SECONDS.observe(time.perf_counter() - start)
        telemetry.BINDS.labels(outcome).inc()
        self._assume(uid, args.Node)
        return ExtenderBindingResult()

    def _assume(self, uid: str, node: str) -> None:
        placement = self.state.placements.get(uid)
        if placement is not None and placement.node == node and uid not in self.state.assumed:
            return  # the watch already shows the binding
        info = self.state.pending.get(uid)
        if info is None:
            log.warning("bound a pod the cache never saw; not assumed", extra={"pod": uid})
            return
        self.state.assume(uid, node, info, time.monotonic() + self.assume_seconds)
        telemetry.ASSUMED_PODS.set(len(self.state.assumed))

    def _failed(self, uid: str, args: ExtenderBindingArgs, why: str) -> ExtenderBindingResult:
        telemetry.BINDS.labels("failed").inc()
        self.state.bind_failed(uid, args.Node)
        log.info(
            "bind failed",
            extra={"pod": f"{args.PodNamespace}/{args.PodName}", "node": args.Node, "error": why},
        )
        return ExtenderBindingResult(Error=f"weighbridge: binding to {args.Node} failed: {why}")
