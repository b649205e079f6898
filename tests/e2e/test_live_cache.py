"""Issue 4: the live cache and the real kube-scheduler calling weighbridge.

Every test here runs against the project-built etcd + kube-apiserver, with weighbridge
serving from list+watch and the real kube-scheduler configured to call it, in both
nodeCacheCapable modes. Each test's nodes carry a label of their own and its pods select
it, so tests do not see each other's nodes through kube-scheduler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from devtools.localcluster import ApiError, ControlPlane
from extender.cache.kubeapi import NODES, KubeApi, load_configuration
from extender.cache.live import Informer, LiveCache, WatchExpired
from extender.cache.state import ClusterState
from extender.kube.objects import HostAggregate, Node, Pod
from extender.model.options import Options
from tests.builders import aggregate_dict

from .kube import (
    Weighbridge,
    create_pod,
    delete_pod,
    events_for,
    group_labels,
    label_node,
    make_node,
    node_of,
    pod_body,
    scheduler_config,
    scheduler_running,
    unique,
    wait_bound,
    wait_for,
)

pytestmark = pytest.mark.e2e

CONFIG: dict[str, Any] = {
    "filters": ["ComputeFilter", "AvailabilityZoneFilter", "RamFilter"],
    # Stacking (a negative RAM multiplier) is the opposite of kube-scheduler's own
    # spreading, so a pod that stacks shows that prioritize decided.
    "weighers": {"RAMWeigher": -1.0},
}
RATIO = "weighbridge.io/ram-allocation-ratio"


@pytest.fixture(scope="module", params=[True, False], ids=["nodeCacheCapable", "fullNodes"])
def scheduler(
    request: pytest.FixtureRequest, control_plane: ControlPlane, wb: Weighbridge
) -> Iterator[bool]:
    with scheduler_running(
        control_plane, scheduler_config(wb.url, node_cache_capable=request.param)
    ):
        yield bool(request.param)


def test_ram_filter_picks_the_only_node_that_fits(
    control_plane: ControlPlane, wb: Weighbridge, scheduler: bool, namespace: str
) -> None:
    labels = group_labels()
    # The big node looks best to kube-scheduler (most free memory), but its ratio leaves
    # 8Gi usable; only the small one has the 10Gi RamFilter asks for.
    big, small = unique("big"), unique("small")
    make_node(control_plane, big, memory="32Gi", labels=labels, annotations={RATIO: "0.25"})
    make_node(control_plane, small, memory="16Gi", labels=labels)
    wb.wait_for_hosts(big, small)
    create_pod(control_plane, namespace, "fits", memory="10Gi", selector=labels)
    assert wait_bound(control_plane, namespace, "fits") == small


def test_pod_no_node_passes_stays_pending_with_the_reason(
    control_plane: ControlPlane, wb: Weighbridge, scheduler: bool, namespace: str
) -> None:
    labels = group_labels()
    name = unique("half")
    make_node(control_plane, name, memory="16Gi", labels=labels, annotations={RATIO: "0.5"})
    wb.wait_for_hosts(name)
    create_pod(control_plane, namespace, "too-big", memory="12Gi", selector=labels)
    reason = "RamFilter: needs 12288Mi, more than usable memory (ratio 0.5)"
    messages = wait_for(
        "a FailedScheduling event with the filter's reason",
        lambda: [m for m in events_for(control_plane, namespace, "too-big") if reason in m],
    )
    assert node_of(control_plane, namespace, "too-big") == ""
    assert any("0/" in m for m in messages)


def test_prioritize_decides_between_nodes_that_pass(
    control_plane: ControlPlane, wb: Weighbridge, scheduler: bool, namespace: str
) -> None:
    labels = group_labels()
    nodes = [unique("twin"), unique("twin")]
    for n in nodes:
        make_node(control_plane, n, memory="16Gi", labels=labels)
    wb.wait_for_hosts(*nodes)
    create_pod(control_plane, namespace, "first", memory="6Gi", selector=labels)
    first = wait_bound(control_plane, namespace, "first")
    wait_for("the first pod in the cache", lambda: (wb.host(first) or {}).get("num_instances"))
    create_pod(control_plane, namespace, "second", memory="6Gi", selector=labels)
    # kube-scheduler alone spreads (LeastAllocated); RAMWeigher x-1 stacks, and wins.
    assert wait_bound(control_plane, namespace, "second") == first


def test_aggregate_membership_and_cordon_change_the_next_decision(
    control_plane: ControlPlane, wb: Weighbridge, scheduler: bool, namespace: str
) -> None:
    labels = group_labels()
    a, b = unique("agg-a"), unique("agg-b")
    for n in (a, b):
        make_node(control_plane, n, labels=labels)
    aggregate, zone = unique("agg"), unique("zone")
    control_plane.request(
        "POST",
        "/apis/weighbridge.io/v1alpha1/hostaggregates",
        aggregate_dict(aggregate, availability_zone=zone),
    )
    member = {f"aggregate.weighbridge.io/{aggregate}": "true"}
    label_node(control_plane, b, member)
    wait_for("b in the zone", lambda: zone in (wb.host(b) or {}).get("availability_zones", []))
    zonal = {"weighbridge.io/availability-zone": zone}
    create_pod(control_plane, namespace, "zonal", selector=labels, annotations=zonal)
    assert wait_bound(control_plane, namespace, "zonal") == b

    label_node(control_plane, a, member)
    control_plane.kubectl("cordon", b)
    wait_for("b cordoned in the cache", lambda: (wb.host(b) or {})["service"]["disabled"])
    wait_for("a in the zone", lambda: zone in (wb.host(a) or {}).get("availability_zones", []))
    create_pod(control_plane, namespace, "zonal-2", selector=labels, annotations=zonal)
    assert wait_bound(control_plane, namespace, "zonal-2") == a


def test_deleting_a_pod_frees_its_node_in_the_cache(
    control_plane: ControlPlane, wb: Weighbridge, namespace: str
) -> None:
    name = unique("free")
    make_node(control_plane, name, memory="16Gi")
    wb.wait_for_hosts(name)
    create_pod(control_plane, namespace, "placed", memory="4Gi", node_name=name)
    wait_for("pod counted", lambda: (wb.host(name) or {}).get("free_ram_mb") == 12288)
    delete_pod(control_plane, namespace, "placed")
    wait_for("pod released", lambda: (wb.host(name) or {}).get("free_ram_mb") == 16384)


def fresh_list_view(plane: ControlPlane) -> dict[str, Any]:
    """What a new LIST of every kind makes of the cluster, through the same ClusterState."""
    state = ClusterState(Options())
    state.load(
        msgspec.convert(item, kind, strict=False)
        for kind, path in (
            (HostAggregate, "/apis/weighbridge.io/v1alpha1/hostaggregates"),
            (Node, "/api/v1/nodes"),
            (Pod, "/api/v1/pods"),
        )
        for item in plane.request("GET", path)["items"]
    )
    return {h.host: h.summary() for h in state.table.hosts}


def differences(wb: Weighbridge, plane: ControlPlane) -> list[str]:
    """Every field where the extender's cache and a fresh LIST disagree."""
    cached = wb.get("/hosts")["hosts"]
    try:
        listed = fresh_list_view(plane)
    except ApiError as exc:  # a restarted API server answers 429 while storage initialises
        return [f"LIST failed: {exc}"]
    diffs = [f"only in cache: {n}" for n in cached.keys() - listed.keys()]
    diffs += [f"only in LIST: {n}" for n in listed.keys() - cached.keys()]
    for name in cached.keys() & listed.keys():
        for key, value in listed[name].items():
            if cached[name].get(key) != value:
                diffs.append(f"{name}.{key}: cache {cached[name].get(key)!r}, LIST {value!r}")
    return diffs


def test_watch_cut_by_an_api_server_restart_converges_to_a_fresh_list(
    control_plane: ControlPlane, wb: Weighbridge, namespace: str
) -> None:
    keep, gone = unique("keep"), unique("gone")
    make_node(control_plane, keep, memory="16Gi")
    make_node(control_plane, gone, memory="16Gi")
    create_pod(control_plane, namespace, "doomed", memory="2Gi", node_name=keep)
    wait_for("doomed pod counted", lambda: (wb.host(keep) or {}).get("num_instances") == 1)

    control_plane.restart_apiserver()
    # Changes after the cut: the informers must resume (or relist) to see them.
    delete_pod(control_plane, namespace, "doomed")
    control_plane.request("DELETE", f"/api/v1/nodes/{gone}")
    create_pod(control_plane, namespace, "newcomer", memory="3Gi", node_name=keep)
    label_node(control_plane, keep, {"after": "restart"})
    wait_for(
        "cache converged",
        lambda: (wb.host(keep) or {}).get("free_ram_mb") == 13312 and wb.host(gone) is None,
    )
    diffs: list[str] = []

    def converged() -> bool:
        diffs[:] = differences(wb, control_plane)
        return not diffs

    wait_for("zero differences between the cache and a fresh LIST", converged, 30)
    assert diffs == []


def test_expired_watch_relists_and_converges(control_plane: ControlPlane) -> None:
    """A resourceVersion the server no longer has (410 Gone) makes the informer relist."""

    async def scenario() -> None:
        api = KubeApi(load_configuration(str(control_plane.kubeconfig_path)))
        state = ClusterState(Options())
        handlers = LiveCache(api, state).informers[0].handlers
        informer: Informer[Node] = Informer(api, NODES, Node, handlers)
        try:
            await informer.relist()
            before = set(state.table.index)
            informer.resource_version = "1"
            with pytest.raises(WatchExpired):
                await asyncio.wait_for(informer.watch(), 30)
            name = unique("late")
            make_node(control_plane, name)
            informer.resource_version = ""
            await informer.relist()
            assert set(state.table.index) == before | {name}
        finally:
            await api.close()

    asyncio.run(scenario())


def test_readiness_follows_the_first_sync(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Not ready (and /filter says why) until every informer has listed; ready after."""

    async def scenario() -> None:
        api = KubeApi(load_configuration(str(control_plane.kubeconfig_path)))
        cache = LiveCache(api, ClusterState(Options()))
        assert (
            cache.not_ready()
            == "cache not synced yet: nodes, pods, hostaggregates, noderesourcetopologies, "
            "deviceclasses"
        )
        cache.start()
        try:
            for _ in range(300):
                if cache.not_ready() is None:
                    break
                await asyncio.sleep(0.1)
            assert cache.not_ready() is None
        finally:
            await cache.stop()
            await api.close()

    asyncio.run(scenario())

    # And over HTTP, with an API server that cannot be reached: never ready, told why.
    broken = tmp_path / "kubeconfig"
    broken.write_text(
        control_plane.kubeconfig_path.read_text().replace(
            control_plane.server_url, "https://127.0.0.1:9"
        )
    )
    unreachable = Weighbridge(broken, CONFIG, tmp_path / "wb").start(wait_ready=False)
    try:
        assert unreachable.status("/readyz") == 503
        status, answer = unreachable.post(
            "/filter", {"Pod": pod_body("default", "p"), "NodeNames": ["x"], "Nodes": None}
        )
        assert status == 200
        assert "not ready: cache not synced yet" in answer["Error"]
    finally:
        unreachable.stop()
