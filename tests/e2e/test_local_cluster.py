"""The local cluster command for newcomers: `weighbridge cluster --demo` places the example
pods through the real kube-scheduler and explains each decision."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_cluster_demo_places_the_example_pods(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "extender.cli", "cluster", "--demo", "--work-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "local cluster up: 36 nodes" in out
    assert (
        "Pod shop/analytics-large was bound to" in out
        and "-mem-" in out.split("Pod shop/analytics-large was bound to")[1].splitlines()[0]
    )
    assert "Pod platform/sensor-edge was bound to edge-0" in out
    assert "Pod shop/too-big is Pending" in out
    assert "Pod shop/typo is Pending" in out and "annotation weighbridge.io/hints" in out
