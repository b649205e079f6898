"""AvailabilityZoneFilter: zones from the node's topology.kubernetes.io/zone label and its
aggregates' availability_zone metadata; a node with neither is in the default zone."""

from __future__ import annotations

import pytest

from extender.cache.state import ClusterState
from extender.kube.objects import Pod
from extender.model.options import Options
from tests.builders import aggregate, cluster, node, pod
from tests.unit.engine.helpers import check


def zonal(zone: str) -> Pod:
    return pod(annotations={"weighbridge.io/availability-zone": zone})


@pytest.fixture
def zones() -> ClusterState:
    return cluster(
        node("labelled", zone="az-1"),
        node("bare"),
        node("multi", aggregates=["both"]),
        node("edge", zone="az-3", aggregates=["edge"]),
        aggregate("both", availability_zone="az-1, az-2"),
        aggregate("edge", availability_zone="edge-1"),
    )


def test_no_zone_requested_every_node_passes(zones: ClusterState) -> None:
    for name in ("labelled", "bare", "multi", "edge"):
        assert check("AvailabilityZoneFilter", zones, pod(), name) is None


def test_zone_label_and_aggregate_metadata(zones: ClusterState) -> None:
    assert check("AvailabilityZoneFilter", zones, zonal("az-1"), "labelled") is None
    assert check("AvailabilityZoneFilter", zones, zonal("az-2"), "labelled") == (
        "AvailabilityZoneFilter: node is not in requested zone 'az-2' [node: in az-1]"
    )
    # an aggregate in several zones (comma-separated) matches each of them
    assert check("AvailabilityZoneFilter", zones, zonal("az-1"), "multi") is None
    assert check("AvailabilityZoneFilter", zones, zonal("az-2"), "multi") is None
    assert check("AvailabilityZoneFilter", zones, zonal("az-3"), "multi") == (
        "AvailabilityZoneFilter: node is not in requested zone 'az-3' [node: in az-1, az-2]"
    )
    assert check("AvailabilityZoneFilter", zones, zonal("edge-1"), "edge") is None
    assert check("AvailabilityZoneFilter", zones, zonal("az-3"), "edge") is None


def test_a_node_without_zone_is_in_the_default_zone(zones: ClusterState) -> None:
    assert check("AvailabilityZoneFilter", zones, zonal("nova"), "bare") is None
    assert check("AvailabilityZoneFilter", zones, zonal("az-1"), "bare") == (
        "AvailabilityZoneFilter: node is not in requested zone 'az-1' [node: no zone, default "
        "'nova']"
    )
    assert check("AvailabilityZoneFilter", zones, zonal("nova"), "labelled") is not None
    assert (
        check(
            "AvailabilityZoneFilter",
            zones,
            zonal("home"),
            "bare",
            Options(default_availability_zone="home"),
        )
        is None
    )


def test_default_schedule_zone_applies_to_pods_that_name_none(zones: ClusterState) -> None:
    assert (
        check(
            "AvailabilityZoneFilter",
            zones,
            pod(),
            "labelled",
            Options(default_schedule_zone="az-1"),
        )
        is None
    )
    assert (
        check("AvailabilityZoneFilter", zones, pod(), "edge", Options(default_schedule_zone="az-1"))
        is not None
    )
    assert (
        check(
            "AvailabilityZoneFilter",
            zones,
            zonal("edge-1"),
            "edge",
            Options(default_schedule_zone="az-1"),
        )
        is None
    )
