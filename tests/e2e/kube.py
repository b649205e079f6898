"""Helpers for end-to-end tests: Kubernetes objects, polling, and a weighbridge process."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml

from devtools.localcluster import ControlPlane, ManagedProcess, free_port
from tests.builders import PAUSE, create_body, node_dict, pod_dict

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


# -- objects on the API server, built with tests.builders -----------------------------------


def host_address() -> str:
    """This machine's own IPv4 address: an EndpointSlice may not name a loopback one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent: this only picks a route
        address = str(probe.getsockname()[0])
    assert not address.startswith("127."), "the replica tests need a non-loopback address"
    return address


def group_labels(prefix: str = "g") -> dict[str, str]:
    """A label only one test's nodes carry, the node selector of its pods: the tests share
    the control plane, and kube-scheduler must not place one test's pods on another's nodes."""
    return {"e2e.weighbridge.io/group": unique(prefix)}


def create_namespace(plane: ControlPlane, name: str, labels: dict[str, str] | None = None) -> str:
    """A namespace (never deleted: without controllers deletion never ends)."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    plane.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata},
    )
    return name


def make_node(plane: ControlPlane, name: str, *, memory: str = "16Gi", **kw: Any) -> None:
    """A Ready node as a plain API object (no kubelet), as upstream integration tests do:
    created, then given the status a kubelet would report (tests.builders.node_dict)."""
    body = node_dict(name, memory=memory, **kw)
    plane.request("POST", "/api/v1/nodes", create_body(body))
    plane.request("PATCH", f"/api/v1/nodes/{name}/status", {"status": body["status"]})


def label_node(plane: ControlPlane, name: str, labels: dict[str, str]) -> None:
    plane.request("PATCH", f"/api/v1/nodes/{name}", {"metadata": {"labels": labels}})


def pod_body(
    namespace: str,
    name: str,
    *,
    memory: str = "1Gi",
    cpu: str = "100m",
    selector: dict[str, str] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """A pause pod asking for `cpu` and `memory`, as a client creates it; `kw` are
    tests.builders.pod_dict's (node_name, labels, annotations, priority_class, ...)."""
    requests = {"cpu": cpu, "memory": memory}
    return create_body(
        pod_dict(name, namespace, requests=requests, image=PAUSE, node_selector=selector, **kw)
    )


def restricted_pod(
    namespace: str, name: str, scheduler: str | None = None, selector: dict[str, str] | None = None
) -> dict[str, Any]:
    """A pod the restricted Pod Security profile admits, asking for `scheduler`."""
    pod = pod_body(namespace, name, selector=selector, scheduler_name=scheduler)
    pod["spec"]["securityContext"] = {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    pod["spec"]["containers"][0]["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    return pod


def post_pod(plane: ControlPlane, body: dict[str, Any]) -> dict[str, Any]:
    """Create the pod `body` describes; the API server's answer (with its UID)."""
    namespace = body["metadata"]["namespace"]
    pod: dict[str, Any] = plane.request("POST", f"/api/v1/namespaces/{namespace}/pods", body)
    return pod


def create_pod(plane: ControlPlane, namespace: str, name: str, **kw: Any) -> dict[str, Any]:
    """Create a pod_body(namespace, name, **kw)."""
    return post_pod(plane, pod_body(namespace, name, **kw))


def get_pod(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    pod: dict[str, Any] = plane.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
    return pod


def pods_in(plane: ControlPlane, namespace: str) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = plane.request("GET", f"/api/v1/namespaces/{namespace}/pods")[
        "items"
    ]
    return pods


def delete_pod(plane: ControlPlane, namespace: str, name: str) -> None:
    """Delete at once: no kubelet is there to wait for."""
    plane.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}?gracePeriodSeconds=0")


def node_of(plane: ControlPlane, namespace: str, name: str) -> str:
    return str(get_pod(plane, namespace, name)["spec"].get("nodeName") or "")


def wait_bound(plane: ControlPlane, namespace: str, name: str, timeout: float = 60.0) -> str:
    return wait_for(f"pod {name} bound", lambda: node_of(plane, namespace, name), timeout)


def priority_class(plane: ControlPlane, value: int) -> str:
    """A new PriorityClass of this value; its name."""
    name = unique(f"prio-{value}")
    plane.request(
        "POST",
        "/apis/scheduling.k8s.io/v1/priorityclasses",
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": value,
        },
    )
    return name


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

    def __init__(
        self, kubeconfig: Path, config: dict[str, Any], work: Path, host: str = "127.0.0.1"
    ) -> None:
        self.kubeconfig = kubeconfig
        self.address = host
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        work.mkdir(parents=True, exist_ok=True)
        self.config_path = work / "weighbridge.yaml"
        # Tests stop their extenders at once; the drain on SIGTERM has its own HTTP test.
        server = {"shutdown_delay_seconds": 0, **config.get("server", {})}
        self.config_path.write_text(yaml.safe_dump({**config, "server": server}))
        self.log_path = work / "weighbridge.log"
        self.proc: subprocess.Popen[bytes] | None = None
        #: more `serve` options (TLS), and the client's TLS context (None: plain HTTP)
        self.serve_args: list[str] = []
        self.context: ssl.SSLContext | None = None
        self.anonymous: ssl.SSLContext | None = None

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
                self.address,
                "--port",
                str(self.port),
                *self.serve_args,
            ],
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for("weighbridge listening", lambda: self.status("/healthz") == 200, 30)
        if wait_ready:
            wait_for("weighbridge ready", lambda: self.status("/readyz") == 200, 60)
        return self

    def __enter__(self) -> Weighbridge:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        """Stop, and print the log's tail (pytest shows it when a test failed)."""
        self.stop()
        print(self.log_tail())

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

    def _open(
        self, request: str | urllib.request.Request, timeout: float, anonymous: bool = False
    ) -> Any:
        """urlopen over the extender's scheme; `anonymous`: without a client certificate."""
        context = self.anonymous if anonymous else self.context
        return urllib.request.urlopen(request, timeout=timeout, context=context)

    def status(self, path: str, anonymous: bool = False) -> int:
        try:
            with self._open(self.url + path, 5, anonymous) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def get(self, path: str) -> Any:
        with self._open(self.url + path, 10) as response:
            return json.loads(response.read())

    def host(self, name: str) -> dict[str, Any] | None:
        """The cache's view of a node (GET /hosts/<name>), None while it has none."""
        return self.get(f"/hosts/{name}") if self.status(f"/hosts/{name}") == 200 else None

    def wait_for_hosts(self, *names: str, timeout: float = 60.0) -> None:
        """Wait until the cache holds every one of these nodes."""

        def cached() -> bool:
            hosts = self.get("/hosts")["hosts"]
            return all(name in hosts for name in names)

        wait_for(f"{', '.join(names)} in the cache", cached, timeout)

    def metrics(self) -> str:
        with self._open(self.url + "/metrics", 10) as response:
            return str(response.read().decode())

    def post(self, path: str, body: Any, anonymous: bool = False) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with self._open(request, 10, anonymous) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


class MutualTlsWeighbridge(Weighbridge):
    """`weighbridge serve` over mutual TLS: it serves `cert`/`key` and lets in clients that
    `client_ca` signed. The test's own calls trust `ca` and present `client` (a certificate
    and its key), as kube-scheduler does; `anonymous` is a client without one."""

    def __init__(
        self,
        kubeconfig: Path,
        config: dict[str, Any],
        work: Path,
        *,
        cert: Path,
        key: Path,
        client_ca: Path,
        ca: Path,
        client: tuple[Path, Path],
    ) -> None:
        super().__init__(kubeconfig, config, work)
        self.url = f"https://127.0.0.1:{self.port}"
        self.serve_args = [
            f"--tls-cert-file={cert}",
            f"--tls-key-file={key}",
            f"--tls-client-ca-file={client_ca}",
        ]
        self.anonymous = ssl.create_default_context(cafile=str(ca))
        self.context = ssl.create_default_context(cafile=str(ca))
        self.context.load_cert_chain(*client)


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


@contextmanager
def scheduler_running(plane: ControlPlane, *config: str) -> Iterator[ManagedProcess]:
    """kube-scheduler with this configuration (the control plane's default without one),
    stopped again when the block ends."""
    proc = plane.start_scheduler(*config)
    try:
        yield proc
    finally:
        plane.stop_scheduler(proc)
