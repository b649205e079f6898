"""A real Prometheus (Debian's package) scrapes a live weighbridge while the real
kube-scheduler schedules through it; every dashboard query and every alert expression
must parse, evaluate and (where the traffic makes it meaningful) return data.

The traffic is real: kube-scheduler's filter, prioritize and bind calls for pods on two
nodes (one too small for a pod under the configured RAM allocation ratio, so RamFilter
rejects it), a preempt call and a malformed call sent directly, and an API server restart
that cuts the extender's watches.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.localcluster import ControlPlane, ManagedProcess, free_port
from tests.deploy.chart import ALERTS, alert_rules, dashboard_targets

from .kube import (
    Weighbridge,
    create_namespace,
    create_pod,
    get_pod,
    make_node,
    pod_body,
    scheduler_config,
    scheduler_running,
    wait_bound,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

SCHEDULER = "prometheus-test"
#: Grafana's variables, as the dashboard's defaults resolve them for this one job.
VARIABLES = {"$__rate_interval": "2m", "$job": "weighbridge", "$instance": ".*"}
#: Alerts whose condition, made a 0/1 series with `bool`, has no series at all when the
#: extender is healthy: absent() yields a series only when every replica is gone.
NO_DATA_WHEN_HEALTHY = {"WeighbridgeDown"}


class Prometheus:
    """prometheus on a loopback port, scraping one target every second, with our rules."""

    def __init__(self, target: str, work: Path) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is not installed: run scripts/install-debian-deps.sh")
        work.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [
                {"job_name": "weighbridge", "static_configs": [{"targets": [target]}]}
            ],
        }
        (work / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            "prometheus",
            [
                binary,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
            ],
            work / "prometheus.log",
            {"PATH": "/usr/bin:/bin"},
            port=self.port,
        )

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query; a parse or evaluation error fails the test (HTTP 400/422)."""
        try:
            data = self.api("query", query=expr)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{expr}\n  -> {exc.read().decode()}") from None
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


def resolve(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unresolved variable in {expr}"
    return expr


def dashboard_queries() -> list[tuple[str, str]]:
    return [
        (f"{title} [{target['refId']}]", resolve(target["expr"]))
        for title, target in dashboard_targets()
    ]


def as_bool(expr: str) -> str:
    """The alert's condition as a 0/1 series per input series (`> 0.25` -> `> bool 0.25`,
    `< on (shape) other` -> `< bool on (shape) other`)."""
    expr = re.sub(r"(>|<|==|!=|>=|<=)\s*([0-9.]+)\s*$", r"\1 bool \2", expr.strip())
    return re.sub(r"(>|<|==|!=|>=|<=)(\s+)(on|ignoring)\s*\(", r"\1 bool\2\3 (", expr)


@pytest.fixture(scope="module")
def scraped(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """Prometheus that has scraped weighbridge through real scheduling traffic."""
    plane = control_plane
    work = tmp_path_factory.mktemp("prometheus")
    plane.install_crds()
    extender_config = {
        "options": {"ram_allocation_ratio": 0.5},
        "capacity": {
            "shapes": {"small": {"cpu": "100m", "memory": "64Mi"}},
            "alert_below": {"small": 1},
            "interval_seconds": 1,
            "max_copies": 50,
        },
    }
    weighbridge = Weighbridge(plane.kubeconfig_path, extender_config, work / "weighbridge")
    config = yaml.safe_load(scheduler_config(weighbridge.url, bind=True, preempt=True))
    config["profiles"] = [{"schedulerName": SCHEDULER}]
    with ExitStack() as running:
        running.enter_context(weighbridge)
        prometheus = Prometheus(f"127.0.0.1:{weighbridge.port}", work / "prometheus")
        running.callback(prometheus.process.stop)
        wait_for("prometheus ready", prometheus.ready, 60)
        wait_for("a first scrape", lambda: prometheus.query('up{job="weighbridge"} == 1'), 30)
        running.enter_context(scheduler_running(plane, yaml.safe_dump(config)))
        _traffic(plane, weighbridge)
        # The API server restart cuts every watch: restarts and relists are counted.
        plane.restart_apiserver()
        wait_for("weighbridge ready again", lambda: weighbridge.status("/readyz") == 200, 120)
        wait_for(
            "watch restarts scraped",
            lambda: prometheus.query("weighbridge_watch_restarts_total"),
            30,
        )
        wait_for(
            "a rule evaluation after the traffic",
            lambda: all(
                r.get("lastEvaluation", "").startswith("2")
                for g in prometheus.api("rules")["groups"]
                for r in g["rules"]
            ),
            30,
        )
        time.sleep(3)  # a few more scrapes, so every rate() window holds the traffic
        yield prometheus


def _traffic(plane: ControlPlane, weighbridge: Weighbridge) -> None:
    namespace = create_namespace(plane, f"prom-{uuid.uuid4().hex[:6]}")
    label = {"prometheus-test": namespace}
    big, small = f"{namespace}-big", f"{namespace}-small"
    make_node(plane, big, cpu="8", memory="16Gi", labels=label)
    make_node(plane, small, cpu="8", memory="4Gi", labels=label)
    weighbridge.wait_for_hosts(big, small, timeout=30)

    def place(name: str, memory: str) -> str:
        create_pod(plane, namespace, name, memory=memory, selector=label, scheduler_name=SCHEDULER)
        return wait_bound(plane, namespace, name)

    for i in range(4):
        place(f"small-{i}", "64Mi")  # both nodes pass: filter, prioritize, bind
    # 3Gi fits the small node's 4Gi for kube-scheduler, but not its 2Gi under ratio 0.5.
    assert place("large", "3Gi") == big
    victim = get_pod(plane, namespace, "small-0")
    status, answer = weighbridge.post(
        "/preempt",
        {
            "Pod": pod_body(namespace, "preemptor", memory="64Mi"),
            "NodeNameToMetaVictims": {
                victim["spec"]["nodeName"]: {"Pods": [{"UID": victim["metadata"]["uid"]}]}
            },
        },
    )
    assert status == 200, answer
    status, answer = weighbridge.post(
        "/bind", {"PodName": "ghost", "PodNamespace": namespace, "PodUID": "ghost", "Node": big}
    )
    assert status == 200 and "ghost" in answer["Error"], answer  # a failed bind, counted
    status, answer = weighbridge.post("/filter", {"Pod": None})
    assert status == 400, answer


def test_every_alert_rule_is_loaded_and_evaluates_cleanly(scraped: Prometheus) -> None:
    loaded = {
        rule["name"]: rule for group in scraped.api("rules")["groups"] for rule in group["rules"]
    }
    assert set(loaded) == {rule["alert"] for rule in alert_rules()}
    for name, rule in loaded.items():
        assert rule["health"] == "ok", f"{name}: {rule.get('lastError')}"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_expression_evaluates_with_data(scraped: Prometheus, rule: dict[str, Any]) -> None:
    scraped.query(rule["expr"])  # the condition itself parses and evaluates
    series = scraped.query(as_bool(rule["expr"]))
    if rule["alert"] in NO_DATA_WHEN_HEALTHY:
        assert series == [], "no series: weighbridge is up"
    else:
        assert series, f"{rule['alert']}: no series to judge ({as_bool(rule['expr'])})"
    firing = [
        a
        for a in scraped.api("alerts")["alerts"]
        if a["labels"]["alertname"] == rule["alert"] and a["state"] == "firing"
    ]
    assert firing == [], f"{rule['alert']} fires on a healthy extender: {firing}"


@pytest.mark.parametrize("query", dashboard_queries(), ids=lambda q: q[0])
def test_dashboard_query_returns_data(scraped: Prometheus, query: tuple[str, str]) -> None:
    title, expr = query
    result = scraped.query(expr)
    assert result, f"panel {title}: no series for {expr}"
