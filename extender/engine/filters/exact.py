"""Whole-node placement (Nova's Ironic filters), and AllHostsFilter.

ExactRamFilter, ExactDiskFilter and ExactCoreFilter pass a node only when the pod asks for
exactly what the node has free, so one pod takes the whole node: a pod sized to a node
type's allocatable lands only on an empty node of that type. As in Nova, a node with no CPU
count fails ExactCoreFilter (CoreFilter passes it), and swap, always 0 here, would count.
"""

from __future__ import annotations

from typing import ClassVar

from extender.engine.filters.base import BaseFilter, first_number, fmt_mb, fmt_num, reason
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec

_PRECISION = 6  # HostState rounds its sums to this many decimals


def _equal(a: float, b: float) -> bool:
    return round(a, _PRECISION) == round(b, _PRECISION)


class _ExactFilter(BaseFilter):
    """A pod's request must equal what the node has free, to the HostState's precision."""

    resolvable = True
    #: what the amounts are of, in reasons
    noun: ClassVar[str] = ""

    def amounts(self, host: HostState, spec: RequestSpec) -> tuple[float, float]:
        """(requested, free)."""
        raise NotImplementedError

    @staticmethod
    def amount(value: float) -> str:
        return fmt_mb(value)

    @classmethod
    def remedy(cls, cause: str, part: str) -> str | None:
        """Only the amount the node has free fits it."""
        free = first_number(part)
        if free is None or free <= 0:
            return None
        return f"fits there with a request of exactly {cls.amount(free)}{cls.noun}"

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        requested, free = self.amounts(host, spec)
        if _equal(requested, free):
            return None
        return reason(
            f"{self.name}: needs {self.amount(requested)}{self.noun}, not exactly what the "
            "node has free",
            f"{self.amount(free)} free",
        )


class ExactRamFilter(_ExactFilter):
    """The pod's memory request must equal the node's free memory (whole-node placement)."""

    def amounts(self, host: HostState, spec: RequestSpec) -> tuple[float, float]:
        return spec.memory_mb, host.free_ram_mb


class ExactDiskFilter(_ExactFilter):
    """The pod's ephemeral-storage request must equal the node's free ephemeral storage."""

    noun = " ephemeral-storage"

    def amounts(self, host: HostState, spec: RequestSpec) -> tuple[float, float]:
        return spec.disk_mb, host.free_disk_mb


class ExactCoreFilter(_ExactFilter):
    """The pod's cpu request must equal the node's free CPUs; a node with none fails."""

    noun = " vCPUs"

    def amounts(self, host: HostState, spec: RequestSpec) -> tuple[float, float]:
        return spec.vcpus, host.vcpus_total - host.vcpus_used

    @staticmethod
    def amount(value: float) -> str:
        return fmt_num(value)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        if not host.vcpus_total:
            return f"{self.name}: node reports no CPUs"
        return super().host_passes(host, spec)


class AllHostsFilter(BaseFilter):
    """Passes every node; a placeholder for a chain that should filter nothing."""

    def applies(self, spec: RequestSpec) -> bool:
        return False

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        return None
