"""Issue 10: two replicas that never over-commit, through the loss of either one.

Two `weighbridge serve` processes elect one active replica with a Lease; the active one
publishes itself as the Service's EndpointSlice, and a stand-in for kube-proxy
(service_proxy.py) routes the real kube-scheduler to it. The burst (burst.py) must leave no
node above RamFilter's limit and no pod unaccounted for: per connection and per request,
through a Service with a selector (both replicas Ready, so the standby is called too),
with the active replica SIGKILLed mid-burst, and with the API server crashing mid-burst.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.localcluster import ControlPlane
from extender.service.config import LeaderSettings

from .burst import FITS, BurstResult, burst, epoch
from .kube import (
    Weighbridge,
    create_namespace,
    create_pod,
    get_pod,
    host_address,
    unique,
    wait_for,
)
from .service_proxy import ServiceProxy

pytestmark = pytest.mark.e2e

SERVICE = "weighbridge"
#: short, so the failover tests stay short
LEASE = {"lease_seconds": 6.0, "renew_deadline_seconds": 4.0, "retry_seconds": 1.0}
#: the chart's, which are the defaults and kube-scheduler's own
CHART_LEASE: dict[str, float] = {}
#: a burst is settled only after a quiet spell longer than a failover (the lease, the
#: catch-up, kube-scheduler's backoff), or it would be judged in the middle of one
QUIET_AFTER_LEASE = 14.0


def replica_config(
    namespace: str, identity: str, address: str, lease: dict[str, float]
) -> dict[str, Any]:
    return {
        "filters": ["ComputeFilter", "RetryFilter", "RamFilter"],
        "weighers": {"RAMWeigher": 1.0},
        "bind": {"assume_seconds": 30},
        "leader": {
            "enabled": True,
            "namespace": namespace,
            "identity": identity,
            "service": SERVICE,
            "address": address,
            **lease,
        },
    }


class Pair:
    """Two replicas sharing one Lease in `namespace`."""

    def __init__(
        self, plane: ControlPlane, work: Path, lease: dict[str, float] | None = None
    ) -> None:
        self.plane = plane
        self.namespace = create_namespace(plane, unique("lease"))
        self.lease = LEASE if lease is None else lease
        address = host_address()
        self.replicas = {
            name: Weighbridge(
                plane.kubeconfig_path,
                replica_config(self.namespace, name, address, self.lease),
                work / name,
                host=address,
            )
            for name in ("wb-0", "wb-1")
        }

    def __enter__(self) -> Pair:
        try:
            for wb in self.replicas.values():
                wb.start()
            wait_for("an active replica", self.active, 30)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for name, wb in self.replicas.items():
            wb.stop()
            print(f"--- {name}\n{wb.log_tail(15)}")

    def acquired(self) -> float:
        """When the Lease's holder took it (its acquireTime), in seconds since the epoch."""
        path = f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/weighbridge"
        return epoch(self.plane.request("GET", path)["spec"]["acquireTime"])

    def active(self) -> Weighbridge | None:
        """The replica that says it answers (its weighbridge_leader gauge is 1)."""
        for wb in self.replicas.values():
            if wb.proc is not None and _metric(wb, "weighbridge_leader") == 1:
                return wb
        return None

    def proxy(self, routing: str) -> ServiceProxy:
        selector = [wb.url for wb in self.replicas.values()] if routing == "selector" else []
        return ServiceProxy(
            self.plane,
            self.namespace,
            SERVICE,
            per_request=routing != "connection",
            selector=selector,
        )

    def burst(
        self,
        namespace: str,
        proxy: ServiceProxy,
        during: Callable[[], None] | None = None,
    ) -> BurstResult:
        """The burst through `proxy`; with `during` (a failure mid-burst), settled only
        after a quiet spell longer than a failover."""
        lease = self.lease.get("lease_seconds", LeaderSettings().lease_seconds)
        quiet = lease + QUIET_AFTER_LEASE if during is not None else 5.0
        replicas = list(self.replicas.values())
        return burst(
            self.plane, replicas, namespace, url=proxy.url, during=during, quiet_seconds=quiet
        )

    def server_errors(self) -> int:
        """HTTP 5xx answers to kube-scheduler's calls, over the replicas still running."""
        total = 0
        for wb in self.replicas.values():
            if wb.proc is not None:
                text = wb.metrics()
                total += sum(
                    int(float(v))
                    for v in re.findall(
                        r'weighbridge_requests_total\{[^}]*code="5\d\d"[^}]*\} (\S+)', text
                    )
                )
        return total


def _metric(wb: Weighbridge, name: str) -> float | None:
    try:
        match = re.search(rf"^{re.escape(name)} (\S+)$", wb.metrics(), re.MULTILINE)
    except OSError:
        return None
    return float(match.group(1)) if match else None


def check(result: BurstResult) -> None:
    """0 nodes above the limit, 0 pods lost: each bound, or Pending with a reason."""
    assert result.over_limit == {}, result
    assert result.unexplained == [], result
    assert result.bound == FITS, result


@pytest.fixture(scope="module")
def pair(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with Pair(control_plane, tmp_path_factory.mktemp("pair")) as replicas:
        yield replicas


@pytest.mark.parametrize(
    ("routing", "run"),
    [("connection", i) for i in range(5)]
    + [("request", i) for i in range(5)]
    + [("selector", i) for i in range(2)],
)
def test_burst_through_two_replicas(pair: Pair, namespace: str, routing: str, run: int) -> None:
    with pair.proxy(routing) as proxy:
        result = pair.burst(namespace, proxy)
    print(f"\n{routing} #{run}: {result}; calls routed: {proxy.routed}")
    check(result)
    if routing == "selector":  # the standby was called, and answered without placing
        assert len(proxy.routed) == 2
    assert pair.server_errors() == 0


@pytest.mark.parametrize("timings", ["short", "chart"])
def test_active_replica_sigkilled_mid_burst(
    control_plane: ControlPlane, namespace: str, tmp_path: Path, timings: str
) -> None:
    """With the test's short timings, and with the chart's (15/10/2 s, kube-scheduler's
    own), which docs/replicas.md quotes as the failover users get."""
    lease = LEASE if timings == "short" else CHART_LEASE
    killed: dict[str, float] = {}
    with (
        Pair(control_plane, tmp_path, lease) as replicas,
        replicas.proxy("connection") as proxy,
    ):
        active = replicas.active()
        assert active is not None and active.proc is not None
        (other,) = [wb for wb in replicas.replicas.values() if wb is not active]

        def kill() -> None:
            assert active.proc is not None
            active.proc.kill()
            killed["at"] = time.time()
            active.proc.wait()
            active.proc = None

        result = replicas.burst(namespace, proxy, kill)
        assert replicas.active() is other
        failover = _metric(other, "weighbridge_leader_last_failover_seconds")
        assert failover is not None and replicas.server_errors() == 0
        acquired = replicas.acquired()
    # Bindings the killed replica sent just before it died may still land: placements
    # resume with the first pod bound after the survivor took the Lease (PodScheduled times
    # have whole seconds).
    resumed = min(t for t in result.bound_at if t >= int(acquired))
    print(
        f"\nSIGKILL mid-burst ({timings} timings): {result}; the survivor took the Lease "
        f"{acquired - killed['at']:.1f} s after the kill (its failover gauge: {failover:.1f} s); "
        f"the next pod was bound {resumed - killed['at']:.0f} s after the kill"
    )
    check(result)


def test_api_server_crash_mid_burst(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    restarted: dict[str, float] = {}

    def crash() -> None:
        restarted["at"] = time.monotonic()
        control_plane.restart_apiserver(graceful=False)
        restarted["took"] = time.monotonic() - restarted["at"]

    with Pair(control_plane, tmp_path) as replicas, replicas.proxy("request") as proxy:
        result = replicas.burst(namespace, proxy, crash)
        errors = replicas.server_errors()
        failed = sum(
            _metric(wb, 'weighbridge_binds_total{outcome="failed"}') or 0
            for wb in replicas.replicas.values()
        )
    print(
        f"\nAPI server crashed (back in {restarted['took']:.1f} s): {result}; "
        f"binds answered as bind errors: {failed:g}"
    )
    check(result)
    assert errors == 0


def test_a_bind_to_an_unknown_node_is_refused(
    control_plane: ControlPlane, pair: Pair, namespace: str
) -> None:
    active = pair.active()
    assert active is not None
    uid = create_pod(control_plane, namespace, "lonely", memory="1Gi")["metadata"]["uid"]
    status, answer = active.post(
        "/bind",
        {"PodName": "lonely", "PodNamespace": namespace, "PodUID": uid, "Node": "ghost"},
    )
    assert status == 200
    assert answer["Error"] == (
        "weighbridge: binding to ghost failed: no such node in this extender's cache"
    )
    assert not get_pod(control_plane, namespace, "lonely")["spec"].get("nodeName")
