"""The server's TLS: an optional client CA (mutual TLS), and files re-read when they change.

cert-manager renews certificates in place and the kubelet swaps a mounted Secret's files by
an atomic symlink change, so the files are polled by content (through the symlinks) and a
change builds a new context. The listening socket keeps one outer context whose SNI
callback, called for every handshake (with or without a server name), hands the connection
the newest inner context: OpenSSL then serves that context's certificate and verifies the
client against that context's CA store, so a CA taken out of the file stops being trusted
by new handshakes. A file that cannot be read or parsed leaves the previous context in use.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from extender.errors import WeighbridgeError

log = logging.getLogger(__name__)

#: how often the files are checked; the kubelet's own delay in updating a mounted Secret
#: (up to about a minute) is far larger, so polling faster buys nothing
DEFAULT_RELOAD_SECONDS = 5.0


class TLSError(WeighbridgeError):
    """A certificate, key or CA file that cannot be read or used."""


@dataclass(frozen=True)
class TLSFiles:
    """Where the server's certificate, its key and, for mutual TLS, the client CA are."""

    cert_file: str
    key_file: str
    client_ca_file: str | None = None

    def paths(self) -> dict[str, str]:
        """The files by the option that names them, for the rotation log."""
        named = {"cert_file": self.cert_file, "key_file": self.key_file}
        if self.client_ca_file:
            named["client_ca_file"] = self.client_ca_file
        return named


def _fingerprint(path: str) -> str:
    """The file's content hash, or why it cannot be read: a change of either is a change.
    Reading through the path follows the kubelet's ..data symlink to the current files."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def _harden(ctx: ssl.SSLContext, client_auth: bool) -> None:
    """Settings the outer and the inner contexts share. With a client CA only TLS 1.3, with
    no session tickets: a resumed session skips the certificate check and keeps the peer
    certificate of the session it resumes, so resumption (TLS 1.2 resumes from the outer
    context's session cache, which no rotation empties) would let a client whose CA was
    removed back in. Every Go client (kube-scheduler, the kubelet, Prometheus) speaks 1.3."""
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_auth:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.num_tickets = 0
        ctx.options |= ssl.OP_NO_TICKET
        # CERT_OPTIONAL: a client without a certificate completes the handshake (the probes
        # and Prometheus), and the app answers it 401 on everything else; a certificate the
        # CA did not sign fails the handshake.
        ctx.verify_mode = ssl.CERT_OPTIONAL


def build_context(files: TLSFiles) -> ssl.SSLContext:
    """A server context from the files as they are now; TLSError when they cannot be used.

    A bare PROTOCOL_TLS_SERVER context on purpose: create_default_context(CLIENT_AUTH)
    would load the system's CAs into the store that verifies client certificates."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(ctx, files.client_ca_file is not None)
    try:
        ctx.load_cert_chain(files.cert_file, files.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise TLSError(f"cannot load the TLS certificate or key: {exc}") from None
    if files.client_ca_file is not None:
        try:
            ctx.load_verify_locations(cadata=Path(files.client_ca_file).read_text())
        except (OSError, ValueError, ssl.SSLError) as exc:
            # ValueError: an empty file; SSLError: no certificate in it
            raise TLSError(f"cannot load the client CA {files.client_ca_file}: {exc}") from None
    return ctx


class ServerTLS:
    """The listening socket's TLS context, following the files as they change.

    `context` is what the server listens with; `reload()` rebuilds the inner context when a
    file's content changed, and `watch()` calls it every `reload_seconds`."""

    def __init__(self, files: TLSFiles, reload_seconds: float = DEFAULT_RELOAD_SECONDS) -> None:
        if reload_seconds <= 0:
            raise TLSError(f"the TLS reload interval must be positive, not {reload_seconds:g}")
        self.files = files
        self.reload_seconds = reload_seconds
        self._seen = self._fingerprints()
        # at start a broken file is fatal (TLSError), later it only keeps the old context
        self._current = build_context(files)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # The outer context has no certificate and no CA of its own: a handshake the SNI
        # callback did not hand a current context fails instead of using stale ones. Its
        # verify mode and versions are what OpenSSL keeps when the context is swapped.
        _harden(self.context, self.client_auth)
        self.context.sni_callback = self._select

    @property
    def client_auth(self) -> bool:
        """Whether clients are asked for a certificate signed by the client CA."""
        return self.files.client_ca_file is not None

    def _select(
        self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext
    ) -> None:
        """Every new handshake gets the newest context (its certificate and its CA store)."""
        connection.context = self._current

    def _fingerprints(self) -> dict[str, str]:
        return {name: _fingerprint(path) for name, path in self.files.paths().items()}

    def reload(self) -> bool:
        """Rebuild the context if a file changed; True when new handshakes now use new files.

        A change that cannot be used is logged once, as a warning, and the previous context
        stays; the next change of any file is tried again."""
        seen = self._fingerprints()
        changed = sorted(name for name, value in seen.items() if value != self._seen.get(name))
        if not changed:
            return False
        self._seen = seen
        try:
            fresh = build_context(self.files)
        except TLSError as exc:
            log.warning(
                "TLS files changed but cannot be used; still serving the previous ones",
                extra={"changed": changed, "error": str(exc)},
            )
            return False
        self._current = fresh
        extra: dict[str, object] = {"changed": changed}
        if self.client_auth:
            extra["client_ca_certificates"] = fresh.cert_store_stats()["x509"]
        log.info("TLS files reloaded: new connections use them", extra=extra)
        return True

    async def watch(self) -> None:
        """Poll the files until cancelled; an unexpected error is logged, never fatal."""
        while True:
            await asyncio.sleep(self.reload_seconds)
            try:
                self.reload()
            except Exception:
                log.exception("checking the TLS files failed; trying again")
