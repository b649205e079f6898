"""Nova's HostState for a Kubernetes Node: what the node offers and what its pods consume.

Attribute names and units are Nova's (RAM and disk in MiB, vCPUs in cores), so that JsonFilter
queries and capability keys read as they do in Nova. A HostState is built once per Node
version and then changed in O(1) per pod event. Only the HostTable (table.py) calls the
methods that change it, so its row of columns always follows; filters only read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from extender.contract import (
    ARCH_LABEL,
    AVAILABILITY_ZONE_KEY,
    CPU,
    EPHEMERAL,
    FLAVOR,
    IMAGE_PROPERTIES,
    MEMORY,
    METRICS_ANNOTATION_PREFIX,
    METRICS_TIMESTAMP,
    OS_LABEL,
    PODS,
    RATIO_ANNOTATIONS,
    STATS_ANNOTATION_PREFIX,
    ZONE_LABEL,
)
from extender.errors import AnnotationError, ObjectError, QuantityError
from extender.kube.annotations import load_json
from extender.kube.objects import Node, NodeResourceTopology, Pod
from extender.kube.pods import first_image, pod_is_io_op, pod_resources, pod_uid
from extender.kube.quantities import PodResources, is_device_resource, parse_resource_list

_NATIVE = frozenset({CPU, MEMORY, EPHEMERAL, PODS})


@dataclass(slots=True)
class Aggregate:
    """A host aggregate: shared by all its member HostStates, so a metadata change is O(1)."""

    name: str
    metadata: dict[str, str] = field(default_factory=dict)
    hosts: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Ratios:
    """Allocation ratios that apply when a node does not set its own."""

    cpu: float = 1.0
    ram: float = 1.0
    disk: float = 1.0


@dataclass(slots=True, frozen=True)
class PodInfo:
    """What a host needs to remember of one of its pods (Nova's instance on a host)."""

    uid: str
    namespace: str
    name: str
    resources: PodResources
    io_op: bool
    labels: dict[str, str]
    flavor: str | None
    image: str
    #: its image properties as (name, text) pairs, for ImagePropertiesWeigher
    image_properties: frozenset[tuple[str, str]] = frozenset()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(slots=True, frozen=True)
class NumaZone:
    """One NUMA zone of a node, as its NodeResourceTopology reports it, in HostState units."""

    name: str
    allocatable: dict[str, float]
    available: dict[str, float]


def parse_numa_zones(obj: NodeResourceTopology) -> list[NumaZone]:
    """The Node-type zones of a NodeResourceTopology; a bad quantity names the object."""
    zones = []
    for zone in obj.zones:
        if zone.type != "Node":
            continue
        try:
            allocatable = parse_resource_list({r.name: r.allocatable for r in zone.resources})
            available = parse_resource_list({r.name: r.available for r in zone.resources})
        except QuantityError as exc:
            raise ObjectError(
                f"NodeResourceTopology {obj.metadata.name}", f"zone {zone.name}: {exc}"
            ) from None
        zones.append(NumaZone(zone.name, allocatable, available))
    return zones


def _ratio(node: Node, which: str, default: float) -> float:
    text = node.metadata.annotations.get(RATIO_ANNOTATIONS[which])
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ObjectError(
            f"Node {node.metadata.name}",
            f"annotation {RATIO_ANNOTATIONS[which]}={text!r} is not a number",
        ) from None
    if value <= 0:
        raise ObjectError(
            f"Node {node.metadata.name}",
            f"annotation {RATIO_ANNOTATIONS[which]}={text!r} must be positive",
        )
    return value


def _tidy(value: float) -> float:
    """Keep sums of fractional cores from drifting after many adds and removes."""
    return round(value, 6)


class HostState:
    """One node, with Nova's attribute names, and the pods bound to it."""

    __slots__ = (
        "aggregates",
        "allocatable",
        "capabilities",
        "cpu_allocation_ratio",
        "disk_allocation_ratio",
        "disk_mb_used",
        "extended_used",
        "failed_builds",
        "free_disk_mb",
        "free_ram_mb",
        "host",
        "host_ip",
        "hypervisor_type",
        "hypervisor_version",
        "instance_keys",
        "instances",
        "kernel_version",
        "labels",
        "max_pods",
        "metrics",
        "metrics_timestamp",
        "nodename",
        "num_instances",
        "num_io_ops",
        "numa_zones",
        "os_image",
        "ram_allocation_ratio",
        "service",
        "stats",
        "supported_instances",
        "taints",
        "total_usable_disk_gb",
        "total_usable_ram_mb",
        "updated",
        "vcpus_total",
        "vcpus_used",
    )

    def __init__(self, name: str) -> None:
        self.host = name
        self.nodename = name
        self.total_usable_ram_mb = 0.0
        self.free_ram_mb = 0.0
        self.total_usable_disk_gb = 0.0
        self.free_disk_mb = 0.0
        self.disk_mb_used = 0.0
        self.vcpus_total = 0.0
        self.vcpus_used = 0.0
        self.num_instances = 0
        self.num_io_ops = 0
        self.max_pods = 0.0
        self.allocatable: dict[str, float] = {}
        self.extended_used: dict[str, float] = {}
        self.stats: dict[str, str] = {}
        self.capabilities: dict[str, str] = {}
        self.metrics: dict[str, float] = {}
        #: when the metrics were measured (annotation weighbridge.io/metrics-timestamp)
        self.metrics_timestamp: datetime | None = None
        self.labels: dict[str, str] = {}
        self.taints: list[tuple[str, str, str]] = []
        self.host_ip: str | None = None
        self.hypervisor_type = ""
        self.hypervisor_version = 0
        self.kernel_version = ""
        self.os_image = ""
        self.supported_instances: list[tuple[str, str, str]] = []
        self.cpu_allocation_ratio = 1.0
        self.ram_allocation_ratio = 1.0
        self.disk_allocation_ratio = 1.0
        self.aggregates: list[Aggregate] = []
        self.instances: dict[str, PodInfo] = {}
        #: namespace/name -> uid of the instances, so hints may name pods either way in O(1)
        self.instance_keys: dict[str, str] = {}
        #: NUMA zones from the node's NodeResourceTopology; None when it publishes none
        self.numa_zones: list[NumaZone] | None = None
        self.service: dict[str, Any] = {"disabled": False, "up": True}
        self.failed_builds = 0
        self.updated: datetime | None = None

    def __repr__(self) -> str:
        return (
            f"({self.host}, {self.nodename}) ram: {self.free_ram_mb:g}MB "
            f"disk: {self.free_disk_mb:g}MB io_ops: {self.num_io_ops} "
            f"instances: {self.num_instances}"
        )

    def _apply_node(self, node: Node, defaults: Ratios) -> None:
        """Take totals, conditions and properties from a Node; keeps what pods consume."""
        where = f"Node {node.metadata.name}"
        try:
            allocatable = parse_resource_list(node.status.allocatable)
        except QuantityError as exc:
            raise ObjectError(where, f"status.allocatable: {exc}") from None
        # Everything that can fail comes first, so a bad Node leaves the HostState unchanged.
        ratios = {
            which: _ratio(node, which, getattr(defaults, which)) for which in RATIO_ANNOTATIONS
        }
        used_ram = self.total_usable_ram_mb - self.free_ram_mb
        used_disk = self.disk_mb_used
        self.allocatable = {k: v for k, v in allocatable.items() if k not in _NATIVE}
        self.total_usable_ram_mb = allocatable.get(MEMORY, 0.0)
        self.free_ram_mb = _tidy(self.total_usable_ram_mb - used_ram)
        self.total_usable_disk_gb = allocatable.get(EPHEMERAL, 0.0) / 1024
        self.free_disk_mb = _tidy(allocatable.get(EPHEMERAL, 0.0) - used_disk)
        self.vcpus_total = allocatable.get(CPU, 0.0)
        self.max_pods = allocatable.get(PODS, 0.0)
        self.cpu_allocation_ratio = ratios["cpu"]
        self.ram_allocation_ratio = ratios["ram"]
        self.disk_allocation_ratio = ratios["disk"]

        meta, status = node.metadata, node.status
        self.labels = dict(meta.labels)
        self.taints = [(t.key, t.value, t.effect) for t in node.spec.taints]
        ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions)
        self.service = {
            "disabled": node.spec.unschedulable,
            "disabled_reason": "cordoned" if node.spec.unschedulable else None,
            "up": ready,
        }
        self.host_ip = next((a.address for a in status.addresses if a.type == "InternalIP"), None)
        info = status.node_info
        runtime = info.container_runtime_version.partition("://")[0]
        self.hypervisor_type = runtime
        self.hypervisor_version = _version_int(info.kubelet_version)
        self.kernel_version = info.kernel_version
        self.os_image = info.os_image
        arch = meta.labels.get(ARCH_LABEL, info.architecture)
        os_name = meta.labels.get(OS_LABEL, info.operating_system)
        self.supported_instances = [(arch, runtime, os_name)] if arch or os_name else []
        self.stats = {
            k[len(STATS_ANNOTATION_PREFIX) :]: v
            for k, v in meta.annotations.items()
            if k.startswith(STATS_ANNOTATION_PREFIX)
        }
        self.capabilities = {**meta.labels, **self.stats}
        self.metrics = _metrics(meta.annotations)
        self.metrics_timestamp = _timestamp(meta.annotations.get(METRICS_TIMESTAMP))

    def _add_instance(self, info: PodInfo) -> None:
        """Nova's update_instance_info for one pod: it now consumes this host."""
        if info.uid in self.instances:
            self._remove_instance(info.uid)
        self.instances[info.uid] = info
        self.instance_keys[info.key] = info.uid
        self._consume(info, +1)

    def _remove_instance(self, uid: str) -> PodInfo | None:
        """Nova's delete_instance_info: the pod no longer consumes this host."""
        info = self.instances.pop(uid, None)
        if info is not None:
            if self.instance_keys.get(info.key) == uid:
                del self.instance_keys[info.key]
            self._consume(info, -1)
        return info

    def _copy(self) -> HostState:
        """An independent copy for what-if runs: what pods change is copied, the rest (node
        properties, shared aggregates) is shared, since a copy only ever loses pods."""
        twin = HostState.__new__(HostState)
        for name in HostState.__slots__:
            setattr(twin, name, getattr(self, name))
        twin.instances = dict(self.instances)
        twin.instance_keys = dict(self.instance_keys)
        twin.extended_used = dict(self.extended_used)
        return twin

    def has_instance(self, ref: str) -> bool:
        """Whether a pod named by UID or by namespace/name runs here."""
        return ref in self.instances or ref in self.instance_keys

    def attribute(self, name: str) -> Any:
        """A public attribute by name, for capability keys and JsonFilter variables, which
        users write: internals (methods, the name index) read as missing."""
        return getattr(self, name) if name in QUERYABLE else None

    def _consume(self, info: PodInfo, sign: int) -> None:
        res = info.resources
        self.free_ram_mb = _tidy(self.free_ram_mb - sign * res.get(MEMORY))
        disk = res.get(EPHEMERAL)
        self.free_disk_mb = _tidy(self.free_disk_mb - sign * disk)
        self.disk_mb_used = _tidy(self.disk_mb_used + sign * disk)
        self.vcpus_used = _tidy(self.vcpus_used + sign * res.get(CPU))
        self.num_instances += sign
        if info.io_op:
            self.num_io_ops += sign
        for name, value in res.requests.items():
            if name not in _NATIVE:
                self.extended_used[name] = _tidy(self.extended_used.get(name, 0.0) + sign * value)
        if sign > 0:
            self.updated = datetime.now(UTC)

    @property
    def availability_zones(self) -> frozenset[str]:
        """Zones from the host's aggregates (comma-split), plus its zone label."""
        zones: set[str] = set()
        for agg in self.aggregates:
            az = agg.metadata.get(AVAILABILITY_ZONE_KEY)
            if az:
                zones.update(z.strip() for z in az.split(",") if z.strip())
        label = self.labels.get(ZONE_LABEL)
        if label:
            zones.add(label)
        return frozenset(zones)

    def summary(self) -> dict[str, Any]:
        """A read-only view for operators (GET /hosts) and for comparing caches in tests."""
        stamp = self.metrics_timestamp
        return {
            "host": self.host,
            "total_usable_ram_mb": self.total_usable_ram_mb,
            "free_ram_mb": self.free_ram_mb,
            "vcpus_total": self.vcpus_total,
            "vcpus_used": self.vcpus_used,
            "total_usable_disk_gb": self.total_usable_disk_gb,
            "free_disk_mb": self.free_disk_mb,
            "num_instances": self.num_instances,
            "num_io_ops": self.num_io_ops,
            "allocation_ratios": {
                "cpu": self.cpu_allocation_ratio,
                "ram": self.ram_allocation_ratio,
                "disk": self.disk_allocation_ratio,
            },
            "service": dict(self.service),
            "aggregates": sorted(a.name for a in self.aggregates),
            "availability_zones": sorted(self.availability_zones),
            "extended": {
                name: {"allocatable": total, "used": self.extended_used.get(name, 0.0)}
                for name, total in sorted(self.allocatable.items())
            },
            "instances": sorted(i.key for i in self.instances.values()),
            "metrics": {
                "values": dict(sorted(self.metrics.items())),
                "timestamp": None if stamp is None else stamp.isoformat(),
                "age_seconds": self.metrics_age(),
            },
        }

    def metrics_age(self, now: datetime | None = None) -> float | None:
        """Seconds since the metrics were measured; None when the node does not say."""
        stamp = self.metrics_timestamp
        if stamp is None:
            return None
        return ((now or datetime.now(UTC)) - stamp).total_seconds()

    def free_extended(self, name: str) -> float:
        return self.allocatable.get(name, 0.0) - self.extended_used.get(name, 0.0)

    @property
    def free_devices(self) -> float:
        """Free devices of every kind together (Nova's PCI pool counts), for PCIWeigher."""
        return sum(
            max(0.0, total - self.extended_used.get(name, 0.0))
            for name, total in self.allocatable.items()
            if is_device_resource(name)
        )


QUERYABLE = (frozenset(HostState.__slots__) - {"instance_keys"}) | {
    "availability_zones",
    "free_devices",
}


def _version_int(version: str) -> int:
    """Nova keeps hypervisor_version as an int: v1.36.3 becomes 1036003."""
    parts = version.lstrip("v").split("-")[0].split("+")[0].split(".")
    try:
        nums = [int(p) for p in parts[:3]] + [0] * (3 - len(parts[:3]))
    except ValueError:
        return 0
    return nums[0] * 1_000_000 + nums[1] * 1_000 + nums[2]


def _metrics(annotations: dict[str, str]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for key, value in annotations.items():
        if key.startswith(METRICS_ANNOTATION_PREFIX):
            try:
                metrics[key[len(METRICS_ANNOTATION_PREFIX) :]] = float(value)
            except ValueError:
                continue
    return metrics


def _timestamp(text: str | None) -> datetime | None:
    """An RFC 3339 time; unparsable or missing is None (the metrics have no known age)."""
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def property_pairs(properties: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """Image properties as hashable (name, text) pairs: strings as written, other JSON
    values as JSON, so `true` on a pod matches `true` on another (Nova compares str())."""
    return frozenset(
        (k, v if isinstance(v, str) else json.dumps(v, sort_keys=True))
        for k, v in properties.items()
    )


def _bound_image_properties(annotations: dict[str, str]) -> frozenset[tuple[str, str]]:
    """A bound pod's image properties; a malformed annotation counts as none, since the pod
    is placed already and its mistake must not break the cache."""
    text = annotations.get(IMAGE_PROPERTIES)
    if text is None:
        return frozenset()
    try:
        value = load_json(text, IMAGE_PROPERTIES)
    except AnnotationError:
        return frozenset()
    return property_pairs(value) if isinstance(value, dict) else frozenset()


def pod_info(pod: Pod) -> PodInfo:
    """The lean record a HostState keeps for a pod bound to it."""
    meta = pod.metadata
    return PodInfo(
        uid=pod_uid(pod),
        namespace=meta.namespace,
        name=meta.name,
        resources=pod_resources(pod),
        io_op=pod_is_io_op(pod),
        labels=meta.labels,
        flavor=meta.annotations.get(FLAVOR),
        image=first_image(pod),
        image_properties=_bound_image_properties(meta.annotations),
    )
