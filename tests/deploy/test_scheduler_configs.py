"""Every KubeSchedulerConfiguration we ship is accepted by the real kube-scheduler.

`kube-scheduler --config F --write-config-to OUT` decodes the file strictly (unknown or
miscased keys fail), validates it (weight > 0 with prioritizeVerb, one binder, extended
resource names) and builds the profiles and extender clients (so a missing caFile fails),
then writes the defaulted configuration and exits without contacting any API server.
The negative cases prove that the check catches what it claims to.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.localcluster import binaries_dir
from tests import UNREACHABLE_KUBECONFIG

from .chart import DEPLOY, VARIANTS, render, scheduler_config

SHIPPED = sorted((DEPLOY / "scheduler").glob("*.yaml"))
CHART_VARIANTS = sorted(
    name for name, values in VARIANTS.items() if values.get("scheduler", {}).get("enabled")
)


EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CA certificate for the TLS configurations' caFile to point at, beside a client
    certificate it signed (client.crt, client.key) for their certFile and keyFile: the
    scheduler loads both files while it builds the extender's client."""
    directory = tmp_path_factory.mktemp("ca")
    _openssl(
        directory,
        *("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.crt"),
        *("-days", "1", "-subj", "/CN=test-ca"),
    )
    _openssl(
        directory,
        *("req", *EC, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=client"),
    )
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    _openssl(
        directory,
        *("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key"),
        *("-set_serial", "2", "-days", "1", "-extfile", "client.ext", "-out", "client.crt"),
    )
    return directory / "ca.crt"


def run_scheduler(
    config: dict[str, Any], tmp_path: Path, ca_file: Path | None
) -> tuple[int, str, Any]:
    """Run the check with a dummy kubeconfig and, if given, ``ca_file`` as every caFile (and
    the client certificate beside it as every certFile and keyFile).

    Returns the exit code, the log and the configuration kube-scheduler wrote.
    """
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    config = {
        **config,
        "clientConnection": {**config.get("clientConnection", {}), "kubeconfig": str(kubeconfig)},
    }
    for extender in config.get("extenders", []):
        tls = extender.get("tlsConfig", {})
        if ca_file is not None and "caFile" in tls:
            tls["caFile"] = str(ca_file)
        if ca_file is not None and "certFile" in tls:
            tls["certFile"] = str(ca_file.with_name("client.crt"))
            tls["keyFile"] = str(ca_file.with_name("client.key"))
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "written.yaml"
    done = subprocess.run(
        [
            str(binaries_dir() / "kube-scheduler"),
            f"--config={path}",
            f"--write-config-to={out}",
            "--secure-port=0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    written = yaml.safe_load(out.read_text()) if out.exists() else None
    return done.returncode, done.stdout + done.stderr, written


def assert_accepted(config: dict[str, Any], tmp_path: Path, ca_file: Path) -> dict[str, Any]:
    rc, log, written = run_scheduler(config, tmp_path, ca_file)
    assert rc == 0, log
    assert isinstance(written, dict)
    assert [e["urlPrefix"] for e in written["extenders"]] == [
        e["urlPrefix"] for e in config["extenders"]
    ]
    return written


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_configuration_is_accepted(path: Path, tmp_path: Path, ca_file: Path) -> None:
    config = yaml.safe_load(path.read_text())
    written = assert_accepted(config, tmp_path, ca_file)
    (extender,) = written["extenders"]
    assert extender["filterVerb"] == "filter"
    assert extender.get("nodeCacheCapable", False) == config["extenders"][0]["nodeCacheCapable"]


@pytest.mark.parametrize("variant", CHART_VARIANTS)
def test_chart_configuration_is_accepted(variant: str, tmp_path: Path, ca_file: Path) -> None:
    config = scheduler_config(render(VARIANTS[variant]))
    written = assert_accepted(config, tmp_path, ca_file)
    profiles = [p["schedulerName"] for p in written["profiles"]]
    assert profiles == ["weighbridge-scheduler"]


def test_every_nodecachecapable_mode_and_tls_is_shipped() -> None:
    extenders = [yaml.safe_load(p.read_text())["extenders"][0] for p in SHIPPED]
    assert {e["nodeCacheCapable"] for e in extenders} == {True, False}
    assert any(e["urlPrefix"].startswith("https://") and e.get("tlsConfig") for e in extenders)
    # every TLS configuration presents a client certificate: the extender answers the
    # verbs only to callers with one (mutual TLS)
    for e in extenders:
        if e["urlPrefix"].startswith("https://"):
            assert {"caFile", "certFile", "keyFile"} <= set(e["tlsConfig"]), e
    names = {p.name for p in SHIPPED}
    assert {"default-scheduler.yaml", "second-scheduler.yaml"} <= names


BASE = {
    "apiVersion": "kubescheduler.config.k8s.io/v1",
    "kind": "KubeSchedulerConfiguration",
}
GOOD = {"urlPrefix": "http://127.0.0.1:8888", "filterVerb": "filter"}


@pytest.mark.parametrize(
    ("extenders", "message"),
    [
        ([{**GOOD, "prioritizeVerb": "prioritize"}], "must have a positive weight"),
        ([{**GOOD, "enableHttps": True}], "extenders[0].enableHttps"),
        (
            [{**GOOD, "bindVerb": "bind"}, {**GOOD, "urlPrefix": "http://b", "bindVerb": "bind"}],
            "only one extender can implement bind",
        ),
        ([{**GOOD, "managedResources": [{"name": "cpu"}]}], "invalid extended resource name"),
        (
            [{**GOOD, "urlPrefix": "https://x", "tlsConfig": {"caFile": "/nonexistent/ca.crt"}}],
            "couldn't build extenders",
        ),
        (
            [
                {
                    **GOOD,
                    "urlPrefix": "https://x",
                    "tlsConfig": {"certFile": "/nonexistent/c.crt", "keyFile": "/nonexistent/k"},
                }
            ],
            "couldn't build extenders",
        ),
    ],
)
def test_the_check_rejects_broken_configurations(
    extenders: list[dict[str, Any]], message: str, tmp_path: Path
) -> None:
    config = {**BASE, "extenders": extenders}
    rc, log, _ = run_scheduler(config, tmp_path, None)
    assert rc != 0
    assert message in log
