"""The Event emitter: one Event per summary, repeats patched into its series, at most one
write per pod per interval, and a full queue or a slow API dropped and counted, never waited
for by the filter verb."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import numpy as np
import pytest

from extender import telemetry
from extender.cache.kubeapi import ApiError
from extender.engine.filters.base import reason
from extender.engine.scheduler import FilterResult, FilterStep
from extender.kube.wire import ExtenderArgs
from extender.model.options import Options
from extender.service.config import EventSettings
from extender.service.events import NOTE_LIMIT, EventEmitter, summarize
from extender.service.extender import Extender
from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import run, scheduler

RAM = "RamFilter: needs 4096Mi, more than usable memory (ratio 1)"


def _result(usable: dict[str, int], cause: str = RAM) -> FilterResult:
    rejected = {n: reason(cause, f"{mb}Mi usable") for n, mb in usable.items()}
    steps = [
        FilterStep("ComputeFilter", len(usable), len(usable), {}),
        FilterStep("RamFilter", len(usable), 0, rejected),
    ]
    return FilterResult(np.array([], dtype=np.intp), failed=dict(rejected), steps=steps)


class FakeApi:
    """Records writes; `delay` makes it slow, `fail` makes it refuse (or raise `error`)."""

    def __init__(
        self, delay: float = 0.0, fail: bool = False, error: Exception | None = None
    ) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.delay = delay
        self.fail = fail
        self.error = error

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> bytes:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise self.error or ApiError(method, path, 403, "forbidden")
        self.calls.append((method, path, body))
        return b"{}"

    async def post(self, path: str, body: dict[str, Any]) -> bytes:
        return await self._call("POST", path, body)

    async def patch(self, path: str, body: dict[str, Any]) -> bytes:
        return await self._call("PATCH", path, body)


def _count(outcome: str) -> float:
    return float(telemetry.EVENTS.labels(outcome)._value.get())


async def _settle(emitter: EventEmitter, seconds: float) -> None:
    task = asyncio.create_task(emitter.run())
    await asyncio.sleep(seconds)
    task.cancel()


def test_summary_counts_each_filter_and_names_the_closest_miss() -> None:
    note = summarize(_result({"a": 1024, "b": 3072, "c": 2048}), 4)
    assert note.splitlines() == [
        "no node passed weighbridge's filters (4 candidates)",
        "RamFilter removed 3; needs 4096Mi, more than usable memory (ratio 1): 3 nodes, "
        "closest b (3072Mi usable): fits there with 1024Mi more usable memory, or with a "
        "request of at most 3072Mi",
        "1 not in weighbridge's cache (yet)",
    ]


def test_closest_miss_reads_the_same_whatever_the_nodes_order() -> None:
    first = summarize(_result({"b": 2048, "a": 2048, "c": 1024}), 3)
    assert first == summarize(_result({"c": 1024, "a": 2048, "b": 2048}), 3)
    assert "closest a (2048Mi usable)" in first


def test_closest_miss_of_a_count_is_the_fewest() -> None:
    cause = "NumInstancesFilter: pods reach max_instances_per_host (50)"
    note = summarize(_result({"a": 70, "b": 51}, cause), 2)
    assert "closest b (51Mi usable)" in note


def _remedy_of(note: str, closest: str) -> str:
    """The remedy the summary gives for its closest miss, which must be `closest`."""
    found = re.search(r"closest (\S+) \([^)]*\): ([^;\n]+)", note)
    assert found is not None, note
    assert found.group(1) == closest, note
    return found.group(2)


@pytest.mark.parametrize(
    ("filter_name", "quantity", "remedy"),
    [
        (
            "RamFilter",
            "memory",
            r"fits there with 1Mi more usable memory, or with a request of at most (\S+)",
        ),
        (
            "CoreFilter",
            "cpu",
            r"fits there with 0\.5 more free vCPUs, or with a request of at most (\S+)",
        ),
        ("ExactRamFilter", "memory", r"fits there with a request of exactly (\S+)"),
    ],
)
def test_the_request_the_remedy_names_passes_on_the_closest_node(
    filter_name: str, quantity: str, remedy: str
) -> None:
    """Read back from the real filter's reasons, the remedy is true: the pod it describes
    passes on the node it names."""
    size, busy, little, needs = {
        "memory": ("8Gi", "4Gi", "1Mi", "8Gi"),
        "cpu": ("8", "4", "500m", "8"),
    }[quantity]
    state = cluster(
        node("a", **{quantity: size}),  # type: ignore[arg-type]
        node("b", **{quantity: size}),  # type: ignore[arg-type]
        pod("busy", node_name="a", requests={quantity: busy}),
        pod("little", node_name="b", requests={quantity: little}),
        options=Options(ram_allocation_ratio=1.0, cpu_allocation_ratio=1.0),
    )
    note = summarize(run([filter_name], state, pod("big", requests={quantity: needs})), 2)
    found = re.fullmatch(remedy, _remedy_of(note, "b"))
    assert found is not None, note
    smaller = pod("smaller", requests={quantity: found.group(1)})
    assert list(run([filter_name], state, smaller, names=["b"]).passed) == [1], note


def test_a_pod_larger_than_any_node_is_told_the_largest() -> None:
    state = cluster(node("a", memory="4Gi"), node("b", memory="6Gi"))
    note = summarize(run(["RamFilter"], state, pod("big", requests={"memory": "7Gi"})), 2)
    assert _remedy_of(note, "b") == "fits there only with a request of at most 6144Mi"


def test_the_count_the_remedy_names_lets_the_node_pass() -> None:
    busy = [pod(f"p{i}", node_name="a") for i in range(5)]
    state = cluster(node("a"), *busy)
    options = Options(max_instances_per_host=3)
    note = summarize(run(["NumInstancesFilter"], state, pod("one"), options), 1)
    assert _remedy_of(note, "a") == (
        "fits there with 3 fewer, or with max_instances_per_host above 5"
    )
    raised = Options(max_instances_per_host=6)
    assert list(run(["NumInstancesFilter"], state, pod("one"), raised).passed) == [0]
    fewer = cluster(node("a"), *busy[:2])
    assert list(run(["NumInstancesFilter"], fewer, pod("one"), options).passed) == [0]


def test_summary_fits_an_events_note() -> None:
    many = {f"node-{i}": i for i in range(5000)}
    causes = {n: reason(f"RamFilter: cause {i}", "1Mi") for i, n in enumerate(many)}
    result = _result(many)
    result.steps[1].rejected = causes
    note = summarize(result, 5000)
    assert len(note.encode()) <= NOTE_LIMIT and note.endswith("...")


def test_first_rejection_creates_an_event_on_the_pod() -> None:
    api = FakeApi()
    emitter = EventEmitter(api, "replica-0", EventSettings())
    p = pod("web")
    created = _count("created")

    async def scenario() -> None:
        emitter.rejected(p, _result({"a": 1024}), 1)
        await _settle(emitter, 0.05)

    asyncio.run(scenario())
    ((method, path, body),) = api.calls
    assert (method, path) == ("POST", "/apis/events.k8s.io/v1/namespaces/default/events")
    assert body["reportingController"] == "weighbridge"
    assert body["reportingInstance"] == "replica-0"
    assert (body["reason"], body["action"], body["type"]) == (
        "FilteredOut",
        "Scheduling",
        "Warning",
    )
    assert body["regarding"]["uid"] == p.metadata.uid
    assert "closest a (1024Mi usable)" in body["note"]
    assert "series" not in body
    assert _count("created") == created + 1


def test_repeats_are_held_back_then_patched_into_the_series() -> None:
    api = FakeApi()
    emitter = EventEmitter(api, "r", EventSettings(min_interval_seconds=0.2))
    p = pod("web")
    patched = _count("patched")

    async def scenario() -> None:
        task = asyncio.create_task(emitter.run())
        for _ in range(3):
            emitter.rejected(p, _result({"a": 1024}), 1)
            await asyncio.sleep(0.01)
        assert [c[0] for c in api.calls] == ["POST"]  # within the interval: no write
        await asyncio.sleep(0.4)
        task.cancel()

    asyncio.run(scenario())
    assert [c[0] for c in api.calls] == ["POST", "PATCH"]
    _, path, body = api.calls[1]
    name = api.calls[0][2]["metadata"]["name"]
    assert path.endswith(f"/events/{name}")
    assert set(body) == {"series"} and body["series"]["count"] == 3
    assert body["series"]["lastObservedTime"].endswith("Z")
    assert _count("patched") == patched + 1


def test_a_new_summary_starts_a_new_event() -> None:
    api = FakeApi()
    emitter = EventEmitter(api, "r", EventSettings(min_interval_seconds=0.05))
    p = pod("web")

    async def scenario() -> None:
        task = asyncio.create_task(emitter.run())
        emitter.rejected(p, _result({"a": 1024}), 1)
        await asyncio.sleep(0.1)
        emitter.rejected(p, _result({"a": 2048}), 1)
        await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(scenario())
    assert [c[0] for c in api.calls] == ["POST", "POST"]
    assert "2048Mi" in api.calls[1][2]["note"]


def test_each_pod_has_its_own_limit() -> None:
    api = FakeApi()
    emitter = EventEmitter(api, "r", EventSettings())

    async def scenario() -> None:
        for name in ("a", "b", "c"):
            emitter.rejected(pod(name), _result({"n": 1}), 1)
        await _settle(emitter, 0.05)

    asyncio.run(scenario())
    assert [c[2]["regarding"]["name"] for c in api.calls] == ["a", "b", "c"]


def test_a_full_queue_drops_and_counts_without_waiting() -> None:
    api = FakeApi(delay=10)
    emitter = EventEmitter(api, "r", EventSettings(queue_size=2, write_timeout_seconds=0.05))
    dropped, failed = _count("dropped"), _count("failed")

    async def scenario() -> float:
        t0 = time.perf_counter()
        for i in range(10):
            emitter.rejected(pod(f"p{i}"), _result({"n": 1}), 1)
        spent = time.perf_counter() - t0
        await _settle(emitter, 0.2)
        return spent

    assert asyncio.run(scenario()) < 0.05
    assert _count("dropped") == dropped + 8
    assert _count("failed") == failed + 2  # the slow API: abandoned after the timeout
    assert api.calls == []


@pytest.mark.parametrize("error", [None, RuntimeError("a bug")], ids=["refused", "unexpected"])
def test_a_failed_write_is_counted_and_retried_after_the_interval(
    error: Exception | None,
) -> None:
    """Refused by the API, or failed by an error nobody expected: either way the writer
    lives on and the pod's Event comes at the next attempt."""
    api = FakeApi(fail=True, error=error)
    emitter = EventEmitter(api, "r", EventSettings(min_interval_seconds=0.1))
    failed = _count("failed")

    async def scenario() -> None:
        task = asyncio.create_task(emitter.run())
        emitter.rejected(pod("web"), _result({"n": 1}), 1)
        await asyncio.sleep(0.05)
        api.fail = False
        await asyncio.sleep(0.2)
        task.cancel()

    asyncio.run(scenario())
    assert _count("failed") == failed + 1
    assert [c[0] for c in api.calls] == ["POST"]


def test_an_expired_event_is_created_again() -> None:
    api = FakeApi()
    emitter = EventEmitter(api, "r", EventSettings(min_interval_seconds=0.05))
    p = pod("web")

    async def expired(method: str, path: str, body: dict[str, Any]) -> bytes:
        raise ApiError(method, path, 404, "not found")

    async def scenario() -> None:
        task = asyncio.create_task(emitter.run())
        emitter.rejected(p, _result({"n": 1}), 1)
        await asyncio.sleep(0.1)
        api._call = expired  # type: ignore[method-assign]
        emitter.rejected(p, _result({"n": 1}), 1)
        await asyncio.sleep(0.1)
        del api._call
        emitter.rejected(p, _result({"n": 1}), 1)
        await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(scenario())
    assert [c[0] for c in api.calls] == ["POST", "POST"]


class Recorder:
    """Stands in for the emitter in the Extender: what it was handed."""

    def __init__(self) -> None:
        self.pods: list[tuple[str, int]] = []

    def rejected(self, the_pod: Any, result: FilterResult, candidates: int) -> None:
        self.pods.append((the_pod.metadata.name, candidates))


@pytest.mark.parametrize("standby", [None, "standby"])
def test_only_the_active_replica_reports_a_pod_left_with_no_node(standby: str | None) -> None:
    state = cluster(node("small", memory="2Gi"), node("big", memory="16Gi"))
    ext = Extender(state, scheduler(["RamFilter"]), active=lambda: standby)
    recorder = Recorder()
    ext.events = recorder  # type: ignore[assignment]
    names = ["small", "big"]
    for name, memory in (("fits", "1Gi"), ("too-big", "32Gi")):
        the_pod = pod(name, requests={"memory": memory})
        asyncio.run(ext.filter(ExtenderArgs(Pod=the_pod, NodeNames=names), the_pod, names))
    assert recorder.pods == ([] if standby else [("too-big", 2)])


def test_summary_of_five_thousand_nodes_is_short_and_fast() -> None:
    nodes = [node(f"n{i:05d}", memory=f"{4096 + i}Mi") for i in range(5000)]
    state = cluster(*nodes)
    result = run(["RamFilter"], state, pod("big", requests={"memory": "24Gi"}))
    t0 = time.perf_counter()
    note = summarize(result, 5000)
    spent = time.perf_counter() - t0
    print(f"\n5,000 nodes: {len(note)} bytes in {spent * 1000:.1f} ms: {note!r}")
    assert "RamFilter removed 5000" in note and "closest n04999 (" in note
    assert len(note.encode()) <= NOTE_LIMIT
