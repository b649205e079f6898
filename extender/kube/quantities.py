"""Kubernetes quantities and pod request arithmetic, computed as kube-scheduler computes them.

Quantities are parsed once, when the cache changes, into the units Nova's HostState uses:
memory and disk in MiB, CPU in cores (fractional), everything else as a plain count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from extender.contract import CPU, EPHEMERAL, MEMORY
from extender.errors import QuantityError

MIB = 1024 * 1024

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}

#: Kubernetes' grammar: a signed decimal, and an exponent only where no suffix is given.
#: Python's Decimal alone would also take "1_000", "1 5" and "1e3Ki", which the API rejects.
#: the largest magnitude a Kubernetes Quantity holds, and the largest decimal exponent a
#: number may have before its suffix multiplies it (2^63 is about 9.2e18)
MAX_QUANTITY = float(2**63)
MAX_EXPONENT = 21

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_NUMBER_WITH_EXPONENT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_quantity(text: str | int | float) -> float:
    """Parse a Kubernetes quantity ("500m", "4Gi", "1e3", "128974848") into its base unit.

    As the API server's parser: no surrounding spaces, no magnitude beyond what a Quantity
    holds (an exponent of a million would otherwise cost Decimal an overflow, or a float
    an infinity that turns later sums into NaN)."""
    if isinstance(text, int | float):
        return _bounded(text, float(text))
    if not text or not text.strip():
        raise QuantityError(text, "empty quantity")
    s = text
    suffix = s[-2:]
    if suffix in _BINARY:
        number, multiplier, grammar = s[:-2], Decimal(_BINARY[suffix]), _NUMBER
    elif s[-1] in _DECIMAL and not s[-1].isdigit():
        number, multiplier, grammar = s[:-1], _DECIMAL[s[-1]], _NUMBER
    else:
        number, multiplier, grammar = s, Decimal(1), _NUMBER_WITH_EXPONENT
    if not number:
        raise QuantityError(text, "no number before the suffix")
    if not grammar.fullmatch(number):
        raise QuantityError(text, "not a number with a Kubernetes suffix")
    value = Decimal(number)
    if value and value.adjusted() > MAX_EXPONENT:
        raise QuantityError(text, "larger than a Kubernetes quantity holds (2^63)")
    return _bounded(text, float(value * multiplier))


def _bounded(text: str | int | float, value: float) -> float:
    if not math.isfinite(value):
        raise QuantityError(text, "not a finite number")
    if abs(value) > MAX_QUANTITY:
        raise QuantityError(text, "larger than a Kubernetes quantity holds (2^63)")
    return value


def to_native(resource: str, base_value: float) -> float:
    """Convert a base-unit value into HostState units: MiB for memory and disk, cores for CPU."""
    if resource in (MEMORY, EPHEMERAL):
        return base_value / MIB
    return base_value


def parse_resource_list(resources: Mapping[str, str | int | float] | None) -> dict[str, float]:
    """Parse a ResourceList into HostState units; amounts of a resource are never negative
    (the API server refuses them too)."""
    if not resources:
        return {}
    parsed = {}
    for name, q in resources.items():
        value = parse_quantity(q)
        if value < 0:
            raise QuantityError(q, f"{name} must not be negative")
        parsed[name] = to_native(name, value)
    return parsed


@dataclass(frozen=True, slots=True)
class ContainerResources:
    """One container's requests (limits standing in where the API server would default them)."""

    requests: dict[str, float]
    restartable: bool = False


@dataclass(frozen=True, slots=True)
class PodResources:
    """A pod's total requests, in HostState units, keyed by resource name."""

    requests: dict[str, float] = field(default_factory=dict)

    def get(self, name: str) -> float:
        return self.requests.get(name, 0.0)


def container_requests(
    requests: Mapping[str, str | int | float] | None,
    limits: Mapping[str, str | int | float] | None,
) -> dict[str, float]:
    """A container's effective requests: the API server defaults a missing request to its limit."""
    merged: dict[str, str | int | float] = dict(limits or {})
    merged.update(requests or {})
    return parse_resource_list(merged)


def _add_into(total: dict[str, float], extra: Mapping[str, float]) -> None:
    for name, value in extra.items():
        total[name] = total.get(name, 0.0) + value


def _max_into(total: dict[str, float], other: Mapping[str, float]) -> None:
    for name, value in other.items():
        if value > total.get(name, 0.0):
            total[name] = value


def pod_requests(
    containers: Iterable[ContainerResources],
    init_containers: Iterable[ContainerResources],
    overhead: Mapping[str, float] | None = None,
    pod_level: Mapping[str, float] | None = None,
) -> PodResources:
    """Sum a pod's requests the way kube-scheduler's resource helper does.

    Regular containers and restartable init containers (sidecars) run together, so they add
    up; each ordinary init container runs alone beside the sidecars started before it, so the
    pod needs the larger of the two. Pod-level requests, where set, replace the container sum
    for the resources they name. Overhead is added last.
    """
    total: dict[str, float] = {}
    for c in containers:
        _add_into(total, c.requests)
    init_peak: dict[str, float] = {}
    sidecars: dict[str, float] = {}
    for c in init_containers:
        if c.restartable:
            _add_into(total, c.requests)
            _add_into(sidecars, c.requests)
            _max_into(init_peak, sidecars)
        else:
            running = dict(sidecars)
            _add_into(running, c.requests)
            _max_into(init_peak, running)
    _max_into(total, init_peak)
    if pod_level:
        for name in (CPU, MEMORY):
            if name in pod_level:
                total[name] = pod_level[name]
    if overhead:
        _add_into(total, overhead)
    return PodResources({k: v for k, v in total.items() if v})


def is_device_resource(name: str) -> bool:
    """Kubernetes' extended resources (`vendor.com/gpu`): Nova's PCI devices. Hugepages and
    other names without a domain, or in kubernetes.io, are native resources, not devices."""
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")
