"""Fixtures for end-to-end tests against a real etcd, kube-apiserver and kube-scheduler."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devtools.localcluster import ControlPlane, binaries_dir

from .kube import Weighbridge, create_namespace


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


@pytest.fixture(scope="module")
def wb(
    request: pytest.FixtureRequest,
    control_plane: ControlPlane,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Weighbridge]:
    """`weighbridge serve` on the control plane (its CRDs installed) with the configuration
    of the test module (its CONFIG), shared by the module's tests."""
    control_plane.install_crds()
    work = tmp_path_factory.mktemp("wb")
    with Weighbridge(control_plane.kubeconfig_path, request.module.CONFIG, work) as extender:
        yield extender
