"""Capacity counts on the bundled example cluster, where the answer is known by hand.

The edge site (zone edge-1) has three nodes of 8Gi: edge-01 is over-full (-256Mi free),
edge-02 has 2048Mi free, edge-03 4096Mi, and each has cpu to spare. So 1Gi copies fit 2 on
edge-02 and 4 on edge-03, after which edge-03 is full.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from extender.cache.snapshot import load_snapshot
from extender.contract import AVAILABILITY_ZONE, SERVER_GROUP_LABEL, SERVER_GROUP_POLICY
from extender.errors import BusyError, WireError
from extender.kube.objects import Pod
from extender.model.options import Options
from extender.service.capacity import Capacity, render, shape_pod
from extender.service.config import CapacitySettings, Config
from tests.builders import pod

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "cluster.yaml"


def headroom(options: Options | None = None, **settings: object) -> Capacity:
    config = Config(options=options or Options())
    state = load_snapshot([EXAMPLE], config.options)
    return Capacity(state, config.scheduler(), CapacitySettings.model_validate(settings))


def edge_pod(
    memory: str = "1Gi", cpu: str = "100m", group: str | None = None, policy: str | None = None
) -> Pod:
    """A pod for the edge zone; with `group`, a member of that server group."""
    annotations = {AVAILABILITY_ZONE: "edge-1"}
    labels = {}
    if group is not None and policy is not None:
        labels[SERVER_GROUP_LABEL] = group
        annotations[SERVER_GROUP_POLICY] = policy
    requests = {"cpu": cpu, "memory": memory}
    return pod("edge", "shop", requests=requests, labels=labels, annotations=annotations)


def test_a_zone_and_a_node_that_becomes_full() -> None:
    report = headroom().count_now(edge_pod())
    assert report["fit"] == 6 and not report["stopped_by_max"]
    assert report["nodes"] == {"edge-03": 4, "edge-02": 2}
    assert report["per_zone"] == {"edge-1": 6}
    assert report["per_aggregate"] == {"edge": 6}
    assert report["order"][0] == "edge-03"  # the most free RAM first
    stopped = report["first_not_fitting"]
    steps = {s["name"]: s for s in stopped["filters"]}
    assert (steps["AvailabilityZoneFilter"]["start"], steps["AvailabilityZoneFilter"]["end"]) == (
        36,
        3,
    )
    assert steps["RamFilter"]["end"] == 0
    assert steps["RamFilter"]["rejected"]["edge-03"] == (
        "RamFilter: needs 1024Mi, more than usable memory (ratio 1) [node: 0Mi usable]"
    )


def test_a_ratio_below_one_keeps_headroom() -> None:
    """At ram_allocation_ratio 0.75 an 8Gi node offers 6144Mi: edge-03 (4096Mi used) takes
    two copies, edge-02 (6144Mi used) none."""
    report = headroom(Options(ram_allocation_ratio=0.75)).count_now(edge_pod())
    assert report["nodes"] == {"edge-03": 2}


def test_anti_affinity_counts_across_the_copies() -> None:
    """512Mi copies: 4 would fit on edge-02 and 8 on edge-03, but a group with
    anti-affinity takes one node each."""
    alone = headroom().count_now(edge_pod("512Mi"))
    assert alone["fit"] == 12
    report = headroom().count_now(edge_pod("512Mi", group="cap", policy="anti-affinity"))
    assert report["nodes"] == {"edge-03": 1, "edge-02": 1}
    reasons = {s["name"]: s["rejected"] for s in report["first_not_fitting"]["filters"]}
    assert set(reasons["ServerGroupAntiAffinityFilter"]) == {"edge-02", "edge-03"}


def test_node_resources_fit_is_modelled() -> None:
    """CoreFilter is not in Nova's default list, but kube-scheduler's NodeResourcesFit still
    stops a pod asking for more cpu than any edge node has free."""
    report = headroom().count_now(edge_pod("64Mi", cpu="4"))
    assert report["fit"] == 0
    fit = next(s for s in report["first_not_fitting"]["filters"] if s["name"] == "NodeResourcesFit")
    assert fit["rejected"]["edge-03"] == "NodeResourcesFit: Insufficient cpu"
    assert "NodeResourcesFit" in report["models"] and "taints" in report["does_not_model"]
    assert "does not model: kube-scheduler's other plugins" in render(report)


def test_the_live_cache_is_not_touched_and_the_maximum_holds() -> None:
    counter = headroom(max_copies=3)
    before = {h.host: h.summary() for h in counter.state.table.hosts}
    report = counter.count_now(edge_pod())
    assert report["fit"] == 3 and report["stopped_by_max"] and report["first_not_fitting"] is None
    assert {h.host: h.summary() for h in counter.state.table.hosts} == before
    with pytest.raises(WireError, match=r"Max=4: at most capacity\.max_copies=3"):
        counter.count_now(edge_pod(), 4)
    bad = pod("bad", "shop", annotations={"weighbridge.io/hints": "{"})
    with pytest.raises(WireError, match=r"weighbridge\.io/hints"):
        counter.count_now(bad)


def test_one_count_at_a_time() -> None:
    """A request waits for the count that runs, and is refused once it has waited long."""
    counter = headroom()

    async def both() -> list[object]:
        return await asyncio.gather(
            counter.count(edge_pod()), counter.count(edge_pod()), return_exceptions=True
        )

    first, second = asyncio.run(both())
    assert isinstance(first, dict) and isinstance(second, dict) and second["fit"] == 6

    counter = headroom()  # a lock belongs to the event loop that first used it

    async def behind_a_long_count() -> dict[str, object]:
        counter.wait_seconds = 0.05
        async with counter._running:
            return await counter.count(edge_pod())

    with pytest.raises(BusyError, match=r"running for 0\.05 s"):
        asyncio.run(behind_a_long_count())


def test_shapes_are_exported_per_zone_and_aggregate() -> None:
    counter = headroom(
        shapes={"small": {"cpu": "100m", "memory": "1Gi"}},
        alert_below={"small": 5000},
        max_copies=50,
    )

    def pods(zone: str = "", aggregate: str = "") -> float:
        labels = {"shape": "small", "zone": zone, "aggregate": aggregate}
        return REGISTRY.get_sample_value("weighbridge_capacity_pods", labels) or 0.0

    async def one_round() -> None:
        task = asyncio.create_task(counter.export())
        while not pods():
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(asyncio.wait_for(one_round(), 30))
    assert pods() == 50
    assert sum(pods(zone) for zone in ("az-1", "az-2", "az-3", "edge-1")) == 50
    assert pods(aggregate="highmem") > 0
    threshold = {"shape": "small"}
    assert REGISTRY.get_sample_value("weighbridge_capacity_alert_below_pods", threshold) == 5000


def test_shape_pods_and_settings_are_checked() -> None:
    shape = shape_pod("small", {"cpu": "500m", "memory": "1Gi"})
    assert shape.metadata.name == "capacity-small"
    with pytest.raises(ValueError, match="shape small: memory"):
        CapacitySettings(shapes={"small": {"memory": "lots"}})
    with pytest.raises(ValueError, match="not defined: big"):
        CapacitySettings(shapes={"small": {"cpu": "1"}}, alert_below={"big": 1})
