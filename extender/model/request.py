"""Nova's RequestSpec, built from the pod being placed.

The pod's requests are the flavor's size; its namespace is the tenant; its `weighbridge.io/`
annotations carry the flavor name, extra specs, image properties, hints, zone,
force/ignore lists and NUMA policy; a label names its server group. A malformed annotation raises an
AnnotationError that names it, so the pod is told what to fix instead of passing silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from extender.contract import (
    AVAILABILITY_ZONE,
    CPU,
    EPHEMERAL,
    EXTRA_SPECS,
    FLAVOR,
    FORCE_HOSTS,
    GROUP_POLICIES,
    HINTS,
    IGNORE_HOSTS,
    IMAGE_ID,
    IMAGE_PROPERTIES,
    MAX_SERVER_PER_HOST,
    MEMORY,
    NUMA_POLICIES,
    NUMA_POLICY,
    SERVER_GROUP_LABEL,
    SERVER_GROUP_POLICY,
    SERVER_GROUP_RULES,
)
from extender.errors import AnnotationError, ObjectError
from extender.kube.annotations import load_json
from extender.kube.objects import Pod
from extender.kube.pods import first_image, pod_resources, pod_uid
from extender.kube.quantities import PodResources, is_device_resource
from extender.model.hoststate import PodInfo, property_pairs

T = TypeVar("T")


@dataclass(slots=True)
class InstanceGroup:
    """A server group: its members (pod UIDs) and the hosts they run on, from the cache."""

    name: str
    policies: list[str]
    members: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    #: members per host, for the soft-affinity weighers
    counts: dict[str, int] = field(default_factory=dict)
    #: Nova's group rules (annotation weighbridge.io/server-group-rules)
    rules: dict[str, int] = field(default_factory=dict)

    @property
    def max_server_per_host(self) -> int:
        """Members one host may hold under anti-affinity: Nova's rule, 1 when unset."""
        return self.rules.get(MAX_SERVER_PER_HOST, 1)


@dataclass(slots=True)
class RetryInfo:
    """Nova's SchedulerRetries: the hosts where binding this pod already failed."""

    num_attempts: int
    hosts: set[str]


@dataclass(slots=True)
class RequestSpec:
    """What filters and weighers know of the pod being placed, in Nova's terms."""

    uid: str
    name: str
    project_id: str
    memory_mb: float = 0.0
    vcpus: float = 0.0
    root_gb: float = 0.0
    resources: PodResources = field(default_factory=PodResources)
    labels: dict[str, str] = field(default_factory=dict)
    flavor: str | None = None
    extra_specs: dict[str, str] = field(default_factory=dict)
    image_id: str = ""
    image_properties: dict[str, Any] = field(default_factory=dict)
    availability_zone: str | None = None
    force_hosts: list[str] = field(default_factory=list)
    ignore_hosts: list[str] = field(default_factory=list)
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    instance_group: InstanceGroup | None = None
    retry: RetryInfo | None = None
    numa_policy: str | None = None
    #: the extended resource names DeviceClasses serve (DRA, KEP-5004), from the cache:
    #: kube-scheduler leaves such a request to DRA on a node whose allocatable lacks it
    dra_extended: frozenset[str] = frozenset()
    #: what filters derive from the request once (parsed queries, compiled extra specs)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def disk_mb(self) -> float:
        """DiskFilter's request. Nova adds ephemeral and swap disks to the root disk; a pod's
        ephemeral-storage request is all of its local disk, so it is all of root_gb here."""
        return 1024 * self.root_gb

    def as_instance(self) -> PodInfo:
        """The pod as a host counts it once it is placed there (starting: an I/O op)."""
        return PodInfo(
            self.uid,
            self.project_id,
            self.name,
            self.resources,
            True,
            self.labels,
            self.flavor,
            self.image_id,
            property_pairs(self.image_properties),
        )

    @property
    def pci_requests(self) -> dict[str, float]:
        """Extended resources (devices) the pod asks for: Nova's PCI requests."""
        return {k: v for k, v in self.resources.requests.items() if is_device_resource(k)}

    def derived(self, key: str, derive: Callable[[RequestSpec], T]) -> T:
        """`derive(self)`, computed on first use and remembered for the rest of the request,
        so a filter parses its part of the pod once, not once per host. An AnnotationError
        is remembered too and raised again on every use."""
        try:
            value = self.memo[key]
        except KeyError:
            try:
                value = derive(self)
            except AnnotationError as exc:
                value = exc
            self.memo[key] = value
        if isinstance(value, AnnotationError):
            raise value.with_traceback(None)
        result: T = value
        return result

    def get_scheduler_hint(self, name: str, default: Any = None) -> Any:
        """As Nova: a one-element list is unwrapped; missing gives the default."""
        value = self.scheduler_hints.get(name)
        if value is None:
            return default
        if isinstance(value, list) and len(value) == 1:
            return value[0]
        return value


GroupLookup = Callable[[str, str], InstanceGroup]
RetryLookup = Callable[[str], RetryInfo | None]


def _json_object(annotations: dict[str, str], key: str) -> dict[str, Any]:
    text = annotations.get(key)
    if text is None:
        return {}
    value = load_json(text, key)
    if not isinstance(value, dict):
        raise AnnotationError(key, f"must be a JSON object, got {type(value).__name__}")
    return value


def _string_map(annotations: dict[str, str], key: str) -> dict[str, str]:
    value = _json_object(annotations, key)
    for k, v in value.items():
        if not isinstance(v, str | int | float | bool):
            raise AnnotationError(key, f"value of {k!r} must be a string, got {type(v).__name__}")
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _host_list(annotations: dict[str, str], key: str) -> list[str]:
    text = annotations.get(key, "")
    return [h.strip() for h in text.split(",") if h.strip()]


def _hints(annotations: dict[str, str]) -> dict[str, Any]:
    hints = _json_object(annotations, HINTS)
    for name in ("same_host", "different_host"):
        value = hints.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            hints[name] = [value]
        elif not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise AnnotationError(HINTS, f"{name} must be a string or a list of strings")
    for name in ("build_near_host_ip", "cidr"):
        if name in hints and not isinstance(hints[name], str):
            raise AnnotationError(HINTS, f"{name} must be a string")
    if "query" in hints and not isinstance(hints["query"], str | list):
        raise AnnotationError(HINTS, "query must be a JSON string or a JSON list")
    return hints


def _numa_policy(annotations: dict[str, str]) -> str | None:
    policy = annotations.get(NUMA_POLICY)
    if policy is None or policy in NUMA_POLICIES:
        return policy
    raise AnnotationError(NUMA_POLICY, f"unknown policy {policy!r}; use {', '.join(NUMA_POLICIES)}")


def _group_rules(annotations: dict[str, str], policy: str) -> dict[str, int]:
    """Nova's API checks (2.64): `max_server_per_host` is the only rule, a positive
    integer, and only the anti-affinity policy takes it."""
    rules = _json_object(annotations, SERVER_GROUP_RULES)
    unknown = sorted(set(rules) - {MAX_SERVER_PER_HOST})
    if unknown:
        raise AnnotationError(
            SERVER_GROUP_RULES, f"unknown rule {unknown[0]!r}; the rule is {MAX_SERVER_PER_HOST}"
        )
    if not rules:
        return {}
    if policy != "anti-affinity":
        raise AnnotationError(
            SERVER_GROUP_RULES, f"only the anti-affinity policy takes rules, not {policy!r}"
        )
    value = rules[MAX_SERVER_PER_HOST]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise AnnotationError(
            SERVER_GROUP_RULES, f"{MAX_SERVER_PER_HOST} must be a positive integer, got {value!r}"
        )
    return {MAX_SERVER_PER_HOST: value}


def _group(pod: Pod, lookup: GroupLookup | None) -> InstanceGroup | None:
    name = pod.metadata.labels.get(SERVER_GROUP_LABEL)
    policy = pod.metadata.annotations.get(SERVER_GROUP_POLICY)
    if name is None:
        for key in (SERVER_GROUP_POLICY, SERVER_GROUP_RULES):
            if key in pod.metadata.annotations:
                raise AnnotationError(key, f"set, but the pod has no {SERVER_GROUP_LABEL} label")
        return None
    if policy is None:
        raise AnnotationError(SERVER_GROUP_POLICY, f"missing for server group {name!r}")
    if policy not in GROUP_POLICIES:
        choices = ", ".join(GROUP_POLICIES)
        raise AnnotationError(SERVER_GROUP_POLICY, f"unknown policy {policy!r}; use {choices}")
    rules = _group_rules(pod.metadata.annotations, policy)
    if lookup is None:
        return InstanceGroup(name, [policy], rules=rules)
    group = lookup(pod.metadata.namespace, name)
    group.policies = [policy]
    group.rules = rules
    return group


def build_request_spec(
    pod: Pod,
    groups: GroupLookup | None = None,
    retries: RetryLookup | None = None,
    dra_extended: frozenset[str] = frozenset(),
) -> RequestSpec:
    """Turn a pod into a RequestSpec; raises AnnotationError or ObjectError on user mistakes.
    `dra_extended`: the extended resource names the cluster's DeviceClasses serve."""
    meta = pod.metadata
    ann = meta.annotations
    resources = pod_resources(pod)
    uid = pod_uid(pod)
    image_properties = _json_object(ann, IMAGE_PROPERTIES)
    if not meta.name and not meta.uid:
        raise ObjectError("Pod", "has neither metadata.name nor metadata.uid")
    return RequestSpec(
        uid=uid,
        name=meta.name,
        project_id=meta.namespace,
        memory_mb=resources.get(MEMORY),
        vcpus=resources.get(CPU),
        root_gb=resources.get(EPHEMERAL) / 1024,
        resources=resources,
        labels=meta.labels,
        flavor=ann.get(FLAVOR),
        extra_specs=_string_map(ann, EXTRA_SPECS),
        image_id=ann.get(IMAGE_ID) or first_image(pod),
        image_properties=image_properties,
        availability_zone=ann.get(AVAILABILITY_ZONE) or None,
        force_hosts=_host_list(ann, FORCE_HOSTS),
        ignore_hosts=_host_list(ann, IGNORE_HOSTS),
        scheduler_hints=_hints(ann),
        instance_group=_group(pod, groups),
        retry=retries(uid) if retries else None,
        numa_policy=_numa_policy(ann),
        dra_extended=dra_extended,
    )
