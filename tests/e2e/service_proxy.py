"""A stand-in for a Service between kube-scheduler and the extender's replicas.

It routes as kube-proxy does: to the ready endpoints of the EndpointSlices labelled with the
Service's name (what the active replica publishes), re-read every POLL seconds, as
kube-proxy re-syncs; or, standing in for a Service with a selector, to every replica whose
/readyz answers 200. `per_request` balances each HTTP request (as an L7 proxy or mesh
would); otherwise each TCP connection (kube-proxy's own behaviour). A backend that refuses
the connection is not retried: the caller sees the failure, as through kube-proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import urllib.request
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp import web

from devtools.localcluster import ControlPlane, free_port

POLL = 0.2


class ServiceProxy:
    """Runs in a thread of its own; `url` is what kube-scheduler's urlPrefix names."""

    def __init__(
        self,
        plane: ControlPlane,
        namespace: str,
        service: str,
        *,
        per_request: bool,
        selector: Sequence[str] = (),
    ) -> None:
        self.plane = plane
        self.path = (
            f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
            f"?labelSelector=kubernetes.io/service-name={service}"
        )
        self.per_request = per_request
        #: base URLs of replicas, for a Service with a selector (empty: EndpointSlices)
        self.selector = list(selector)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backends: list[str] = []
        self.routed: dict[str, int] = {}
        self._turn = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stopped = asyncio.Event()

    def __enter__(self) -> ServiceProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)

    # -- endpoints -------------------------------------------------------------------------

    def _read_endpoints(self) -> list[str]:
        if self.selector:
            return [url.removeprefix("http://") for url in self.selector if _ready(url)]
        found: list[str] = []
        for eps in self.plane.request("GET", self.path)["items"]:
            ports = [p["port"] for p in eps.get("ports") or []]
            for ep in eps.get("endpoints") or []:
                if ep.get("conditions", {}).get("ready", True):
                    found += [f"{a}:{p}" for a in ep["addresses"] for p in ports]
        return sorted(found)

    async def _poll(self) -> None:
        while not self._stopped.is_set():
            # while the API server restarts, the last known endpoints stay, as in kube-proxy
            with contextlib.suppress(Exception):
                self.backends = await asyncio.to_thread(self._read_endpoints)
            await asyncio.sleep(POLL)

    def _pick(self) -> str | None:
        backends = self.backends
        if not backends:
            return None
        chosen = backends[next(self._turn) % len(backends)]
        self.routed[chosen] = self.routed.get(chosen, 0) + 1
        return chosen

    # -- serving ---------------------------------------------------------------------------

    async def _serve(self) -> None:
        self._tasks = [asyncio.create_task(self._poll())]
        if self.per_request:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._forward)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self._session = aiohttp.ClientSession()
            self._tasks.append(asyncio.create_task(self._close_when_stopped(runner)))
        else:
            server = await asyncio.start_server(self._splice, "127.0.0.1", self.port)
            self._tasks.append(asyncio.create_task(self._close_when_stopped(server)))

    async def _close_when_stopped(self, server: Any) -> None:
        await self._stopped.wait()
        poll = self._tasks[0]  # ended here, not left pending when the loop stops
        poll.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poll
        if self.per_request:
            await self._session.close()
            await server.cleanup()
        else:
            server.close()
        self._loop.call_soon(self._loop.stop)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        backend = self._pick()
        if backend is None:
            return web.Response(status=503, text="no endpoints")
        body = await request.read()
        try:
            async with self._session.request(
                request.method,
                f"http://{backend}{request.path_qs}",
                data=body,
                headers={"Content-Type": request.content_type},
            ) as answer:
                return web.Response(
                    status=answer.status,
                    body=await answer.read(),
                    content_type=answer.content_type,
                )
        except aiohttp.ClientError as exc:
            return web.Response(status=503, text=f"upstream {backend}: {exc}")

    async def _splice(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        backend = self._pick()
        try:
            if backend is None:
                raise ConnectionRefusedError("no endpoints")
            host, port = backend.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def _ready(url: str) -> bool:
    """A readiness probe, as the kubelet's marks an endpoint ready or not."""
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False
