"""BuildFailureWeigher (Nova Rocky): avoid nodes where binds recently failed.

Raw weight = the node's recent failed binds (extender/cache/failures.py). The configured
multiplier is Nova's build_failure_weight_multiplier and, as in Nova, the weigher applies
its negative: with the default 1,000,000 a node with any failure ranks below every node
without one. Failures expire after `bind_failure_ttl_seconds`, and a successful bind to the
node resets its count, as a successful build does in Nova.
"""

from __future__ import annotations

from extender.engine.weighers.base import BaseWeigher
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec
from extender.model.table import FloatArray, HostTable, IntArray


class BuildFailureWeigher(BaseWeigher):
    """Avoids nodes where binds recently failed."""

    multiplier_key = "build_failure_weight_multiplier"
    sign = -1.0

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.failed_builds)

    def vector(self, table: HostTable, rows: IntArray, spec: RequestSpec) -> FloatArray | None:
        return table.column("failed_builds")[rows]
