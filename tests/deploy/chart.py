"""Render the Helm chart with the project's helm, for the static and the end-to-end tests."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from devtools.localcluster import helm_binary
from tests import REPO

CHART = REPO / "charts" / "weighbridge"
DEPLOY = REPO / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
DASHBOARD = DEPLOY / "grafana" / "weighbridge-dashboard.json"

#: Every option docs/install.md documents, as values; each must lint, render and be
#: accepted by the API server.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "single-replica": {"replicaCount": 1},
    "pinned-cluster-ip": {"service": {"clusterIP": "10.0.0.100"}},
    "tls-secret": {"tls": {"enabled": True, "secretName": "weighbridge-tls"}},
    "cert-manager-selfsigned": {"tls": {"enabled": True, "certManager": {"enabled": True}}},
    "tls-secret-second-scheduler": {
        "tls": {
            "enabled": True,
            "secretName": "weighbridge-tls",
            "clientAuth": {"secretName": "scheduler-client"},
        },
        "scheduler": {"enabled": True},
    },
    "tls-without-client-auth": {
        "tls": {"enabled": True, "secretName": "weighbridge-tls", "clientAuth": {"enabled": False}},
        "scheduler": {"enabled": True},
    },
    "cert-manager-issuer": {
        "tls": {
            "enabled": True,
            "certManager": {
                "enabled": True,
                "issuerRef": {"name": "cluster-ca", "kind": "ClusterIssuer"},
            },
        }
    },
    "monitoring": {
        "metrics": {
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {"enabled": True},
            "grafanaDashboard": {"enabled": True},
        }
    },
    "second-scheduler": {"scheduler": {"enabled": True}},
    "second-scheduler-full-nodes": {
        "scheduler": {"enabled": True, "extender": {"nodeCacheCapable": False}}
    },
    "second-scheduler-opt-in": {
        "scheduler": {
            "enabled": True,
            "replicaCount": 1,
            "leaderElection": False,
            "extender": {
                "bind": False,
                "preempt": False,
                "managedResources": [
                    {"name": "weighbridge.io/scheduled", "ignoredByScheduler": True}
                ],
            },
        }
    },
    "custom-config": {
        "config": {
            "filters": ["RamFilter", "CoreFilter", "AvailabilityZoneFilter"],
            "weighers": {"RAMWeigher": 2.0},
            "options": {"ram_allocation_ratio": 0.9},
        }
    },
    "network-policy-second-scheduler": {
        "networkPolicy": {"enabled": True},
        "scheduler": {"enabled": True},
    },
    "network-policy-default-scheduler": {
        "networkPolicy": {
            "enabled": True,
            "from": [
                {"ipBlock": {"cidr": "10.0.0.0/24"}},
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    },
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                },
            ],
        }
    },
    "everything": {
        "service": {"clusterIP": "10.0.0.100"},
        "networkPolicy": {"enabled": True},
        "tls": {"enabled": True, "certManager": {"enabled": True}},
        "metrics": {
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {"enabled": True},
            "grafanaDashboard": {"enabled": True},
        },
        "scheduler": {"enabled": True},
    },
}


class ChartError(AssertionError):
    """helm failed; carries its output."""


def helm(*args: str, values: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """Run helm; ``values`` go in as a values file on standard input."""
    extra = ["--values", "-"] if values is not None else []
    return subprocess.run(
        [str(helm_binary()), *args, *extra],
        input=yaml.safe_dump(values or {}),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def template(
    values: dict[str, Any] | None = None,
    *,
    release: str = "weighbridge",
    namespace: str = "weighbridge",
    extra: Sequence[str] = (),
) -> str:
    done = helm(
        "template", release, str(CHART), "--namespace", namespace, *extra, values=values or {}
    )
    if done.returncode != 0:
        raise ChartError(f"helm template with {values} failed:\n{done.stderr}")
    return done.stdout


def render(values: dict[str, Any] | None = None, **kw: Any) -> list[dict[str, Any]]:
    """The chart's objects (hooks included), parsed."""
    return [d for d in yaml.safe_load_all(template(values, **kw)) if d]


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    """Values layered as helm layers several values files."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = value
    return out


def find(docs: list[dict[str, Any]], kind: str, suffix: str = "") -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    if len(matches) != 1:
        names = [d["metadata"]["name"] for d in matches]
        raise AssertionError(f"expected one {kind} named *{suffix}, found {names}")
    return matches[0]


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every pod the chart would run: workloads' templates and hooks."""
    for d in docs:
        if d["kind"] == "Deployment":
            yield d["metadata"]["name"], d["spec"]["template"]["spec"]
        elif d["kind"] == "Pod":
            yield d["metadata"]["name"], d["spec"]


def scheduler_config(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The second scheduler's KubeSchedulerConfiguration, parsed."""
    config: dict[str, Any] = yaml.safe_load(
        find(docs, "ConfigMap", "-scheduler")["data"]["config.yaml"]
    )
    return config


def dashboard_targets() -> list[tuple[str, dict[str, Any]]]:
    """Every query target of the Grafana dashboard, with its panel's title."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target)
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def alert_rules() -> list[dict[str, Any]]:
    """Every rule of the shipped Prometheus alerts."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]
