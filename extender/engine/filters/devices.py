"""PciPassthroughFilter: Nova's PCI requests are Kubernetes extended resources.

A pod's requests for extended resources (`nvidia.com/gpu: 2`, any `vendor/name`) are its
device requests; a node fits when each is at most its allocatable minus what its pods
already request, every kind checked together, as Nova's support_requests does on a copy of
the pools. A node without the resource has none of it (Nova fails hosts without pci_stats).

DRA (KEP-5004, DRAExtendedResource, on by default since Kubernetes v1.36): an extended
resource a DeviceClass serves (`spec.extendedResourceName`, or the implicit
`deviceclass.resource.kubernetes.io/<class>`) is, on a node whose allocatable does not list it,
left to kube-scheduler's DynamicResources plugin, which allocates it from ResourceSlices;
NodeResourcesFit skips it there (`shouldDelegateResourceToDRA`), and so does this filter. On a
node that lists it, the device plugin's count is checked as before.
"""

from __future__ import annotations

from extender.engine.filters.base import BaseFilter, fmt_num, reason
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec


def _device_requests(spec: RequestSpec) -> dict[str, float]:
    return spec.pci_requests


class PciPassthroughFilter(BaseFilter):
    """Extended resources the pod requests (Nova's PCI requests) must be free on the node,
    but for those DRA serves on a node that does not list them."""

    resolvable = True

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.derived(self.name, _device_requests))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        asked, free_of = [], []
        for name, wanted in spec.derived(self.name, _device_requests).items():
            if name in spec.dra_extended and host.allocatable.get(name, 0.0) <= 0:
                continue
            free = host.free_extended(name)
            if free < wanted:
                total = host.allocatable.get(name, 0.0)
                asked.append(f"{fmt_num(wanted)} {name}")
                free_of.append(f"{name} free {fmt_num(free)} of {fmt_num(total)}")
        if not asked:
            return None
        return reason(f"{self.name}: needs {', '.join(asked)}, more than free", "; ".join(free_of))
