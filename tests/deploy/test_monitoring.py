"""Alert rules and the Grafana dashboard: valid for Prometheus, fire when they should, and
query only metrics the extender exports (extender/telemetry.py is the contract).

promtool comes with Debian's prometheus package (scripts/install-debian-deps.sh). The
queries' results against a real Prometheus scraping weighbridge are checked in
tests/e2e/test_prometheus.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from extender import telemetry

from .chart import ALERTS, CHART, DASHBOARD, alert_rules, dashboard_targets

METRIC_NAME = re.compile(r"\b(weighbridge_[a-z_]+)\b")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run scripts/install-debian-deps.sh")
    return path


def exported_series() -> dict[str, str]:
    """Every series name the extender exports -> the family it belongs to."""
    names: dict[str, str] = {}
    for value in vars(telemetry).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                for suffix in SUFFIXES[family.type]:
                    names[family.name + suffix] = family.name
    return names


def test_promtool_accepts_the_rules() -> None:
    for path in (ALERTS, CHART / "files" / "alerts.yaml"):
        done = subprocess.run(
            [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


def test_alerts_cover_what_operators_need() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert {
        "WeighbridgeDown",
        "WeighbridgeNoActiveReplica",
        "WeighbridgeHighLatency",
        "WeighbridgeErrors",
        "WeighbridgeCacheNotSynced",
        "WeighbridgeWatchRestarting",
    } <= names
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_queries_use_only_exported_metrics_and_chart_every_one() -> None:
    exported = exported_series()
    used: set[str] = set()
    for title, target in dashboard_targets():
        for name in METRIC_NAME.findall(target["expr"]):
            assert name in exported, f"panel {title!r} queries {name}, which nothing exports"
            used.add(exported[name])
    for rule in alert_rules():
        for name in METRIC_NAME.findall(rule["expr"]):
            assert name in exported, f"alert {rule['alert']} uses {name}, which nothing exports"
    assert used == set(exported.values()), f"not charted: {set(exported.values()) - used}"


def test_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "weighbridge"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "job", "instance"}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(box["x"], box["x"] + box["w"])
            for y in range(box["y"], box["y"] + box["h"])
        }
        assert not mine & cells, f"panel {panel['title']!r} overlaps another"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["description"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
    for title, target in dashboard_targets():
        assert 'job="$job"' in target["expr"], title
        assert target["datasource"]["uid"] == "${datasource}", title


def _annotations(rule: dict[str, Any], labels: dict[str, str], value: str) -> dict[str, str]:
    """The rule's annotations as Prometheus renders them for these labels and value."""

    def render(text: str) -> str:
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
        return re.sub(r"\{\{ \$value[^}]*\}\}", value, text)

    return {key: render(text) for key, text in rule["annotations"].items()}


def _series(name: str, **labels: str) -> str:
    """A promtool series selector with job="weighbridge" and these labels."""
    return (
        name
        + "{"
        + ", ".join(f'{k}="{v}"' for k, v in {"job": "weighbridge", **labels}.items())
        + "}"
    )


#: (alert, input series as name -> promtool values, when, labels of the one alert expected
#: then, the alert's $value as its annotations print it). Samples are one minute apart.
CASES: list[tuple[str, dict[str, str], str, dict[str, str] | None, str]] = [
    (
        "WeighbridgeDown",
        {
            _series("up", instance="a"): "0x10",
            _series("up", instance="b"): "0x10",
        },
        "5m",
        {},
        "",
    ),
    (
        "WeighbridgeDown",
        {
            _series("up", instance="a"): "0x10",
            _series("up", instance="b"): "1x10",
        },
        "5m",
        None,
        "",
    ),
    (
        "WeighbridgeNoActiveReplica",
        {
            _series("weighbridge_leader", instance="a"): "0x10",
            _series("weighbridge_leader", instance="b"): "0x10",
        },
        "5m",
        {},
        "",
    ),
    (
        # a failover: a few seconds without an active replica do not page anyone
        "WeighbridgeNoActiveReplica",
        {
            _series("weighbridge_leader", instance="a"): "1 1 0x8",
            _series("weighbridge_leader", instance="b"): "0 0 0 1x7",
        },
        "5m",
        None,
        "",
    ),
    (
        "WeighbridgeReplicaDown",
        {
            _series("up", instance="a"): "0x10",
            _series("up", instance="b"): "1x10",
        },
        "8m",
        {"instance": "a", "job": "weighbridge"},
        "",
    ),
    (
        "WeighbridgeHighLatency",
        {
            _series("weighbridge_request_duration_seconds_bucket", verb="filter", le="0.1"): "0x20",
            _series(
                "weighbridge_request_duration_seconds_bucket", verb="filter", le="0.5"
            ): "0+100x20",
            _series(
                "weighbridge_request_duration_seconds_bucket", verb="filter", le="+Inf"
            ): "0+100x20",
        },
        "18m",
        {"verb": "filter"},
        "496ms",
    ),
    (
        "WeighbridgeErrors",
        {
            _series("weighbridge_requests_total", verb="filter", code="200"): "0+9x20",
            _series("weighbridge_requests_total", verb="filter", code="500"): "0+1x20",
        },
        "18m",
        {"verb": "filter"},
        "10%",
    ),
    (
        "WeighbridgeErrors",
        {
            _series("weighbridge_requests_total", verb="filter", code="200"): "0+99x20",
            _series("weighbridge_requests_total", verb="filter", code="500"): "0+1x20",
        },
        "18m",
        None,
        "",
    ),
    (
        "WeighbridgeBindFailures",
        {
            _series("weighbridge_binds_total", instance="a", outcome="bound"): "0+4x30",
            _series("weighbridge_binds_total", instance="a", outcome="failed"): "0+1x30",
        },
        "25m",
        {"instance": "a"},
        "20%",
    ),
    (
        "WeighbridgeCacheNotSynced",
        {_series("weighbridge_cache_synced", instance="a", kind="pods"): "0x20"},
        "15m",
        {"instance": "a", "job": "weighbridge", "kind": "pods"},
        "",
    ),
    (
        "WeighbridgeWatchRestarting",
        {
            _series(
                "weighbridge_watch_restarts_total", instance="a", kind="pods", reason="error"
            ): "0+1x20",
            _series(
                "weighbridge_watch_restarts_total", instance="a", kind="nodes", reason="closed"
            ): "0+5x20",
        },
        "16m",
        {"instance": "a", "job": "weighbridge", "kind": "pods", "reason": "error"},
        "",
    ),
    (
        # An API server restart: a burst of errors while the extender retries, then quiet.
        "WeighbridgeWatchRestarting",
        {
            _series(
                "weighbridge_watch_restarts_total", instance="a", kind="pods", reason="error"
            ): "0 6 6x20",
        },
        "4m",
        None,
        "",
    ),
]


@pytest.mark.parametrize(
    ("alert", "series", "when", "labels", "value"),
    CASES,
    ids=[f"{c[0]}-{'fires' if c[3] is not None else 'quiet'}" for c in CASES],
)
def test_alert_fires_exactly_when_it_should(
    alert: str,
    series: dict[str, str],
    when: str,
    labels: dict[str, str] | None,
    value: str,
    tmp_path: Path,
) -> None:
    rule = next(r for r in alert_rules() if r["alert"] == alert)
    expected = []
    if labels is not None:
        expected.append(
            {
                "exp_labels": {**labels, **rule["labels"]},
                "exp_annotations": _annotations(rule, labels, value),
            }
        )
    test = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "alert_rule_test": [
                    {"eval_time": when, "alertname": alert, "exp_alerts": expected}
                ],
            }
        ],
    }
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump(test))
    done = subprocess.run(
        [promtool(), "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
