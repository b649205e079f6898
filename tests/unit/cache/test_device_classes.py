"""DeviceClasses (DRA) in the cache: the extended resource names they serve, from events,
snapshots and the informer, which runs on without them where the API server does not serve
them (404) or the extender may not read them (403)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from extender.cache.kubeapi import DEVICE_CLASSES
from extender.cache.live import NOT_SERVED, NOT_SERVED_OR_FORBIDDEN, Informer, LiveCache
from extender.cache.snapshot import load_snapshot
from extender.cache.state import ClusterState
from extender.kube.objects import DEVICE_CLASS_RESOURCE_PREFIX as IMPLICIT
from extender.kube.objects import DeviceClass
from tests.builders import cluster, decode, device_class, device_class_dict, node_dict
from tests.unit.cache.fake_apiserver import Handler, serving

GPU = "example.com/gpu"


def test_device_class_events_keep_the_served_names() -> None:
    state = cluster(device_class("a", GPU), device_class("b"))
    assert state.dra_extended == {GPU, IMPLICIT + "a", IMPLICIT + "b"}
    assert state.device_class_keys() == {"a", "b"}
    state.upsert_device_class(device_class("a"))
    assert state.dra_extended == {IMPLICIT + "a", IMPLICIT + "b"}
    state.delete_device_class("b")
    state.delete_device_class("never-seen")
    assert state.dra_extended == {IMPLICIT + "a"}


def test_snapshots_load_device_classes(tmp_path: Path) -> None:
    listed = {"apiVersion": "v1", "kind": "List", "items": [device_class_dict("gpu", GPU)]}
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump_all([node_dict("n1"), listed]))
    state = load_snapshot([path])
    assert state.dra_extended == {GPU, IMPLICIT + "gpu"}
    assert isinstance(decode(device_class_dict("gpu")), DeviceClass)


async def _run_informer(state: ClusterState, answer: Handler, absent_on: frozenset[int]) -> bool:
    """A DeviceClass informer against a server answering with `answer`, until it is synced
    (True) or 5 s passed (False)."""
    async with serving(DEVICE_CLASSES.path, answer) as api:
        cache = LiveCache(api, state)
        informer = next(i for i in cache.informers if i.resource == DEVICE_CLASSES)
        assert informer.absent_on == NOT_SERVED_OR_FORBIDDEN
        informer = Informer(api, DEVICE_CLASSES, DeviceClass, informer.handlers, absent_on)
        informer.BACKOFF_MAX = 0.1
        task = asyncio.create_task(informer.run())
        for _ in range(50):
            if informer.synced:
                break
            await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return informer.synced


def _status(code: int) -> Handler:
    async def answer(request: web.Request) -> web.StreamResponse:
        body = {"kind": "Status", "code": code, "message": f"{code} from the test"}
        return web.json_response(body, status=code)

    return answer


@pytest.mark.parametrize("code", [403, 404])
def test_an_unserved_or_forbidden_kind_is_synced_empty_and_logged_once(
    code: int, caplog: pytest.LogCaptureFixture
) -> None:
    state = cluster(device_class("stale", GPU))
    caplog.set_level(logging.INFO, logger="extender.cache.live")
    assert asyncio.run(_run_informer(state, _status(code), NOT_SERVED_OR_FORBIDDEN))
    # what was held of the kind goes: kube-scheduler delegates nothing to DRA without it
    assert state.dra_extended == frozenset() and state.device_classes == {}
    absent = [r for r in caplog.records if "optional resource" in r.getMessage()]
    assert len(absent) == 1
    assert absent[0].levelno == (logging.WARNING if code == 403 else logging.INFO)


def test_a_forbidden_crd_still_blocks_readiness() -> None:
    """The CRD kinds keep their meaning: only 404 is "not installed"; a 403 is retried."""
    assert not asyncio.run(_run_informer(ClusterState(), _status(403), NOT_SERVED))


def test_a_listed_device_class_is_learnt() -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") == "1":
            await asyncio.sleep(10)
        items = [device_class_dict("gpu", GPU)]
        return web.json_response({"metadata": {"resourceVersion": "3"}, "items": items})

    state = ClusterState()
    assert asyncio.run(_run_informer(state, answer, NOT_SERVED_OR_FORBIDDEN))
    assert state.dra_extended == {GPU, IMPLICIT + "gpu"}
