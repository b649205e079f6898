"""Fixtures for end-to-end tests against a real etcd, kube-apiserver and kube-scheduler."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    from devtools.localcluster import ControlPlane, binaries_dir
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from devtools.localcluster import ControlPlane, binaries_dir


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """One control plane (etcd + kube-apiserver) shared by the whole session.

    No scheduler runs unless a test starts one; tests that do must stop it again. The
    binaries come from $WEIGHBRIDGE_BIN_DIR or the cached build; logs stay under the
    pytest temp dir (printed on failure).
    """
    work = tmp_path_factory.mktemp("controlplane")
    plane = ControlPlane(binaries_dir(), work)
    with plane:
        yield plane


@pytest.fixture
def namespace(control_plane: ControlPlane) -> str:
    """A fresh namespace per test (never deleted: without controllers deletion never ends)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    control_plane.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    return name
