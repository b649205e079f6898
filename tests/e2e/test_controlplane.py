"""The project-built control plane works: scheduling, restarts, RBAC, PodSecurity, Priority.

Nodes are plain API objects (no kubelet), as in upstream's scheduler integration tests.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devtools.localcluster import (
    ApiError,
    ControlPlane,
    ControlPlaneError,
    binaries_dir,
    helm_binary,
)

from .kube import (
    create_pod,
    make_node,
    post_pod,
    priority_class,
    restricted_pod,
    scheduler_running,
    unique,
    wait_bound,
)

pytestmark = pytest.mark.e2e
#: What these pods ask for: the control plane is under test, not the placement.
SMALL = {"cpu": "100m", "memory": "64Mi"}


def test_pod_is_bound_to_fake_node(control_plane: ControlPlane, namespace: str) -> None:
    node = unique("node")
    make_node(control_plane, node)
    # Other tests' nodes share the cluster: pin by hostname label.
    selector = {"kubernetes.io/hostname": node}
    create_pod(control_plane, namespace, "p1", selector=selector, **SMALL)

    with scheduler_running(control_plane) as scheduler:
        bound = wait_bound(control_plane, namespace, "p1", timeout=30)
        assert bound == node, f"scheduler log: {scheduler.log_path}"
        assert scheduler.alive()


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm", "sigkill"])
def test_restart_apiserver_keeps_state_and_scheduler_recovers(
    control_plane: ControlPlane, namespace: str, graceful: bool
) -> None:
    node = unique("node")
    make_node(control_plane, node)
    with scheduler_running(control_plane):
        old_port = control_plane.apiserver_port
        started = time.monotonic()
        control_plane.restart_apiserver(graceful=graceful)
        elapsed = time.monotonic() - started

        assert control_plane.apiserver_port == old_port
        assert elapsed < 30, f"restart took {elapsed:.1f}s"
        got = control_plane.request("GET", f"/api/v1/nodes/{node}")
        assert got["status"]["allocatable"]["cpu"] == "8"
        # A fresh client (kubectl) still trusts the server, and writes work.
        control_plane.kubectl("create", "configmap", "after-restart", "-n", namespace)

        # The scheduler's watches were cut; it must re-establish them and keep binding.
        selector = {"kubernetes.io/hostname": node}
        create_pod(control_plane, namespace, "after-restart", selector=selector, **SMALL)
        assert wait_bound(control_plane, namespace, "after-restart") == node


def test_rbac_is_enforced(control_plane: ControlPlane, namespace: str) -> None:
    sa = f"system:serviceaccount:{namespace}:reader"
    denied = control_plane.kubectl(
        "auth", "can-i", "list", "pods", "-n", namespace, "--as", sa, check=False
    )
    assert denied.returncode == 1 and denied.stdout.strip() == "no"

    control_plane.kubectl("create", "serviceaccount", "reader", "-n", namespace)
    control_plane.kubectl(
        "create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", namespace
    )
    control_plane.kubectl(
        "create",
        "rolebinding",
        "reader",
        "--role=pod-reader",
        f"--serviceaccount={namespace}:reader",
        "-n",
        namespace,
    )
    allowed = control_plane.kubectl("auth", "can-i", "list", "pods", "-n", namespace, "--as", sa)
    assert allowed.stdout.strip() == "yes"
    still_denied = control_plane.kubectl(
        "auth", "can-i", "delete", "pods", "-n", namespace, "--as", sa, check=False
    )
    assert still_denied.stdout.strip() == "no"


def test_pod_security_restricted_is_enforced(control_plane: ControlPlane, namespace: str) -> None:
    control_plane.kubectl(
        "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"
    )
    with pytest.raises(ApiError) as rejected:
        create_pod(control_plane, namespace, "not-restricted", **SMALL)
    assert rejected.value.status == 403
    assert "violates PodSecurity" in rejected.value.body

    post_pod(control_plane, restricted_pod(namespace, "restricted"))


def test_priority_admission_resolves_priority_class(
    control_plane: ControlPlane, namespace: str
) -> None:
    pc = priority_class(control_plane, 1000)
    pod = create_pod(control_plane, namespace, "prio", priority_class=pc, **SMALL)
    assert pod["spec"]["priority"] == 1000
    # The built-in classes come from the API server itself, no controller needed.
    control_plane.request("GET", "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical")


def test_helm_installs_a_chart(control_plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    helm_binary()  # builds (or finds) helm before timing-sensitive work
    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n"
        "data:\n  answer: {{ .Values.answer | quote }}\n"
    )
    (chart / "values.yaml").write_text("answer: 42\n")
    control_plane.helm("install", "tiny", str(chart), "-n", namespace, "--wait", "--timeout=60s")
    cm = control_plane.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/tiny-cm")
    assert cm["data"] == {"answer": "42"}


def test_start_failure_is_typed_and_cleans_up(tmp_path: Path) -> None:
    plane = ControlPlane(binaries_dir(), tmp_path, apiserver_args=["--no-such-flag"])
    with pytest.raises(ControlPlaneError) as failed, plane:
        pass
    assert failed.value.component == "kube-apiserver"
    assert failed.value.log_tail is not None and "no-such-flag" in failed.value.log_tail
    assert plane.etcd is None and plane.apiserver is None  # etcd was stopped too
