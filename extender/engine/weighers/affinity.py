"""Soft server-group weighers: prefer nodes with more (soft-affinity) or fewer
(soft-anti-affinity) members of the pod's group, counted from the cache's group index."""

from __future__ import annotations

import logging

from extender.engine.weighers.base import BaseWeigher
from extender.model.hoststate import HostState
from extender.model.options import Options
from extender.model.request import RequestSpec
from extender.model.table import FloatArray, HostTable, IntArray

log = logging.getLogger(__name__)


class _SoftAffinityWeigher(BaseWeigher):
    policy = ""
    #: +1 counts members as a gain, -1 as a cost
    direction = 1.0

    def __init__(self, options: Options, multiplier: float) -> None:
        super().__init__(options, multiplier)
        if multiplier < 0:
            log.warning(
                "a negative multiplier turns the policy around; only a positive one is meaningful",
                extra={"weigher": self.name, "multiplier": multiplier},
            )

    def applies(self, spec: RequestSpec) -> bool:
        group = spec.instance_group
        return group is not None and self.policy in group.policies and bool(group.counts)

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        group = spec.instance_group
        if group is None or self.policy not in group.policies:
            return 0.0
        return self.direction * group.counts.get(host.host, 0)

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray | None:
        group = spec.instance_group
        if group is None or self.policy not in group.policies:
            return None
        result: FloatArray = self.direction * table.named(group.counts, rows)
        return result


class ServerGroupSoftAffinityWeigher(_SoftAffinityWeigher):
    """Members of the group on the node: more is better."""

    policy = "soft-affinity"
    multiplier_key = "soft_affinity_weight_multiplier"


class ServerGroupSoftAntiAffinityWeigher(_SoftAffinityWeigher):
    """Minus the members of the group on the node: fewer is better."""

    policy = "soft-anti-affinity"
    direction = -1.0
    multiplier_key = "soft_anti_affinity_weight_multiplier"
