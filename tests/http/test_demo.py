"""The README's first command: `weighbridge demo` serves the bundled cluster and plays
kube-scheduler against it over HTTP; its output shows each filter's work and the ranking."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests import weighbridge_command


def _demo() -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*weighbridge_command(), "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_demo_shows_the_filters_and_the_ranking() -> None:
    proc = _demo()
    out = proc.stdout
    assert re.search(r"serving cluster\.yaml on http://127\.0\.0\.1:\d+", out)
    assert "cache: 36 nodes" in out
    for pod in (
        "shop/web-small",
        "shop/analytics-large",
        "shop/api-zonal",
        "platform/sensor-edge",
        "shop/too-big",
        "platform/pinned",
        "shop/typo",
    ):
        assert f"Pod {pod}" in out
    # each filter's counts, and reasons with the numbers
    assert re.search(r"AvailabilityZoneFilter\s+36 -> 11", out)
    assert re.search(r"ComputeFilter\s+\d+ -> \d+", out)
    assert "ComputeFilter: node is cordoned (spec.unschedulable)" in out
    assert "a pod may not overcommit its own node" in out
    # the ranking with each weigher's share, and the answers that came over HTTP
    assert (
        "ranking (weighers: RAMWeigher x1, CPUWeigher x1, DiskWeigher x1, IoOpsWeigher x-1" in out
    )
    # a column for each weigher that told the nodes apart, in full; the silent ones named
    assert re.search(r"#  node\s+score\s+weight\s+RAM\s+CPU\s+Disk\s+IoOps\s+PCI\n", out)
    assert "(0 on every node, no column: ServerGroupSoftAffinityWeigher, " in out
    assert "chosen: " in out
    assert re.search(r"/prioritize \(top 5\): (\S+=\d+, ){4}\S+=\d+", out)
    assert "no node passes: the pod stays Pending" in out
    assert "(forced nodes skip the filters)" in out
    assert "/explain answered 400: annotation weighbridge.io/hints" in out
    assert 'weighbridge_requests_total{code="200",verb="filter"} 7.0' in out


def test_demo_output_is_unchanged() -> None:
    """The whole output, against the one recorded before the package was rearranged into
    layers: moving code must not change what users see (only the port differs)."""
    proc = _demo()
    out = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", proc.stdout, count=1)
    assert out == (Path(__file__).with_name("demo-output.txt")).read_text()
