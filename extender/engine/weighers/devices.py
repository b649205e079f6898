"""PCIWeigher (Nova Pike): keep device nodes for the pods that need devices.

Raw weight = 100 - min(free devices, 99), free devices counting every extended resource on
the node (Nova's free PCI devices): a pod without device requests prefers nodes with no
devices, and one with device requests stacks onto the nodes with the fewest left, keeping
whole device nodes free for bigger requests. Nova caps the count at 100, since beyond that
devices are not scarce.
"""

from __future__ import annotations

import numpy as np

from extender.engine.weighers.base import BaseWeigher
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec
from extender.model.table import FloatArray, HostTable, IntArray

MAX_DEVS = 100


class PCIWeigher(BaseWeigher):
    """Prefers nodes with fewer free devices: device nodes stay free for device pods."""

    multiplier_key = "pci_weight_multiplier"

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        return MAX_DEVS - min(host.free_devices, MAX_DEVS - 1)

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray | None:
        result: FloatArray = MAX_DEVS - np.minimum(table.column("free_devices")[rows], MAX_DEVS - 1)
        return result
