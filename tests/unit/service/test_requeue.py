"""Waking rejected pods: ClusterState tells of the changes only weighbridge sees, and the
Requeuer patches the annotation on the pods whose rejecting filters a change may cure, at
a bounded rate, once per interval per pod, never pods bound or deleted since."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from extender import telemetry
from extender.cache.kubeapi import ApiError
from extender.cache.state import Change, ClusterState
from extender.contract import REQUEUE_ANNOTATION
from extender.engine.scheduler import FilterResult, FilterStep
from extender.kube.objects import Pod
from extender.model.hoststate import pod_info
from extender.model.options import Options
from extender.service.config import RequeueSettings
from extender.service.requeue import Requeuer
from tests.builders import aggregate, device_class, node, pod, topology


def _rejected_by(*filters: str) -> FilterResult:
    steps = [FilterStep(f, 1, 0, {"a": f"{f}: no"}) for f in filters]
    return FilterResult(np.array([], dtype=np.intp), failed={"a": "no"}, steps=steps)


class FakeApi:
    def __init__(self, status: int = 0) -> None:
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.status = status

    async def patch(self, path: str, body: dict[str, Any]) -> bytes:
        if self.status:
            raise ApiError("PATCH", path, self.status, "refused")
        self.patches.append((path, body))
        return b"{}"


def _pending(state: ClusterState, name: str) -> Pod:
    p = pod(name)
    state.upsert_pod(p)
    return p


def _count(outcome: str) -> float:
    return float(telemetry.REQUEUES.labels(outcome)._value.get())


async def _run(requeuer: Requeuer, seconds: float) -> None:
    task = asyncio.create_task(requeuer.run())
    await asyncio.sleep(seconds)
    task.cancel()


def test_an_aggregate_change_wakes_only_pods_an_aggregate_filter_rejected() -> None:
    state, api = ClusterState(), FakeApi()
    requeuer = Requeuer(api, state, RequeueSettings(enabled=True, max_per_second=100))
    state.changed = requeuer.changed
    requeuer.rejected(_pending(state, "agg"), _rejected_by("ComputeFilter", "AggregateRamFilter"))
    requeuer.rejected(_pending(state, "ram"), _rejected_by("RamFilter"))
    patched = _count("patched")

    async def scenario() -> None:
        task = asyncio.create_task(requeuer.run())
        await asyncio.sleep(0.02)
        assert api.patches == []  # nothing changed yet
        state.upsert_aggregate(aggregate("ssd", ram_allocation_ratio="1.0"))
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(scenario())
    ((path, body),) = api.patches
    assert path == "/api/v1/namespaces/default/pods/agg"
    assert list(body["metadata"]["annotations"]) == [REQUEUE_ANNOTATION]
    assert _count("patched") == patched + 1


def test_unchanged_aggregate_metadata_is_no_change() -> None:
    state = ClusterState()
    seen: list[Change] = []
    state.upsert_aggregate(aggregate("ssd", ram_allocation_ratio="1.0"))
    state.changed = seen.append
    state.upsert_aggregate(aggregate("ssd", ram_allocation_ratio="1.0"))
    assert seen == []
    state.upsert_aggregate(aggregate("ssd", ram_allocation_ratio="1.5"))
    assert seen == ["aggregate"]


def test_state_tells_of_topologies_expired_assumptions_and_bind_failures() -> None:
    state = ClusterState(Options(bind_failure_ttl_seconds=0.01))
    seen: list[Change] = []
    state.changed = seen.append
    state.upsert_node(node("n1"))
    state.upsert_numa_topology(topology("n1", {"node-0": {"cpu": "4", "memory": "4Gi"}}))
    state.assume("u1", "n1", pod_info(pod("p")), until=0.0)
    assert state.expire_assumptions() == 1
    state.bind_failed("u2", "n1")
    state.expire_failures()
    assert seen == ["numa", "assumption"]
    state.failures.clock = lambda: 1e12  # long after the TTL
    state.expire_failures()
    assert seen == ["numa", "assumption", "retry"]


def test_a_new_extended_resource_name_wakes_pods_the_device_filter_rejected() -> None:
    """A DeviceClass that makes DRA serve a name a pod asked for is a change only the
    extender acts on; a class that serves no new name is no change."""
    state, api = ClusterState(), FakeApi()
    requeuer = Requeuer(api, state, RequeueSettings(enabled=True, max_per_second=100))
    state.changed = requeuer.changed
    requeuer.rejected(_pending(state, "gpu"), _rejected_by("PciPassthroughFilter"))
    requeuer.rejected(_pending(state, "ram"), _rejected_by("RamFilter"))

    async def scenario() -> None:
        task = asyncio.create_task(requeuer.run())
        state.upsert_device_class(device_class("gpus", "example.com/gpu"))
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(scenario())
    assert [path for path, _ in api.patches] == ["/api/v1/namespaces/default/pods/gpu"]
    seen: list[Change] = []
    state.changed = seen.append
    state.upsert_device_class(device_class("gpus", "example.com/gpu"))
    assert seen == []
    state.delete_device_class("gpus")
    assert seen == ["device_class"]


def test_a_pod_that_passed_or_was_bound_is_not_woken() -> None:
    state, api = ClusterState(), FakeApi()
    requeuer = Requeuer(api, state, RequeueSettings(enabled=True, max_per_second=100))
    passed = _pending(state, "passed")
    requeuer.rejected(passed, _rejected_by("RetryFilter"))
    requeuer.passed(passed.metadata.uid)
    bound = _pending(state, "bound")
    requeuer.rejected(bound, _rejected_by("RetryFilter"))
    state.upsert_node(node("n1"))
    state.upsert_pod(pod("bound", node_name="n1", uid=bound.metadata.uid))
    gone = _count("gone")

    async def scenario() -> None:
        requeuer.changed("retry")
        await _run(requeuer, 0.05)

    asyncio.run(scenario())
    assert api.patches == []
    assert _count("gone") == gone + 1


def test_a_pod_is_woken_once_per_interval_and_pods_at_the_rate() -> None:
    state, api = ClusterState(), FakeApi()
    settings = RequeueSettings(enabled=True, max_per_second=20, min_interval_seconds=0.5)
    requeuer = Requeuer(api, state, settings)
    for i in range(3):
        requeuer.rejected(_pending(state, f"p{i}"), _rejected_by("NUMATopologyFilter"))

    async def scenario() -> None:
        task = asyncio.create_task(requeuer.run())
        requeuer.changed("numa")
        await asyncio.sleep(0.075)
        assert 1 <= len(api.patches) <= 2  # one per 50 ms
        await asyncio.sleep(0.15)
        assert len(api.patches) == 3
        requeuer.changed("numa")  # within the interval: held back until it ends
        await asyncio.sleep(0.05)
        assert len(api.patches) == 3
        await asyncio.sleep(0.5)
        task.cancel()

    asyncio.run(scenario())
    assert [p for p, _ in api.patches].count("/api/v1/namespaces/default/pods/p0") == 2
    assert len(api.patches) == 6


def test_a_refused_patch_is_counted_and_the_pod_kept() -> None:
    state, api = ClusterState(), FakeApi(status=403)
    requeuer = Requeuer(api, state, RequeueSettings(enabled=True, min_interval_seconds=0))
    requeuer.rejected(_pending(state, "p"), _rejected_by("AggregateCoreFilter"))
    failed = _count("failed")

    async def scenario() -> None:
        requeuer.changed("aggregate")
        await _run(requeuer, 0.05)

    asyncio.run(scenario())
    assert _count("failed") == failed + 1
    api.status = 0

    async def again() -> None:
        requeuer.changed("aggregate")
        await _run(requeuer, 0.05)

    asyncio.run(again())
    assert len(api.patches) == 1
