"""Issue 13: why is a live pod Pending, asked from outside the cluster.

A real `weighbridge serve` stands behind a Service named as the chart names it (an
EndpointSlice and Endpoints with this machine's address: the API server's service proxy
refuses loopback ones). A pod that RamFilter rejects everywhere (ratio annotations far
below its request) stays Pending; `weighbridge explain NAMESPACE/NAME`, the kubectl plugin
(`kubectl weighbridge why`, run by the real kubectl) and `explain --local` must each name
RamFilter as the filter that removed every one of the test's nodes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.localcluster import ApiError, ControlPlane
from extender.cli import SERVICE, SERVICE_NAMESPACE, SERVICE_PORT

from .burst import RATIO
from .kube import (
    Weighbridge,
    create_namespace,
    create_pod,
    group_labels,
    host_address,
    make_node,
    post_pod,
    restricted_pod,
    unique,
)

pytestmark = pytest.mark.e2e

CONFIG: dict[str, Any] = {
    "filters": ["ComputeFilter", "RamFilter"],
    "weighers": {"RAMWeigher": 1.0},
}
#: the venv's bin: `weighbridge` and `kubectl-weighbridge` (console scripts of pyproject.toml)
BIN = Path(sys.executable).parent


def _publish(plane: ControlPlane, wb: Weighbridge) -> None:
    """The chart's Service in the chart's namespace, routed to `wb` by hand (no selector):
    Endpoints (what the service proxy reads) and an EndpointSlice (what kube-proxy reads).
    The proxy goes only to an address that is the IP of the pod its targetRef names, so
    a stand-in pod (never scheduled) is given `wb`'s address as its status."""
    try:
        create_namespace(plane, SERVICE_NAMESPACE)
    except ApiError as exc:
        if exc.status != 409:
            raise
    base = f"/api/v1/namespaces/{SERVICE_NAMESPACE}"
    stand_in = unique(SERVICE)
    # restricted: the chart's namespace may carry test_deploy's Pod Security labels
    post_pod(plane, restricted_pod(SERVICE_NAMESPACE, stand_in, scheduler="nobody"))
    ips = {"podIP": wb.address, "podIPs": [{"ip": wb.address}], "phase": "Running"}
    plane.request("PATCH", f"{base}/pods/{stand_in}/status", {"status": ips})
    target = {"kind": "Pod", "namespace": SERVICE_NAMESPACE, "name": stand_in}
    for path in (f"{base}/services/{SERVICE}", f"{base}/endpoints/{SERVICE}"):
        try:
            plane.request("DELETE", path)
        except ApiError as exc:
            if exc.status != 404:
                raise
    meta = {"name": SERVICE, "namespace": SERVICE_NAMESPACE}
    port = {"name": "http", "port": wb.port, "protocol": "TCP"}
    plane.request(
        "POST",
        f"{base}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"ports": [{**port, "port": SERVICE_PORT, "targetPort": wb.port}]},
        },
    )
    plane.request(
        "POST",
        f"{base}/endpoints",
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": meta,
            "subsets": [{"addresses": [{"ip": wb.address, "targetRef": target}], "ports": [port]}],
        },
    )
    plane.request(
        "POST",
        f"/apis/discovery.k8s.io/v1/namespaces/{SERVICE_NAMESPACE}/endpointslices",
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": unique(SERVICE),
                "labels": {"kubernetes.io/service-name": SERVICE},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [wb.address], "conditions": {"ready": True}}],
            "ports": [port],
        },
    )


@pytest.fixture
def pending(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> Iterator[tuple[Weighbridge, list[str], str]]:
    """The extender behind its Service, two nodes, and a pod that fits on neither; no
    kube-scheduler runs, so the pod stays Pending."""
    plane = control_plane
    labels = group_labels("why")
    nodes = [unique("why") for _ in range(2)]
    for n in nodes:
        make_node(plane, n, memory="16Gi", labels=labels, annotations={RATIO: "0.1"})
    pod = unique("pending")
    create_pod(plane, namespace, pod, memory="4Gi", selector=labels)
    with Weighbridge(plane.kubeconfig_path, CONFIG, tmp_path, host=host_address()) as wb:
        wb.wait_for_hosts(*nodes)
        _publish(plane, wb)
        yield wb, nodes, pod


def _rejected_by(output: str) -> dict[str, str]:
    """node -> the filter that removed it, from `explain`'s text."""
    found: dict[str, str] = {}
    step = ""
    for line in output.splitlines():
        if line.startswith("        ") and ": " in line:
            found[line.strip().split(": ", 1)[0]] = step
        elif line.startswith("    ") and "->" in line:
            step = line.split()[0]
    return found


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}): {done.stderr}"
    return done.stdout


def _assert_ram_filter(output: str, nodes: list[str], pod: str) -> None:
    assert pod in output, output
    rejected = _rejected_by(output)
    assert {n: rejected.get(n) for n in nodes} == dict.fromkeys(nodes, "RamFilter"), output


def test_explain_asks_the_running_extender_through_the_service_proxy(
    control_plane: ControlPlane, namespace: str, pending: tuple[Weighbridge, list[str], str]
) -> None:
    _, nodes, pod = pending
    kubeconfig = str(control_plane.kubeconfig_path)
    out = _run(BIN / "weighbridge", "explain", "--kubeconfig", kubeconfig, f"{namespace}/{pod}")
    _assert_ram_filter(out, nodes, pod)


def test_kubectl_plugin_why_uses_the_context_namespace(
    control_plane: ControlPlane,
    namespace: str,
    pending: tuple[Weighbridge, list[str], str],
    tmp_path: Path,
) -> None:
    """`kubectl weighbridge why POD` as a user types it: kubectl finds kubectl-weighbridge
    on PATH, $KUBECONFIG names the cluster and its context the namespace."""
    _, nodes, pod = pending
    assert (BIN / "kubectl-weighbridge").exists(), "reinstall the package: pip install -e ."
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(control_plane.kubeconfig_path, kubeconfig)
    kubectl = control_plane.bin_dir / "kubectl"
    env = {"KUBECONFIG": str(kubeconfig), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    _run(kubectl, "config", "set-context", "--current", f"--namespace={namespace}", env=env)
    _assert_ram_filter(_run(kubectl, "weighbridge", "why", pod, env=env), nodes, pod)
    explicit = _run(
        kubectl, "weighbridge", "why", pod, "-n", namespace, "--kubeconfig", kubeconfig, env=env
    )
    _assert_ram_filter(explicit, nodes, pod)


def test_explain_local_builds_the_same_view(
    control_plane: ControlPlane,
    namespace: str,
    pending: tuple[Weighbridge, list[str], str],
) -> None:
    wb, nodes, pod = pending
    out = _run(
        BIN / "weighbridge",
        "--log-level",
        "WARNING",
        "explain",
        "--local",
        "--config",
        wb.config_path,
        "--kubeconfig",
        control_plane.kubeconfig_path,
        f"{namespace}/{pod}",
    )
    _assert_ram_filter(out, nodes, pod)
