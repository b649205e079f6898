"""The HostTable is the one owner of host mutation: every change writes the row with it,
dry runs work on a copy, and no code outside the model changes a host behind its back."""

from __future__ import annotations

import ast

from extender.model.hoststate import HostState, Ratios, pod_info
from extender.model.table import FIELDS, HostTable
from tests import REPO
from tests.builders import cluster, node, pod

PACKAGE = REPO / "extender"
#: the HostState and HostTable methods that change a host; only the model may call them
MUTATORS = {"_apply_node", "_add_instance", "_remove_instance", "_copy", "_write"}
#: HostState attributes the cache used to assign directly
ASSIGNED = {"aggregates", "failed_builds", "numa_zones", "row"}


def columns_of(table: HostTable, name: str) -> dict[str, float]:
    row = table.index[name]
    return {f: float(table.column(f)[row]) for f in FIELDS}


def values_of(host: HostState) -> dict[str, float]:
    return {f: float(getattr(host, f)) for f in FIELDS}


def test_every_change_writes_the_row() -> None:
    table = HostTable(capacity=1)
    host, created = table.update_node(node("n1", memory="16Gi", cpu="8"), Ratios())
    assert created and columns_of(table, "n1") == values_of(host)
    info = pod_info(pod("web", uid="u1", requests={"memory": "4Gi", "cpu": "2"}))
    assert table.add_pod("n1", info)
    assert table.column("free_ram_mb")[0] == 12288 and table.column("vcpus_used")[0] == 2
    table.set_failed_builds("n1", 3)
    assert table.column("failed_builds")[0] == 3
    _, created = table.update_node(node("n1", memory="32Gi", cpu="8"), Ratios())
    assert not created and table.column("free_ram_mb")[0] == 28672
    assert table.remove_pod("n1", "u1") is info
    assert columns_of(table, "n1") == values_of(host)
    assert not table.add_pod("nowhere", info) and table.remove_pod("nowhere", "u1") is None


def test_what_if_leaves_the_live_host_and_its_row_alone() -> None:
    state = cluster(
        node("n1", memory="16Gi"),
        pod("victim", uid="v", node_name="n1", requests={"memory": "8Gi"}),
    )
    live = state.table["n1"]
    before, stamp = columns_of(state.table, "n1"), live.updated
    twin = state.table.what_if("n1", ["v", "not-there"])
    assert twin is not None and len(twin) == 1
    assert twin["n1"].free_ram_mb == 16384 and twin["n1"].num_instances == 0
    assert twin.column("free_ram_mb")[0] == 16384
    assert live.free_ram_mb == 8192 and "v" in live.instances and live.updated == stamp
    assert columns_of(state.table, "n1") == before
    assert state.table.what_if("nowhere", []) is None


def _calls_outside_the_model() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "model":
            continue
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Attribute) and n.attr in MUTATORS:
                found.append(f"{path.relative_to(PACKAGE)}:{n.lineno}: calls {n.attr}")
            targets = n.targets if isinstance(n, ast.Assign) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in ASSIGNED:
                    found.append(f"{path.relative_to(PACKAGE)}:{n.lineno}: sets {target.attr}")
    return found


def test_no_host_changes_outside_the_model() -> None:
    """Zero call sites must remember to write a host's row: only the table changes hosts."""
    assert _calls_outside_the_model() == []
