"""Helpers for end-to-end tests: Kubernetes objects, polling, and a weighbridge process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from devtools.localcluster import ControlPlane, free_port

T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll until `probe` returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def make_node(
    plane: ControlPlane,
    name: str,
    *,
    cpu: str = "8",
    memory: str = "16Gi",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    extended: dict[str, str] | None = None,
) -> None:
    """A Ready node as a plain API object (no kubelet), as upstream integration tests do."""
    resources = {"cpu": cpu, "memory": memory, "pods": "110", **(extended or {})}
    plane.request(
        "POST",
        "/api/v1/nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, **(labels or {})},
                "annotations": annotations or {},
            },
        },
    )
    plane.request(
        "PATCH",
        f"/api/v1/nodes/{name}/status",
        {
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            }
        },
    )


def pod_body(
    namespace: str,
    name: str,
    *,
    memory: str = "1Gi",
    cpu: str = "100m",
    selector: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    priority_class: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "c",
                "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": cpu, "memory": memory}},
            }
        ],
        "nodeSelector": selector or {},
    }
    if priority_class:
        spec["priorityClassName"] = priority_class
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels or {},
            "annotations": annotations or {},
        },
        "spec": spec,
    }


def create_pod(plane: ControlPlane, namespace: str, name: str, **kw: Any) -> dict[str, Any]:
    pod: dict[str, Any] = plane.request(
        "POST", f"/api/v1/namespaces/{namespace}/pods", pod_body(namespace, name, **kw)
    )
    return pod


def get_pod(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    pod: dict[str, Any] = plane.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
    return pod


def node_of(plane: ControlPlane, namespace: str, name: str) -> str:
    return str(get_pod(plane, namespace, name)["spec"].get("nodeName") or "")


def wait_bound(plane: ControlPlane, namespace: str, name: str, timeout: float = 60.0) -> str:
    return wait_for(f"pod {name} bound", lambda: node_of(plane, namespace, name), timeout)


def events_for(plane: ControlPlane, namespace: str, name: str) -> list[str]:
    events = plane.request(
        "GET",
        f"/api/v1/namespaces/{namespace}/events?fieldSelector=involvedObject.name%3D{name}",
    )
    found = [e.get("message", "") for e in events["items"]]
    new = plane.request(
        "GET",
        f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
        f"?fieldSelector=regarding.name%3D{name}",
    )
    return found + [e.get("note", "") for e in new["items"]]


class Weighbridge:
    """`weighbridge serve` against the control plane, as a real process on a free port."""

    def __init__(self, kubeconfig: Path, config: dict[str, Any], work: Path) -> None:
        self.kubeconfig = kubeconfig
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        work.mkdir(parents=True, exist_ok=True)
        self.config_path = work / "weighbridge.yaml"
        # Tests stop their extenders at once; the drain on SIGTERM has its own HTTP test.
        server = {"shutdown_delay_seconds": 0, **config.get("server", {})}
        self.config_path.write_text(yaml.safe_dump({**config, "server": server}))
        self.log_path = work / "weighbridge.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_ready: bool = True) -> Weighbridge:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "extender.cli",
                "--log-level",
                "DEBUG",
                "serve",
                "--kubeconfig",
                str(self.kubeconfig),
                "--config",
                str(self.config_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for("weighbridge listening", lambda: self.status("/healthz") == 200, 30)
        if wait_ready:
            wait_for("weighbridge ready", lambda: self.status("/readyz") == 200, 60)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def scheduler_config(
    extender_url: str,
    *,
    node_cache_capable: bool = True,
    bind: bool = False,
    preempt: bool = False,
    weight: int = 5,
) -> str:
    extender: dict[str, Any] = {
        "urlPrefix": extender_url,
        "filterVerb": "filter",
        "prioritizeVerb": "prioritize",
        "weight": weight,
        "nodeCacheCapable": node_cache_capable,
        "httpTimeout": "5s",
        "ignorable": False,
    }
    if bind:
        extender["bindVerb"] = "bind"
    if preempt:
        extender["preemptVerb"] = "preempt"
    return yaml.safe_dump(
        {
            "apiVersion": "kubescheduler.config.k8s.io/v1",
            "kind": "KubeSchedulerConfiguration",
            "podInitialBackoffSeconds": 1,
            "podMaxBackoffSeconds": 2,
            "extenders": [extender],
        }
    )
