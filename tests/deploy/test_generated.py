"""Generated files are up to date with their one source.

docs/configuration.md and values.schema.json's `config` come from the pydantic models; the
`explain` output in docs/filters.md from the command itself; deploy/ manifests, scheduler
configurations, alerts and dashboard come from the chart.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests import REPO

from .chart import CHART, DEPLOY


@pytest.mark.parametrize(
    "script", ["gen-config-docs.py", "gen-explain-docs.py", "render-deploy.py"]
)
def test_generated_files_are_up_to_date(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"run scripts/{script}:\n{done.stdout}{done.stderr}"


def test_plain_manifests_install_into_a_restricted_namespace() -> None:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "manifests" / "weighbridge.yaml").read_text())]
    namespace = docs[0]
    assert namespace["kind"] == "Namespace"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [d for d in docs[1:] if d["kind"] not in {"ClusterRole", "ClusterRoleBinding"}]
    assert {d["metadata"]["namespace"] for d in namespaced} == {namespace["metadata"]["name"]}
    assert "Pod" not in {d["kind"] for d in docs}, (
        "helm test hooks do not belong in plain manifests"
    )


def test_plain_crds_are_the_charts() -> None:
    shipped = list(yaml.safe_load_all((DEPLOY / "manifests" / "crds.yaml").read_text()))
    chart = [yaml.safe_load(p.read_text()) for p in sorted((CHART / "crds").glob("*.yaml"))]
    assert shipped == chart
