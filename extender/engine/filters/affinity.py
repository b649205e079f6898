"""Affinity filters: server groups, same/different host hints, and CIDR affinity.

A server group is the pods of one namespace sharing the label `weighbridge.io/server-group`;
the policy is the annotation `weighbridge.io/server-group-policy`. The cache indexes each
group's members and nodes at event time, so a request never walks the pods. The hints in
`weighbridge.io/hints` name pods as `namespace/name` or by UID; every HostState indexes its
pods both ways, so each node answers in O(1) per reference.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from extender.contract import HINTS
from extender.engine.filters.base import BaseFilter, reason
from extender.errors import AnnotationError
from extender.model.hoststate import HostState
from extender.model.request import InstanceGroup, RequestSpec
from extender.model.table import BoolArray, HostTable, IntArray


def _group_with(spec: RequestSpec, policy: str) -> InstanceGroup | None:
    """The pod's group, if it has `policy` and members already placed."""
    group = spec.instance_group
    if group is None or policy not in group.policies or not group.hosts:
        return None
    return group


class ServerGroupAffinityFilter(BaseFilter):
    """Policy `affinity`: once a member runs somewhere, the others go to its nodes."""

    def applies(self, spec: RequestSpec) -> bool:
        return _group_with(spec, "affinity") is not None

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        group = _group_with(spec, "affinity")
        if group is None or host.host in group.hosts:
            return None
        return (
            f"{self.name}: server group {group.name} (affinity) runs on "
            f"{', '.join(sorted(group.hosts))}"
        )

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        group = _group_with(spec, "affinity")
        if group is None:
            return None
        result: BoolArray = table.named(dict.fromkeys(group.hosts, 1.0), rows) > 0
        return result


class ServerGroupAntiAffinityFilter(BaseFilter):
    """Policy `anti-affinity`: fewer than `max_server_per_host` members (Nova's rule, 1 by
    default) on a node. The pod's own node (where it already runs) passes, as Nova's move
    to the same host does."""

    def applies(self, spec: RequestSpec) -> bool:
        return _group_with(spec, "anti-affinity") is not None

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        group = _group_with(spec, "anti-affinity")
        if group is None or spec.uid in host.instances:
            return None
        here = group.counts.get(host.host, 0)
        limit = group.max_server_per_host
        if here < limit:
            return None
        if limit == 1:
            return f"{self.name}: server group {group.name} (anti-affinity) already has a pod here"
        return (
            f"{self.name}: server group {group.name} (anti-affinity) has {here} pods here, "
            f"max_server_per_host {limit}"
        )

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        group = _group_with(spec, "anti-affinity")
        if group is None:
            return None
        taken = {}
        for name in group.hosts:
            host = table.get(name)
            if host is not None and spec.uid not in host.instances:
                taken[name] = float(group.counts.get(name, 0))
        result: BoolArray = table.named(taken, rows) < group.max_server_per_host
        return result


def _references(spec: RequestSpec, hint: str) -> list[str]:
    value: list[str] = spec.scheduler_hints.get(hint) or []
    return value


class SameHostFilter(BaseFilter):
    """Hint `same_host`: only nodes running at least one of the named pods."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(_references(spec, "same_host"))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        refs = _references(spec, "same_host")
        if not refs or any(host.has_instance(r) for r in refs):
            return None
        return f"{self.name}: none of the pods in hint same_host ({', '.join(refs)}) runs here"


class DifferentHostFilter(BaseFilter):
    """Hint `different_host`: only nodes running none of the named pods."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(_references(spec, "different_host"))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        here = [r for r in _references(spec, "different_host") if host.has_instance(r)]
        if not here:
            return None
        return reason(f"{self.name}: a pod of hint different_host runs here", ", ".join(here))


@dataclass(frozen=True, slots=True)
class _Near:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    text: str


def _near(spec: RequestSpec) -> _Near:
    ip = spec.get_scheduler_hint("build_near_host_ip")
    if not ip:
        return _Near(None, "")
    cidr = spec.get_scheduler_hint("cidr", "/24")
    text = f"{ip}{cidr}"
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise AnnotationError(
            HINTS, f"build_near_host_ip {ip!r} with cidr {cidr!r} is not a network ({text!r})"
        ) from None
    return _Near(network, text)


class SimpleCIDRAffinityFilter(BaseFilter):
    """Hints `build_near_host_ip` and `cidr` (default /24): only nodes whose InternalIP is
    in that network."""

    def applies(self, spec: RequestSpec) -> bool:
        return spec.derived(self.name, _near).network is not None

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        near = spec.derived(self.name, _near)
        if near.network is None:
            return None
        if host.host_ip is None:
            return f"{self.name}: node has no InternalIP; the pod wants {near.text}"
        try:
            inside = ipaddress.ip_address(host.host_ip) in near.network
        except ValueError:
            inside = False
        if inside:
            return None
        return reason(f"{self.name}: node IP is outside {near.text}", host.host_ip)
