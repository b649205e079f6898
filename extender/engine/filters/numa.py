"""NUMATopologyFilter: a pod that asks for one NUMA node fits only where one zone can hold it.

Nodes publish their NUMA zones as NodeResourceTopology objects (topology.node.k8s.io, by
NFD's topology-updater or a kubelet podresources exporter): per zone of type Node, each
resource's capacity, allocatable and available. A pod opts in with the annotation
`weighbridge.io/numa-policy: single-numa-node` (the kubelet's Topology Manager policy of that
name aligns only Guaranteed pods, so give such pods equal requests and limits). It then fits
a node when some single zone has available at least its cpu, memory and device requests,
counting only the resources the node's zones report. A node without a topology fails, as
Nova's host without a NUMA topology fails a request that has one. `available` is as fresh
as the exporter makes it; pods bound since its last update are not subtracted.
"""

from __future__ import annotations

from extender.contract import CPU, MEMORY
from extender.engine.filters.base import BaseFilter, fmt_mb, fmt_num, reason
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec


def _amount(name: str, value: float) -> str:
    return f"{name} {fmt_mb(value) if name == MEMORY else fmt_num(value)}"


def _numa_request(spec: RequestSpec) -> dict[str, float]:
    wanted = {CPU: spec.vcpus, MEMORY: spec.memory_mb, **spec.pci_requests}
    return {name: amount for name, amount in wanted.items() if amount}


class NUMATopologyFilter(BaseFilter):
    """With `weighbridge.io/numa-policy: single-numa-node`, one NUMA zone of the node
    (NodeResourceTopology) must have the pod's cpu, memory and devices available.
    Unresolvable: zones' `available` changes only when the exporter reports again, so no
    eviction the dry run could propose makes the node pass at once."""

    def applies(self, spec: RequestSpec) -> bool:
        return spec.numa_policy == "single-numa-node"

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        zones = host.numa_zones
        if not zones:
            return f"{self.name}: node publishes no NUMA zones (NodeResourceTopology)"
        reported = {name for zone in zones for name in zone.available}
        wanted = {
            name: amount
            for name, amount in spec.derived(self.name, _numa_request).items()
            if name in reported
        }
        for zone in zones:
            if all(zone.available.get(name, 0.0) >= amount for name, amount in wanted.items()):
                return None
        asked = ", ".join(_amount(n, a) for n, a in sorted(wanted.items()))
        offered = "; ".join(
            f"{z.name}: " + ", ".join(_amount(n, z.available.get(n, 0.0)) for n in sorted(wanted))
            for z in zones
        )
        return reason(f"{self.name}: no single NUMA zone has {asked} available", offered)
