"""The bind verb: consume the pod on its node, then create the Binding.

Between kube-scheduler choosing a node and the pod watch showing the binding, the next pod
would otherwise be weighed against capacity that is already taken. As Nova's
consume_from_request, the extender counts the pod on the node as the bind call arrives; the
watch's view replaces the assumption when it arrives, and an assumption never confirmed
expires. A failed bind releases its assumption and is remembered for RetryFilter and
BuildFailureWeigher.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

import msgspec

from extender import telemetry
from extender.cache.kubeapi import ApiError, KubeApi
from extender.cache.live import ObjectList
from extender.cache.state import ClusterState
from extender.kube.objects import Pod
from extender.kube.wire import ExtenderBindingArgs, ExtenderBindingResult, binding_uid
from extender.model.hoststate import PodInfo

log = logging.getLogger(__name__)

_PODS = msgspec.json.Decoder(ObjectList[Pod])

_ALREADY_BOUND = re.compile(r'already assigned to node "([^"]+)"')


class BindBarrier:
    """Lets a filter call wait for the binds of pods filtered just before it.

    kube-scheduler binds in a goroutine of its own and starts the next pod's scheduling
    cycle at once, so the next /filter can arrive before the previous pod's /bind: without
    this, both pods would be weighed against the same free capacity. A filter waits (up to
    `wait_seconds`) while other pods it passed recently have not reached the bind verb yet;
    pods that never do (kube-scheduler chose not to) stop counting after `stale_seconds`.

    Only schedulers that bind through this extender are waited for, and only for their own
    pods: a profile (the pod's `schedulerName`) counts as binding here while one of its
    binds arrived in the last `engaged_seconds`. A profile that does not use the bind verb,
    served by the same extender, never waits.
    """

    def __init__(
        self, wait_seconds: float, stale_seconds: float = 2.0, engaged_seconds: float = 60.0
    ) -> None:
        self.wait_seconds = wait_seconds
        self.stale_seconds = stale_seconds
        self.engaged_seconds = engaged_seconds
        #: pod -> (when its filter passed nodes, its scheduler)
        self.inflight: dict[str, tuple[float, str]] = {}
        #: scheduler -> when one of its binds last arrived
        self.last_bind: dict[str, float] = {}
        self._changed = asyncio.Event()

    def filtered(self, uid: str, scheduler: str) -> None:
        """A filter call passed nodes for `uid`: a bind for it may follow."""
        self.inflight[uid] = (time.monotonic(), scheduler)

    def bound(self, uid: str) -> None:
        """A bind for `uid` arrived and counts it on its node: filters after it may go."""
        entry = self.inflight.pop(uid, None)
        if entry is not None:
            self.last_bind[entry[1]] = time.monotonic()
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, uid: str, scheduler: str) -> None:
        """Return once no other recently filtered pod of `scheduler` awaits its bind, or on
        timeout."""
        start = time.monotonic()
        engaged = start - self.last_bind.get(scheduler, float("-inf")) <= self.engaged_seconds
        if self.wait_seconds <= 0 or not engaged:
            return
        deadline = start + self.wait_seconds
        while True:
            now = time.monotonic()
            stale = [u for u, (at, _) in self.inflight.items() if now - at > self.stale_seconds]
            for u in stale:
                del self.inflight[u]
            if now >= deadline or not any(
                u != uid and s == scheduler for u, (_, s) in self.inflight.items()
            ):
                return
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - now)
            except TimeoutError:
                return


class Binder:
    """Binds pods through the API and keeps the cache's assumptions.

    The pod is counted on its node (assumed) before the Binding is sent, and released if
    the Binding fails: between the two, every filter call already sees the room as taken,
    and the bind barrier can let the next pod through without waiting for the API.
    """

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

    async def read_pod(self, namespace: str, name: str) -> Pod:
        """The pod a bind names, from the API (a pod this replica did not filter). A list
        by name, not a get: the extender's role lists pods and needs no more."""
        path = f"/api/v1/namespaces/{namespace}/pods"
        body = await self.api.get(path, {"fieldSelector": f"metadata.name={name}"})
        try:
            pods = _PODS.decode(body).items
        except msgspec.DecodeError as exc:
            raise ApiError("GET", path, 200, f"undecodable pod list: {exc}") from None
        if not pods:
            raise ApiError("GET", path, 404, f"pod {namespace}/{name} not found")
        return pods[0]

    async def bind(self, args: ExtenderBindingArgs, info: PodInfo) -> ExtenderBindingResult:
        """Assume, create the Binding, and keep or release the assumption."""
        uid = binding_uid(args)
        placement = self.state.placements.get(uid)
        seen_bound = (
            placement is not None and placement.node == args.Node and uid not in self.state.assumed
        )
        if not seen_bound:
            self.state.assume(uid, args.Node, info, time.monotonic() + self.assume_seconds)
            telemetry.ASSUMED_PODS.set(len(self.state.assumed))
        self.barrier.bound(uid)
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
                if not seen_bound:
                    self.state.release(uid, info)
                return self.failed(args, str(exc))
            outcome = "already_bound"
        except Exception as exc:
            # Whatever else the client raises, kube-scheduler gets a bind error it retries,
            # never a 500; the traceback goes to the log, where a bug can be found.
            log.exception("unexpected error creating a Binding", extra={"pod": uid})
            if not seen_bound:
                self.state.release(uid, info)
            return self.failed(args, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            telemetry.BIND_SECONDS.observe(time.perf_counter() - start)
        telemetry.BINDS.labels(outcome).inc()
        self.state.bind_succeeded(uid, args.Node)
        return ExtenderBindingResult()

    def failed(self, args: ExtenderBindingArgs, why: str) -> ExtenderBindingResult:
        """A bind that did not happen: answered as a bind error (kube-scheduler retries the
        pod), remembered for RetryFilter and BuildFailureWeigher, and counted."""
        telemetry.BINDS.labels("failed").inc()
        self.state.bind_failed(binding_uid(args), args.Node)
        self.barrier.bound(binding_uid(args))
        log.info(
            "bind failed",
            extra={"pod": f"{args.PodNamespace}/{args.PodName}", "node": args.Node, "error": why},
        )
        return ExtenderBindingResult(Error=f"weighbridge: binding to {args.Node} failed: {why}")
