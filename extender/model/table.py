"""The hot numbers of every HostState as numpy columns, so a filter or weigher can run over
thousands of hosts in microseconds. Rows are written when a HostState changes (O(1)) and a
removed host's row is refilled by the last one, so the table never has holes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from extender.model.hoststate import HostState

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

FIELDS = (
    "free_ram_mb",
    "total_usable_ram_mb",
    "ram_allocation_ratio",
    "free_disk_mb",
    "total_usable_disk_gb",
    "disk_allocation_ratio",
    "vcpus_total",
    "vcpus_used",
    "cpu_allocation_ratio",
    "num_instances",
    "num_io_ops",
    "failed_builds",
    "free_devices",
)


class HostTable:
    """HostStates by row, with their hot numbers in columns."""

    def __init__(self, capacity: int = 64) -> None:
        self.hosts: list[HostState] = []
        #: the hosts' names by row, for answers that list names without touching each host
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self._capacity = capacity
        self.cols: dict[str, FloatArray] = {f: np.zeros(capacity) for f in FIELDS}
        self.disabled: BoolArray = np.zeros(capacity, dtype=bool)
        self.up: BoolArray = np.zeros(capacity, dtype=bool)
        #: in at least one aggregate: the only hosts aggregate isolation filters must look at
        self.aggregated: BoolArray = np.zeros(capacity, dtype=bool)
        #: each row's availability zones as a code into `zone_sets`: clusters have few
        #: distinct zone sets, so a zone filter decides per code, not per host
        self.zone_code: IntArray = np.zeros(capacity, dtype=np.intp)
        self.zone_sets: list[frozenset[str]] = []
        self._zone_codes: dict[frozenset[str], int] = {}

    def __len__(self) -> int:
        return len(self.hosts)

    def __getitem__(self, name: str) -> HostState:
        return self.hosts[self.index[name]]

    def get(self, name: str) -> HostState | None:
        row = self.index.get(name)
        return None if row is None else self.hosts[row]

    def col(self, name: str) -> FloatArray:
        return self.cols[name]

    def add(self, host: HostState) -> None:
        if host.host in self.index:
            raise KeyError(f"host {host.host} already in the table")
        if len(self.hosts) == self._capacity:
            self._grow()
        host.row = len(self.hosts)
        self.hosts.append(host)
        self.names.append(host.host)
        self.index[host.host] = host.row
        self.write(host)

    def remove(self, name: str) -> HostState | None:
        row = self.index.pop(name, None)
        if row is None:
            return None
        host = self.hosts[row]
        last = self.hosts.pop()
        self.names.pop()
        if last is not host:
            self.hosts[row] = last
            self.names[row] = last.host
            last.row = row
            self.index[last.host] = row
            self.write(last)
        host.row = -1
        return host

    def write(self, host: HostState) -> None:
        """Copy a HostState's hot numbers into its row; call after every change to it."""
        row = host.row
        for f, column in self.cols.items():
            column[row] = getattr(host, f)
        self.disabled[row] = bool(host.service.get("disabled"))
        self.up[row] = bool(host.service.get("up"))
        self.aggregated[row] = bool(host.aggregates)
        zones = host.availability_zones
        code = self._zone_codes.get(zones)
        if code is None:
            code = self._zone_codes[zones] = len(self.zone_sets)
            self.zone_sets.append(zones)
        self.zone_code[row] = code

    def rows(self, names: list[str] | None = None) -> tuple[IntArray, list[str]]:
        """Rows of the named hosts (all when None), and the names the table does not know."""
        if names is None:
            return np.arange(len(self.hosts), dtype=np.intp), []
        found = list(map(self.index.get, names))
        if None in found:
            unknown = [name for name, row in zip(names, found, strict=True) if row is None]
            known = [row for row in found if row is not None]
            return np.fromiter(known, dtype=np.intp, count=len(known)), unknown
        return np.fromiter(found, dtype=np.intp, count=len(found)), []

    def named(self, values: Mapping[str, float], rows: IntArray) -> FloatArray:
        """Per-host values given by host name, as a column over `rows` (0 where not given):
        O(len(values)) in Python plus one numpy gather, for sparse per-request data such as
        the nodes of a server group."""
        full = np.zeros(len(self.hosts))
        index = self.index
        for name, value in values.items():
            row = index.get(name)
            if row is not None:
                full[row] = value
        result: FloatArray = full[rows]
        return result

    def _grow(self) -> None:
        self._capacity *= 2
        for f, column in self.cols.items():
            self.cols[f] = np.resize(column, self._capacity)
        self.disabled = np.resize(self.disabled, self._capacity)
        self.up = np.resize(self.up, self._capacity)
        self.aggregated = np.resize(self.aggregated, self._capacity)
        self.zone_code = np.resize(self.zone_code, self._capacity)
