"""Issue 13: decisions visible where users look, with the real kube-scheduler.

A pod the extender rejects on many nodes gets one PodScheduled message that lists each cause
once with its node count, bounded whatever the cluster holds (tests/fit_error.py rebuilds
kube-scheduler's message for the unit tests, which measure it at 1,000 and 5,000 nodes). A
watch whose connection dies without closing is noticed by its missing bookmarks and
recovered.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from devtools.localcluster import ControlPlane

from .kube import (
    Weighbridge,
    create_pod,
    get_pod,
    group_labels,
    make_node,
    scheduler_config,
    scheduler_running,
    unique,
    wait_for,
)

pytestmark = pytest.mark.e2e

CONFIG: dict[str, Any] = {
    "filters": ["ComputeFilter", "RamFilter"],
    "weighers": {"RAMWeigher": 1.0},
}
RATIO = "weighbridge.io/ram-allocation-ratio"


def _unschedulable_message(pod: dict[str, Any]) -> str:
    for condition in pod.get("status", {}).get("conditions", []):
        if condition["type"] == "PodScheduled" and condition["status"] == "False":
            return str(condition.get("message", ""))
    return ""


def test_failed_scheduling_lists_each_cause_once(
    control_plane: ControlPlane, wb: Weighbridge, namespace: str
) -> None:
    labels = group_labels("many")
    nodes = [unique("m") for _ in range(30)]
    for i, name in enumerate(nodes):
        # every node has room for the pod by kube-scheduler's count (32Gi and more), and its
        # own size, but the ratio leaves 16Gi (one in three) or about 22.4Gi usable
        make_node(
            control_plane,
            name,
            memory=f"{32768 + i}Mi",
            labels=labels,
            annotations={RATIO: "0.5" if i % 3 == 0 else "0.7"},
        )
    wb.wait_for_hosts(*nodes)
    with scheduler_running(control_plane, scheduler_config(wb.url)):
        create_pod(control_plane, namespace, "huge", memory="24Gi", selector=labels)
        message = wait_for(
            "the pod's PodScheduled condition",
            lambda: _unschedulable_message(get_pod(control_plane, namespace, "huge")),
        )
    print(f"\nPodScheduled message ({len(message)} bytes): {message}")
    assert "10 RamFilter: needs 24576Mi, more than usable memory (ratio 0.5)" in message
    assert "20 RamFilter: needs 24576Mi, more than usable memory (ratio 0.7)" in message
    # bounded whatever the cluster holds (the shared control plane has other tests' nodes,
    # cordoned or tainted ones among them, each counted under its own plugin's reason)
    assert len(message) <= 1024, message


class StallingProxy:
    """A TCP proxy to the API server that can stop forwarding on every connection open at
    that moment while keeping them open (a half-open connection: no FIN, no RST, nothing);
    connections made afterwards are forwarded as usual."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._frozen: set[int] = set()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while id(source) in self._frozen:
                    time.sleep(0.5)  # swallow nothing, send nothing: the peer just waits
                sink.sendall(data)
        except OSError:
            pass

    def stall(self) -> None:
        with self._lock:
            self._frozen.update(id(s) for s in self._connections)

    def close(self) -> None:
        self.listener.close()
        self._frozen.clear()
        for s in self._connections:
            s.close()


def _silent_restarts(wb: Weighbridge, kind: str) -> float:
    for line in wb.metrics().splitlines():
        labels = f'kind="{kind}"' in line and 'reason="silent"' in line
        if line.startswith("weighbridge_watch_restarts_total{") and labels:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_half_open_watch_is_detected_and_recovered(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    """Every connection to the API server stalls at once, unclosed: the watches notice
    within about 90 s (no bookmark came), count it, relist on new connections, and see a
    node created meanwhile."""
    url = urllib.parse.urlsplit(control_plane.server_url)
    proxy = StallingProxy((url.hostname or "127.0.0.1", url.port or 443))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        control_plane.kubeconfig_path.read_text().replace(
            control_plane.server_url, f"https://127.0.0.1:{proxy.port}"
        )
    )
    try:
        with Weighbridge(kubeconfig, CONFIG, tmp_path / "wb") as wb:
            before = _silent_restarts(wb, "nodes")
            proxy.stall()
            stalled = time.monotonic()
            late = unique("late")
            make_node(control_plane, late)
            wait_for("the node watch given up", lambda: _silent_restarts(wb, "nodes") > before, 150)
            detected = time.monotonic() - stalled
            wb.wait_for_hosts(late, timeout=30)
            recovered = time.monotonic() - stalled
    finally:
        proxy.close()
    print(f"\nhalf-open watch: detected after {detected:.0f} s, node seen after {recovered:.0f} s")
    assert detected <= 100
