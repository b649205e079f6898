"""A Node becomes Nova's HostState; its pods consume it."""

from __future__ import annotations

import pytest

from extender.errors import ObjectError
from extender.model.hoststate import HostState, Ratios, pod_info
from extender.model.table import HostTable
from tests.builders import node, pod


def table_of(**kwargs: object) -> tuple[HostTable, HostState]:
    """A node's HostState, in a table of its own: the table is where a host changes."""
    table = HostTable()
    host, _ = table.update_node(node(**kwargs), Ratios())  # type: ignore[arg-type]
    return table, host


def host_of(**kwargs: object) -> HostState:
    return table_of(**kwargs)[1]


def test_allocatable_in_nova_units() -> None:
    host = host_of(
        cpu="7910m", memory="30Gi", disk="100Gi", pods="110", extended={"nvidia.com/gpu": "2"}
    )
    assert host.vcpus_total == pytest.approx(7.91)
    assert host.vcpus_used == 0
    assert host.total_usable_ram_mb == 30 * 1024
    assert host.free_ram_mb == 30 * 1024
    assert host.total_usable_disk_gb == 100
    assert host.free_disk_mb == 100 * 1024
    assert host.max_pods == 110
    assert host.allocatable == {"nvidia.com/gpu": 2.0}
    assert host.free_extended("nvidia.com/gpu") == 2.0
    assert host.free_extended("example.com/fpga") == 0.0
    assert host.num_instances == 0
    assert host.num_io_ops == 0


@pytest.mark.parametrize(
    ("ready", "unschedulable", "disabled", "up"),
    [
        (True, False, False, True),
        (False, False, False, False),
        (None, False, False, False),
        (True, True, True, True),
    ],
)
def test_service_from_ready_and_unschedulable(
    ready: bool | None, unschedulable: bool, disabled: bool, up: bool
) -> None:
    host = host_of(ready=ready, unschedulable=unschedulable)
    assert host.service["disabled"] is disabled
    assert host.service["up"] is up


def test_host_ip_is_the_internal_ip() -> None:
    assert host_of(ip="10.1.2.3").host_ip == "10.1.2.3"
    assert host_of(ip=None).host_ip is None


def test_properties_from_node_info_labels_and_annotations() -> None:
    host = host_of(
        zone="az-1",
        labels={"disk": "ssd"},
        annotations={
            "stats.weighbridge.io/failed_builds": "2",
            "metrics.weighbridge.io/cpu.percent": "41.5",
            "metrics.weighbridge.io/broken": "n/a",
        },
    )
    assert host.hypervisor_type == "containerd"
    assert host.hypervisor_version == 1_031_002
    assert host.supported_instances == [("amd64", "containerd", "linux")]
    assert host.stats == {"failed_builds": "2"}
    assert host.capabilities["disk"] == "ssd"
    assert host.capabilities["failed_builds"] == "2"
    assert host.metrics == {"cpu.percent": 41.5}
    assert host.availability_zones == {"az-1"}


def test_ratios_default_then_per_node_annotation() -> None:
    table = HostTable()
    host, _ = table.update_node(node("n"), Ratios(cpu=4.0, ram=1.5, disk=1.0))
    assert (host.cpu_allocation_ratio, host.ram_allocation_ratio) == (4.0, 1.5)
    table.update_node(
        node("n", annotations={"weighbridge.io/cpu-allocation-ratio": "2.5"}),
        Ratios(cpu=4.0, ram=1.5, disk=1.0),
    )
    assert (host.cpu_allocation_ratio, host.ram_allocation_ratio) == (2.5, 1.5)


@pytest.mark.parametrize(
    ("value", "why"), [("lots", "is not a number"), ("0", "positive"), ("-1.5", "positive")]
)
def test_bad_ratio_annotation_is_an_object_error(value: str, why: str) -> None:
    key = "weighbridge.io/ram-allocation-ratio"
    with pytest.raises(ObjectError) as info:
        host_of(name="n1", annotations={key: value})
    assert info.value.where == "Node n1"
    assert key in info.value.why
    assert why in info.value.why


def test_bad_allocatable_is_an_object_error() -> None:
    with pytest.raises(ObjectError) as info:
        host_of(name="n1", memory="lots")
    assert "status.allocatable" in str(info.value)
    assert "'lots'" in str(info.value)


def test_a_bad_node_update_leaves_the_host_unchanged() -> None:
    table, host = table_of(name="n1", memory="8Gi")
    bad = node("n1", memory="16Gi", annotations={"weighbridge.io/disk-allocation-ratio": "x"})
    with pytest.raises(ObjectError):
        table.update_node(bad, Ratios())
    assert host.total_usable_ram_mb == 8192


def test_pods_consume_and_release() -> None:
    table, host = table_of(cpu="4", memory="8Gi", disk="100Gi")
    web = pod_info(
        pod(uid="u1", requests={"cpu": "1500m", "memory": "2Gi", "ephemeral-storage": "1Gi"})
    )
    gpu = pod_info(pod(uid="u2", requests={"cpu": "100m", "nvidia.com/gpu": "1"}))
    table.add_pod(host.host, web)
    table.add_pod(host.host, gpu)
    assert host.vcpus_used == pytest.approx(1.6)
    assert host.free_ram_mb == 6144
    assert host.free_disk_mb == 100 * 1024 - 1024
    assert host.disk_mb_used == 1024
    assert host.extended_used == {"nvidia.com/gpu": 1.0}
    assert host.num_instances == 2
    assert set(host.instances) == {"u1", "u2"}
    table.add_pod(host.host, web)  # the same pod again is an update, not a second pod
    assert host.num_instances == 2
    assert host.free_ram_mb == 6144
    assert table.remove_pod(host.host, "u1") is web
    assert table.remove_pod(host.host, "u1") is None
    assert host.free_ram_mb == 8192
    assert host.vcpus_used == pytest.approx(0.1)
    assert host.num_instances == 1


def test_starting_and_terminating_pods_are_io_ops() -> None:
    table, host = table_of()
    table.add_pod(host.host, pod_info(pod(uid="a", phase="Pending")))
    table.add_pod(host.host, pod_info(pod(uid="b", phase="Running", deleting=True)))
    table.add_pod(host.host, pod_info(pod(uid="c", phase="Running")))
    assert host.num_io_ops == 2
    table.remove_pod(host.host, "a")
    assert host.num_io_ops == 1


def test_node_update_keeps_what_pods_consume() -> None:
    table, host = table_of(name="n", memory="32Gi", disk="100Gi")
    table.add_pod(host.host, pod_info(pod(requests={"memory": "4Gi", "ephemeral-storage": "10Gi"})))
    table.update_node(node("n", memory="64Gi", disk="50Gi"), Ratios())
    assert host.total_usable_ram_mb == 64 * 1024
    assert host.free_ram_mb == 60 * 1024
    assert host.free_disk_mb == 40 * 1024
    assert host.num_instances == 1


def test_fractional_cores_do_not_drift() -> None:
    table, host = table_of()
    infos = [pod_info(pod(requests={"cpu": "100m"})) for _ in range(30)]
    for info in infos:
        table.add_pod(host.host, info)
    for info in infos:
        table.remove_pod(host.host, info.uid)
    assert host.vcpus_used == 0.0
