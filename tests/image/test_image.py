"""The image built and run as the chart runs it: user 65532, read-only root filesystem with
only /tmp writable (the chart's emptyDir), every capability dropped, no privilege
escalation, the configuration mounted as a single read-only file as the ConfigMap is.

Host networking stands in for the pod network: the container reaches the session's
kube-apiserver on 127.0.0.1 and kube-scheduler reaches the container the same way.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

import pytest

from devtools.localcluster import ControlPlane, free_port
from tests import REPO
from tests.e2e.kube import (
    create_pod,
    make_node,
    scheduler_config,
    scheduler_running,
    unique,
    wait_bound,
    wait_for,
)

from .conftest import Image

pytestmark = pytest.mark.image

DEPLOYMENT = REPO / "charts" / "weighbridge" / "templates" / "deployment.yaml"
#: The chart sets no terminationGracePeriodSeconds: Kubernetes' default applies.
GRACE_SECONDS = 30
#: What the chart's ConfigMap holds with the default (empty) `config` value.
CHART_CONFIG = "# weighbridge configuration; reference: docs/configuration.md\n{}\n"


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def run_as_the_chart(
    image: Image, containers: list[str], work: Path, kubeconfig: Path
) -> tuple[str, str]:
    """Start the extender container as the chart's Deployment does; (name, base URL)."""
    work.mkdir(parents=True, exist_ok=True)
    config = work / "config.yaml"
    config.write_text(CHART_CONFIG)
    # The kubeconfig stands in for the ServiceAccount token the pod would mount.
    kube = work / "kubeconfig"
    kube.write_bytes(kubeconfig.read_bytes())
    for path in (config, kube):
        path.chmod(0o644)
    port = free_port()
    name = unique("wb-image")
    containers.append(name)
    image.podman(
        "run",
        "--detach",
        f"--name={name}",
        "--network=host",
        "--user=65532:65532",
        "--read-only",
        "--read-only-tmpfs=false",
        "--tmpfs=/tmp:rw,size=64m",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        f"--volume={config}:/etc/weighbridge/config.yaml:ro",
        f"--volume={kube}:/var/run/weighbridge/kubeconfig:ro",
        image.ref,
        # The chart's args, plus the kubeconfig in-cluster configuration would replace.
        "--log-level=INFO",
        "serve",
        "--config=/etc/weighbridge/config.yaml",
        "--kubeconfig=/var/run/weighbridge/kubeconfig",
        "--host=0.0.0.0",
        f"--port={port}",
    )
    return name, f"http://127.0.0.1:{port}"


def test_chart_runs_it_as_these_tests_do() -> None:
    """The settings above are the chart's: if it changes them, this tier must follow."""
    deployment = DEPLOYMENT.read_text()
    helpers = (DEPLOYMENT.parent / "_helpers.tpl").read_text()
    assert "terminationGracePeriodSeconds" not in deployment
    assert "mountPath: /tmp" in deployment and "subPath: config.yaml" in deployment
    for setting in (
        "runAsUser: 65532",
        "runAsGroup: 65532",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "drop: [ALL]",
    ):
        assert setting in helpers, setting


def test_image_layout_labels_and_no_build_tools(image: Image) -> None:
    config = json.loads(image.podman("image", "inspect", image.ref))[0]["Config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["/opt/weighbridge/bin/weighbridge"]
    assert config["Cmd"][:3] == ["serve", "--config", "/etc/weighbridge/config.yaml"]
    labels = config["Labels"]
    for key in ("version", "source", "licenses", "title"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    probe = (
        "import importlib.util as u, pathlib as p, sys;"
        "print(u.find_spec('pip') is None,"
        " not any(p.Path(d, n).exists() for d in ('/usr/bin', '/bin')"
        " for n in ('apt', 'apt-get', 'pip', 'pip3')),"
        " not any(p.Path('/usr/share', d).exists() and any(p.Path('/usr/share', d).iterdir())"
        " for d in ('doc', 'man', 'locale')),"
        " bool(list(p.Path(sys.prefix).rglob('__pycache__/*.cpython-311.pyc'))))"
    )
    out = image.python(probe)
    no_pip, no_package_tools, no_docs, compiled = out.split()
    assert no_pip == "True", "pip is in the runtime image"
    assert no_package_tools == "True", "apt or pip is in the runtime image"
    assert no_docs == "True", "docs, man pages or locales are in the runtime image"
    assert compiled == "True", "bytecode was not compiled at build time"
    version = image.podman("run", "--rm", "--network=none", "--read-only", image.ref, "--version")
    assert "0.1.0" in version


def test_sbom_lists_what_the_image_holds(image: Image) -> None:
    """The CycloneDX SBOM next to the image names every distribution the image's own
    interpreter finds in /opt/weighbridge, at the same version."""
    sbom = json.loads(image.sbom.read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    assert sbom["metadata"]["component"]["name"] == "weighbridge"
    listed = {c["name"].lower().replace("_", "-"): c["version"] for c in sbom["components"]}
    probe = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    out = image.python(probe)
    installed = {k.lower().replace("_", "-"): v for k, v in json.loads(out).items()}
    installed.pop("weighbridge")
    assert installed == listed


def test_container_is_ready_places_a_pod_and_drains_on_sigterm(
    image: Image, containers: list[str], control_plane: ControlPlane, tmp_path: Path
) -> None:
    control_plane.install_crds()
    name, url = run_as_the_chart(image, containers, tmp_path, control_plane.kubeconfig_path)
    wait_for("the container's /readyz", lambda: status(url + "/readyz") == 200 or None, 90)

    node = unique("node")
    make_node(control_plane, node)
    namespace = unique("img")
    control_plane.request(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": namespace}},
    )  # fmt: skip
    create_pod(control_plane, namespace, "p1", selector={"kubernetes.io/hostname": node})
    with scheduler_running(control_plane, scheduler_config(url)) as scheduler:
        assert wait_bound(control_plane, namespace, "p1", timeout=60) == node, scheduler.log_path
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        metrics = response.read().decode()
    calls = [line for line in metrics.splitlines() if line.startswith("weighbridge_requests_total")]
    assert any('verb="filter"' in line for line in calls), calls

    # SIGTERM as the kubelet sends it, with the chart's grace period: /readyz fails while
    # it drains, then the process exits 0 on its own, well inside the grace period.
    started = time.monotonic()
    image.podman("stop", f"--time={GRACE_SECONDS}", name, timeout=GRACE_SECONDS + 30)
    elapsed = time.monotonic() - started
    state = json.loads(image.podman("inspect", name))[0]["State"]
    assert state["ExitCode"] == 0, state
    assert elapsed < GRACE_SECONDS - 5, f"took {elapsed:.1f} s: SIGKILL, not a drain"

    # Nothing written outside /tmp (a tmpfs, as the chart's emptyDir): the container's own
    # layer holds only the mount points podman made for the two files before the start.
    mounts = ("/etc/weighbridge/config.yaml", "/run/weighbridge/kubeconfig")
    made = {str(p) for m in mounts for p in (PurePosixPath(m), *PurePosixPath(m).parents)}
    changed = [line.split(maxsplit=1) for line in image.podman("diff", name).splitlines()]
    assert [(kind, path) for kind, path in changed if path not in made or kind == "D"] == []
