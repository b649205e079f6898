"""The chart against the real kube-apiserver: every rendered object accepted (server-side
dry run, strict field validation) in a namespace enforcing the restricted Pod Security
profile, RBAC that allows what the extender does and nothing that matters besides, the
HostAggregate CRD's validation, a real helm install and upgrade, and the chart's second
scheduler configuration placing a pod through a live weighbridge.

The ServiceMonitor, PrometheusRule, Certificate and Issuer kinds belong to the Prometheus
Operator and cert-manager, which are not installed here: minimal CRDs that accept any
content stand in for them, so those objects are checked for kind, group, version and
metadata only, not against the operators' schemas.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.localcluster import ApiError, ControlPlane, ManagedProcess
from tests.deploy.chart import (
    CHART,
    DEPLOY,
    VARIANTS,
    pod_specs,
    render,
    scheduler_config,
    template,
)

from .kube import (
    Weighbridge,
    create_namespace,
    make_node,
    post_pod,
    restricted_pod,
    scheduler_running,
    unique,
    wait_bound,
    wait_for,
)

pytestmark = pytest.mark.e2e

STAND_IN_CRDS = [
    ("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"),
    ("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"),
    ("cert-manager.io", "v1", "Certificate", "certificates"),
    ("cert-manager.io", "v1", "Issuer", "issuers"),
]
RESTRICTED = {
    f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")
}


@pytest.fixture(scope="module")
def crds(control_plane: ControlPlane) -> ControlPlane:
    """The chart's CRD, installed for real, and stand-ins for the operators' kinds."""
    control_plane.install_crds()
    for group, version, kind, plural in STAND_IN_CRDS:
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"kind": kind, "plural": plural, "listKind": f"{kind}List"},
                "versions": [
                    {
                        "name": version,
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }
        control_plane.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(crd))
    for group, _, _, plural in STAND_IN_CRDS:
        control_plane.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", f"crd/{plural}.{group}"
        )
    return control_plane


def restricted_namespace(plane: ControlPlane) -> str:
    return create_namespace(plane, unique("wb"), RESTRICTED)


def dry_run(plane: ControlPlane, manifest: str) -> subprocess.CompletedProcess[str]:
    return plane.kubectl(
        "apply", "--dry-run=server", "--validate=strict", "-f", "-", input=manifest, check=False
    )


def pods_from_templates(docs: list[dict[str, Any]], namespace: str) -> str:
    """Every pod the chart would run, as Pod objects: PodSecurity enforces on Pods only."""
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"{name}-template", "namespace": namespace},
            "spec": spec,
        }
        for name, spec in pod_specs(docs)
    ]
    return yaml.safe_dump_all(pods)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_object_is_accepted_in_a_restricted_namespace(
    crds: ControlPlane, variant: str
) -> None:
    namespace = restricted_namespace(crds)
    manifest = template(VARIANTS[variant], release="wb", namespace=namespace)
    done = dry_run(crds, manifest)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    created = [line for line in done.stdout.splitlines() if "(server dry run)" in line]
    assert len(created) == len(render(VARIANTS[variant], release="wb", namespace=namespace))

    pods = dry_run(
        crds, pods_from_templates(render(VARIANTS[variant], namespace=namespace), namespace)
    )
    assert pods.returncode == 0, pods.stderr
    assert "violate" not in pods.stderr, pods.stderr


def test_the_check_catches_a_pod_that_breaks_the_profile(crds: ControlPlane) -> None:
    namespace = restricted_namespace(crds)
    docs = render(namespace=namespace)
    for _, spec in pod_specs(docs):
        spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    done = dry_run(crds, pods_from_templates(docs, namespace))
    assert done.returncode != 0
    assert "violates PodSecurity" in done.stderr and "allowPrivilegeEscalation" in done.stderr


def _allowed(
    plane: ControlPlane, account: str, verb: str, resource: str, namespace: str = "", name: str = ""
) -> bool:
    """SubjectAccessReview: may ``account`` do ``verb`` on ``resource`` ("group/plural[/sub]")?

    Asked of the API server directly, so kinds whose API is not installed here (the
    NodeResourceTopology CRD) are checked like any other.
    """
    parts = resource.split("/")
    group = parts.pop(0) if "." in parts[0] else ""
    plural, subresource = parts[0], "/".join(parts[1:])
    review = plane.request(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": account,
                "groups": ["system:serviceaccounts", "system:authenticated"],
                "resourceAttributes": {
                    "verb": verb,
                    "group": group,
                    "resource": plural,
                    "subresource": subresource,
                    "namespace": namespace,
                    "name": name,
                },
            },
        },
    )
    return bool(review["status"].get("allowed"))


ALL = ""  # every namespace, as a cluster-wide list or watch asks
OTHER = "default"  # a namespace other than the extender's own
MINE = "<own>"

#: (verb, "group/plural[/subresource]" or "plural[/subresource]", namespace)
EXTENDER_MAY = [
    ("list", "nodes", ALL),
    ("watch", "nodes", ALL),
    ("list", "pods", ALL),
    ("watch", "pods", ALL),
    ("create", "pods/binding", OTHER),
    ("create", "events.k8s.io/events", OTHER),
    ("patch", "events.k8s.io/events", OTHER),
    ("list", "weighbridge.io/hostaggregates", ALL),
    ("watch", "weighbridge.io/hostaggregates", ALL),
    ("list", "topology.node.k8s.io/noderesourcetopologies", ALL),
    ("watch", "topology.node.k8s.io/noderesourcetopologies", ALL),
    ("list", "resource.k8s.io/deviceclasses", ALL),
    ("watch", "resource.k8s.io/deviceclasses", ALL),
    ("create", "coordination.k8s.io/leases", MINE),
    ("create", "discovery.k8s.io/endpointslices", MINE),
]
#: leader election (docs/replicas.md): its own Lease and EndpointSlice, by name, and no other
EXTENDER_MAY_NAMED = [
    ("get", "coordination.k8s.io/leases", "{release}-weighbridge"),
    ("update", "coordination.k8s.io/leases", "{release}-weighbridge"),
    ("update", "discovery.k8s.io/endpointslices", "{release}-weighbridge-active"),
]
EXTENDER_MAY_NOT_NAMED = [
    ("update", "coordination.k8s.io/leases", "kube-scheduler"),
    ("update", "discovery.k8s.io/endpointslices", "kubernetes"),
]
EXTENDER_MAY_NOT = [
    ("create", "events", OTHER),
    ("delete", "events.k8s.io/events", OTHER),
    ("update", "events.k8s.io/events", OTHER),
    ("get", "secrets", MINE),
    ("list", "secrets", ALL),
    ("get", "secrets", "kube-system"),
    ("get", "pods", OTHER),
    ("create", "pods", OTHER),
    ("delete", "pods", OTHER),
    ("update", "pods", OTHER),
    ("patch", "pods", OTHER),
    ("update", "pods/status", OTHER),
    ("create", "pods/eviction", OTHER),
    ("update", "nodes", ALL),
    ("patch", "nodes", ALL),
    ("delete", "nodes", ALL),
    ("get", "configmaps", MINE),
    ("create", "weighbridge.io/hostaggregates", ALL),
    ("update", "weighbridge.io/hostaggregates", ALL),
    ("create", "resource.k8s.io/deviceclasses", ALL),
    ("list", "resource.k8s.io/resourceclaims", ALL),
    ("create", "coordination.k8s.io/leases", OTHER),
    ("create", "discovery.k8s.io/endpointslices", OTHER),
    ("escalate", "rbac.authorization.k8s.io/clusterroles", ALL),
    ("impersonate", "serviceaccounts", MINE),
]


def _apply_rbac(plane: ControlPlane, values: dict[str, Any], namespace: str, release: str) -> None:
    access = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    docs = [d for d in render(values, release=release, namespace=namespace) if d["kind"] in access]
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def test_extender_account_can_do_what_it_does_and_nothing_else(crds: ControlPlane) -> None:
    namespace = restricted_namespace(crds)
    release = f"rb{uuid.uuid4().hex[:6]}"
    _apply_rbac(crds, {}, namespace, release)
    account = f"system:serviceaccount:{namespace}:{release}-weighbridge"
    for verb, resource, where in EXTENDER_MAY:
        ns = namespace if where == MINE else where
        assert _allowed(crds, account, verb, resource, ns), f"cannot {verb} {resource} in {ns!r}"
    for verb, resource, where in EXTENDER_MAY_NOT:
        ns = namespace if where == MINE else where
        assert not _allowed(crds, account, verb, resource, ns), f"can {verb} {resource} in {ns!r}"
    for verb, resource, name in EXTENDER_MAY_NAMED:
        name = name.format(release=release)
        assert _allowed(crds, account, verb, resource, namespace, name), f"cannot {verb} {name}"
    for verb, resource, name in EXTENDER_MAY_NOT_NAMED:
        assert not _allowed(crds, account, verb, resource, namespace, name), f"can {verb} {name}"
    # kubectl's own view agrees, and an account without the binding gets nothing.
    can_i = crds.kubectl("auth", "can-i", "list", "nodes", f"--as={account}", check=False)
    assert can_i.stdout.strip() == "yes"
    assert not _allowed(crds, f"system:serviceaccount:{namespace}:stranger", "list", "nodes")


def test_second_scheduler_account_has_the_schedulers_rights(crds: ControlPlane) -> None:
    namespace = restricted_namespace(crds)
    release = f"rb{uuid.uuid4().hex[:6]}"
    _apply_rbac(crds, VARIANTS["second-scheduler"], namespace, release)
    account = f"system:serviceaccount:{namespace}:{release}-weighbridge-scheduler"
    lease = "coordination.k8s.io/leases"
    allowed = [
        ("create", "pods/binding", OTHER, ""),
        ("list", "nodes", ALL, ""),
        ("watch", "persistentvolumeclaims", ALL, ""),
        ("create", lease, namespace, ""),
        ("get", lease, namespace, "weighbridge-scheduler"),
        ("update", lease, namespace, "weighbridge-scheduler"),
        ("get", "configmaps", "kube-system", "extension-apiserver-authentication"),
    ]
    for verb, resource, ns, name in allowed:
        assert _allowed(crds, account, verb, resource, ns, name), f"cannot {verb} {resource}"
    denied = [
        ("get", "secrets", namespace, ""),
        ("update", lease, namespace, "someone-else"),
        ("delete", "nodes", ALL, ""),
        ("get", "configmaps", "kube-system", "other"),
    ]
    for verb, resource, ns, name in denied:
        assert not _allowed(crds, account, verb, resource, ns, name), f"can {verb} {resource}"


def test_host_aggregate_crd_validates_and_prints(crds: ControlPlane) -> None:
    name = f"agg-{uuid.uuid4().hex[:6]}"
    good = {
        "apiVersion": "weighbridge.io/v1alpha1",
        "kind": "HostAggregate",
        "metadata": {"name": name},
        "spec": {
            "metadata": {
                "availability_zone": "az1",
                "filter_tenant_id": "team-a,team-b",
                "cpu_allocation_ratio": "1.5",
                "max_instances_per_host": "40",
                "ssd": "true",
            }
        },
    }
    crds.kubectl("apply", "-f", "-", input=yaml.safe_dump(good))
    table = crds.kubectl("get", "hostaggregate", name).stdout.splitlines()
    assert table[0].split() == ["NAME", "ZONE", "TENANTS", "FLAVORS", "AGE"]
    assert table[1].split()[:3] == [name, "az1", "team-a,team-b"]
    for key, value, message in [
        ("cpu_allocation_ratio", "lots", "allocation ratios must be non-negative decimal"),
        ("max_io_ops_per_host", "-1", "must be non-negative integers"),
    ]:
        bad = {**good, "metadata": {"name": f"{name}-bad"}, "spec": {"metadata": {key: value}}}
        with pytest.raises(ApiError) as info:
            crds.request("POST", "/apis/weighbridge.io/v1alpha1/hostaggregates", bad)
        assert info.value.status == 422 and message in info.value.body
    with pytest.raises(ApiError) as info:
        crds.request(
            "POST",
            "/apis/weighbridge.io/v1alpha1/hostaggregates",
            {**good, "metadata": {"name": f"{name}-num"}, "spec": {"metadata": {"ssd": 1}}},
        )
    assert info.value.status == 422


def test_helm_install_upgrade_and_test_hook_objects(crds: ControlPlane) -> None:
    """A real `helm install` and `helm upgrade` into a restricted namespace.

    No controller-manager runs here, so the Deployments never get pods: what is checked is
    that helm and the API server accept the release and its upgrade.
    """
    namespace = restricted_namespace(crds)
    release = f"hi{uuid.uuid4().hex[:6]}"
    installed = crds.helm("install", release, str(CHART), "-n", namespace, "--skip-crds")
    assert "No scheduler calls the extender yet" in installed.stdout  # NOTES.txt
    status = crds.helm("status", release, "-n", namespace, "-o", "yaml").stdout
    assert yaml.safe_load(status)["info"]["status"] == "deployed"
    deployment = crds.request(
        "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{release}-weighbridge"
    )
    assert deployment["spec"]["replicas"] == 2
    before = deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    upgraded = crds.helm(
        "upgrade",
        release,
        str(CHART),
        "-n",
        namespace,
        "--reuse-values",
        "--set",
        "config.options.max_io_ops_per_host=4",
        "--set",
        "scheduler.enabled=true",
    )
    assert "schedulerName: weighbridge-scheduler" in upgraded.stdout
    deployment = crds.request(
        "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{release}-weighbridge"
    )
    after = deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert after != before, "a config change must roll the extender's pods"
    config_map = crds.request(
        "GET", f"/api/v1/namespaces/{namespace}/configmaps/{release}-weighbridge"
    )
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    assert config["options"] == {"max_io_ops_per_host": 4}
    assert config["leader"]["lease_name"] == f"{release}-weighbridge"
    crds.request(
        "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{release}-weighbridge-scheduler"
    )
    history = yaml.safe_load(crds.helm("history", release, "-n", namespace, "-o", "yaml").stdout)
    assert [h["revision"] for h in history] == [1, 2]
    crds.helm("uninstall", release, "-n", namespace)
    with pytest.raises(ApiError) as info:
        crds.request(
            "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{release}-weighbridge"
        )
    assert info.value.status == 404


def test_chart_scheduler_configuration_places_a_pod_through_weighbridge(
    crds: ControlPlane, tmp_path: Path
) -> None:
    """The second scheduler exactly as the chart configures it (leader election on its own
    Lease, the extender's verbs, nodeCacheCapable), pointed at a live weighbridge instead of
    the in-cluster Service name, places a pod that asks for it; the chart's `helm test`
    check passes against the same weighbridge."""
    namespace = restricted_namespace(crds)
    docs = render(VARIANTS["second-scheduler"], release="wb", namespace=namespace)
    config = scheduler_config(docs)
    weighbridge = Weighbridge(crds.kubeconfig_path, {}, tmp_path / "weighbridge")
    (extender,) = config["extenders"]
    extender["urlPrefix"] = weighbridge.url
    scheduler: ManagedProcess | None = None
    with ExitStack() as running:
        try:
            running.enter_context(weighbridge)
            scheduler = running.enter_context(scheduler_running(crds, yaml.safe_dump(config)))
            lease = wait_for(
                "the scheduler's Lease",
                lambda: _get_or_none(
                    crds,
                    f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/weighbridge-scheduler",
                ),
            )
            assert lease["spec"]["holderIdentity"]

            node = f"n-{uuid.uuid4().hex[:6]}"
            make_node(crds, node, labels={"deploy-test": node})
            pod = restricted_pod(
                namespace, "placed", "weighbridge-scheduler", {"deploy-test": node}
            )
            post_pod(crds, pod)
            assert wait_bound(crds, namespace, "placed") == node
            metrics = weighbridge.metrics()
            for verb in ("filter", "bind"):
                assert f'weighbridge_requests_total{{code="200",verb="{verb}"}}' in metrics, verb
            assert 'weighbridge_binds_total{outcome="bound"}' in metrics

            check = subprocess.run(
                [sys.executable, str(CHART / "files" / "helm-test.py"), weighbridge.url],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert check.returncode == 0, check.stdout + check.stderr
            assert check.stdout.count("ok ") == 3
        except AssertionError as exc:
            logs = f"--- weighbridge ---\n{weighbridge.log_tail()}"
            if scheduler is not None:
                logs += f"\n--- kube-scheduler ---\n{scheduler.tail()}"
            raise AssertionError(f"{exc}\n{logs}") from exc


def _get_or_none(plane: ControlPlane, path: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = plane.request("GET", path)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    return found


def test_manual_binding_runbook_places_a_pod_no_scheduler_takes(crds: ControlPlane) -> None:
    """docs/install.md's recovery for a default scheduler whose extender is ignorable: false
    and has no replica left: bind a pending extender pod by hand with `kubectl create`."""
    namespace = restricted_namespace(crds)
    node = f"n-{uuid.uuid4().hex[:6]}"
    make_node(crds, node)
    post_pod(crds, restricted_pod(namespace, "stuck", "nobody"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "stuck", "namespace": namespace},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }
    crds.kubectl("create", "-f", "-", input=yaml.safe_dump(binding))
    assert wait_bound(crds, namespace, "stuck") == node


@pytest.mark.parametrize("manifest", ["weighbridge.yaml", "weighbridge-second-scheduler.yaml"])
def test_plain_manifests_are_accepted(crds: ControlPlane, manifest: str) -> None:
    """deploy/manifests as a user without Helm applies them: the namespace they declare is
    created for real (enforcing restricted), everything else is a server-side dry run."""
    docs = list(yaml.safe_load_all((DEPLOY / "manifests" / manifest).read_text()))
    namespace = docs[0]
    assert namespace["kind"] == "Namespace"
    crds.kubectl("apply", "-f", "-", input=yaml.safe_dump(namespace))
    done = dry_run(crds, yaml.safe_dump_all(docs))
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    assert done.stdout.count("(server dry run)") == len(docs)
