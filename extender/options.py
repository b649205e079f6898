"""Nova's scheduler options, under Nova's names, with defaults that work in Kubernetes.

Every field carries a description: docs/configuration.md is generated from this model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Options(BaseModel):
    """Options the filters and weighers read (Nova's [filter_scheduler] and friends)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_io_ops_per_host: int = Field(
        8,
        ge=0,
        description="IoOpsFilter: a node passes while fewer of its pods than this are starting "
        "or terminating (Nova's concurrent builds, resizes and snapshots).",
    )
    max_instances_per_host: int = Field(
        50,
        ge=0,
        description="NumInstancesFilter: a node passes while it runs fewer non-terminal pods "
        "than this.",
    )
    cpu_allocation_ratio: float = Field(
        1.0,
        gt=0,
        description="CoreFilter and CPUWeigher: usable vCPUs = allocatable cpu x ratio, unless "
        "the node's weighbridge.io/cpu-allocation-ratio annotation says otherwise. Ratios "
        "below 1 keep headroom; kube-scheduler's NodeResourcesFit still caps requests at "
        "allocatable, so ratios above 1 cannot overcommit requests.",
    )
    ram_allocation_ratio: float = Field(
        1.0,
        gt=0,
        description="RamFilter: usable memory = allocatable memory x ratio (node annotation "
        "weighbridge.io/ram-allocation-ratio overrides). Nova's default is 1.5; here 1.0, so "
        "that no pod is sent where the kubelet would reject it.",
    )
    disk_allocation_ratio: float = Field(
        1.0,
        gt=0,
        description="DiskFilter: usable ephemeral storage = allocatable x ratio (node "
        "annotation weighbridge.io/disk-allocation-ratio overrides).",
    )
    default_availability_zone: str = Field(
        "nova",
        description="AvailabilityZoneFilter: the zone of a node that has no zone label and no "
        "aggregate with availability_zone metadata.",
    )
    default_schedule_zone: str | None = Field(
        None,
        description="AvailabilityZoneFilter: the zone asked for when a pod names none; unset "
        "means such pods may go to any zone.",
    )
