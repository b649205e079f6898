"""POST /capacity and the headroom metrics on a running `weighbridge serve`: read-only (the
live cache is the same before and after), bounded, and exported per shape."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.http.test_server import PODS_BY_NAME, Server, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = (
        "server: {shutdown_delay_seconds: 0}\n"
        "capacity:\n"
        "  shapes: {small: {cpu: 500m, memory: 1Gi}}\n"
        "  alert_below: {small: 10}\n"
        "  interval_seconds: 1\n"
        "  max_copies: 200\n"
    )
    with serving(config, tmp_path_factory.mktemp("capacity")) as srv:
        yield srv


def test_capacity_counts_without_changing_the_cache(server: Server) -> None:
    _, _, before = server.call("GET", "/hosts")
    status, report = server.post("capacity", {"Pod": PODS_BY_NAME["web-small"], "Max": 50})
    assert status == 200
    assert report["fit"] == 50 and report["stopped_by_max"]
    assert sum(report["nodes"].values()) == 50 and len(report["order"]) == 50
    assert report["models"] and report["does_not_model"]
    _, _, after = server.call("GET", "/hosts")
    assert after == before


def test_capacity_refuses_what_it_cannot_bound(server: Server) -> None:
    status, answer = server.post("capacity", {"Pod": PODS_BY_NAME["web-small"], "Max": 201})
    assert status == 400 and "at most capacity.max_copies=200" in answer["Error"]
    status, answer = server.post("capacity", {"Max": 3})
    assert status == 400 and "no Pod" in answer["Error"]
    status, _, answer = server.call("GET", "/capacity")
    assert status == 405


def test_headroom_is_exported_per_shape(server: Server) -> None:
    deadline = time.monotonic() + 30
    series = r'weighbridge_capacity_pods\{aggregate="",shape="small",zone=""\} (\S+)'
    while not (found := re.search(series, server.metrics())) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found is not None and float(found.group(1)) == 200  # the count reached its maximum
    text = server.metrics()
    assert re.search(r'weighbridge_capacity_pods\{aggregate="",shape="small",zone="az-1"\}', text)
    assert 'weighbridge_capacity_alert_below_pods{shape="small"} 10.0' in text
