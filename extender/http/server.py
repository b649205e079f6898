"""The aiohttp app kube-scheduler calls: routes, body limit, error mapping, health, metrics.

Bad input is answered with HTTP 400 and a JSON body saying what was wrong; nothing a client
sends can take the process down or leak a traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import resource
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
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
from extender.service.config import ServerSettings
from extender.service.extender import Extender

log = logging.getLogger(__name__)


EXTENDER = web.AppKey("extender", Extender)
#: set once the process is told to stop: /readyz fails so the Service stops sending calls,
#: while the verbs keep answering the ones still on their way
STOPPING = web.AppKey("stopping", asyncio.Event)


#: the answers to the errors a caller can cause: bad input, a busy bounded resource, a cache
#: that has not synced yet
_STATUS: dict[type[Exception], int] = {WireError: 400, BusyError: 429, NotSyncedError: 503}


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=encoder.encode(value), status=status, content_type="application/json", headers=headers
    )


def _verb(
    name: str, handle: Callable[[web.Request, bytes], Any], body_timeout: float
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap one verb: read the body (within `body_timeout`), time the call, count it, map
    errors to JSON answers."""

    async def handler(request: web.Request) -> web.StreamResponse:
        start = time.perf_counter()
        status = 200
        try:
            body = await _read(request, body_timeout)
            answer = handle(request, body)
            if inspect.isawaitable(answer):
                answer = await answer
            response = _json(answer)
        except (WireError, BusyError, NotSyncedError, _BodyError) as exc:
            status = exc.status if isinstance(exc, _BodyError) else _STATUS[type(exc)]
            response = _json({"Error": str(exc)}, status)
        except Exception as exc:
            log.exception("unexpected error answering %s", name)
            status = 500
            response = _json({"Error": f"internal error: {type(exc).__name__}: {exc}"}, status)
        telemetry.REQUESTS.labels(name, str(status)).inc()
        telemetry.REQUEST_SECONDS.labels(name).observe(time.perf_counter() - start)
        return response

    return handler


class _BodyError(Exception):
    """The body could not be read: too large, too slow, or in an encoding not accepted."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


async def _read(request: web.Request, timeout: float) -> bytes:
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        # kube-scheduler never compresses; decoding is off (see `runner`), so say so
        raise _BodyError(415, f"Content-Encoding {encoding[:40]!r} is not accepted; send JSON")
    try:
        if request.content.is_eof():
            # the whole body came with the head, as kube-scheduler's do: no timer needed
            # (wait_for costs about 20 us, a few percent of a call)
            return await request.read()
        return await asyncio.wait_for(request.read(), timeout)
    except web.HTTPRequestEntityTooLarge as exc:
        raise _BodyError(413, f"request body too large: {exc.text}") from None
    except TimeoutError:
        raise _BodyError(408, f"request body not received within {timeout:g} s") from None


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
    request.app[EXTENDER].count_cache()
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
    if not (text.isascii() and text.isdigit() and len(text) <= 6 and int(text) >= 1):
        return _json({"Error": f"limit={text[:20]!r}: expected a whole number from 1"}, 400)
    pod = request.query.get("pod")
    return _json({"decisions": request.app[EXTENDER].decisions.view(pod, int(text))})


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer is JSON, the router's too (an unknown path, a method a path does not
    take); an error no handler expected is logged and answered 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 405:
            why = f"{request.method} not allowed on {request.path}; use POST"
        else:
            why = f"{exc.reason}: {request.method} {request.path}"
        return _json({"Error": why}, exc.status)
    except Exception as exc:
        log.exception("unexpected error answering %s", request.path)
        return _json({"Error": f"internal error: {type(exc).__name__}: {exc}"}, 500)


class LoopLag:
    """How late the event loop runs what is due: the time a call now waits before its turn.

    A verb answers without awaiting anything, so calls queue in the event loop, where no
    counter sees them; a watcher that asks to wake every `every` seconds and measures how
    late it woke sees that queue's length in time. Costs one wake-up per `every`."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.seconds = 0.0

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.every
            await asyncio.sleep(self.every)
            self.seconds = max(0.0, loop.time() - due)


def _shed(settings: ServerSettings, lag: LoopLag) -> Middleware:
    """Calls to the verbs are answered 503 at once, instead of waiting in a queue that only
    grows, while `max_in_flight` are being answered or calls wait longer than
    `max_queue_seconds` for their turn; kube-scheduler treats that as the extender failing
    this pod's attempt (docs/limits.md). Health, readiness and metrics are never shed."""
    limit, patience = settings.max_in_flight, settings.max_queue_seconds
    in_flight = 0

    @web.middleware
    async def shed(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal in_flight
        if request.method != "POST":
            return await handler(request)
        if in_flight >= limit:
            telemetry.SHED.labels("in_flight").inc()
            why = f"overloaded: {in_flight} calls in flight (server.max_in_flight {limit})"
            return _refused(request, 503, why, {"Retry-After": "1"})
        if lag.seconds > patience:
            telemetry.SHED.labels("queue").inc()
            why = (
                f"overloaded: calls wait {lag.seconds:.2f} s for their turn "
                f"(server.max_queue_seconds {patience:g})"
            )
            return _refused(request, 503, why, {"Retry-After": "1"})
        in_flight += 1
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    return shed


def _refused(
    request: web.Request, status: int, why: str, headers: dict[str, str] | None = None
) -> web.Response:
    """A call refused before its handler ran, counted under its verb like every answer
    (other paths are not counted: their names are the caller's to choose)."""
    verb = request.path.removeprefix("/")
    if verb in VERBS:
        telemetry.REQUESTS.labels(verb, str(status)).inc()
    return _json({"Error": why}, status, headers=headers)


#: paths anyone who reaches the port may call, for the kubelet's probes and Prometheus
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@web.middleware
async def _client_certificate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With a client CA (mutual TLS), every path but OPEN_PATHS needs a client certificate.
    The TLS handshake already refused certificates the CA did not sign; a client that sent
    none gets here, and is refused unless it only probes."""
    if request.path in OPEN_PATHS or request.transport is None:
        return await handler(request)
    if not request.transport.get_extra_info("peercert"):
        why = f"{request.path} needs a client certificate signed by the configured client CA"
        return _refused(request, 401, why)
    return await handler(request)


#: the POST routes, each answered by one service method
VERBS: dict[str, Callable[[web.Request, bytes], Any]] = {
    "filter": _filter,
    "prioritize": _prioritize,
    "preempt": _preempt,
    "bind": _bind,
    "explain": _explain,
    "capacity": _capacity,
}


@asynccontextmanager
async def _running(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run `work` while the app runs (aiohttp's cleanup context). A context manager, not a
    bare generator: aiohttp calls a callback that returns anything else a second time, and
    the first call's coroutine would never run."""
    task = asyncio.create_task(work)
    yield
    task.cancel()


def make_app(
    extender: Extender, settings: ServerSettings, client_auth: bool = False
) -> web.Application:
    """The extender app; a snapshot extender answers /bind with an error (it binds nothing).
    With `client_auth` (the TLS context asks for client certificates), only the probes and
    the metrics are served to clients without one."""
    guards = [_client_certificate] if client_auth else []
    lag = LoopLag()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[_json_errors, *guards, _shed(settings, lag)],
    )
    app[EXTENDER] = extender
    app[STOPPING] = asyncio.Event()
    app.cleanup_ctx.append(lambda _: _running(lag.watch()))
    for name, handle in VERBS.items():
        app.router.add_post(f"/{name}", _verb(name, handle, settings.body_timeout_seconds))
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/hosts", _hosts)
    app.router.add_get("/hosts/{name}", _hosts)
    app.router.add_get("/decisions", _decisions)
    return app


def runner(app: web.Application, settings: ServerSettings) -> web.AppRunner:
    """The app's runner: a connection must send a whole request head within the idle
    timeout of opening or of its last answer (aiohttp's keep-alive timer, which it arms as
    a connection opens), so slow or dead clients do not hold connections. Bodies are not
    decompressed: a compressed body is refused before it is read."""
    return web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=settings.idle_timeout_seconds,
        auto_decompress=False,
    )


async def listen(
    served: web.AppRunner,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    max_connections: int,
) -> asyncio.Server:
    """Listen for the runner's app with at most `max_connections` open: past it a new
    connection is closed at once, so the process never reaches its open-file limit."""
    server = served.server
    assert server is not None, "listen() after runner.setup()"
    limit = min(max_connections, _open_file_limit() - FILES_KEPT_FREE)

    def protocol() -> asyncio.BaseProtocol:
        if len(server.connections) >= limit:
            telemetry.SHED.labels("connections").inc()
            return _Refused()
        return server()

    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol, host, port, ssl=ssl_context, reuse_address=True)


#: file descriptors left for everything but client connections (the API server's
#: connections, the log, the Python runtime)
FILES_KEPT_FREE = 64


def _open_file_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class _Refused(asyncio.Protocol):
    """A connection over the limit: closed as soon as it opens."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()
