"""A lean async client for the few Kubernetes API calls the extender makes.

The official `kubernetes` package supplies the configuration (kubeconfig or in-cluster,
including token refresh); transport is aiohttp and decoding is msgspec straight into the
lean structs, because the client's model objects cost ten times the memory and time at
150,000 pods.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from extender.contract import API_GROUP, API_VERSION, HOST_AGGREGATE_KIND, HOST_AGGREGATE_PLURAL
from extender.errors import WeighbridgeError


class ApiError(WeighbridgeError):
    """The API server answered with an error status."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status
        self.message = message


class ApiUnreachable(ApiError):
    """The request got no answer: refused, dropped, reset or timed out.

    A subclass of ApiError (status 0) so that every caller handling API failures handles
    this one too; the write may or may not have happened.
    """

    def __init__(self, method: str, path: str, exc: BaseException) -> None:
        why = str(exc) or type(exc).__name__
        super().__init__(method, path, 0, f"cannot reach the API server: {why}")


class WatchSilent(ApiUnreachable):
    """A watch said nothing, not even a bookmark, for longer than the API server ever stays
    quiet: its connection is presumed dead (a half-open TCP connection sends no FIN)."""


@dataclass(frozen=True, slots=True)
class Resource:
    """Where a kind lives in the API."""

    kind: str
    group: str
    version: str
    plural: str

    @property
    def path(self) -> str:
        if self.group:
            return f"/apis/{self.group}/{self.version}/{self.plural}"
        return f"/api/{self.version}/{self.plural}"


NODES = Resource("Node", "", "v1", "nodes")
PODS = Resource("Pod", "", "v1", "pods")
HOST_AGGREGATES = Resource(HOST_AGGREGATE_KIND, API_GROUP, API_VERSION, HOST_AGGREGATE_PLURAL)
NODE_RESOURCE_TOPOLOGIES = Resource(
    "NodeResourceTopology", "topology.node.k8s.io", "v1alpha2", "noderesourcetopologies"
)
DEVICE_CLASSES = Resource("DeviceClass", "resource.k8s.io", "v1", "deviceclasses")


def load_configuration(kubeconfig: str | None) -> k8s_client.Configuration:
    """kubeconfig when given (or $KUBECONFIG / ~/.kube/config), else in-cluster."""
    cfg = k8s_client.Configuration()
    try:
        if kubeconfig is None:
            try:
                k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
                return cfg
            except k8s_config.ConfigException:
                pass
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, client_configuration=cfg
        )
    except (k8s_config.ConfigException, OSError) as exc:
        raise WeighbridgeError(f"cannot load Kubernetes configuration: {exc}") from None
    return cfg


class KubeApi:
    """GET lists, streamed watches and POSTs against one API server."""

    #: how long the auth headers are reused: the client's token refresh (in-cluster token
    #: files, kubeconfig exec plugins) re-reads its source and the proxy environment on
    #: every call, 3% of weighbridge's CPU in a burst of binds; tokens outlive this by far
    HEADERS_SECONDS = 10.0

    def __init__(self, cfg: k8s_client.Configuration) -> None:
        self.cfg = cfg
        self.base = cfg.host.rstrip("/")
        self._ssl = self._ssl_context(cfg)
        self._session: aiohttp.ClientSession | None = None
        self._auth: dict[str, str] = {}
        self._auth_until = 0.0

    @staticmethod
    def _ssl_context(cfg: k8s_client.Configuration) -> ssl.SSLContext | bool:
        if not cfg.host.startswith("https"):
            return False
        ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert or None)
        if not cfg.verify_ssl:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if cfg.cert_file:
            ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
        return ctx

    def _headers(self) -> dict[str, str]:
        """Auth headers as the client computes them (refreshing exec/in-cluster tokens),
        computed again every HEADERS_SECONDS."""
        now = time.monotonic()
        if now >= self._auth_until:
            settings = cast(Mapping[str, Mapping[str, str]], self.cfg.auth_settings())
            self._auth = {
                setting["key"]: setting["value"]
                for setting in settings.values()
                if setting.get("in") == "header" and setting.get("value")
            }
            self._auth_until = now + self.HEADERS_SECONDS
        return {"Accept": "application/json", **self._auth}

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=32),
                timeout=aiohttp.ClientTimeout(total=None, connect=10, sock_read=None),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, path: str, params: dict[str, str] | None = None) -> bytes:
        return await self._request("GET", path, params=params, timeout=120)

    async def post(self, path: str, body: dict[str, Any]) -> bytes:
        return await self._request("POST", path, body=body)

    async def put(self, path: str, body: dict[str, Any]) -> bytes:
        return await self._request("PUT", path, body=body)

    async def patch(self, path: str, body: dict[str, Any]) -> bytes:
        """A JSON merge patch (RFC 7386): the fields given replace the object's."""
        return await self._request(
            "PATCH", path, body=body, content_type="application/merge-patch+json"
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        timeout: float = 30,
        content_type: str = "application/json",
    ) -> bytes:
        """One call; any answer but 200/201 is an ApiError, no answer an ApiUnreachable."""
        headers = self._headers()
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body)
        try:
            async with self.session.request(
                method,
                self.base + path,
                params=params,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                answer = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError, RuntimeError) as exc:
            # RuntimeError: uvloop refusing a socket while the server's side is torn down
            # ("File descriptor N is used by transport"), seen when the API server crashes
            raise ApiUnreachable(method, path, exc) from None
        if response.status not in (200, 201):
            raise ApiError(method, path, response.status, _message(answer))
        return answer

    async def stream(
        self, path: str, params: dict[str, str], silence: float
    ) -> AsyncIterator[bytes]:
        """Lines of a watch; ends when the server closes it, and raises WatchSilent when
        nothing arrives for `silence` seconds."""
        async with self.session.get(
            self.base + path,
            params=params,
            headers=self._headers(),
            timeout=aiohttp.ClientTimeout(total=None, sock_read=silence),
        ) as response:
            if response.status != 200:
                raise ApiError("GET", path, response.status, _message(await response.read()))
            buffer = b""
            try:
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if line.strip():
                            yield line
            except TimeoutError as exc:
                raise WatchSilent("WATCH", path, exc) from None


def _message(body: bytes) -> str:
    try:
        status = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace")
    if isinstance(status, dict):
        return str(status.get("message") or status)
    return str(status)
