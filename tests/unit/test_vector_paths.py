"""Property: every foundation filter's and weigher's column fast path agrees with its per-host
rule (Nova's reference semantics) on random hosts and requests, boundaries included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from extender.contract import ZONE_LABEL
from extender.engine.filters import FILTERS
from extender.engine.weighers import WEIGHERS
from extender.model.hoststate import Aggregate, HostState
from extender.model.options import Options
from extender.model.request import RequestSpec
from extender.model.table import HostTable

FOUNDATION_FILTERS = [
    "AvailabilityZoneFilter",
    "ComputeFilter",
    "RamFilter",
    "DiskFilter",
    "CoreFilter",
    "NumInstancesFilter",
    "IoOpsFilter",
]
FOUNDATION_WEIGHERS = ["RAMWeigher", "CPUWeigher", "DiskWeigher", "IoOpsWeigher"]

# small grids, so that "requested == usable" and "count == maximum" come up often
ratios = st.sampled_from([0.5, 1.0, 1.5, 2.0, 16.0])
amounts = st.integers(0, 8).map(lambda n: n * 512.0)
cores = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 4.0, 7.91, 8.0])
zones = st.sampled_from([None, "az-1", "az-2", "nova"])
zoned_aggregates = st.lists(
    st.builds(
        lambda az: Aggregate("agg", {} if az is None else {"availability_zone": az}),
        st.sampled_from([None, "az-1", "az-2, az-3", " , "]),
    ),
    max_size=2,
)


@st.composite
def hosts(draw: st.DrawFn, name: str) -> HostState:
    h = HostState(name)
    h.total_usable_ram_mb = draw(amounts)
    h.free_ram_mb = h.total_usable_ram_mb - draw(amounts)
    h.total_usable_disk_gb = draw(amounts) / 1024
    h.disk_mb_used = draw(amounts)
    h.free_disk_mb = h.total_usable_disk_gb * 1024 - h.disk_mb_used
    h.vcpus_total = draw(cores)
    h.vcpus_used = draw(cores)
    h.cpu_allocation_ratio = draw(ratios)
    h.ram_allocation_ratio = draw(ratios)
    h.disk_allocation_ratio = draw(ratios)
    h.num_instances = draw(st.integers(0, 6))
    h.num_io_ops = draw(st.integers(0, h.num_instances))
    h.service = {"disabled": draw(st.booleans()), "up": draw(st.booleans())}
    label = draw(zones)
    if label is not None:
        h.labels = {ZONE_LABEL: label}
    h.aggregates = draw(zoned_aggregates)
    return h


@st.composite
def tables(draw: st.DrawFn) -> HostTable:
    # more hosts than the initial capacity, so the table grows too
    count = draw(st.integers(1, 40))
    table = HostTable(capacity=8)
    for i in range(count):
        table.add(draw(hosts(f"h{i}")))
    for name in draw(
        st.lists(st.sampled_from([f"h{i}" for i in range(count)]), unique=True, max_size=count - 1)
    ):
        table.remove(name)
    return table


specs = st.builds(
    lambda ram, cpu, disk_gb, zone: RequestSpec(
        uid="u",
        name="p",
        project_id="ns",
        memory_mb=ram,
        vcpus=cpu,
        root_gb=disk_gb,
        availability_zone=zone,
    ),
    amounts,
    cores,
    amounts.map(lambda mb: mb / 1024),
    zones,
)
options = st.builds(
    Options,
    max_io_ops_per_host=st.integers(0, 6),
    max_instances_per_host=st.integers(0, 6),
    default_schedule_zone=zones,
)


@settings(max_examples=200, deadline=None)
@given(tables(), specs, options, st.data())
def test_filter_vectors_agree_with_check(
    table: HostTable, spec: RequestSpec, opts: Options, data: st.DataObject
) -> None:
    rows = np.array(data.draw(st.permutations(range(len(table)))), dtype=np.intp)
    for name in FOUNDATION_FILTERS:
        f = FILTERS[name](opts)
        mask = f.vector(table, rows, spec)
        assert mask is not None, f"{name} lost its fast path"
        verdicts = [f.host_passes(table.hosts[r], spec) for r in rows]
        assert mask.tolist() == [why is None for why in verdicts], name
        # the reasons found in bulk for the rejected rows are the per-host rule's
        failing = [why for why in verdicts if why is not None]
        assert f.reasons(table, rows[~mask], spec) == failing, name


@settings(max_examples=200, deadline=None)
@given(tables(), specs)
def test_weigher_vectors_agree_with_weigh(table: HostTable, spec: RequestSpec) -> None:
    rows = np.arange(len(table), dtype=np.intp)[::-1]
    for name in FOUNDATION_WEIGHERS:
        w = WEIGHERS[name](Options(), 1.0)
        values = w.vector(table, rows, spec)
        assert values is not None, f"{name} lost its fast path"
        expected = [w._weigh_object(table.hosts[r], spec) for r in rows]
        assert values.tolist() == expected, name
