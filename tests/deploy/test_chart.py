"""The Helm chart lints, renders every documented option, and says what docs/install.md says.

helm is the project's own build (scripts/build-helm.sh); the API server's verdict on the
rendered objects is in tests/e2e/test_deploy.py.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import yaml

from extender.service.config import parse_config

from .chart import CHART, VARIANTS, find, helm, merged, pod_specs, render, scheduler_config

EXTENDER_RULES = {
    ("", "nodes", "list"),
    ("", "nodes", "watch"),
    ("", "pods", "list"),
    ("", "pods", "watch"),
    ("", "pods/binding", "create"),
    ("events.k8s.io", "events", "create"),
    ("events.k8s.io", "events", "patch"),
    ("weighbridge.io", "hostaggregates", "list"),
    ("weighbridge.io", "hostaggregates", "watch"),
    ("topology.node.k8s.io", "noderesourcetopologies", "list"),
    ("topology.node.k8s.io", "noderesourcetopologies", "watch"),
    ("resource.k8s.io", "deviceclasses", "list"),
    ("resource.k8s.io", "deviceclasses", "watch"),
}


def _flat_rules(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_lint_is_clean(variant: str) -> None:
    done = helm("lint", "--strict", str(CHART), values=VARIANTS[variant])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout and "[ERROR]" not in done.stdout, done.stdout


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_renders_well_formed_unique_objects(variant: str) -> None:
    docs = render(VARIANTS[variant])
    keys = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs]
    assert len(keys) == len(set(keys)), f"duplicate objects: {sorted(keys)}"
    for d in docs:
        assert d.get("apiVersion") and d.get("kind") and d["metadata"].get("name"), d
        labels = d["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "weighbridge", d["metadata"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"config": {"bogus": 1}}, "additional properties 'bogus' not allowed"),
        ({"config": {"options": {"max_io_ops_per_host": -1}}}, "max_io_ops_per_host"),
        ({"config": {"server": {"max_body_bytes": 0}}}, "max_body_bytes"),
        ({"config": {"weighers": {"RAMWeigher": "heavy"}}}, "/config/weighers/RAMWeigher"),
        ({"replicas": 3}, "additional properties 'replicas' not allowed"),
        ({"scheduler": {"extender": {"weight": 0}}}, "/scheduler/extender/weight"),
        ({"scheduler": {"name": "Weighbridge_Scheduler"}}, "/scheduler/name"),
        ({"scheduler": {"extender": {"httpTimeout": "five"}}}, "/scheduler/extender/httpTimeout"),
        ({"logLevel": "LOUD"}, "/logLevel"),
    ],
)
def test_schema_rejects_what_the_extender_or_scheduler_would(
    values: dict[str, Any], message: str
) -> None:
    done = helm("lint", str(CHART), values=values)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr


def test_tls_without_a_certificate_source_is_refused() -> None:
    done = helm("template", "x", str(CHART), values={"tls": {"enabled": True}})
    assert done.returncode != 0
    assert "tls.secretName or tls.certManager.enabled" in done.stderr


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_pod_meets_the_restricted_profile_and_skips_our_scheduler(variant: str) -> None:
    docs = render(VARIANTS[variant])
    specs = list(pod_specs(docs))
    assert specs
    for name, spec in specs:
        assert spec["schedulerName"] == "default-scheduler", name
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] != 0, name
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert container["resources"]["requests"], name
            assert "memory" in container["resources"]["limits"], name


def test_extender_deployment_defaults() -> None:
    docs = render()
    deployment = find(docs, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["priorityClassName"] == "system-cluster-critical"
    spread = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert spread == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for constraint in pod["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["args"][1:3] == ["serve", "--config=/etc/weighbridge/config.yaml"]
    assert not any(a.startswith("--tls") for a in container["args"])
    pdb = find(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    service = find(docs, "Service", "weighbridge")
    assert "selector" not in service["spec"]  # the active replica publishes its endpoint
    replicas = find(docs, "Service", "-replicas")
    assert replicas["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert not [d for d in docs if "-scheduler" in d["metadata"]["name"]]


def test_leader_election_names_one_lease_and_endpoint_and_grants_only_those() -> None:
    docs = render()
    config = yaml.safe_load(find(docs, "ConfigMap", "weighbridge")["data"]["config.yaml"])
    assert config["leader"] == {
        "enabled": True,
        "lease_name": "weighbridge",
        "service": "weighbridge",
        "port_name": "http",
    }
    env = find(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"] for e in env} >= {"POD_NAME", "POD_NAMESPACE", "POD_IP"}
    assert _flat_rules(find(docs, "Role")["rules"]) == {
        ("coordination.k8s.io", "leases", "create"),
        ("coordination.k8s.io", "leases", "get"),
        ("coordination.k8s.io", "leases", "update"),
        ("discovery.k8s.io", "endpointslices", "create"),
        ("discovery.k8s.io", "endpointslices", "update"),
    }
    names = {n for rule in find(docs, "Role")["rules"] for n in rule.get("resourceNames", [])}
    assert names == {"weighbridge", "weighbridge-active"}
    off = render({"leaderElection": {"enabled": False}, "replicaCount": 1})
    assert "leader" not in yaml.safe_load(
        find(off, "ConfigMap", "weighbridge")["data"]["config.yaml"]
    )
    assert find(off, "Service", "weighbridge")["spec"]["selector"]
    assert not [d for d in off if d["kind"] == "Role"]


def test_one_replica_gets_no_disruption_budget() -> None:
    """A budget of one with one replica would block every node drain."""
    kinds = {d["kind"] for d in render(VARIANTS["single-replica"])}
    assert "PodDisruptionBudget" not in kinds


def test_cluster_role_grants_exactly_the_calls_the_extender_makes() -> None:
    docs = render()
    assert _flat_rules(find(docs, "ClusterRole")["rules"]) == EXTENDER_RULES
    binding = find(docs, "ClusterRoleBinding")
    (subject,) = binding["subjects"]
    assert subject["name"] == find(docs, "ServiceAccount")["metadata"]["name"]
    assert subject["namespace"] == "weighbridge"
    pod = find(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == subject["name"]


def test_requeue_adds_only_patch_on_pods() -> None:
    """config.requeue wakes rejected pods with an annotation: the one extra permission."""
    docs = render({"config": {"requeue": {"enabled": True}}})
    rules = _flat_rules(find(docs, "ClusterRole")["rules"])
    assert rules == EXTENDER_RULES | {("", "pods", "patch")}


def test_second_scheduler_flushes_its_unschedulable_pool_every_minute() -> None:
    """kube-scheduler v1.36 takes the flush interval only as a (deprecated) flag."""
    flag = "--pod-max-in-unschedulable-pods-duration"
    on = {"scheduler": {"enabled": True}}
    deployment = find(render(on), "Deployment", "-scheduler")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert f"{flag}=60s" in container["command"]
    off = merged(on, {"scheduler": {"podMaxInUnschedulablePodsDuration": ""}})
    (container,) = find(render(off), "Deployment", "-scheduler")["spec"]["template"]["spec"][
        "containers"
    ]
    assert not [a for a in container["command"] if a.startswith(flag)]


def test_events_turned_off_take_their_rbac_rule_with_them() -> None:
    off = render({"config": {"events": {"enabled": False}}})
    rules = _flat_rules(find(off, "ClusterRole")["rules"])
    assert rules == {r for r in EXTENDER_RULES if r[0] != "events.k8s.io"}


def test_config_value_becomes_a_valid_configuration_and_rolls_the_pods() -> None:
    default = render()
    custom = render(VARIANTS["custom-config"])
    text = find(custom, "ConfigMap", "weighbridge")["data"]["config.yaml"]
    config = parse_config(yaml.safe_load(text))
    assert config.filters == ["RamFilter", "CoreFilter", "AvailabilityZoneFilter"]
    assert config.weighers["RAMWeigher"] == 2.0
    assert config.options.ram_allocation_ratio == 0.9
    assert parse_config(
        yaml.safe_load(find(default, "ConfigMap", "weighbridge")["data"]["config.yaml"])
    )

    def checksum(docs: list[dict[str, Any]]) -> str:
        meta = find(docs, "Deployment")["spec"]["template"]["metadata"]
        return str(meta["annotations"]["checksum/config"])

    assert checksum(default) != checksum(custom)
    assert len(checksum(default)) == len(hashlib.sha256().hexdigest())


def test_tls_from_a_secret_reaches_the_server_probes_and_scheduler() -> None:
    docs = render(merged(VARIANTS["tls-secret"], VARIANTS["second-scheduler"]))
    pod = find(docs, "Deployment", "weighbridge")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "--tls-cert-file=/etc/weighbridge/tls/tls.crt" in container["args"]
    assert "--tls-key-file=/etc/weighbridge/tls/tls.key" in container["args"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
    # mutual TLS by default: callers are verified against the CA of the same Secret
    assert "--tls-client-ca-file=/etc/weighbridge/tls/ca.crt" in container["args"]
    tls_volume = next(v for v in pod["volumes"] if v["name"] == "tls")
    assert tls_volume["secret"]["secretName"] == "weighbridge-tls"

    (extender,) = scheduler_config(docs)["extenders"]
    assert extender["urlPrefix"] == "https://weighbridge.weighbridge.svc:8888"
    assert extender["enableHTTPS"] is True
    assert extender["tlsConfig"]["serverName"] == "weighbridge.weighbridge.svc"
    sched_pod = find(docs, "Deployment", "-scheduler")["spec"]["template"]["spec"]
    ca_volume = next(v for v in sched_pod["volumes"] if v["name"] == "extender-ca")
    # Only the CA reaches the scheduler, never the extender's private key.
    assert ca_volume["secret"] == {
        "secretName": "weighbridge-tls",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    mounts = {m["name"]: m for m in sched_pod["containers"][0]["volumeMounts"]}
    assert extender["tlsConfig"]["caFile"] == f"{mounts['extender-ca']['mountPath']}/ca.crt"
    # ... and the scheduler presents its own client certificate, from a Secret of its own
    client_volume = next(v for v in sched_pod["volumes"] if v["name"] == "client-tls")
    assert client_volume["secret"] == {
        "secretName": "weighbridge-scheduler-client-tls",
        "items": [{"key": "tls.crt", "path": "tls.crt"}, {"key": "tls.key", "path": "tls.key"}],
    }
    client_dir = mounts["client-tls"]["mountPath"]
    assert mounts["client-tls"]["readOnly"] is True
    assert extender["tlsConfig"]["certFile"] == f"{client_dir}/tls.crt"
    assert extender["tlsConfig"]["keyFile"] == f"{client_dir}/tls.key"
    assert client_dir != mounts["extender-ca"]["mountPath"]

    # the helm test checks that the door is locked, and that the scheduler's key opens it
    test_pod = find(docs, "Pod", "-test")["spec"]
    command = test_pod["containers"][0]["command"]
    assert command[3:] == [
        "/etc/weighbridge/tls/ca.crt",
        "--client-auth",
        f"--client-cert={client_dir}/tls.crt",
        f"--client-key={client_dir}/tls.key",
    ]
    test_volume = next(v for v in test_pod["volumes"] if v["name"] == "client-tls")
    assert test_volume["secret"] == client_volume["secret"]


def test_client_certificate_secret_can_be_named_or_client_auth_turned_off() -> None:
    named = render(VARIANTS["tls-secret-second-scheduler"])
    sched_pod = find(named, "Deployment", "-scheduler")["spec"]["template"]["spec"]
    client_volume = next(v for v in sched_pod["volumes"] if v["name"] == "client-tls")
    assert client_volume["secret"]["secretName"] == "scheduler-client"
    assert "Certificate" not in {d["kind"] for d in named}

    docs = render(VARIANTS["tls-without-client-auth"])
    (container,) = find(docs, "Deployment", "weighbridge")["spec"]["template"]["spec"]["containers"]
    assert "--tls-cert-file=/etc/weighbridge/tls/tls.crt" in container["args"]
    assert not any(a.startswith("--tls-client-ca-file") for a in container["args"])
    (extender,) = scheduler_config(docs)["extenders"]
    assert extender["tlsConfig"] == {
        "caFile": "/etc/weighbridge/tls/ca.crt",
        "serverName": "weighbridge.weighbridge.svc",
    }
    sched_pod = find(docs, "Deployment", "-scheduler")["spec"]["template"]["spec"]
    assert "client-tls" not in {v["name"] for v in sched_pod["volumes"]}
    command = find(docs, "Pod", "-test")["spec"]["containers"][0]["command"]
    assert not any(a.startswith("--client") for a in command)

    # mutual TLS without the chart's scheduler: the helm test checks the lock only
    alone = render(VARIANTS["tls-secret"])
    command = find(alone, "Pod", "-test")["spec"]["containers"][0]["command"]
    assert command[3:] == ["/etc/weighbridge/tls/ca.crt", "--client-auth"]


def test_cert_manager_certificate_names_the_service() -> None:
    docs = render(VARIANTS["cert-manager-selfsigned"])
    cert = find(docs, "Certificate", "weighbridge")
    assert cert["spec"]["secretName"] == "weighbridge-tls"
    assert "weighbridge.weighbridge.svc" in cert["spec"]["dnsNames"]
    assert cert["spec"]["usages"][0] == "server auth"
    # No issuer named: a CA of the chart's own signs the certificate, so that ca.crt (what
    # kube-scheduler reads once, at start, and what the extender trusts clients by) stays
    # the same when the certificate is renewed; a self-signed Issuer signs that CA only.
    ca_issuer = find(docs, "Issuer", "-ca")
    assert cert["spec"]["issuerRef"] == {
        "name": ca_issuer["metadata"]["name"],
        "kind": "Issuer",
        "group": "cert-manager.io",
    }
    ca_cert = find(docs, "Certificate", "-ca")
    assert ca_cert["spec"]["isCA"] is True
    assert ca_cert["spec"]["secretName"] == ca_issuer["spec"]["ca"]["secretName"]
    assert ca_cert["spec"]["privateKey"]["rotationPolicy"] == "Never"
    selfsigned = find(docs, "Issuer", "-selfsigned")
    assert selfsigned["spec"] == {"selfSigned": {}}
    assert ca_cert["spec"]["issuerRef"]["name"] == selfsigned["metadata"]["name"]

    issued = render(VARIANTS["cert-manager-issuer"])
    assert find(issued, "Certificate")["spec"]["issuerRef"] == {
        "name": "cluster-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert "Issuer" not in {d["kind"] for d in issued}


def test_cert_manager_issues_the_second_schedulers_client_certificate() -> None:
    docs = render(VARIANTS["everything"])
    server = find(docs, "Certificate", "weighbridge")
    client = find(docs, "Certificate", "-scheduler-client")
    assert client["spec"]["usages"] == ["client auth", "digital signature"]
    # the same issuer: the CA in the extender's ca.crt, its client CA, signed it
    assert client["spec"]["issuerRef"] == server["spec"]["issuerRef"]
    sched_pod = find(docs, "Deployment", "-scheduler")["spec"]["template"]["spec"]
    client_volume = next(v for v in sched_pod["volumes"] if v["name"] == "client-tls")
    assert client_volume["secret"]["secretName"] == client["spec"]["secretName"]
    (container,) = find(docs, "Deployment", "weighbridge")["spec"]["template"]["spec"]["containers"]
    assert "--tls-client-ca-file=/etc/weighbridge/tls/ca.crt" in container["args"]
    # without the chart's scheduler nobody would use a client certificate: none is issued
    alone = render(VARIANTS["cert-manager-selfsigned"])
    assert not any(d["metadata"]["name"].endswith("-scheduler-client") for d in alone)


def test_second_scheduler_configuration_and_access() -> None:
    docs = render(VARIANTS["second-scheduler"])
    config = scheduler_config(docs)
    assert config["profiles"] == [{"schedulerName": "weighbridge-scheduler"}]
    assert config["leaderElection"] == {
        "leaderElect": True,
        "resourceLock": "leases",
        "resourceName": "weighbridge-scheduler",
        "resourceNamespace": "weighbridge",
    }
    (extender,) = config["extenders"]
    assert extender == {
        "urlPrefix": "http://weighbridge.weighbridge.svc:8888",
        "filterVerb": "filter",
        "prioritizeVerb": "prioritize",
        "weight": 5,
        "bindVerb": "bind",
        "preemptVerb": "preempt",
        "nodeCacheCapable": True,
        "httpTimeout": "3s",
        "ignorable": False,
    }
    roles = {
        b["roleRef"]["name"]
        for b in docs
        if b["kind"] in ("ClusterRoleBinding", "RoleBinding")
        and b["subjects"][0]["name"] == "weighbridge-scheduler"
    }
    assert roles == {
        "system:kube-scheduler",
        "system:volume-scheduler",
        "weighbridge-scheduler-leader-election",
        "extension-apiserver-authentication-reader",
    }
    lease_rules = find(docs, "Role", "-leader-election")["rules"]
    assert {"resourceNames": ["weighbridge-scheduler"]}.items() <= lease_rules[1].items()
    deployment = find(docs, "Deployment", "-scheduler")
    assert deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.k8s.io/kube-scheduler:v1.36.3"
    config_mount = container["volumeMounts"][0]["mountPath"]
    assert f"--config={config_mount}/config.yaml" in container["command"]


def test_second_scheduler_modes_render_their_options() -> None:
    (full,) = scheduler_config(render(VARIANTS["second-scheduler-full-nodes"]))["extenders"]
    assert full["nodeCacheCapable"] is False
    opt_in_config = scheduler_config(render(VARIANTS["second-scheduler-opt-in"]))
    (opt_in,) = opt_in_config["extenders"]
    assert opt_in["managedResources"] == [
        {"name": "weighbridge.io/scheduled", "ignoredByScheduler": True}
    ]
    assert "bindVerb" not in opt_in and "preemptVerb" not in opt_in
    assert opt_in_config["leaderElection"]["leaderElect"] is False


def test_monitoring_objects_carry_the_shared_rules_and_dashboard() -> None:
    docs = render(VARIANTS["monitoring"])
    rules = find(docs, "PrometheusRule")["spec"]
    assert rules == yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())
    monitor = find(docs, "ServiceMonitor")
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    service = find(docs, "Service", "-replicas")
    assert service["metadata"]["labels"]["app.kubernetes.io/name"] == "weighbridge"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    dashboard = find(docs, "ConfigMap", "-dashboard")["data"]["weighbridge-dashboard.json"]
    assert dashboard == (CHART / "files" / "dashboard.json").read_text()


def test_hook_pod_is_a_helm_test_running_the_shipped_check() -> None:
    docs = render()
    pod = find(docs, "Pod", "-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    command = pod["spec"]["containers"][0]["command"]
    assert command[:2] == ["python", "/etc/weighbridge-test/helm-test.py"]
    assert command[2] == "http://weighbridge.weighbridge.svc:8888"
    script = find(docs, "ConfigMap", "-test")["data"]["helm-test.py"]
    assert script == (CHART / "files" / "helm-test.py").read_text()


def test_crd_has_schema_validation_and_printer_columns() -> None:
    crd = yaml.safe_load((CHART / "crds" / "hostaggregates.weighbridge.io.yaml").read_text())
    assert crd["spec"]["scope"] == "Cluster"
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1" and version["storage"]
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Zone"] == ".spec.metadata.availability_zone"
    metadata = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["metadata"]
    assert metadata["additionalProperties"]["type"] == "string"
    assert metadata["x-kubernetes-validations"]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def test_network_policy_admits_only_the_named_callers() -> None:
    docs = render(VARIANTS["network-policy-second-scheduler"])
    [rule] = find(docs, "NetworkPolicy")["spec"]["ingress"]
    policy = find(docs, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert rule["ports"] == [{"port": 8888, "protocol": "TCP"}]
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    scheduler = next(d for n, d in deployments.items() if n.endswith("-scheduler"))
    [extender] = [d for d in deployments.values() if d is not scheduler]
    test_pod = find(docs, "Pod", "-test")
    # it selects the extender's pods, and lets in the chart's scheduler and test pod only
    assert _matches(
        policy["podSelector"]["matchLabels"], extender["spec"]["template"]["metadata"]["labels"]
    )
    assert not _matches(
        policy["podSelector"]["matchLabels"], scheduler["spec"]["template"]["metadata"]["labels"]
    )
    callers = [
        scheduler["spec"]["template"]["metadata"]["labels"],
        test_pod["metadata"]["labels"],
    ]
    peers = [peer["podSelector"]["matchLabels"] for peer in rule["from"]]
    assert len(peers) == 2
    assert all(any(_matches(p, labels) for p in peers) for labels in callers)
    assert not any(_matches(p, extender["spec"]["template"]["metadata"]["labels"]) for p in peers)

    # for the default scheduler (host network) the named peers are let in too
    values = VARIANTS["network-policy-default-scheduler"]
    [rule] = find(render(values), "NetworkPolicy")["spec"]["ingress"]
    assert rule["from"][1:] == values["networkPolicy"]["from"]

    # an empty `from` would admit everyone: refused; off by default
    done = helm("template", "x", str(CHART), values={"networkPolicy": {"enabled": True}})
    assert done.returncode != 0
    assert "name the callers in networkPolicy.from" in done.stderr
    assert not [d for d in render() if d["kind"] == "NetworkPolicy"]
