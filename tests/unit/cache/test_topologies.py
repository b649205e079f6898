"""NodeResourceTopologies reach their nodes' HostStates: by events in any order, from
snapshots, with only NUMA zones kept and bad quantities named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from extender.cache.snapshot import load_snapshot
from extender.errors import ObjectError
from extender.kube.objects import NodeResourceTopology
from tests.builders import cluster, decode, node, node_dict, topology, topology_dict

GPU = "nvidia.com/gpu"
ZONES = {
    "node-0": {"cpu": "4", "memory": "8Gi", GPU: "0"},
    "node-1": {"cpu": "2", "memory": "16Gi", GPU: "2"},
}


def test_topology_events() -> None:
    state = cluster(node("n1"))
    nrt = decode(topology_dict("n1", ZONES))
    assert isinstance(nrt, NodeResourceTopology)
    state.upsert_numa_topology(nrt)
    zones = state.table["n1"].numa_zones
    assert zones is not None
    assert [z.name for z in zones] == ["node-0", "node-1"]
    assert zones[1].available == {"cpu": 2.0, "memory": 16384.0, GPU: 2.0}
    # a node update keeps its zones; deleting the topology drops them
    state.upsert_node(node("n1", cpu="16"))
    assert state.table["n1"].numa_zones is zones
    state.delete_numa_topology("n1")
    assert state.table["n1"].numa_zones is None
    # a topology that arrives before its node is attached when the node comes
    early = cluster(topology("n2", ZONES))
    early.upsert_node(node("n2"))
    assert early.table["n2"].numa_zones is not None


def test_other_zone_types_are_skipped_and_bad_quantities_named() -> None:
    obj = topology_dict("n1", ZONES)
    obj["zones"].append({"name": "socket-0", "type": "Socket", "resources": []})
    state = cluster(node("n1"), decode(obj))
    assert [z.name for z in state.table["n1"].numa_zones or []] == ["node-0", "node-1"]
    bad = topology("n1", {"node-0": {"cpu": "four"}})
    with pytest.raises(ObjectError, match="NodeResourceTopology n1: zone node-0: invalid quantity"):
        cluster(node("n1"), bad)


def test_snapshots_carry_topologies(tmp_path: Path) -> None:
    path = tmp_path / "snap.yaml"
    path.write_text(yaml.safe_dump_all([topology_dict("n1", ZONES), node_dict("n1")]))
    state = load_snapshot([path])
    assert state.table["n1"].numa_zones is not None
