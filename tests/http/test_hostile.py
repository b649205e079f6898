"""Hostile input against a running `weighbridge serve`: every input gets a correct answer or
a 4xx JSON error that says what was wrong, never a 5xx; no input stalls the others; excess
load is shed at once instead of queueing.

The corpus is generated from valid calls of every endpoint by seeded mutations (wrong types
at every key, absurd quantities, deep nesting, malformed annotations, bad bytes), so it is
the same on every run and grows with the endpoints.
"""

from __future__ import annotations

import copy
import json
import random
import re
import select
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.test_server import NAMES, NODES, PODS_BY_NAME, Server, serving

SEED = 20261203
CASES = 3000
#: the slowest any single hostile call may be answered (the slowest valid one: ~50 ms)
CASE_BOUND_SECONDS = 1.0

QUANTITIES = [
    "1e1000000", "-5Gi", " 1Gi", "NaN", "Inf", "1e400", "9999999999999999999999Ei", "",
    "1..2", "0x10", "1Gi ", "\u00b2", "1e-1000000", "10E", 1e308, -1, None, [], {},
]  # fmt: skip
JUNK = [None, True, -1, 2**70, 1.5e308, "", "x" * 5000, [], {}, [[[]]], {"a": {"b": {}}}]


def deep(levels: int, leaf: Any = "x") -> Any:
    """`leaf` inside `levels` arrays; past what json.dumps can nest, a marker that `encode`
    replaces by the brackets."""
    if levels > 500:
        return f"\x00DEEP{levels}\x00"
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def encode(body: Any) -> bytes:
    text = json.dumps(body)
    for marker in set(re.findall(r'"\\u0000DEEP(\d+)\\u0000"', text)):
        levels = int(marker)
        text = text.replace(f'"\\u0000DEEP{levels}\\u0000"', "[" * levels + "]" * levels)
    return text.encode()


def pod_with(
    requests: dict[str, Any] | None = None, hints: Any = None, **extra: Any
) -> dict[str, Any]:
    """A small pod with these requests, this `weighbridge.io/hints` value and extra keys."""
    meta: dict[str, Any] = {"name": "q", "namespace": "shop"}
    if hints is not None:
        meta["annotations"] = {"weighbridge.io/hints": hints}
    container = {"name": "c", "resources": {"requests": requests or {}}}
    return {"metadata": meta, "spec": {"containers": [container]}, **extra}


def query(value: Any) -> str:
    return json.dumps({"query": json.dumps(value)})


LONG_VARIABLE = ["=", "$labels." + ".".join(["k"] * 4000), "x"]


def annotations(rng: random.Random) -> dict[str, str]:
    """One malformed or costly annotation value."""
    key = rng.choice(
        [
            "weighbridge.io/hints",
            "weighbridge.io/extra-specs",
            "weighbridge.io/image-properties",
            "weighbridge.io/force-hosts",
            "weighbridge.io/server-group-policy",
            "weighbridge.io/numa-policy",
        ]
    )
    value = rng.choice(
        [
            "[" * 2000 + "]" * 2000,
            "{" * 50,
            query(deep(400, [">=", "$free_ram_mb", 1])),
            query(LONG_VARIABLE),
            query(["bogus", 1]),
            json.dumps({"query": "x" * 10000}),
            json.dumps({"same_host": deep(40)}),
            json.dumps({"cidr": "10.0.0.0/99", "build_near_host_ip": "not an ip"}),
            json.dumps({"a": deep(40)}),
            "\x00\xff",
            "a" * 100_000,
            "anti-affinity,affinity",
        ]
    )
    return {key: value}


def mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """`value` with one place (at a random depth) replaced by something hostile."""
    if isinstance(value, dict) and value and depth < 6 and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: mutate(value[key], rng, depth + 1)}
    if isinstance(value, list) and value and depth < 6 and rng.random() < 0.8:
        i = rng.randrange(len(value))
        return [*value[:i], mutate(value[i], rng, depth + 1), *value[i + 1 :]]
    return rng.choice([*JUNK, deep(rng.choice([10, 200, 3000]))])


def pod_variant(rng: random.Random) -> dict[str, Any]:
    pod = copy.deepcopy(rng.choice(list(PODS_BY_NAME.values())))
    roll = rng.random()
    if roll < 0.3:
        resource = rng.choice(["cpu", "memory", "ephemeral-storage", "nvidia.com/gpu"])
        requests = {resource: rng.choice(QUANTITIES)}
        pod["spec"]["containers"][0]["resources"] = {"requests": requests}
    elif roll < 0.6:
        pod["metadata"]["annotations"] = annotations(rng)
    elif roll < 0.8:
        pod = mutate(pod, rng)
    return pod


def bodies(rng: random.Random) -> tuple[str, bytes]:
    """One hostile call: a verb and its body."""
    verb = rng.choice(["filter", "prioritize", "preempt", "explain", "capacity", "bind"])
    pod = pod_variant(rng)
    names = rng.sample(NAMES, rng.randint(0, len(NAMES)))
    victims = {n: {"Pods": [{"UID": "u"}]} for n in names[:3]}
    valid: dict[str, Any] = {
        "filter": {"Pod": pod, "NodeNames": names, "Nodes": None},
        "prioritize": {"Pod": pod, "NodeNames": names, "Nodes": None},
        "preempt": {"Pod": pod, "NodeNameToMetaVictims": victims},
        "explain": {"Pod": pod},
        "capacity": {"Pod": pod, "Max": rng.choice([1, 5, None])},
        "bind": {"PodName": "p", "PodNamespace": "ns", "PodUID": "u", "Node": rng.choice(NAMES)},
    }
    body = valid[verb]
    roll = rng.random()
    if roll < 0.15 and verb in ("filter", "prioritize"):
        body = {"Pod": pod, "NodeNames": None, "Nodes": {"items": [mutate(rng.choice(NODES), rng)]}}
    elif roll < 0.45:
        body = mutate(body, rng)
    raw = encode(body)
    roll = rng.random()
    if roll < 0.05:
        raw = raw[: rng.randrange(len(raw) + 1)]
    elif roll < 0.08:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    elif roll < 0.1:
        raw = b'{"Pod": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return verb, raw


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = (
        "filters: [AvailabilityZoneFilter, RamFilter, DiskFilter, CoreFilter, ComputeFilter,\n"
        "  ComputeCapabilitiesFilter, ImagePropertiesFilter, JsonFilter, SameHostFilter,\n"
        "  DifferentHostFilter, SimpleCIDRAffinityFilter, PciPassthroughFilter,\n"
        "  NUMATopologyFilter, ServerGroupAntiAffinityFilter, ServerGroupAffinityFilter]\n"
        "server: {max_body_bytes: 4194304, shutdown_delay_seconds: 0, max_in_flight: 8,\n"
        "  max_queue_seconds: 0.1,\n"
        "  body_timeout_seconds: 1, idle_timeout_seconds: 2}\n"
        "capacity: {max_copies: 20}\n"
    )
    with serving(config, tmp_path_factory.mktemp("hostile")) as srv:
        yield srv


def baseline(server: Server) -> Any:
    payload = {"Pod": PODS_BY_NAME["web-small"], "NodeNames": NAMES, "Nodes": None}
    status, answer = server.post("filter", payload)
    assert status == 200
    return answer


def test_the_corpus_gets_answers_or_4xx_and_changes_nothing(server: Server) -> None:
    before = baseline(server)
    rng = random.Random(SEED)
    statuses: dict[int, int] = {}
    slowest = (0.0, "")
    started = time.monotonic()
    for i in range(CASES):
        verb, raw = bodies(rng)
        t0 = time.perf_counter()
        status, ctype, answer = server.call("POST", f"/{verb}", raw)
        took = time.perf_counter() - t0
        slowest = max(slowest, (took, f"case {i} /{verb} {raw[:120]!r}"))
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (i, verb, raw[:300], answer)
        assert ctype.startswith("application/json"), (i, verb, status, answer)
        if status >= 400:
            assert answer["Error"], (i, verb, answer)
        if i % 250 == 0:
            assert server.call("GET", "/healthz")[0] == 200
    print(f"\n{CASES} cases in {time.monotonic() - started:.1f} s: statuses {statuses}")
    print(f"slowest {slowest[0] * 1000:.1f} ms: {slowest[1]}")
    assert slowest[0] < CASE_BOUND_SECONDS, slowest
    assert baseline(server) == before
    assert statuses.get(200, 0) > CASES / 10, statuses  # the corpus reaches the engine too


@pytest.mark.parametrize(
    ("what", "path", "body", "says"),
    [
        ("a huge exponent", "/explain", {"Pod": pod_with({"memory": "1e1000000"})}, "larger than"),
        (
            "a negative request",
            "/explain",
            {"Pod": pod_with({"memory": "-5Gi"})},
            "not be negative",
        ),
        (
            "deep annotation JSON",
            "/explain",
            {"Pod": pod_with(hints="[" * 2000 + "]" * 2000)},
            "JSON nested 2000 levels deep",
        ),
        (
            "a deep body",
            "/filter",
            {"Pod": pod_with(x=deep(5000)), "NodeNames": []},
            "nested too deeply",
        ),
        (
            "a deep query",
            "/filter",
            {"Pod": pod_with(hints=query(deep(30, ["=", 1, 1]))), "NodeNames": ["edge-01"]},
            "nested deeper than 16",
        ),
        (
            "a long variable",
            "/filter",
            {"Pod": pod_with(hints=query(LONG_VARIABLE)), "NodeNames": ["edge-01"]},
            "at most 4096",
        ),
        (
            "too many names",
            "/filter",
            {"Pod": pod_with(), "NodeNames": ["n"] * 50_001},
            "at most 50000",
        ),
    ],
)
def test_what_answered_500_now_says_what_is_wrong(
    server: Server, what: str, path: str, body: Any, says: str
) -> None:
    """A bad request is a 400 that says why; a pod's bad query is the pod's answer: every
    node refuses it, unresolvable, with the reason (kube-scheduler shows it on the pod)."""
    status, _, answer = server.call("POST", path, encode(body))
    if answer.get("Error"):
        assert (status, says in answer["Error"]) == (400, True), (what, answer)
    else:
        reasons = answer["FailedAndUnresolvableNodes"]
        assert status == 200 and reasons and says in reasons["edge-01"], (what, answer)


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "says"),
    [
        ("GET", "/decisions?limit=%C2%B2", {}, None, 400, "expected a whole number"),
        ("GET", "/decisions?limit=" + "9" * 5000, {}, None, 400, "expected a whole number"),
        ("POST", "/filter", {"Content-Encoding": "gzip"}, b"garbage", 415, "not accepted"),
        ("PUT", "/filter", {}, b"{}", 405, "use POST"),
        ("DELETE", "/prioritize", {}, None, 405, "use POST"),
        ("OPTIONS", "/bind", {}, None, 405, "use POST"),
        (
            "POST",
            "/bind",
            {},
            b'{"PodName": "p", "PodNamespace": "n", "Node": "n1"}',
            400,
            "not bind",
        ),
        ("GET", "/nowhere", {}, None, 404, "Not Found"),
    ],
)
def test_every_path_and_method_answers_json(
    server: Server,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    says: str,
) -> None:
    server.conn.request(method, path, body=body, headers=headers)
    response = server.conn.getresponse()
    answer = json.loads(response.read())
    assert response.getheader("Content-Type", "").startswith("application/json")
    assert (response.status, says in answer["Error"]) == (status, True), answer


def _healthz_while(server: Server, busy: threading.Event) -> list[float]:
    """/healthz round trips over their own connections while `busy` is set."""
    times = []
    while busy.is_set():
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            t0 = time.perf_counter()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while s.recv(4096):
                pass
            times.append(time.perf_counter() - t0)
        time.sleep(0.005)
    return times


def test_costly_queries_are_bounded_and_healthz_keeps_answering(server: Server) -> None:
    """The queries that stalled the server for seconds: a 4,000-segment variable and 400
    levels of nesting, and an explain body of costly hints."""
    costly = [
        query(["=", "$labels." + ".".join(["k"] * 15), "x", *["$free_ram_mb"] * 300]),
        query(deep(15, [">=", "$free_ram_mb", 1])),
        query(LONG_VARIABLE),
    ]
    busy = threading.Event()
    busy.set()
    probes: list[float] = []
    prober = threading.Thread(target=lambda: probes.extend(_healthz_while(server, busy)))
    prober.start()
    try:
        for hints in costly * 5:
            pod = copy.deepcopy(PODS_BY_NAME["web-small"])
            pod["metadata"]["annotations"] = {"weighbridge.io/hints": hints}
            t0 = time.perf_counter()
            status, _ = server.post("filter", {"Pod": pod, "NodeNames": NAMES, "Nodes": None})
            assert status == 200 and time.perf_counter() - t0 < 0.5
    finally:
        busy.clear()
        prober.join()
    print(
        f"\n/healthz during costly queries: {len(probes)} probes, max {max(probes) * 1000:.1f} ms"
    )
    assert probes and max(probes) < 0.05, max(probes)


def test_overload_is_shed_not_queued(server: Server) -> None:
    """64 callers at once, each sending its next call as soon as it has its answer, against
    max_in_flight 8 and max_queue_seconds 0.1: the calls the extender cannot take in time are
    answered 503, and those it takes are answered within a bounded multiple of one call's
    time measured alone in the same run (a multiple, not seconds: CI machines differ in
    pace, and a fixed 2 s failed on a loaded one). The callers read raw answers, so the
    server is the bottleneck."""
    body = json.dumps(
        {"Pod": PODS_BY_NAME["analytics-large"], "NodeNames": NAMES * 200, "Nodes": None}
    ).encode()
    head = f"POST /filter HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    call = head.encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        answers = s.makefile("rb")
        alone = []
        for _ in range(10):
            t0 = time.perf_counter()
            s.sendall(call)
            assert _raw_answer(answers) == 200
            alone.append(time.perf_counter() - t0)
    one = statistics.median(alone)
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    gate = threading.Barrier(64)

    def caller() -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            answers = s.makefile("rb")
            gate.wait()
            for _ in range(10):
                t0 = time.perf_counter()
                s.sendall(call)
                status = _raw_answer(answers)
                with lock:
                    results.append((status, time.perf_counter() - t0))

    threads = [threading.Thread(target=caller) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shed = sorted(took for status, took in results if status == 503)
    served = sorted(took for status, took in results if status == 200)
    assert {status for status, _ in results} <= {200, 503}
    assert shed and served
    p99 = served[int(len(served) * 0.99) - 1]
    print(
        f"\noverload: {len(served)} served (p99 {p99 * 1000:.0f} ms), {len(shed)} shed "
        f"(median {shed[len(shed) // 2] * 1000:.1f} ms); one call alone {one * 1000:.1f} ms"
    )
    assert p99 < 150 * one
    metrics = server.metrics()
    assert re.search(r'weighbridge_shed_total\{reason="(in_flight|queue)"\} [1-9]', metrics)
    assert 'weighbridge_requests_total{code="503",verb="filter"}' in metrics


def _raw_answer(answers: Any) -> int:
    """Read one HTTP answer from a socket's file: its status (the body is skipped)."""
    status = int(answers.readline().split()[1])
    length = 0
    while (line := answers.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    answers.read(length)
    return status


def test_slow_and_surplus_connections_do_not_lock_others_out(tmp_path: Path) -> None:
    """Connections that trickle a request head are closed after the idle timeout, and past
    max_connections a new one is closed at once: the open-file limit is never reached, and
    a legitimate call gets through as soon as the trickling ones are gone."""
    config = "server: {shutdown_delay_seconds: 0, max_connections: 16, idle_timeout_seconds: 1}\n"
    with serving(config, tmp_path) as srv:
        slow = []
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"POST /filter HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        started = time.monotonic()
        time.sleep(0.3)
        early, _, _ = select.select(slow, [], [], 0)
        surplus = sum(1 for s in early if _closed_unanswered(s))
        for s in slow:
            assert _closed_unanswered(s)  # the idle ones, after the idle timeout
            s.close()
        idle_closed = time.monotonic() - started
        print(f"\n{surplus} surplus connections closed at once, the rest after "
              f"{idle_closed:.1f} s")  # fmt: skip
        assert surplus >= 40 - 16 and idle_closed < 3
        payload = {"Pod": PODS_BY_NAME["web-small"], "NodeNames": NAMES, "Nodes": None}
        assert srv.post("filter", payload)[0] == 200
        assert re.search(r'weighbridge_shed_total\{reason="connections"\} [1-9]', srv.metrics())


def _closed_unanswered(s: socket.socket) -> bool:
    """The server closed the connection without answering (a reset counts: the request
    head it had not read was still in its buffer)."""
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
