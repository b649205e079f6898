"""Nova's scheduler options, under Nova's names, with defaults that work in Kubernetes.

Every field carries a description: docs/configuration.md is generated from this model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    """A section of the configuration file: an unknown key is an error (a typo would
    otherwise be ignored silently), and nothing changes after start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_weight_setting(entries: list[str]) -> list[tuple[str, float]]:
    """Nova's `name=ratio` list. Nova drops a bad entry with a warning; here it stops the
    start, naming every bad entry, so that a typo cannot silently disable a metric."""
    parsed: list[tuple[str, float]] = []
    bad: list[str] = []
    for entry in entries:
        name, sep, ratio = entry.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError(entry)
            parsed.append((name.strip(), float(ratio)))
        except ValueError:
            bad.append(repr(entry))
    if bad:
        raise ValueError("entries must be name=ratio with a numeric ratio: " + ", ".join(bad))
    return parsed


class MetricsOptions(Settings):
    """Nova's [metrics] group: MetricsFilter and MetricsWeigher."""

    weight_setting: list[str] = Field(
        default_factory=list,
        description="Metrics to weigh, as name=ratio: a node's raw weight is the sum of "
        "value x ratio, values from its metrics.weighbridge.io/<name> annotations (for "
        "example ['cpu.percent=-1.0'] prefers idle nodes). Duplicate names add up. Empty: "
        "MetricsWeigher and MetricsFilter do nothing.",
    )
    required: bool = Field(
        True,
        description="A node missing a configured metric: Nova fails the whole request; here "
        "the node gets weight_of_unavailable (MetricsFilter removes such nodes first). When "
        "false, a missing metric whose ratio x multiplier is 0 is skipped instead.",
    )
    weight_of_unavailable: float = Field(
        -10000.0,
        description="MetricsWeigher: the raw weight of a node that lacks a configured metric.",
    )
    max_age_seconds: float | None = Field(
        None,
        gt=0,
        description="MetricsFilter and MetricsWeigher: metrics older than this (node "
        "annotation weighbridge.io/metrics-timestamp, RFC 3339), or without that annotation, "
        "count as unavailable (as missing metrics: `required`, `weight_of_unavailable`). "
        "Unset: metrics never go stale.",
    )

    @field_validator("weight_setting")
    @classmethod
    def _parsable(cls, value: list[str]) -> list[str]:
        parse_weight_setting(value)
        return value

    @property
    def weights(self) -> list[tuple[str, float]]:
        return parse_weight_setting(self.weight_setting)


class Options(Settings):
    """Options the filters and weighers read (Nova's [filter_scheduler] and friends)."""

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
    isolated_images: list[str] = Field(
        default_factory=list,
        description="IsolatedHostsFilter: images (the pod's weighbridge.io/image-id, else its "
        "first container's image, compared exactly) that may run only on isolated_hosts.",
    )
    isolated_hosts: list[str] = Field(
        default_factory=list,
        description="IsolatedHostsFilter: node names reserved for isolated_images.",
    )
    restrict_isolated_hosts_to_isolated_images: bool = Field(
        True,
        description="IsolatedHostsFilter: isolated_hosts take only isolated_images; when "
        "false they also take other images.",
    )
    aggregate_image_properties_isolation_namespace: str | None = Field(
        None,
        description="AggregateImagePropertiesIsolation: only aggregate metadata keys starting "
        "with this namespace and the separator are compared with image properties; unset "
        "compares every key.",
    )
    aggregate_image_properties_isolation_separator: str = Field(
        ".",
        description="AggregateImagePropertiesIsolation: separator after the namespace.",
    )
    limit_tenants_to_placement_aggregate: bool = Field(
        False,
        description="Nova's require_tenant_aggregate request filter: a namespace named in "
        "some aggregate's filter_tenant_id* metadata goes only to the nodes of such "
        "aggregates; other namespaces go anywhere (unless the next option is set).",
    )
    placement_aggregate_required_for_tenants: bool = Field(
        False,
        description="With limit_tenants_to_placement_aggregate: a namespace that no "
        "aggregate names is refused everywhere, instead of going anywhere.",
    )
    image_props_weight_setting: list[str] = Field(
        default_factory=list,
        description="ImagePropertiesWeigher: image properties to weigh, as name=ratio (for "
        "example ['os_distro=10', 'hw_machine_type=0']); a property not listed counts 0. "
        "Empty: every shared property counts 1.",
    )
    metrics: MetricsOptions = Field(
        default_factory=MetricsOptions,
        description="MetricsFilter and MetricsWeigher (Nova's [metrics] group).",
    )
    host_subset_size: int = Field(
        0,
        ge=0,
        description="Nova's host_subset_size: a filter call answers only this many nodes, "
        "the best by weight, and kube-scheduler chooses among them (with 1 it skips its own "
        "scoring and the prioritize call: weighbridge decides, as Nova does). 0 answers "
        "every node that passes and leaves the choice to kube-scheduler's scores and ours.",
    )
    max_attempts: int = Field(
        3,
        ge=1,
        description="RetryFilter: binds a pod may fail before it is refused everywhere until "
        "its failures expire; 1 disables RetryFilter's memory, as in Nova.",
    )
    bind_failure_ttl_seconds: float = Field(
        600.0,
        gt=0,
        description="RetryFilter and BuildFailureWeigher: how long a failed bind is "
        "remembered, per pod and per node.",
    )
    bind_failure_records: int = Field(
        10000,
        ge=1,
        description="RetryFilter and BuildFailureWeigher: most failed binds remembered at "
        "once; the oldest are forgotten first.",
    )

    @field_validator("image_props_weight_setting")
    @classmethod
    def _parsable(cls, value: list[str]) -> list[str]:
        parse_weight_setting(value)
        return value
