"""`weighbridge cluster`: a local cluster where newcomers watch where pods land and why.

It starts the project-built control plane, creates the example cluster's nodes and host
aggregates as plain API objects, runs weighbridge against it (list+watch, bind, preempt)
and a kube-scheduler configured to call it. With `--demo` it applies the example pods,
waits for kube-scheduler, prints where each pod landed (or why it is Pending) with the
extender's explanation, and stops; otherwise it keeps running until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devtools.demo import example_path, yaml_objects
from devtools.localcluster import ControlPlane, ManagedProcess, binaries_dir, free_port
from extender.service.explain import render

SCHEDULER_CONFIG = """\
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
podInitialBackoffSeconds: 1
podMaxBackoffSeconds: 5
extenders:
  - urlPrefix: {url}
    filterVerb: filter
    prioritizeVerb: prioritize
    bindVerb: bind
    preemptVerb: preempt
    weight: 5
    nodeCacheCapable: true
    httpTimeout: 5s
    ignorable: false
"""


def _create_example_cluster(plane: ControlPlane) -> int:
    """HostAggregates and Nodes of the bundled example (its pods are left out)."""
    plane.install_crds()
    nodes = 0
    for obj in yaml_objects(example_path("cluster.yaml")):
        if obj["kind"] == "HostAggregate":
            plane.request("POST", "/apis/weighbridge.io/v1alpha1/hostaggregates", obj)
        elif obj["kind"] == "Node":
            status = obj.pop("status")
            plane.request("POST", "/api/v1/nodes", obj)
            name = obj["metadata"]["name"]
            plane.request("PATCH", f"/api/v1/nodes/{name}/status", {"status": status})
            nodes += 1
    return nodes


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _wait(what: str, probe: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = probe()
        except (OSError, urllib.error.URLError):
            result = None
        if result:
            return result
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


def _start_weighbridge(plane: ControlPlane) -> tuple[ManagedProcess, str]:
    port = free_port()
    # No Service routes to a local extender, so there is nothing to drain on stop.
    config = plane.log_dir / "weighbridge.yaml"
    config.write_text("server: {shutdown_delay_seconds: 0}\n")
    proc = ManagedProcess(
        "weighbridge",
        [
            sys.executable,
            "-m",
            "extender.cli",
            "serve",
            "--kubeconfig",
            str(plane.kubeconfig_path),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        plane.log_dir / "weighbridge.log",
        {**os.environ, "PYTHONUNBUFFERED": "1"},
        port=port,
    )
    url = f"http://127.0.0.1:{port}"
    _wait("weighbridge ready", lambda: _get(url + "/hosts") and _ready(url), 60)
    return proc, url


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False


def _play(plane: ControlPlane, url: str) -> None:
    """Apply the example pods, let kube-scheduler place them, and say where and why."""
    namespaces = set()
    pods = [p for p in yaml_objects(example_path("pods.yaml")) if p["kind"] == "Pod"]
    for pod in pods:
        ns = pod["metadata"]["namespace"]
        if ns not in namespaces:
            plane.kubectl("create", "namespace", ns, check=False)
            namespaces.add(ns)
        pod["metadata"].pop("uid", None)
        plane.request("POST", f"/api/v1/namespaces/{ns}/pods", pod)
    time.sleep(3)
    for pod in pods:
        meta = pod["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        live = _wait(
            f"pod {meta['name']} scheduled or rejected",
            lambda p=path: _decided(plane.request("GET", p)),
            60,
        )
        print("=" * 100)
        node = live["spec"].get("nodeName")
        if node:
            print(f"Pod {meta['namespace']}/{meta['name']} was bound to {node} by kube-scheduler")
        else:
            reason = next(
                c.get("message", "")
                for c in live["status"]["conditions"]
                if c["type"] == "PodScheduled"
            )
            print(f"Pod {meta['namespace']}/{meta['name']} is Pending: {reason[:300]}")
        print("  the extender's view now (this pod included, if it was bound):")
        request = urllib.request.Request(
            url + "/explain", data=json.dumps({"Pod": pod}).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                print(render(json.loads(response.read()), max_reasons=2, top=3))
        except urllib.error.HTTPError as exc:
            print(f"  /explain: {json.loads(exc.read())['Error']}")


def _decided(pod: dict[str, Any]) -> dict[str, Any] | None:
    if pod["spec"].get("nodeName"):
        return pod
    conditions = pod.get("status", {}).get("conditions", [])
    if any(c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable" for c in conditions):
        return pod
    return None


def run_cluster(work_dir: Path, demo: bool) -> int:
    """Start everything; with `demo`, play the example pods and stop."""
    work_dir.mkdir(parents=True, exist_ok=True)
    print("building or finding the control plane binaries (first time: several minutes)...")
    bins = binaries_dir()
    with ControlPlane(bins, work_dir) as plane:
        nodes = _create_example_cluster(plane)
        wb, url = _start_weighbridge(plane)
        try:
            plane.start_scheduler(SCHEDULER_CONFIG.format(url=url))
            print(f"local cluster up: {nodes} nodes; weighbridge at {url}; logs in {plane.log_dir}")
            print(f"  export KUBECONFIG={plane.kubeconfig_path}")
            print(f"  {bins / 'kubectl'} apply -f {example_path('pods.yaml')}")
            print(f"  curl -s {url}/hosts | python3 -m json.tool   # the extender's view")
            if demo:
                _play(plane, url)
                return 0
            print("Ctrl-C stops it all.")
            try:
                while wb.alive():
                    time.sleep(1)
            except KeyboardInterrupt:
                return 0
            print(wb.tail(), file=sys.stderr)
            return 1
        finally:
            wb.stop()
