"""Fixtures every tier that needs a cluster shares: one control plane per session (the e2e
and the image tiers run in one pytest, and start it once)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devtools.localcluster import ControlPlane, binaries_dir
from tests.e2e.kube import create_namespace


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
    """A fresh namespace per test."""
    return create_namespace(control_plane, f"t-{uuid.uuid4().hex[:10]}")
