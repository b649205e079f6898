"""Fixtures for end-to-end tests against a real etcd, kube-apiserver and kube-scheduler
(the control plane itself, shared with the image tier, is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.localcluster import ControlPlane

from .kube import Weighbridge


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
