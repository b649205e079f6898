"""Filters that read host aggregates: per-aggregate capacity limits and isolation.

A node's aggregates are its `aggregate.weighbridge.io/<name>` labels; their metadata comes
from the HostAggregate objects of the same names. As in Nova, numeric keys are read raw
(the minimum across the node's aggregates; one unparsable value, "1.5,2" included, makes
the filter fall back to the node's own value), while tenant, flavor, image-property and
extra-spec keys are comma-separated lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from extender.contract import FLAVOR, INSTANCE_TYPE_KEY, TENANT_KEY
from extender.engine.filters.base import BaseFilter, reason
from extender.engine.filters.capacity import (
    CoreFilter,
    DiskFilter,
    IoOpsFilter,
    NumInstancesFilter,
    RamFilter,
    _RatioFilter,
)
from extender.engine.filters.extra_specs import Requirement, parse_requirement
from extender.model.hoststate import Aggregate, HostState
from extender.model.options import Options
from extender.model.request import RequestSpec
from extender.model.table import BoolArray, HostTable, IntArray

N = TypeVar("N", int, float)

EXTRA_SPECS_SCOPE = "aggregate_instance_extra_specs"


def aggregate_values_from_key(host: HostState, key: str) -> set[str]:
    """The raw values of `key` across the node's aggregates (not split on commas)."""
    return {agg.metadata[key] for agg in host.aggregates if key in agg.metadata}


def aggregate_metadata_get_by_host(host: HostState, key: str | None = None) -> dict[str, set[str]]:
    """Every metadata key of the node's aggregates, values comma-split and stripped; with
    `key`, only the aggregates that have it contribute (all their keys)."""
    metadata: dict[str, set[str]] = {}
    for agg in host.aggregates:
        if key is not None and key not in agg.metadata:
            continue
        for k, value in agg.metadata.items():
            metadata.setdefault(k, set()).update(v.strip() for v in value.split(","))
    return metadata


def validate_num_values(values: set[str], default: N, cast: Callable[[str], N]) -> N:
    """The smallest value, compared as numbers; `default` when there is none. Raises
    ValueError if any value does not cast."""
    if not values:
        return default
    return min(cast(v) for v in values)


def aggregate_number(host: HostState, key: str, default: N, cast: Callable[[str], N]) -> N:
    """Nova's Aggregate*Filter lookup: the minimum, or `default` if any value is bad."""
    try:
        return validate_num_values(aggregate_values_from_key(host, key), default, cast)
    except ValueError:
        return default


def aggregate_tenants(agg: Aggregate) -> set[str]:
    """The namespaces an aggregate names under every key starting with `filter_tenant_id`
    (Nova 2023.2: `filter_tenant_id_2`, ...), comma-split."""
    return {
        t.strip()
        for key, value in agg.metadata.items()
        if key.startswith(TENANT_KEY)
        for t in value.split(",")
        if t.strip()
    }


class _AggregateRatio(_RatioFilter):
    """Overrides `ratio`: the aggregates' value for the same key as the node's attribute."""

    def ratio(self, host: HostState) -> float:
        own = float(getattr(host, self.ratio_attr))
        return aggregate_number(host, self.ratio_attr, own, float)


class _AggregateMaximum:
    """Overrides `maximum`: the aggregates' value for the same key as the option."""

    option: str
    options: Options

    def maximum(self, host: HostState) -> int:
        default = int(getattr(self.options, self.option))
        return aggregate_number(host, self.option, default, int)


class AggregateRamFilter(_AggregateRatio, RamFilter):
    """RamFilter with the smallest `ram_allocation_ratio` of the node's aggregates."""


class AggregateCoreFilter(_AggregateRatio, CoreFilter):
    """CoreFilter with the smallest `cpu_allocation_ratio` of the node's aggregates."""


class AggregateDiskFilter(_AggregateRatio, DiskFilter):
    """DiskFilter with the smallest `disk_allocation_ratio` of the node's aggregates."""


class AggregateIoOpsFilter(_AggregateMaximum, IoOpsFilter):
    """IoOpsFilter with the smallest `max_io_ops_per_host` of the node's aggregates."""


class AggregateNumInstancesFilter(_AggregateMaximum, NumInstancesFilter):
    """NumInstancesFilter with the smallest `max_instances_per_host` of the node's
    aggregates."""


class _AggregatedOnly(BaseFilter):
    """An isolation filter that every node outside all aggregates passes: the fast path
    checks only the members of some aggregate, found from a column."""

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> BoolArray | None:
        mask: BoolArray = np.ones(len(rows), dtype=bool)
        hosts = table.hosts
        for i in np.flatnonzero(table.aggregated[rows]).tolist():
            mask[i] = self.host_passes(hosts[rows[i]], spec) is None
        return mask


class AggregateMultiTenancyIsolation(_AggregatedOnly):
    """Aggregates with `filter_tenant_id*` keys take only the listed namespaces; a node in no
    such aggregate takes every namespace (the filter keeps others off, it does not confine:
    the option limit_tenants_to_placement_aggregate does)."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        if not host.aggregates:
            return None
        tenants = set().union(*(aggregate_tenants(agg) for agg in host.aggregates))
        if tenants and spec.project_id not in tenants:
            return reason(
                f"{self.name}: node is reserved for other namespaces than {spec.project_id}",
                f"reserved for {', '.join(sorted(tenants))}",
            )
        return None


class AggregateTypeAffinityFilter(_AggregatedOnly):
    """Aggregates with `instance_type` take only the listed flavors (`weighbridge.io/flavor`);
    a pod without a flavor goes only to nodes without such metadata."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        values = aggregate_values_from_key(host, INSTANCE_TYPE_KEY)
        if not values:
            return None
        flavors = {f.strip() for v in values for f in v.split(",")}
        if spec.flavor in flavors:
            return None
        asked = repr(spec.flavor) if spec.flavor else f"no {FLAVOR}"
        return reason(
            f"{self.name}: node takes other flavors, the pod has {asked}",
            f"takes {', '.join(sorted(flavors))}",
        )


def _property_text(value: Any) -> str:
    """Image properties arrive as JSON: strings as written, others as JSON (true, 2)."""
    return value if isinstance(value, str) else json.dumps(value)


class AggregateImagePropertiesIsolation(_AggregatedOnly):
    """A node rejects a pod whose image property differs from its aggregates' value for the
    same key; images without the property pass."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.image_properties)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        if not host.aggregates:
            return None
        namespace = self.options.aggregate_image_properties_isolation_namespace
        separator = self.options.aggregate_image_properties_isolation_separator
        props = spec.image_properties
        for key, allowed in aggregate_metadata_get_by_host(host).items():
            if namespace and not key.startswith(namespace + separator):
                continue
            prop = props.get(key)
            if prop and _property_text(prop) not in allowed:
                return reason(
                    f"{self.name}: image property {key}={_property_text(prop)!r} is not "
                    "allowed by the node's aggregates",
                    f"allowed {', '.join(sorted(allowed))}",
                )
        return None


@dataclass(frozen=True, slots=True)
class _AggregateSpec:
    key: str
    metadata_key: str
    requirement: Requirement


def _aggregate_specs(spec: RequestSpec) -> list[_AggregateSpec]:
    specs = []
    for key, req in spec.extra_specs.items():
        scope, sep, rest = key.partition(":")
        if sep and scope != EXTRA_SPECS_SCOPE:
            continue
        specs.append(_AggregateSpec(key, rest if sep else key, parse_requirement(key, req)))
    return specs


class AggregateInstanceExtraSpecsFilter(BaseFilter):
    """Unscoped and `aggregate_instance_extra_specs:` extra specs must be matched by some
    value of the node's aggregates' metadata; a key no aggregate defines fails the node."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.derived(self.name, _aggregate_specs))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        metadata = aggregate_metadata_get_by_host(host)
        for item in spec.derived(self.name, _aggregate_specs):
            values = metadata.get(item.metadata_key)
            if not values:
                return (
                    f"{self.name}: {item.key} requires {item.requirement.text!r}, no aggregate "
                    f"of the node has {item.metadata_key}"
                )
            if not any(item.requirement.matches(v) for v in values):
                return reason(
                    f"{self.name}: {item.key} requires {item.requirement.text!r}, which the "
                    "node's aggregates do not match",
                    f"aggregates have {', '.join(sorted(values))}",
                )
        return None
