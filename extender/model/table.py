"""The HostTable: every HostState by row, its hot numbers mirrored in numpy columns, and the
one place a host changes.

Filters and weighers run over thousands of hosts in microseconds by reading the columns,
so a column must never disagree with its HostState. Every change of a host (a node update,
a pod added or removed, a failed build, its aggregates' zones) is therefore one call here,
which changes the HostState and writes its row together; nothing else changes a host that
is in a table. A removed host's row is refilled by the last one, so the table never has
holes. Dry runs work on copies, never on the live hosts: `what_if` (one host without some
pods, for preemption) and `copy` (every host, for capacity).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from extender.contract import WEIGHT_MULTIPLIER_SUFFIX
from extender.kube.objects import Node
from extender.model.hoststate import Aggregate, HostState, NumaZone, PodInfo, Ratios

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: the HostState attributes mirrored as float columns, under the same names
ColumnName = Literal[
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
    "max_pods",
    "failed_builds",
    "free_devices",
    "hypervisor_version",
]
FIELDS: tuple[ColumnName, ...] = get_args(ColumnName)


class HostTable:
    """HostStates by row, with their hot numbers in columns."""

    def __init__(self, capacity: int = 64) -> None:
        self.hosts: list[HostState] = []
        #: the hosts' names by row, for answers that list names without touching each host
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self._capacity = capacity
        self._columns: dict[ColumnName, FloatArray] = {f: np.zeros(capacity) for f in FIELDS}
        self.disabled: BoolArray = np.zeros(capacity, dtype=bool)
        self.up: BoolArray = np.zeros(capacity, dtype=bool)
        #: in at least one aggregate: the only hosts aggregate isolation filters must look at
        self.aggregated: BoolArray = np.zeros(capacity, dtype=bool)
        #: in an aggregate that sets some weigher's multiplier (`*_weight_multiplier`): the
        #: only hosts whose multipliers weighers must look up one by one
        self.tuned: BoolArray = np.zeros(capacity, dtype=bool)
        #: each row's availability zones as a code into `zone_sets`: clusters have few
        #: distinct zone sets, so a zone filter decides per code, not per host
        self.zone_code: IntArray = np.zeros(capacity, dtype=np.intp)
        self.zone_sets: list[frozenset[str]] = []
        self._zone_codes: dict[frozenset[str], int] = {}
        #: bumped by every change of a row; `stamps` holds each row's last one, so a result
        #: computed over some rows at `version` can tell whether it still holds
        self.version = 0
        self.stamps: IntArray = np.zeros(capacity, dtype=np.intp)

    def __len__(self) -> int:
        return len(self.hosts)

    def __getitem__(self, name: str) -> HostState:
        return self.hosts[self.index[name]]

    def get(self, name: str) -> HostState | None:
        row = self.index.get(name)
        return None if row is None else self.hosts[row]

    def column(self, name: ColumnName) -> FloatArray:
        """The column of the HostState attribute `name`, indexed by row."""
        return self._columns[name]

    # -- the changes of a host: each changes the HostState and writes its row ---------------

    def add(self, host: HostState) -> None:
        """Take in a HostState built outside any table (a new node, or a test's host)."""
        if host.host in self.index:
            raise KeyError(f"host {host.host} already in the table")
        if len(self.hosts) == self._capacity:
            self._grow()
        row = len(self.hosts)
        self.hosts.append(host)
        self.names.append(host.host)
        self.index[host.host] = row
        self._write(row)

    def remove(self, name: str) -> HostState | None:
        row = self.index.pop(name, None)
        if row is None:
            return None
        host = self.hosts[row]
        last = self.hosts.pop()
        self.names.pop()
        self._stamp(len(self.hosts))
        if last is not host:
            self.hosts[row] = last
            self.names[row] = last.host
            self.index[last.host] = row
            self._write(row)
        return host

    def update_node(self, node: Node, defaults: Ratios) -> tuple[HostState, bool]:
        """A Node's totals, conditions and properties; adds the host when the table does not
        have it. Returns the host and whether it is new. A bad Node raises ObjectError and
        leaves the host unchanged."""
        name = node.metadata.name
        row = self.index.get(name)
        host = HostState(name) if row is None else self.hosts[row]
        host._apply_node(node, defaults)
        if row is None:
            self.add(host)
        else:
            self._write(row)
        return host, row is None

    def add_pod(self, name: str, info: PodInfo) -> bool:
        """The pod now consumes host `name` (Nova's update_instance_info); False when the
        table has no such host."""
        row = self.index.get(name)
        if row is None:
            return False
        self.hosts[row]._add_instance(info)
        self._write(row)
        return True

    def remove_pod(self, name: str, uid: str) -> PodInfo | None:
        """The pod no longer consumes host `name` (Nova's delete_instance_info)."""
        row = self.index.get(name)
        if row is None:
            return None
        info = self.hosts[row]._remove_instance(uid)
        self._write(row)
        return info

    def set_aggregates(self, name: str, aggregates: list[Aggregate]) -> None:
        """The aggregates host `name` is a member of (objects shared by their members)."""
        row = self.index.get(name)
        if row is not None:
            self.hosts[row].aggregates = aggregates
            self._write(row)

    def set_failed_builds(self, name: str, count: int) -> None:
        row = self.index.get(name)
        if row is not None:
            self.hosts[row].failed_builds = count
            self._write(row)

    def set_numa_zones(self, name: str, zones: list[NumaZone] | None) -> None:
        row = self.index.get(name)
        if row is not None:
            self.hosts[row].numa_zones = zones
            self._stamp(row)

    def aggregate_changed(self, names: Iterable[str]) -> None:
        """Rows of the hosts of an aggregate whose metadata changed: the aggregate object is
        shared by its members, so only what the rows derive from it (zones) is written."""
        for name in names:
            row = self.index.get(name)
            if row is not None:
                self._write(row)

    def copy(self) -> HostTable:
        """An independent copy of every host and its row, for simulations that consume
        (capacity): O(hosts); the live hosts and rows are not touched."""
        table = HostTable(capacity=max(len(self.hosts), 1))
        for host in self.hosts:
            table.add(host._copy())
        return table

    def what_if(self, name: str, without: Iterable[str]) -> HostTable | None:
        """A one-row table holding a copy of host `name` without the pods `without` (UIDs),
        for dry runs such as preemption; the live host and its row are not touched."""
        host = self.get(name)
        if host is None:
            return None
        twin = host._copy()
        for uid in without:
            twin._remove_instance(uid)
        table = HostTable(capacity=1)
        table.add(twin)
        return table

    # -- reading rows ----------------------------------------------------------------------

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

    def unchanged(self, rows: IntArray, version: int) -> bool:
        """Whether none of `rows` changed (or was refilled or vacated) after `version`."""
        return not len(rows) or int(self.stamps[rows].max()) <= version

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

    def _stamp(self, row: int) -> None:
        self.version += 1
        self.stamps[row] = self.version

    def _write(self, row: int) -> None:
        """Copy the hot numbers of the host at `row` into the columns."""
        self._stamp(row)
        host = self.hosts[row]
        for f, column in self._columns.items():
            column[row] = getattr(host, f)
        self.disabled[row] = bool(host.service.get("disabled"))
        self.up[row] = bool(host.service.get("up"))
        self.aggregated[row] = bool(host.aggregates)
        self.tuned[row] = any(
            key.endswith(WEIGHT_MULTIPLIER_SUFFIX)
            for agg in host.aggregates
            for key in agg.metadata
        )
        zones = host.availability_zones
        code = self._zone_codes.get(zones)
        if code is None:
            code = self._zone_codes[zones] = len(self.zone_sets)
            self.zone_sets.append(zones)
        self.zone_code[row] = code

    def _grow(self) -> None:
        self._capacity *= 2
        for f, column in self._columns.items():
            self._columns[f] = np.resize(column, self._capacity)
        self.disabled = np.resize(self.disabled, self._capacity)
        self.up = np.resize(self.up, self._capacity)
        self.aggregated = np.resize(self.aggregated, self._capacity)
        self.tuned = np.resize(self.tuned, self._capacity)
        self.zone_code = np.resize(self.zone_code, self._capacity)
        self.stamps = np.resize(self.stamps, self._capacity)
