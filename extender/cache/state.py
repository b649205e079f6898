"""The cluster view: Nodes become HostStates, Pods are consumed by their node, HostAggregates
give aggregate metadata, NodeResourceTopologies give NUMA zones, DeviceClasses name the
extended resources DRA serves, failed binds are remembered. Every event is O(1) in the size
of the cluster (O(labels) for a node), as Nova's update_instance_info and
delete_instance_info are; indexes (aggregate -> hosts, server group -> members) are kept at
event time so requests never walk all pods.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from extender.cache.retries import FailureLog
from extender.contract import AGGREGATE_LABEL_PREFIX, SERVER_GROUP_LABEL
from extender.kube.objects import (
    CacheObject,
    DeviceClass,
    HostAggregate,
    Node,
    NodeResourceTopology,
    Pod,
    device_class_resources,
)
from extender.kube.pods import pod_is_terminal, pod_uid
from extender.model.hoststate import (
    Aggregate,
    HostState,
    NumaZone,
    PodInfo,
    Ratios,
    parse_numa_zones,
    pod_info,
)
from extender.model.options import Options
from extender.model.request import InstanceGroup, RetryInfo
from extender.model.table import HostTable

log = logging.getLogger(__name__)

Change = Literal["aggregate", "numa", "assumption", "retry", "device_class"]
"""A change only this extender sees (kube-scheduler watches none of them) that may turn a
filter's rejection into a pass: what `ClusterState.changed` is told."""


def _unobserved(change: Change) -> None:
    """The default `ClusterState.changed`: nobody listens."""


#: pods described by filter calls and not yet shown by the pod watch, at most
UNSEEN_PODS = 4096


@dataclass(slots=True)
class Placement:
    """Where a pod consumes resources."""

    node: str
    info: PodInfo


_LOAD_ORDER: dict[type, int] = {
    HostAggregate: 0,
    DeviceClass: 0,
    Node: 1,
    NodeResourceTopology: 2,
    Pod: 3,
}


class ClusterState:
    """HostStates for all nodes, the pods that consume them, aggregates and server groups."""

    def __init__(self, options: Options | None = None) -> None:
        options = options or Options()
        self.ratios = Ratios(
            options.cpu_allocation_ratio,
            options.ram_allocation_ratio,
            options.disk_allocation_ratio,
        )
        self.table = HostTable()
        self.placements: dict[str, Placement] = {}
        #: pods bound to a node the cache has not seen (yet, or any more), by node name
        self.orphans: dict[str, dict[str, PodInfo]] = {}
        self.aggregates: dict[str, Aggregate] = {}
        self.aggregate_objects: set[str] = set()
        self.groups: dict[tuple[str, str], dict[str, str]] = {}
        self.numa: dict[str, list[NumaZone]] = {}
        #: the extended resource names each DeviceClass serves, by class name
        self.device_classes: dict[str, frozenset[str]] = {}
        #: every extended resource name some DeviceClass serves (DRA), for the RequestSpec
        self.dra_extended: frozenset[str] = frozenset()
        self.max_attempts = options.max_attempts
        self.failures = FailureLog(options.bind_failure_ttl_seconds, options.bind_failure_records)
        #: pods not yet bound, so that a bind can consume what they request: from the pod
        #: watch, or from a filter call the watch has not caught up with (`expect`)
        self.pending: dict[str, PodInfo] = {}
        #: the pending pods the watch has not shown yet, oldest first
        self._unseen: OrderedDict[str, None] = OrderedDict()
        #: pods this extender bound and has not yet seen bound, with their deadlines
        self.assumed: dict[str, float] = {}
        #: told of every Change after it is applied (extender/service/requeue.py); must not block
        self.changed: Callable[[Change], None] = _unobserved

    def load(self, objects: Iterable[CacheObject]) -> None:
        """Apply a whole list of objects (a snapshot, a fresh LIST) in the order that lets
        each find what it refers to: aggregates and device classes, nodes, their
        topologies, then pods."""
        for obj in sorted(objects, key=lambda o: _LOAD_ORDER[type(o)]):
            if isinstance(obj, HostAggregate):
                self.upsert_aggregate(obj)
            elif isinstance(obj, DeviceClass):
                self.upsert_device_class(obj)
            elif isinstance(obj, Node):
                self.upsert_node(obj)
            elif isinstance(obj, NodeResourceTopology):
                self.upsert_numa_topology(obj)
            else:
                self.upsert_pod(obj)

    # -- nodes -----------------------------------------------------------------------------

    def upsert_node(self, node: Node) -> HostState:
        host, created = self.table.update_node(node, self.ratios)
        self._set_aggregates(host)
        if created:
            name = host.host
            self.table.set_numa_zones(name, self.numa.get(name))
            self.table.set_failed_builds(name, self.failures.failed_builds(name))
            for info in self.orphans.pop(name, {}).values():
                self.table.add_pod(name, info)
        return host

    def delete_node(self, name: str) -> None:
        """Nova's dead-node removal; the node's pods wait as orphans in case it returns."""
        host = self.table.remove(name)
        if host is None:
            return
        for agg in host.aggregates:
            agg.hosts.discard(name)
            self._forget_aggregate_if_unused(agg.name)
        if host.instances:
            self.orphans[name] = dict(host.instances)

    def _set_aggregates(self, host: HostState) -> None:
        """The aggregates the host's labels name, in the index and on the host."""
        names = {
            k[len(AGGREGATE_LABEL_PREFIX) :]
            for k in host.labels
            if k.startswith(AGGREGATE_LABEL_PREFIX)
        }
        old = {a.name for a in host.aggregates}
        if names == old:
            return
        for gone in old - names:
            self.aggregates[gone].hosts.discard(host.host)
            self._forget_aggregate_if_unused(gone)
        members = []
        for agg_name in sorted(names):
            agg = self.aggregates.get(agg_name)
            if agg is None:
                agg = self.aggregates[agg_name] = Aggregate(agg_name)
            agg.hosts.add(host.host)
            members.append(agg)
        self.table.set_aggregates(host.host, members)

    # -- aggregates ------------------------------------------------------------------------

    def upsert_aggregate(self, obj: HostAggregate) -> None:
        name = obj.metadata.name
        agg = self.aggregates.get(name)
        if agg is None:
            agg = self.aggregates[name] = Aggregate(name)
        self._set_metadata(agg, dict(obj.spec.metadata))
        self.aggregate_objects.add(name)

    def delete_aggregate(self, name: str) -> None:
        """A labelled aggregate without its object keeps its members, with no metadata."""
        self.aggregate_objects.discard(name)
        agg = self.aggregates.get(name)
        if agg is not None:
            self._set_metadata(agg, {})
            self._forget_aggregate_if_unused(name)

    def _set_metadata(self, agg: Aggregate, metadata: dict[str, str]) -> None:
        """Members share the metadata, so the change itself is O(1); the members' rows are
        written again when it changed (their zones, whether an aggregate sets a weight
        multiplier, and the stamps that tell a weighing kept between a pod's filter and
        prioritize calls that it is stale)."""
        changed = agg.metadata != metadata
        agg.metadata = metadata
        if changed:
            self.table.aggregate_changed(agg.hosts)
            self.changed("aggregate")

    def _forget_aggregate_if_unused(self, name: str) -> None:
        agg = self.aggregates.get(name)
        if agg is not None and not agg.hosts and name not in self.aggregate_objects:
            del self.aggregates[name]

    # -- NUMA topology ---------------------------------------------------------------------

    def upsert_numa_topology(self, obj: NodeResourceTopology) -> None:
        """A NodeResourceTopology is named after its node and may arrive before it."""
        zones = parse_numa_zones(obj)
        self.numa[obj.metadata.name] = zones
        self.table.set_numa_zones(obj.metadata.name, zones)
        self.changed("numa")

    def delete_numa_topology(self, name: str) -> None:
        self.numa.pop(name, None)
        self.table.set_numa_zones(name, None)

    # -- DRA device classes ----------------------------------------------------------------

    def upsert_device_class(self, obj: DeviceClass) -> None:
        self._set_device_class(obj.metadata.name, device_class_resources(obj))

    def delete_device_class(self, name: str) -> None:
        self._set_device_class(name, None)

    def device_class_keys(self) -> set[str]:
        return set(self.device_classes)

    def _set_device_class(self, name: str, served: frozenset[str] | None) -> None:
        """The one place `dra_extended` changes: the union over the classes, rebuilt (classes
        are few and change rarely). A name two classes claim stays served while either
        exists; which class kube-scheduler then picks (the newer) does not matter here."""
        if served is None:
            self.device_classes.pop(name, None)
        else:
            self.device_classes[name] = served
        before = self.dra_extended
        self.dra_extended = frozenset().union(*self.device_classes.values())
        if self.dra_extended != before:
            self.changed("device_class")

    # -- pods ------------------------------------------------------------------------------

    def upsert_pod(self, pod: Pod) -> None:
        """A pod consumes its node while it is bound and not terminal."""
        uid = pod_uid(pod)
        node = pod.spec.node_name
        if pod_is_terminal(pod):
            self.delete_pod(uid)
            return
        if not node:
            if uid in self.assumed:
                return  # our binding is on its way; the pod's older versions do not undo it
            self.delete_pod(uid)
            self.pending[uid] = pod_info(pod)
            return
        self._place(uid, node, pod_info(pod))

    def assume(self, uid: str, node: str, info: PodInfo, until: float) -> None:
        """Nova's consume_from_request: count a pod on the node we are binding it to,
        before the Binding is even created, so no other pod is weighed against that room."""
        self._place(uid, node, info)
        self.assumed[uid] = until

    def release(self, uid: str, info: PodInfo) -> None:
        """An assumption whose Binding failed: the pod is pending again, nowhere counted."""
        if uid in self.assumed:
            self.delete_pod(uid)
            self.expect(info)

    def expire_assumptions(self, now: float | None = None) -> int:
        """Drop assumptions never confirmed by the watch; returns how many."""
        now = time.monotonic() if now is None else now
        expired = [uid for uid, until in self.assumed.items() if until <= now]
        for uid in expired:
            self.delete_pod(uid)
        if expired:
            self.changed("assumption")
        return len(expired)

    def pod_keys(self) -> set[str]:
        """Every pod the cache knows of, for a relist to find the ones that are gone."""
        return (set(self.placements) | set(self.pending)) - set(self.assumed) - set(self._unseen)

    def node_keys(self) -> set[str]:
        return set(self.table.index)

    def aggregate_keys(self) -> set[str]:
        """The aggregates that have a HostAggregate object (labels alone make the others)."""
        return set(self.aggregate_objects)

    def numa_keys(self) -> set[str]:
        return set(self.numa)

    def expect(self, info: PodInfo) -> None:
        """A pod being scheduled, as its filter call describes it. kube-scheduler may bind
        it before the pod watch shows it, and the bind must know what it requests; what the
        watch shows always wins, and at most UNSEEN_PODS such pods are kept, oldest out."""
        uid = info.uid
        if uid in self.placements or (uid in self.pending and uid not in self._unseen):
            return
        self.pending[uid] = info
        self._unseen[uid] = None
        self._unseen.move_to_end(uid)
        if len(self._unseen) > UNSEEN_PODS:
            oldest, _ = self._unseen.popitem(last=False)
            del self.pending[oldest]

    def _place(self, uid: str, node: str, info: PodInfo) -> None:
        self.delete_pod(uid)
        self.placements[uid] = Placement(node, info)
        if not self.table.add_pod(node, info):
            self.orphans.setdefault(node, {})[uid] = info
        group = info.labels.get(SERVER_GROUP_LABEL)
        if group is not None:
            self.groups.setdefault((info.namespace, group), {})[uid] = node

    def delete_pod(self, uid: str) -> None:
        self.pending.pop(uid, None)
        self._unseen.pop(uid, None)
        self.assumed.pop(uid, None)
        placement = self.placements.pop(uid, None)
        if placement is None:
            return
        if placement.node in self.table.index:
            self.table.remove_pod(placement.node, uid)
        else:
            orphans = self.orphans.get(placement.node)
            if orphans is not None:
                orphans.pop(uid, None)
                if not orphans:
                    del self.orphans[placement.node]
        group = placement.info.labels.get(SERVER_GROUP_LABEL)
        if group is not None:
            key = (placement.info.namespace, group)
            members = self.groups.get(key)
            if members is not None:
                members.pop(uid, None)
                if not members:
                    del self.groups[key]

    # -- lookups for requests --------------------------------------------------------------

    def server_group(self, namespace: str, name: str) -> InstanceGroup:
        members = self.groups.get((namespace, name), {})
        counts = Counter(members.values())
        return InstanceGroup(name, [], set(members), set(counts), dict(counts))

    # -- failed binds ----------------------------------------------------------------------

    def bind_succeeded(self, uid: str, node: str) -> None:
        """Nova's compute resets failed_builds after a successful build."""
        self.failures.record_success(uid, node)
        self._sync_failed_builds({node})

    def bind_failed(self, uid: str, node: str) -> None:
        """RetryFilter will skip `node` for this pod; BuildFailureWeigher counts it."""
        self.failures.record_failure(uid, node)
        self._sync_failed_builds({node})

    def retry_info(self, uid: str) -> RetryInfo | None:
        """Nova's populate_retry: attempts so far (this one included) and the failed hosts;
        None when max_attempts is 1, which disables rescheduling memory in Nova."""
        self.expire_failures()
        if self.max_attempts == 1:
            return None
        count, hosts = self.failures.failed_hosts(uid)
        return RetryInfo(count + 1, hosts)

    def expire_failures(self) -> None:
        """Forget bind failures older than their TTL (RetryFilter's and
        BuildFailureWeigher's memory)."""
        before = len(self.failures)
        self._sync_failed_builds(self.failures.expire())
        if len(self.failures) < before:
            self.changed("retry")

    def _sync_failed_builds(self, nodes: set[str]) -> None:
        for name in nodes:
            self.table.set_failed_builds(name, self.failures.failed_builds(name))

    @property
    def node_count(self) -> int:
        return len(self.table)

    @property
    def pod_count(self) -> int:
        return len(self.placements)
