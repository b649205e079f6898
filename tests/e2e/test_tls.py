"""The shipped TLS scheduler configuration, run by the real kube-scheduler against a live
weighbridge that wants client certificates (mutual TLS).

deploy/scheduler/second-scheduler-tls.yaml is loaded as shipped; only what names the
cluster it was written for changes: the urlPrefix (the extender on a loopback port), the
three files (the test's CA, and a client certificate that CA signed) and the Lease's
namespace. The serverName stays: the extender's certificate names the Service, as the
chart's does. As in the chart's cert-manager mode, one CA signs both certificates, and the
extender trusts clients by that same ca.crt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.localcluster import ControlPlane
from tests.deploy.chart import DEPLOY
from tests.pki import Pki, SecretVolume

from .kube import (
    MutualTlsWeighbridge,
    create_pod,
    events_for,
    group_labels,
    make_node,
    scheduler_running,
    unique,
    wait_bound,
    wait_for,
)

pytestmark = pytest.mark.e2e

SHIPPED = DEPLOY / "scheduler" / "second-scheduler-tls.yaml"
SERVICE = "weighbridge.weighbridge.svc"
CONFIG: dict[str, Any] = {
    "filters": ["ComputeFilter", "RamFilter"],
    "weighers": {"RAMWeigher": 1.0},
}


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SecretVolume]:
    """The extender's Secret (tls.crt, tls.key, ca.crt) and the scheduler's client Secret,
    laid out as the kubelet mounts them."""
    pki = Pki(tmp_path_factory.mktemp("pki"))
    pki.ca("weighbridge-ca")
    pki.leaf("extender", "weighbridge-ca", serial=11, server=True, hosts=("127.0.0.1", SERVICE))
    pki.leaf("weighbridge-scheduler", "weighbridge-ca", serial=12)
    root = tmp_path_factory.mktemp("secrets")
    extender, client = SecretVolume(root / "extender"), SecretVolume(root / "client")
    ca = pki.crt("weighbridge-ca")
    extender.update({"tls.crt": pki.crt("extender"), "tls.key": pki.key("extender"), "ca.crt": ca})
    client.update(
        {
            "tls.crt": pki.crt("weighbridge-scheduler"),
            "tls.key": pki.key("weighbridge-scheduler"),
            "ca.crt": ca,
        }
    )
    return {"extender": extender, "client": client}


@pytest.fixture(scope="module")
def wb(
    control_plane: ControlPlane,
    secrets: dict[str, SecretVolume],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MutualTlsWeighbridge]:
    """`weighbridge serve --kubeconfig ... --tls-cert-file ... --tls-key-file ...
    --tls-client-ca-file ...` as the chart runs it: the client CA is its own ca.crt."""
    control_plane.install_crds()
    extender, client = secrets["extender"], secrets["client"]
    with MutualTlsWeighbridge(
        control_plane.kubeconfig_path,
        CONFIG,
        tmp_path_factory.mktemp("wb"),
        cert=extender.path("tls.crt"),
        key=extender.path("tls.key"),
        client_ca=extender.path("ca.crt"),
        ca=extender.path("ca.crt"),
        client=(client.path("tls.crt"), client.path("tls.key")),
    ) as running:
        assert isinstance(running, MutualTlsWeighbridge)
        yield running


def shipped_config(
    wb: MutualTlsWeighbridge, secrets: dict[str, SecretVolume], namespace: str
) -> dict[str, Any]:
    """The shipped configuration, pointed at this test's extender, files and namespace."""
    config: dict[str, Any] = yaml.safe_load(SHIPPED.read_text())
    (extender,) = config["extenders"]
    tls = extender["tlsConfig"]
    assert extender["urlPrefix"].startswith("https://")
    assert tls["serverName"] == SERVICE
    # the files the chart mounts, by the Secret key they come from
    extender_dir, client_dir = Path(tls["caFile"]).parent, Path(tls["certFile"]).parent
    assert (Path(tls["caFile"]).name, Path(tls["certFile"]).name) == ("ca.crt", "tls.crt")
    assert Path(tls["keyFile"]) == client_dir / "tls.key" and extender_dir != client_dir
    extender["urlPrefix"] = wb.url
    tls["caFile"] = str(secrets["extender"].path("ca.crt"))
    tls["certFile"] = str(secrets["client"].path("tls.crt"))
    tls["keyFile"] = str(secrets["client"].path("tls.key"))
    config["leaderElection"]["resourceNamespace"] = namespace
    return config


def test_shipped_tls_scheduler_places_a_pod_over_mutual_tls(
    control_plane: ControlPlane,
    wb: MutualTlsWeighbridge,
    secrets: dict[str, SecretVolume],
    namespace: str,
) -> None:
    labels = group_labels("mtls")
    nodes = [unique("mtls") for _ in range(2)]  # two, so that prioritize is called too
    for name in nodes:
        make_node(control_plane, name, labels=labels)
    wb.wait_for_hosts(*nodes)
    node = nodes[0]
    config = shipped_config(wb, secrets, namespace)
    scheduler_name = config["profiles"][0]["schedulerName"]

    # the door is locked to a caller without a certificate; probes and metrics stay open
    assert wb.status("/hosts", anonymous=True) == 401
    status, answer = wb.post("/bind", {"PodName": "x", "Node": node}, anonymous=True)
    assert status == 401 and "client certificate" in answer["Error"]
    assert wb.status("/readyz", anonymous=True) == 200
    assert wb.status("/metrics", anonymous=True) == 200

    # the same configuration without its client certificate cannot schedule
    bare = yaml.safe_load(yaml.safe_dump(config))
    del bare["extenders"][0]["tlsConfig"]["certFile"]
    del bare["extenders"][0]["tlsConfig"]["keyFile"]
    with scheduler_running(control_plane, yaml.safe_dump(bare)):
        create_pod(
            control_plane, namespace, "placed", selector=labels, scheduler_name=scheduler_name
        )
        refused = wait_for(
            "a FailedScheduling event naming the 401",
            lambda: [m for m in events_for(control_plane, namespace, "placed") if "401" in m],
            60,
        )
    print(f"\nwithout a client certificate: {refused[0]}")
    assert not wb.get(f"/decisions?pod={namespace}/placed")["decisions"]

    # as shipped, with its certificate: filter, prioritize and bind over mutual TLS
    with scheduler_running(control_plane, yaml.safe_dump(config)):
        bound = wait_bound(control_plane, namespace, "placed")
    assert bound in nodes
    [decision] = wb.get(f"/decisions?pod={namespace}/placed")["decisions"]
    assert decision["bound"]["node"] == bound and "error" not in decision["bound"]
    metrics = wb.metrics()
    for verb in ("filter", "prioritize", "bind"):
        assert re.search(rf'weighbridge_requests_total{{code="200",verb="{verb}"}} [1-9]', metrics)
    log = wb.log_path.read_text()
    assert '"scheme": "https with client certificates"' in log
    assert "without client authentication" not in log
