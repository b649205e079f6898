"""A watch that goes silent (a dead connection sends nothing, not even bookmarks) is given up,
counted and relisted; a watch that keeps sending bookmarks is kept."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from prometheus_client import REGISTRY

from extender.cache.kubeapi import NODES
from extender.cache.live import Handlers, Informer
from extender.cache.state import ClusterState
from extender.kube.objects import Node
from tests.builders import node_dict
from tests.unit.cache.fake_apiserver import serving

SILENCE = 0.5


def _silent_restarts() -> float:
    value = REGISTRY.get_sample_value(
        "weighbridge_watch_restarts_total", {"kind": "nodes", "reason": "silent"}
    )
    return value or 0.0


async def _informer_against(bookmarks: bool) -> dict[str, int]:
    """Run a node informer for 3 silences against a server whose watch sends bookmarks
    every SILENCE / 4 (`bookmarks`) or nothing after its headers; the calls it got."""
    calls = {"list": 0, "watch": 0}

    async def nodes(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") != "1":
            calls["list"] += 1
            body = {"metadata": {"resourceVersion": "7"}, "items": [node_dict("n1")]}
            return web.json_response(body)
        calls["watch"] += 1
        response = web.StreamResponse()
        await response.prepare(request)
        while True:  # a half-open connection: headers, then bookmarks or nothing at all
            await asyncio.sleep(SILENCE / 4)
            if bookmarks:
                mark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "8"}}}
                await response.write(json.dumps(mark).encode() + b"\n")

    state = ClusterState()
    async with serving(NODES.path, nodes) as api:
        handlers = Handlers.by_name(state.upsert_node, state.delete_node, state.node_keys)
        informer = Informer(api, NODES, Node, handlers)
        informer.SILENCE_SECONDS = SILENCE
        task = asyncio.create_task(informer.run())
        await asyncio.sleep(SILENCE * 3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert state.node_keys() == {"n1"}
    return calls


def test_a_silent_watch_is_dropped_counted_and_relisted() -> None:
    before = _silent_restarts()
    calls = asyncio.run(_informer_against(bookmarks=False))
    # every watch but the one running at the end went silent, and each was followed by a list
    assert calls["watch"] >= 2 and calls["list"] == calls["watch"], calls
    assert _silent_restarts() - before >= calls["watch"] - 1


def test_bookmarks_keep_a_quiet_watch() -> None:
    before = _silent_restarts()
    calls = asyncio.run(_informer_against(bookmarks=True))
    assert calls == {"list": 1, "watch": 1}
    assert _silent_restarts() == before
