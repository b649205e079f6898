"""Mutual TLS and certificate rotation, against a real `weighbridge serve --snapshot` process.

The TLS files are laid out like a mounted Secret (tests.pki.SecretVolume) and rotated the
way the kubelet does it, by swapping the `..data` symlink: the process must pick up the new
server certificate and the new client CA within its polling interval, without a restart.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.localcluster import free_port
from tests import REPO, UNREACHABLE_KUBECONFIG, weighbridge_command
from tests.http.test_server import spawn
from tests.pki import Pki, SecretVolume

CLUSTER = REPO / "examples" / "cluster.yaml"
PODS = REPO / "examples" / "pods.yaml"
RELOAD_SECONDS = 1.0
#: what a rotation may take beyond the polling interval (a loaded CI machine)
MARGIN_SECONDS = 3.0

Answer = tuple[int, Any, str]


def _filter_args() -> bytes:
    pods = [d for d in yaml.safe_load_all(PODS.read_text()) if d and d.get("kind") == "Pod"]
    nodes = [
        d["metadata"]["name"]
        for doc in yaml.safe_load_all(CLUSTER.read_text())
        if doc
        for d in (doc["items"] if doc.get("kind") == "List" else [doc])
        if d["kind"] == "Node"
    ]
    return json.dumps({"Pod": pods[0], "NodeNames": nodes, "Nodes": None}).encode()


FILTER = _filter_args()


class TlsServer:
    """`weighbridge serve` over mutual TLS on the example cluster; its TLS files in `volume`."""

    def __init__(self, pki: Pki, volume: SecretVolume, work: Path, *extra: str) -> None:
        self.pki = pki
        self.volume = volume
        self.log_path = work / "weighbridge.log"
        config = work / "config.yaml"
        config.write_text("server: {shutdown_delay_seconds: 0}\n")
        self.port, self.proc = spawn(
            config,
            *tls_options(volume),
            "--tls-reload-interval",
            str(RELOAD_SECONDS),
            *extra,
            log=self.log_path,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def call(
        self, path: str, *, ca: str = "server-ca", client: str | None = None, post: bool = False
    ) -> Answer:
        """Status, body (JSON decoded where it is JSON) and the served certificate's serial,
        over a new connection trusting `ca` and presenting `client`'s certificate."""
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=10, context=self.pki.client_context(ca, client)
        )
        try:
            body = FILTER if post else None
            conn.request("POST" if post else "GET", path, body=body)
            assert conn.sock is not None
            serial = str(conn.sock.getpeercert()["serialNumber"])
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        ctype = response.getheader("Content-Type", "")
        data = json.loads(raw) if ctype.startswith("application/json") else raw.decode()
        return response.status, data, serial

    def refused(self, path: str, *, ca: str = "server-ca", client: str | None = None) -> str:
        """The error of a call whose handshake the server refuses; fails if it is answered."""
        try:
            status, data, _ = self.call(path, ca=ca, client=client, post=True)
        except (ssl.SSLError, ConnectionError, http.client.HTTPException) as exc:
            return f"{type(exc).__name__}: {exc}"
        raise AssertionError(f"{path} answered {status} {data!r}, expected a refused handshake")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A server CA, two client CAs and a stranger's CA, with a certificate from each."""
    pki = Pki(tmp_path_factory.mktemp("pki"))
    for ca in ("server-ca", "client-ca", "client-ca-2", "stranger-ca"):
        pki.ca(ca)
    pki.leaf("server-1", "server-ca", serial=1001, server=True, hosts=("127.0.0.1", "localhost"))
    pki.leaf("server-2", "server-ca", serial=1002, server=True, hosts=("127.0.0.1", "localhost"))
    pki.leaf("scheduler", "client-ca", serial=2001)
    pki.leaf("scheduler-2", "client-ca-2", serial=2002)
    pki.leaf("stranger", "stranger-ca", serial=6666)
    # the right CA, but a serving certificate: as the chart's CA signs the extender's too
    pki.leaf("server-usage", "client-ca", serial=7777, server=True, hosts=("127.0.0.1",))
    return pki


def _first_files(pki: Pki) -> dict[str, bytes | Path]:
    return {
        "tls.crt": pki.crt("server-1"),
        "tls.key": pki.key("server-1"),
        "ca.crt": pki.crt("client-ca"),
    }


@pytest.fixture(scope="module")
def server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    work = tmp_path_factory.mktemp("tls")
    volume = SecretVolume(work / "secret")
    volume.update(_first_files(pki))
    srv = TlsServer(pki, volume, work)
    yield srv
    srv.stop()


def test_without_a_client_certificate_only_probes_and_metrics_answer(server: TlsServer) -> None:
    for path, post in (
        ("/filter", True),
        ("/bind", True),
        ("/hosts", False),
        ("/decisions", False),
    ):
        status, data, _ = server.call(path, post=post)
        assert status == 401, (path, data)
        assert "needs a client certificate signed by the configured client CA" in data["Error"]
    for path in ("/healthz", "/readyz", "/metrics"):
        status, data, _ = server.call(path)
        assert status == 200, (path, data)
    assert "weighbridge_build_info" in server.call("/metrics")[1]


def test_a_strangers_certificate_is_refused_in_the_handshake(server: TlsServer) -> None:
    print(f"\nstranger: {server.refused('/filter', client='stranger')}")
    print(f"server usage only: {server.refused('/filter', client='server-usage')}")
    # the server is not hurt by it
    assert server.call("/filter", client="scheduler", post=True)[0] == 200


def test_the_right_client_certificate_opens_every_path(server: TlsServer) -> None:
    status, answer, serial = server.call("/filter", client="scheduler", post=True)
    assert status == 200, answer
    assert answer["Error"] == "" and answer["NodeNames"]
    assert serial == "03E9"  # 1001: the certificate the process started with
    status, hosts, _ = server.call("/hosts", client="scheduler")
    assert status == 200 and hosts["hosts"]
    assert server.call("/decisions", client="scheduler")[0] == 200


def test_the_charts_helm_test_checks_the_lock_and_the_key(server: TlsServer, pki: Pki) -> None:
    """charts/weighbridge/files/helm-test.py as the chart runs it in mutual-TLS mode."""
    script = REPO / "charts" / "weighbridge" / "files" / "helm-test.py"
    base = [sys.executable, str(script), f"https://127.0.0.1:{server.port}"]
    ca = str(pki.crt("server-ca"))
    key = ["--client-cert", str(pki.crt("scheduler")), "--client-key", str(pki.key("scheduler"))]
    for args, oks in (([ca, "--client-auth", *key], 4), ([ca, "--client-auth"], 3)):
        done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count("ok ") == oks, done.stdout
        assert "ok   /filter without a client certificate: 401" in done.stdout
    # without --client-auth it expects the filter call to be answered: the lock fails it
    done = subprocess.run([*base, ca], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "401" in done.stderr


def test_no_resumable_session_and_no_tls_1_2_with_client_auth(server: TlsServer, pki: Pki) -> None:
    """A resumed session skips the certificate check, so none may outlive a CA change."""
    ctx = pki.client_context("server-ca", "scheduler")
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert tls.recv(1024).startswith(b"HTTP/1.1 200")
        assert tls.version() == "TLSv1.3"
        assert tls.session is not None and not tls.session.has_ticket
    old = pki.client_context("server-ca", "scheduler")
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", server.port)) as raw, pytest.raises(ssl.SSLError):
        old.wrap_socket(raw, server_hostname="127.0.0.1")


def _wait_for(what: str, probe: Any, timeout: float) -> float:
    """Seconds until `probe()` is true, polling at 20 Hz; fails after `timeout`."""
    start = time.monotonic()
    while not probe():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)
    return time.monotonic() - start


def _serves(server: TlsServer, serial: str, client: str) -> bool:
    try:
        status, _, seen = server.call("/filter", client=client, post=True)
    except (ssl.SSLError, ConnectionError, http.client.HTTPException):
        return False
    return seen == serial and status == 200


def test_rotation_without_a_restart(server: TlsServer, pki: Pki) -> None:
    """A renewal: new server certificate, and a new client CA that replaces the old one."""
    pid = server.proc.pid
    assert _serves(server, "03E9", "scheduler")
    server.volume.update(
        {
            "tls.crt": pki.crt("server-2"),
            "tls.key": pki.key("server-2"),
            "ca.crt": pki.crt("client-ca-2"),
        }
    )
    delay = _wait_for(
        "the new certificate and CA in use",
        lambda: _serves(server, "03EA", "scheduler-2"),
        RELOAD_SECONDS + MARGIN_SECONDS,
    )
    print(f"\nrotation picked up after {delay:.2f} s (polling every {RELOAD_SECONDS:g} s)")
    assert server.proc.poll() is None and server.proc.pid == pid
    # the removed CA is no longer trusted: its certificate fails the handshake
    print(f"client of the removed CA: {server.refused('/filter', client='scheduler')}")
    assert "TLS files reloaded" in server.log()
    reload_line = next(line for line in server.log().splitlines() if "TLS files reloaded" in line)
    entry = json.loads(reload_line)
    assert entry["level"] == "info"
    assert entry["changed"] == ["cert_file", "client_ca_file", "key_file"]


def test_unusable_files_keep_the_previous_ones(server: TlsServer, pki: Pki) -> None:
    """A half-written or broken renewal never takes the server down."""
    current = {
        "tls.crt": pki.crt("server-2"),
        "tls.key": pki.key("server-2"),
        "ca.crt": pki.crt("client-ca-2"),
    }
    # a key that does not match the certificate, then a CA file with no certificate in it
    for broken in ({"tls.key": pki.key("server-1")}, {"ca.crt": b"not a certificate\n"}):
        warnings = server.log().count("cannot be used")
        server.volume.update({**current, **broken})
        _wait_for(
            "the warning",
            lambda n=warnings: server.log().count("cannot be used") > n,
            RELOAD_SECONDS + MARGIN_SECONDS,
        )
        assert _serves(server, "03EA", "scheduler-2")
    entries = [json.loads(line) for line in server.log().splitlines() if "cannot be used" in line]
    assert [e["level"] for e in entries] == ["warning", "warning"]
    assert "KEY_VALUES_MISMATCH" in entries[0]["error"].upper().replace(" ", "_")
    assert "client CA" in entries[1]["error"]
    # repaired: picked up again (the server's own certificate changes back to prove it)
    server.volume.update(
        {**current, "tls.crt": pki.crt("server-1"), "tls.key": pki.key("server-1")}
    )
    _wait_for(
        "the repaired files in use",
        lambda: _serves(server, "03E9", "scheduler-2"),
        RELOAD_SECONDS + MARGIN_SECONDS,
    )


def tls_options(volume: SecretVolume) -> list[str]:
    """`serve`'s options for the certificate, key and client CA a Secret volume holds."""
    return [
        "--tls-cert-file",
        str(volume.path("tls.crt")),
        "--tls-key-file",
        str(volume.path("tls.key")),
        "--tls-client-ca-file",
        str(volume.path("ca.crt")),
    ]


def _start_fails(*options: str) -> str:
    """`weighbridge serve` on the example with these options stops at once (exit code 2):
    what it says on stderr."""
    command = [*weighbridge_command(), "serve", "--snapshot", str(CLUSTER), *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    return done.stderr


def test_start_fails_on_unusable_files_and_flags_are_checked(pki: Pki, tmp_path: Path) -> None:
    volume = SecretVolume(tmp_path / "secret")
    volume.update({**_first_files(pki), "ca.crt": b""})
    said = _start_fails(*tls_options(volume))
    assert "cannot load the client CA" in said
    said = _start_fails("--tls-client-ca-file", "x")
    assert "--tls-client-ca-file needs --tls-cert-file and --tls-key-file" in said


@pytest.mark.parametrize("mode", ["plain", "tls", "mutual-tls", "plain-snapshot"])
def test_live_mode_warns_when_bind_is_open_to_anyone(mode: str, pki: Pki, tmp_path: Path) -> None:
    """Live mode (no --snapshot) serves bind; an API server that never answers is enough to
    see what the process says as it starts. A snapshot extender binds nothing: no warning."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    config = tmp_path / "config.yaml"
    config.write_text("server: {shutdown_delay_seconds: 0}\n")
    source = ["--snapshot", str(CLUSTER)] if mode == "plain-snapshot" else []
    tls: list[str] = []
    if mode in ("tls", "mutual-tls"):
        tls = ["--tls-cert-file", str(pki.crt("server-1")), "--tls-key-file"]
        tls.append(str(pki.key("server-1")))
    if mode == "mutual-tls":
        tls += ["--tls-client-ca-file", str(pki.crt("client-ca"))]
    log_path = tmp_path / "weighbridge.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                *weighbridge_command(),
                "serve",
                *(source or ["--kubeconfig", str(kubeconfig)]),
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(free_port()),
                *tls,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for("serving", lambda: '"msg": "serving"' in log_path.read_text(), 30)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line[:1] == "{"]
    warnings = [e for e in entries if "without client authentication" in e["msg"]]
    serving = next(e for e in entries if e["msg"] == "serving")
    if mode in ("mutual-tls", "plain-snapshot"):
        assert warnings == []
    else:
        (warning,) = warnings
        assert warning["level"] == "warning"
        assert "--tls-client-ca-file" in warning["msg"]
    expected = {"tls": "https", "mutual-tls": "https with client certificates"}
    assert serving["scheme"] == expected.get(mode, "http")
