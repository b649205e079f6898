"""An API server stand-in for informer tests: aiohttp on a free port answering GETs of one
resource path, and a KubeApi that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from kubernetes import client as k8s_client

from extender.cache.kubeapi import KubeApi

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(path: str, answer: Handler) -> AsyncIterator[KubeApi]:
    """A KubeApi whose GETs of `path` (lists and watches) are answered by `answer`."""
    app = web.Application()
    app.router.add_get(path, answer)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    cfg = k8s_client.Configuration()
    cfg.host = f"http://127.0.0.1:{port}"
    api = KubeApi(cfg)
    try:
        yield api
    finally:
        await api.close()
        await runner.cleanup()
