"""Throwaway certificates made with openssl, and TLS files laid out the way the kubelet
mounts a Secret, so tests can rotate them exactly as a renewal does.

A Secret volume holds `..data -> ..<timestamp>/` and `tls.crt -> ..data/tls.crt` (and so
on); an update writes a new timestamped directory and renames a new `..data` symlink over
the old one, so a reader sees either every old file or every new one.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


class Pki:
    """CAs and certificates in one directory, each as NAME.crt and NAME.key."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)

    def crt(self, name: str) -> Path:
        return self.dir / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.dir / f"{name}.key"

    def ca(self, name: str) -> Path:
        """A self-signed CA; its certificate."""
        _openssl(
            self.dir,
            *("req", "-x509", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.crt"),
            *("-days", "2", "-subj", f"/CN={name}"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        )
        return self.crt(name)

    def leaf(
        self, name: str, ca: str, *, serial: int, server: bool = False, hosts: tuple[str, ...] = ()
    ) -> Path:
        """A certificate `ca` signed: for serving `hosts` (IP addresses or DNS names) with
        `server`, else for client authentication only; its certificate."""
        _openssl(
            self.dir,
            *("req", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr"),
            *("-subj", f"/CN={name}"),
        )
        lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature"]
        if server:
            names = [f"IP:{h}" if h.replace(".", "").isdigit() else f"DNS:{h}" for h in hosts]
            lines += ["extendedKeyUsage=serverAuth", f"subjectAltName={','.join(names)}"]
        else:
            lines.append("extendedKeyUsage=clientAuth")
        (self.dir / f"{name}.ext").write_text("\n".join(lines) + "\n")
        _openssl(
            self.dir,
            *("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key"),
            *("-set_serial", str(serial), "-days", "1", "-extfile", f"{name}.ext"),
            *("-out", f"{name}.crt"),
        )
        return self.crt(name)

    def client_context(self, ca: str, client: str | None = None) -> ssl.SSLContext:
        """A client that trusts `ca` and, if given, presents `client`'s certificate."""
        ctx = ssl.create_default_context(cafile=str(self.crt(ca)))
        if client is not None:
            ctx.load_cert_chain(self.crt(client), self.key(client))
        return ctx


class SecretVolume:
    """A directory laid out like a mounted Secret; `update` swaps every file at once."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.dir / key

    def update(self, files: Mapping[str, bytes | Path]) -> None:
        """Write `files` (key -> content, or a file to copy) as the kubelet does."""
        data = self.dir / f"..{uuid.uuid4().hex[:12]}"
        data.mkdir()
        for key, content in files.items():
            (data / key).write_bytes(
                content if isinstance(content, bytes) else content.read_bytes()
            )
        staged = self.dir / "..data_tmp"
        staged.unlink(missing_ok=True)
        staged.symlink_to(data.name)
        os.replace(staged, self.dir / "..data")
        for key in files:
            link = self.dir / key
            if not link.is_symlink():
                link.symlink_to(f"..data/{key}")
