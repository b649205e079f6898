"""The bundled catalogue example places each of its pods where docs/filters.md says."""

from __future__ import annotations

from devtools.demo import example_path
from extender.cache.snapshot import load_snapshot, read_objects
from extender.cli import build_extender
from extender.kube.objects import Pod
from extender.service.config import load_config

EXPECTED = {
    "shop/web-east": ["east-2", "east-1"],
    "finance/ledger-1": ["west-3", "west-1", "west-win"],
    "ml/train-1": ["west-gpu"],
    "shop/cache-2": ["west-1", "west-win"],
    "shop/db-1": ["west-1"],
    "shop/cache-3": ["west-1", "west-win", "east-2", "east-1"],
    "shop/web-1-sidecar": ["east-1"],
    "shop/web-2": ["west-1", "west-win"],
    "shop/search": ["east-1"],
    "shop/arm-build": ["west-1"],
    "shop/low-latency": ["east-2"],
    "audit/big-memory": ["west-3"],
    "shop/typo": [],
}


def test_catalogue_example_rankings() -> None:
    config = load_config(example_path("catalogue-config.yaml"))
    state = load_snapshot([example_path("catalogue.yaml")], config.options)
    extender = build_extender(state, config)
    assert extender.state.node_count == 8
    assert sorted(extender.state.numa) == ["east-1", "east-2"]
    pods = [o for o in read_objects([example_path("catalogue-pods.yaml")]) if isinstance(o, Pod)]
    got = {}
    for pod in pods:
        decision = extender.decide(pod)
        hosts = extender.state.table.hosts
        got[f"{pod.metadata.namespace}/{pod.metadata.name}"] = [
            hosts[r].host for r in decision.weighing.rows
        ]
    assert got == EXPECTED
