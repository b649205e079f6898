"""The extender over real HTTP: a `weighbridge serve --snapshot` process on the bundled example
cluster, called the way kube-scheduler calls it, in both nodeCacheCapable modes, with every
kind of bad input, and checked to keep serving afterwards."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devtools.demo import yaml_objects
from devtools.localcluster import free_port
from tests import REPO, weighbridge_command

CLUSTER = REPO / "examples" / "cluster.yaml"
PODS = REPO / "examples" / "pods.yaml"
MAX_BODY = 512 * 1024
FILTER_KEYS = {"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"}


NODES = [o for o in yaml_objects(CLUSTER) if o["kind"] == "Node"]
NAMES = [n["metadata"]["name"] for n in NODES]
PODS_BY_NAME = {o["metadata"]["name"]: o for o in yaml_objects(PODS) if o["kind"] == "Pod"}


class Server:
    """A running extender process and a keep-alive client to it."""

    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.proc = proc
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, str, Any]:
        """Status, content type and body (decoded JSON where it is JSON)."""
        for attempt in range(2):
            try:
                self.conn.request(
                    method, path, body=body, headers={"Content-Type": "application/json"}
                )
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                # the server may close a connection after refusing a body; reconnect once
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        ctype = response.getheader("Content-Type", "")
        data: Any = json.loads(raw) if ctype.startswith("application/json") else raw.decode()
        return response.status, ctype, data

    def post(self, verb: str, payload: Any) -> tuple[int, Any]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, _, data = self.call("POST", f"/{verb}", body)
        return status, data

    def metrics(self) -> str:
        status, _, text = self.call("GET", "/metrics")
        assert status == 200
        return str(text)


def spawn(
    config: Path, *extra: str, log: Path | None = None
) -> tuple[int, subprocess.Popen[bytes]]:
    """`weighbridge serve` on the example cluster with this config and `extra` options, once
    it listens: its port and process; its output goes to `log`, or to a pipe."""
    port = free_port()
    out = log.open("wb") if log is not None else subprocess.PIPE
    proc = subprocess.Popen(
        [
            *weighbridge_command(),
            "serve",
            "--snapshot",
            str(CLUSTER),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return port, proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                output = proc.communicate()[0] or (log.read_bytes() if log else b"")
                pytest.fail(f"weighbridge serve did not start:\n{output.decode()}")
            time.sleep(0.05)


def start_server(config: Path) -> Server:
    """`weighbridge serve` on the example cluster with this config, once it listens."""
    return Server(*spawn(config))


@contextmanager
def serving(config: str, work: Path) -> Iterator[Server]:
    """A server with this configuration (YAML text) for the block, stopped after it."""
    path = work / "config.yaml"
    path.write_text(config)
    srv = start_server(path)
    try:
        yield srv
    finally:
        srv.conn.close()
        srv.proc.terminate()
        srv.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = (
        "filters: [AvailabilityZoneFilter, RamFilter, DiskFilter, ComputeFilter]\n"
        f"server: {{max_body_bytes: {MAX_BODY}, shutdown_delay_seconds: 0}}\n"
    )
    with serving(config, tmp_path_factory.mktemp("http")) as srv:
        yield srv


def args(pod: str = "web-small", names: list[str] | None = None, nodes: Any = None) -> Any:
    """ExtenderArgs as kube-scheduler sends them: one of NodeNames and Nodes is null."""
    if nodes is not None:
        return {"Pod": PODS_BY_NAME[pod], "Nodes": nodes, "NodeNames": None}
    return {"Pod": PODS_BY_NAME[pod], "Nodes": None, "NodeNames": NAMES if names is None else names}


def node_list(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": nodes}


# -- filter ------------------------------------------------------------------------------------


def test_filter_names_in_names_out(server: Server) -> None:
    status, answer = server.post("filter", args())
    assert status == 200
    assert set(answer) == FILTER_KEYS
    assert answer["Nodes"] is None
    assert answer["Error"] == ""
    passed = answer["NodeNames"]
    failed, unresolvable = answer["FailedNodes"], answer["FailedAndUnresolvableNodes"]
    # every candidate is answered exactly once, in the order it was sent
    assert sorted([*passed, *failed, *unresolvable]) == sorted(NAMES)
    assert passed == [n for n in NAMES if n in passed]
    assert unresolvable["az-2-gp-08"] == "ComputeFilter: node is cordoned (spec.unschedulable)"
    assert unresolvable["az-3-gp-06"] == "ComputeFilter: node is not Ready"
    # the cause alone, without the node's numbers, so that kube-scheduler counts it once
    assert failed["edge-01"] == "RamFilter: needs 1024Mi, more than usable memory (ratio 1)"


def test_filter_nodes_in_the_same_nodes_out(server: Server) -> None:
    status, answer = server.post("filter", args("api-zonal", nodes=node_list(NODES)))
    assert status == 200
    assert set(answer) == FILTER_KEYS
    assert answer["NodeNames"] is None
    out = answer["Nodes"]["items"]
    assert out, "some az-2 node passes"
    by_name = {n["metadata"]["name"]: n for n in NODES}
    # the very objects we sent, unchanged, in the order we sent them
    assert out == [by_name[n["metadata"]["name"]] for n in out]
    assert [n["metadata"]["name"] for n in out] == [
        n for n in NAMES if n in {o["metadata"]["name"] for o in out}
    ]
    assert all(n["metadata"]["labels"]["topology.kubernetes.io/zone"] == "az-2" for n in out)
    assert answer["FailedAndUnresolvableNodes"]["az-2-gp-08"].startswith("ComputeFilter")
    assert answer["FailedNodes"] == {}
    rejected = answer["FailedAndUnresolvableNodes"]
    assert rejected["az-1-gp-01"] == "AvailabilityZoneFilter: node is not in requested zone 'az-2'"
    assert len(out) + len(rejected) == len(NODES)


def test_filter_nodes_mode_with_no_survivor(server: Server) -> None:
    status, answer = server.post("filter", args("too-big", nodes=node_list(NODES[:3])))
    assert status == 200
    assert answer["NodeNames"] is None
    # an empty NodeList (its items omitted, which Go decodes as none), not null
    assert answer["Nodes"]["kind"] == "NodeList"
    assert answer["Nodes"].get("items", []) == []
    assert set(answer["FailedNodes"]) == set(NAMES[:3])
    assert "a pod may not overcommit its own node" in answer["FailedNodes"][NAMES[0]]


def test_unknown_node_names_are_failed_with_a_reason(server: Server) -> None:
    status, answer = server.post("filter", args(names=["az-1-gp-01", "ghost-1", "ghost-2"]))
    assert status == 200
    assert answer["NodeNames"] == ["az-1-gp-01"]
    assert answer["FailedNodes"] == {
        "ghost-1": "weighbridge: node is not in the extender's cache (yet)",
        "ghost-2": "weighbridge: node is not in the extender's cache (yet)",
    }
    unknown_node = {**NODES[0], "metadata": {**NODES[0]["metadata"], "name": "ghost-3"}}
    status, answer = server.post("filter", args(nodes=node_list([unknown_node, NODES[0]])))
    assert status == 200
    assert [n["metadata"]["name"] for n in answer["Nodes"]["items"]] == [NAMES[0]]
    assert "ghost-3" in answer["FailedNodes"]


def test_a_malformed_annotation_answers_every_node_with_its_name(server: Server) -> None:
    status, answer = server.post("filter", args("typo", names=NAMES[:4]))
    assert status == 200
    assert answer["NodeNames"] == []
    assert set(answer["FailedAndUnresolvableNodes"]) == set(NAMES[:4])
    reason = answer["FailedAndUnresolvableNodes"][NAMES[0]]
    assert "weighbridge.io/hints" in reason
    assert "not valid JSON" in reason


def test_force_and_ignore_over_http(server: Server) -> None:
    status, answer = server.post("filter", args("pinned"))
    assert status == 200
    assert answer["NodeNames"] == ["az-1-gp-01", "az-2-gp-08"]  # forced: no filter ran
    assert answer["FailedAndUnresolvableNodes"]["az-1-gp-02"].endswith("node is ignored")


# -- prioritize --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["names", "nodes"])
def test_prioritize_answers_a_bare_list_of_host_scores(server: Server, mode: str) -> None:
    candidates = NAMES[:12]
    payload = (
        args(names=candidates)
        if mode == "names"
        else args(nodes=node_list([n for n in NODES if n["metadata"]["name"] in candidates]))
    )
    status, answer = server.post("prioritize", payload)
    assert status == 200
    assert isinstance(answer, list)
    assert all(set(item) == {"Host", "Score"} for item in answer)
    assert sorted(item["Host"] for item in answer) == sorted(candidates)
    scores = [item["Score"] for item in answer]
    assert all(type(s) is int and 0 <= s <= 10 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) > 1


def test_prioritize_leaves_out_unknown_names(server: Server) -> None:
    status, answer = server.post("prioritize", args(names=["ghost", NAMES[0], NAMES[1]]))
    assert status == 200
    assert sorted(item["Host"] for item in answer) == sorted(NAMES[:2])


# -- bad input ---------------------------------------------------------------------------------


BAD_INPUTS = [
    pytest.param(b"{not json", "body is not valid JSON", id="invalid-json"),
    pytest.param(b"", "empty body", id="empty"),
    pytest.param(b"[1, 2]", "Expected `object`, got `array`", id="array"),
    pytest.param(
        json.dumps({"Pod": PODS_BY_NAME["web-small"], "NodeNames": "az-1-gp-01"}).encode(),
        "$.NodeNames",
        id="names-not-a-list",
    ),
    pytest.param(
        json.dumps({"Pod": {"metadata": {"name": 7}}, "NodeNames": NAMES}).encode(),
        "$.Pod.metadata.name",
        id="pod-name-not-a-string",
    ),
    pytest.param(
        json.dumps(
            {"Pod": {"metadata": {"name": "p"}, "spec": {"containers": {}}}, "NodeNames": []}
        ).encode(),
        "$.Pod.spec.containers",
        id="containers-not-a-list",
    ),
    pytest.param(json.dumps({"NodeNames": NAMES}).encode(), "has no Pod", id="no-pod"),
    pytest.param(
        json.dumps({"Pod": PODS_BY_NAME["web-small"], "Nodes": None, "NodeNames": None}).encode(),
        "neither NodeNames nor Nodes",
        id="no-nodes",
    ),
    pytest.param(
        json.dumps(
            {
                "Pod": PODS_BY_NAME["web-small"],
                "Nodes": node_list([NODES[0], {"metadata": {"labels": {}}}]),
            }
        ).encode(),
        "Nodes.items[1] has no metadata.name",
        id="node-without-name",
    ),
    pytest.param(
        json.dumps({"Pod": PODS_BY_NAME["web-small"], "Nodes": node_list(["az-1-gp-01"])}).encode(),
        "Nodes.items[0] is not a Node",
        id="node-not-an-object",
    ),
]


@pytest.mark.parametrize("verb", ["filter", "prioritize"])
@pytest.mark.parametrize(("body", "says"), BAD_INPUTS)
def test_bad_input_is_a_400_that_says_what_is_wrong(
    server: Server, verb: str, body: bytes, says: str
) -> None:
    status, ctype, answer = server.call("POST", f"/{verb}", body)
    assert status == 400
    assert ctype.startswith("application/json")
    assert says in answer["Error"]
    assert "Traceback" not in answer["Error"]


def test_a_body_over_the_limit_is_a_413(server: Server) -> None:
    many = node_list(NODES * (MAX_BODY // len(json.dumps(NODES)) + 2))
    body = json.dumps(args(nodes=many)).encode()
    assert len(body) > MAX_BODY
    status, ctype, answer = server.call("POST", "/filter", body)
    assert status == 413
    assert ctype.startswith("application/json")
    assert "request body too large" in answer["Error"]


def test_the_server_keeps_serving_after_bad_input(server: Server) -> None:
    for body in (b"\xff\xfe", b"{", b"null", b'{"Pod": 1}'):
        assert server.call("POST", "/filter", body)[0] == 400
    assert server.proc.poll() is None
    status, answer = server.post("filter", args(names=NAMES[:2]))
    assert status == 200
    assert answer["NodeNames"] == NAMES[:2]
    assert server.call("GET", "/healthz")[0] == 200


def test_get_on_a_verb_is_a_405(server: Server) -> None:
    status, ctype, answer = server.call("GET", "/filter")
    assert status == 405
    assert ctype.startswith("application/json")
    assert "use POST" in answer["Error"]


# -- health, metrics, explain ------------------------------------------------------------------


def test_health_and_readiness(server: Server) -> None:
    assert server.call("GET", "/healthz")[::2] == (200, "ok")
    assert server.call("GET", "/readyz")[::2] == (200, "ok")


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_calls_latency_and_rejections(server: Server) -> None:
    before = server.metrics()
    for _ in range(3):
        assert server.post("filter", args())[0] == 200
    assert server.post("prioritize", args(names=NAMES[:5]))[0] == 200
    assert server.call("POST", "/filter", b"{")[0] == 400
    after = server.metrics()

    def delta(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert delta("weighbridge_requests_total", verb="filter", code="200") == 3
    assert delta("weighbridge_requests_total", verb="filter", code="400") == 1
    assert delta("weighbridge_requests_total", verb="prioritize", code="200") == 1
    assert delta("weighbridge_request_duration_seconds_count", verb="filter") == 4
    assert delta("weighbridge_request_duration_seconds_count", verb="prioritize") == 1
    assert (
        _sample(after, "weighbridge_request_duration_seconds_bucket", le="+Inf", verb="filter") >= 4
    )
    # each filter call rejects the cordoned and the not-Ready node, and edge-01 for RAM
    assert delta("weighbridge_filter_rejections_total", filter="ComputeFilter") == 6
    assert delta("weighbridge_filter_rejections_total", filter="RamFilter") >= 3
    assert _sample(after, "weighbridge_cache_objects", kind="nodes") == len(NODES)


def test_explain_says_what_each_filter_did(server: Server) -> None:
    status, report = server.post("explain", {"Pod": PODS_BY_NAME["api-zonal"]})
    assert status == 200
    assert report["candidates"] == len(NODES)
    steps = {s["name"]: s for s in report["filters"]}
    az = steps["AvailabilityZoneFilter"]
    assert az["start"] == len(NODES)
    assert az["end"] < az["start"]
    assert len(az["rejected"]) == az["start"] - az["end"]
    assert steps["ComputeFilter"]["rejected"] == {
        "az-2-gp-08": "ComputeFilter: node is cordoned (spec.unschedulable)"
    }
    ranking = report["ranking"]
    assert len(ranking) == steps["ComputeFilter"]["end"]
    # every weigher that told the nodes apart shows its share
    assert (
        {"RAMWeigher", "CPUWeigher"} <= set(ranking[0]["contributions"]) <= set(report["weighers"])
    )
    assert ranking[0]["score"] >= ranking[-1]["score"]
    status, answer = server.post("explain", {"Pod": PODS_BY_NAME["typo"]})
    assert status == 400
    assert "weighbridge.io/hints" in answer["Error"]


def test_decisions_say_what_the_last_calls_decided(server: Server) -> None:
    status, filtered = server.post("filter", args("analytics-large"))
    assert status == 200
    status, ranked = server.post("prioritize", args("analytics-large", filtered["NodeNames"]))
    assert status == 200
    status, _, body = server.call("GET", "/decisions?pod=shop/analytics-large")
    assert status == 200
    record = body["decisions"][0]
    assert record["pod"] == "shop/analytics-large"
    assert record["candidates"] == len(NAMES)
    assert record["passed"] == len(filtered["NodeNames"])
    # only the filters that removed nodes, with their counts
    assert {"name": "RamFilter", "in": len(NAMES), "out": 6} in record["filters"]
    best = max(item["Score"] for item in ranked)
    assert record["top_scores"][0]["score"] == best
    # every pod recently filtered, newest first; a bad limit is the caller's error
    status, _, body = server.call("GET", "/decisions?limit=1")
    assert status == 200 and len(body["decisions"]) == 1
    status, _, body = server.call("GET", "/decisions?limit=none")
    assert status == 400 and "limit='none'" in body["Error"]


def test_sigterm_drains_then_exits(tmp_path: Path) -> None:
    """On SIGTERM the extender fails /readyz at once (the Service stops routing to it) but
    keeps answering kube-scheduler for the configured delay, then exits cleanly."""
    config = tmp_path / "config.yaml"
    config.write_text("server: {shutdown_delay_seconds: 2}\n")
    srv = start_server(config)
    try:
        assert srv.call("GET", "/readyz")[0] == 200
        srv.proc.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        time.sleep(0.3)
        status, _, text = srv.call("GET", "/readyz")
        assert (status, text) == (503, "not ready: shutting down")
        assert srv.call("GET", "/healthz")[0] == 200
        status, result = srv.post("filter", args())
        assert status == 200 and result["NodeNames"], result
        assert srv.proc.wait(timeout=30) == 0
        assert time.monotonic() - stopped_at >= 2
        log = srv.proc.communicate()[0].decode()
        assert '"msg": "stopping: not ready, still answering"' in log
        assert '"msg": "stopped"' in log
    finally:
        srv.conn.close()
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
