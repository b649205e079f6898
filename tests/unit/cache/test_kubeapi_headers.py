"""The API client's auth headers are computed by the Kubernetes client's configuration (which
refreshes in-cluster and exec-plugin tokens), at most once every HEADERS_SECONDS: a burst of
binds does not re-read the token source for every Binding, and a new token is still used
within that time."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client as k8s_client

from extender.cache.kubeapi import KubeApi


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class Rotating(k8s_client.Configuration):
    """A configuration whose bearer token can change, counting how often it is asked."""

    def __init__(self) -> None:
        super().__init__(host="https://127.0.0.1:6443")
        self.token = "one"
        self.asked = 0

    def auth_settings(self) -> Any:
        self.asked += 1
        value = f"Bearer {self.token}"
        return {"BearerToken": {"in": "header", "key": "authorization", "value": value}}


def test_headers_are_computed_once_per_period_and_follow_a_new_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock.monotonic)
    cfg = Rotating()
    api = KubeApi(cfg)
    first = [api._headers() for _ in range(100)]
    assert cfg.asked == 1
    assert first[0] == {"Accept": "application/json", "authorization": "Bearer one"}
    first[0]["Content-Type"] = "application/json"  # a caller's additions stay its own
    cfg.token = "two"
    clock.now += KubeApi.HEADERS_SECONDS - 0.1
    assert api._headers()["authorization"] == "Bearer one"
    clock.now += 0.2
    assert api._headers() == {"Accept": "application/json", "authorization": "Bearer two"}
    assert cfg.asked == 2
