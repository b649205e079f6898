"""The bind verb as Nova's claim, and what a standby replica answers.

The API is a fake here (the real one is in tests/e2e/test_replicas.py): these are the rules
of the verb, one by one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from extender.cache.kubeapi import ApiError, ApiUnreachable, KubeApi
from extender.cache.state import ClusterState
from extender.kube.wire import ExtenderBindingArgs, decode_args
from extender.service.binding import BindBarrier, Binder
from extender.service.config import Config
from extender.service.extender import Extender
from tests.builders import cluster, node, pod, pod_dict

RATIO = "weighbridge.io/ram-allocation-ratio"


class FakeApi(KubeApi):
    """Records POSTs; answers GETs of pods from `pods`; `fail` makes the next POST fail."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.posts: list[str] = []
        self.pods: dict[str, bytes] = {}
        self.fail: Exception | None = None
        #: what the node held when the Binding was sent
        self.used_at_post: list[float] = []

    async def get(self, path: str, params: dict[str, str] | None = None) -> bytes:
        name = (params or {}).get("fieldSelector", "").removeprefix("metadata.name=")
        found = [self.pods[f"{path}/{name}"]] if f"{path}/{name}" in self.pods else []
        return b'{"metadata": {}, "items": [' + b",".join(found) + b"]}"

    async def post(self, path: str, body: dict[str, Any]) -> bytes:
        host = self.state.table.get(body["target"]["name"])
        self.used_at_post.append(host.free_ram_mb if host is not None else -1)
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        self.posts.append(path)
        return b"{}"


def setup(active: str | None = None) -> tuple[Extender, FakeApi]:
    """One node RamFilter lets hold 8 x 1Gi; `active`: the replica's standby reason."""
    state = cluster(node("n1", memory="16Gi", annotations={RATIO: "0.5"}))
    api = FakeApi(state)
    config = Config(filters=["ComputeFilter", "RetryFilter", "RamFilter"], weighers={})
    binder = Binder(api, state, 30.0, BindBarrier(0.5))
    extender = Extender(state, config.scheduler(), binder=binder, active=lambda: active)
    return extender, api


def filter_pod(extender: Extender, name: str, memory: str = "1Gi") -> dict[str, Any]:
    body = msgspec.json.encode(
        {"Pod": pod_dict(name, uid=name, requests={"memory": memory}), "NodeNames": ["n1"]}
    )
    args, the_pod, names = decode_args(body)
    result = asyncio.run(extender.filter(args, the_pod, names))
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


def bind(extender: Extender, name: str, node_name: str = "n1") -> str:
    args = ExtenderBindingArgs(name, "default", name, node_name)
    return asyncio.run(extender.bind(args)).Error


def test_the_pod_counts_on_its_node_before_the_binding_is_sent() -> None:
    extender, api = setup()
    free = extender.state.table.get("n1").free_ram_mb  # type: ignore[union-attr]
    filter_pod(extender, "a")
    assert bind(extender, "a") == ""
    assert api.used_at_post == [free - 1024]
    assert "a" in extender.state.assumed


def test_a_bind_the_filters_now_reject_is_refused_and_never_sent() -> None:
    """Two pods chosen on the same last 1Gi (as two replicas or a lost barrier would): the
    second bind is refused, remembered for RetryFilter, and no Binding is created."""
    extender, api = setup()
    for i in range(8):
        filter_pod(extender, f"p{i}")
        assert bind(extender, f"p{i}") == ""
    filter_pod(extender, "late")  # filtered: it sees n1 full and is rejected ...
    error = bind(extender, "late")  # ... but kube-scheduler binds it there anyway
    assert "binding to n1 failed" in error and "RamFilter" in error
    assert len(api.posts) == 8
    retry = extender.state.retry_info("late")
    assert retry is not None and "n1" in retry.hosts


def test_a_bind_to_a_node_not_in_the_cache_is_refused() -> None:
    extender, api = setup()
    filter_pod(extender, "a")
    error = bind(extender, "a", "ghost")
    assert error == "weighbridge: binding to ghost failed: no such node in this extender's cache"
    assert api.posts == [] and api.used_at_post == []


@pytest.mark.parametrize(
    "failure",
    [
        ApiUnreachable("POST", "/binding", ConnectionResetError("Server disconnected")),
        ApiError("POST", "/binding", 500, "etcdserver: request timed out"),
        # what uvloop raised in CI while the API server crashed: not an OSError
        RuntimeError("File descriptor 13 is used by transport <TCPTransport closed=False>"),
    ],
)
def test_a_failed_binding_is_a_bind_error_and_releases_the_room(failure: Exception) -> None:
    extender, api = setup()
    free = extender.state.table.get("n1").free_ram_mb  # type: ignore[union-attr]
    filter_pod(extender, "a")
    api.fail = failure
    error = bind(extender, "a")
    assert error.startswith("weighbridge: binding to n1 failed:")
    assert extender.state.table.get("n1").free_ram_mb == free  # type: ignore[union-attr]
    assert "a" not in extender.state.assumed and "a" in extender.state.pending
    retry = extender.state.retry_info("a")
    assert retry is not None and retry.hosts == {"n1"}


def test_a_pod_filtered_elsewhere_is_read_from_the_api_and_checked() -> None:
    """After a failover the new active replica gets binds for pods its predecessor filtered."""
    extender, api = setup()
    api.pods["/api/v1/namespaces/default/pods/b"] = msgspec.json.encode(
        pod_dict("b", uid="b", requests={"memory": "9Gi"})
    )
    error = bind(extender, "b")
    assert "RamFilter" in error and api.posts == []
    assert "cannot read the pod" in bind(extender, "missing")


def test_a_standby_rejects_every_node_and_binds_nothing() -> None:
    """No node, not an error: under `ignorable: true` an error would let kube-scheduler place
    the pod without the extender."""
    extender, api = setup(active="replica b is a standby (active replica: a)")
    result = filter_pod(extender, "a")
    assert result["NodeNames"] == [] and result["Error"] == ""
    assert result["FailedAndUnresolvableNodes"] == {
        "n1": "weighbridge: replica b is a standby (active replica: a)"
    }
    assert "standby" in bind(extender, "a") and api.posts == []
    assert [p.Score for p in extender.prioritize(pod("a", uid="a"), ["n1"])] == [0]
