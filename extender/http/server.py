"""The aiohttp app kube-scheduler calls: routes, body limit, error mapping, health, telemetry.

Bad input is answered with HTTP 400 and a JSON body saying what was wrong; nothing a client
sends can take the process down or leak a traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from extender import telemetry
from extender.errors import BusyError, NotSyncedError, WireError
from extender.kube.wire import (
    decode_args,
    decode_binding,
    decode_capacity,
    decode_explain,
    decode_preemption,
    encoder,
)
from extender.service.extender import Extender

log = logging.getLogger(__name__)

EXTENDER = web.AppKey("extender", Extender)
#: set once the process is told to stop: /readyz fails so the Service stops sending calls,
#: while the verbs keep answering the ones still on their way
STOPPING = web.AppKey("stopping", asyncio.Event)


#: the answers to the errors a caller can cause: bad input, a busy bounded resource, a cache
#: that has not synced yet
_STATUS: dict[type[Exception], int] = {WireError: 400, BusyError: 429, NotSyncedError: 503}


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=encoder.encode(value), status=status, content_type="application/json")


def _verb(
    name: str, handle: Callable[[web.Request, bytes], Any]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap one verb: read the body, time the call, count it, map errors to JSON answers."""

    async def handler(request: web.Request) -> web.StreamResponse:
        start = time.perf_counter()
        status = 200
        try:
            body = await request.read()
            answer = handle(request, body)
            if inspect.isawaitable(answer):
                answer = await answer
            response = _json(answer)
        except web.HTTPRequestEntityTooLarge as exc:
            status = 413
            response = _json({"Error": f"request body too large: {exc.text}"}, status)
        except (WireError, BusyError, NotSyncedError) as exc:
            status = _STATUS[type(exc)]
            response = _json({"Error": str(exc)}, status)
        except Exception as exc:
            log.exception("unexpected error answering %s", name)
            status = 500
            response = _json({"Error": f"internal error: {type(exc).__name__}: {exc}"}, status)
        telemetry.REQUESTS.labels(name, str(status)).inc()
        telemetry.REQUEST_SECONDS.labels(name).observe(time.perf_counter() - start)
        return response

    return handler


def _filter(request: web.Request, body: bytes) -> Any:
    return request.app[EXTENDER].filter(*decode_args(body))


def _prioritize(request: web.Request, body: bytes) -> Any:
    _, pod, names = decode_args(body)
    return request.app[EXTENDER].prioritize(pod, names)


def _preempt(request: web.Request, body: bytes) -> Any:
    return request.app[EXTENDER].preempt(*decode_preemption(body))


def _bind(request: web.Request, body: bytes) -> Any:
    return request.app[EXTENDER].bind(decode_binding(body))


def _capacity(request: web.Request, body: bytes) -> Any:
    """How many more copies of a pod fit; read-only, one count at a time."""
    return request.app[EXTENDER].capacity(*decode_capacity(body))


def _explain(request: web.Request, body: bytes) -> Any:
    """What-if: run the whole chain for a pod, reserve nothing, say why."""
    return request.app[EXTENDER].explain(*decode_explain(body))


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _readyz(request: web.Request) -> web.Response:
    if request.app[STOPPING].is_set():
        return web.Response(text="not ready: shutting down", status=503)
    missing = request.app[EXTENDER].readiness()
    if missing is None:
        return web.Response(text="ok")
    return web.Response(text=f"not ready: {missing}", status=503)


async def _metrics(request: web.Request) -> web.Response:
    state = request.app[EXTENDER].state
    telemetry.CACHE_OBJECTS.labels("nodes").set(state.node_count)
    telemetry.CACHE_OBJECTS.labels("pods").set(state.pod_count)
    telemetry.CACHE_OBJECTS.labels("aggregates").set(len(state.aggregates))
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


async def _hosts(request: web.Request) -> web.Response:
    """Read-only inspection of the cache: every HostState, or one by name."""
    name = request.match_info.get("name")
    view = request.app[EXTENDER].hosts(name)
    if view is None:
        return _json({"Error": f"node {name} is not in the cache"}, 404)
    return _json(view)


async def _decisions(request: web.Request) -> web.Response:
    """The latest decision for each recent pod, newest first (`?pod=ns/name&limit=N`)."""
    text = request.query.get("limit", "50")
    if not text.isdigit() or int(text) < 1:
        return _json({"Error": f"limit={text!r}: expected a whole number above 0"}, 400)
    pod = request.query.get("pod")
    return _json({"decisions": request.app[EXTENDER].decisions.view(pod, int(text))})


async def _bad_method(request: web.Request) -> web.Response:
    return _json({"Error": f"{request.method} not allowed on {request.path}; use POST"}, 405)


def make_app(extender: Extender, max_body_bytes: int) -> web.Application:
    """The extender app; bind is served only where the extender has a cluster to bind in."""
    app = web.Application(client_max_size=max_body_bytes)
    app[EXTENDER] = extender
    app[STOPPING] = asyncio.Event()
    routes: dict[str, Callable[[web.Request, bytes], Any]] = {
        "filter": _filter,
        "prioritize": _prioritize,
        "preempt": _preempt,
        "explain": _explain,
        "capacity": _capacity,
    }
    if extender.binder is not None:
        routes["bind"] = _bind
    for name, handle in routes.items():
        app.router.add_post(f"/{name}", _verb(name, handle))
        app.router.add_get(f"/{name}", _bad_method)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/hosts", _hosts)
    app.router.add_get("/hosts/{name}", _hosts)
    app.router.add_get("/decisions", _decisions)
    return app
