"""Lean typed views of the Kubernetes objects the extender reads: Node, Pod, HostAggregate,
NodeResourceTopology, DeviceClass.

Only the fields the scheduler uses are declared; msgspec skips the rest while decoding, which
is what keeps a 5,000-node cache and a 150,000-pod watch cheap (the client's model objects
cost ten times the memory). The same structs serve snapshot files, watch events and the
Pod inside extender requests.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

Quantity = str | int | float
ResourceMap = dict[str, Quantity]


class _Kube(msgspec.Struct, rename="camel", omit_defaults=True):
    """Kubernetes JSON uses lowerCamelCase keys."""


class ObjectMeta(_Kube):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    deletion_timestamp: datetime | None = None


class KubeObject(_Kube):
    """Any object with metadata; lets the cache's informers handle every kind alike."""

    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)


class ResourceRequirements(_Kube):
    requests: ResourceMap | None = None
    limits: ResourceMap | None = None


class Container(_Kube):
    name: str = ""
    image: str = ""
    resources: ResourceRequirements | None = None
    restart_policy: str | None = None


class PodSpec(_Kube):
    node_name: str = ""
    containers: list[Container] = []
    init_containers: list[Container] = []
    overhead: ResourceMap | None = None
    resources: ResourceRequirements | None = None
    priority: int | None = None
    scheduler_name: str = ""


class PodStatus(_Kube):
    phase: str = ""


class Pod(KubeObject):
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)
    kind: str = "Pod"


class Taint(_Kube):
    key: str = ""
    value: str = ""
    effect: str = ""


class NodeSpec(_Kube):
    unschedulable: bool = False
    taints: list[Taint] = []


class NodeCondition(_Kube):
    type: str = ""
    status: str = ""


class NodeAddress(_Kube):
    type: str = ""
    address: str = ""


class NodeSystemInfo(_Kube):
    kubelet_version: str = ""
    architecture: str = ""
    operating_system: str = ""
    container_runtime_version: str = ""
    kernel_version: str = ""
    os_image: str = ""


class NodeStatus(_Kube):
    allocatable: ResourceMap = {}
    capacity: ResourceMap = {}
    conditions: list[NodeCondition] = []
    addresses: list[NodeAddress] = []
    node_info: NodeSystemInfo = msgspec.field(default_factory=NodeSystemInfo)


class Node(KubeObject):
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)
    kind: str = "Node"


class HostAggregateSpec(_Kube):
    metadata: dict[str, str] = {}


class HostAggregate(KubeObject):
    spec: HostAggregateSpec = msgspec.field(default_factory=HostAggregateSpec)
    kind: str = "HostAggregate"


class ResourceInfo(_Kube):
    name: str = ""
    capacity: Quantity = 0
    allocatable: Quantity = 0
    available: Quantity = 0


class Zone(_Kube):
    name: str = ""
    type: str = ""
    resources: list[ResourceInfo] = []


class NodeResourceTopology(KubeObject):
    """topology.node.k8s.io/v1alpha2, cluster-scoped and named after its node: the NUMA
    zones that NFD's topology-updater or the kubelet's exporter publish."""

    zones: list[Zone] = []
    kind: str = "NodeResourceTopology"


class DeviceClassSpec(_Kube):
    extended_resource_name: str | None = None


class DeviceClass(KubeObject):
    """resource.k8s.io/v1, cluster-scoped: a kind of DRA device. Under the DRAExtendedResource
    feature (KEP-5004, on by default since Kubernetes v1.36) it serves the extended resource
    it names in `spec.extendedResourceName` and, always, `deviceclass.resource.kubernetes.io/`
    followed by its own name."""

    spec: DeviceClassSpec = msgspec.field(default_factory=DeviceClassSpec)
    kind: str = "DeviceClass"


#: the extended resource name every DeviceClass serves: this prefix and the class's name
DEVICE_CLASS_RESOURCE_PREFIX = "deviceclass.resource.kubernetes.io/"


def device_class_resources(obj: DeviceClass) -> frozenset[str]:
    """The extended resource names a DeviceClass serves, as kube-scheduler's
    ExtendedResourceCache maps them: the implicit one, and the explicit one when set."""
    implicit = DEVICE_CLASS_RESOURCE_PREFIX + obj.metadata.name
    explicit = obj.spec.extended_resource_name
    return frozenset({implicit, explicit} if explicit else {implicit})


class NameOnly(_Kube):
    """metadata.name alone: decoding skips labels and annotations instead of building them."""

    name: str = ""


class NodeName(_Kube):
    """Just the name of a Node, for requests that carry whole Nodes we do not need."""

    metadata: NameOnly = msgspec.field(default_factory=NameOnly)


CacheObject = Node | Pod | HostAggregate | NodeResourceTopology | DeviceClass
"""Every kind the cache reads, from a LIST or a snapshot file."""

KINDS: dict[str, type[CacheObject]] = {
    "Node": Node,
    "Pod": Pod,
    "HostAggregate": HostAggregate,
    "NodeResourceTopology": NodeResourceTopology,
    "DeviceClass": DeviceClass,
}


def micro_time(at: datetime) -> str:
    """`at` (in UTC) as a metav1.MicroTime, the form of Lease and Event times."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
