"""Capacity benchmark: `.venv/bin/python bench/capacity.py` (about a minute on 2 cores).

How long `weighbridge capacity` (and POST /capacity) takes to place a few hundred copies of
a pod on the synthetic clusters of bench/bench.py (500 and 5,000 nodes, ~30 pods each), with
Nova's default filters and weighers plus the benchmark's capacity filters. The baseline,
measured in the same run, is Nova's own way: every copy runs each filter's `host_passes`
and each weigher's `_weigh_object` host by host, then consumes the best host. Both must
place the same copies on the same nodes, which the script checks before it prints a figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import FILTERS, WEIGHERS, build_ours, make_cluster  # noqa: E402
from extender.engine.scheduler import Scheduler  # noqa: E402
from extender.engine.weighers import normalize  # noqa: E402
from extender.model.hoststate import HostState  # noqa: E402
from extender.model.request import RequestSpec, build_request_spec  # noqa: E402
from extender.model.table import HostTable  # noqa: E402
from extender.service.capacity import count, shape_pod  # noqa: E402

SHAPES = {
    "small": {"cpu": "250m", "memory": "512Mi"},
    "large": {"cpu": "4", "memory": "16Gi"},
}


def per_host(table: HostTable, scheduler: Scheduler, spec: RequestSpec, maximum: int) -> list[str]:
    """The baseline: Nova's per-host rules, one host at a time, for every copy."""
    placed: list[str] = []
    for i in range(maximum):
        copy = replace(spec, uid=f"{spec.uid}#capacity-{i}")
        hosts = list(table.hosts)
        for f in scheduler.filters:
            if f.applies(copy):
                hosts = [h for h in hosts if f.host_passes(h, copy) is None]
        hosts = [h for h in hosts if _fits(h, copy)]
        if not hosts:
            break
        weights = np.zeros(len(hosts))
        if len(hosts) > 1:
            for w in scheduler.weighers:
                if w.multiplier and w.applies(copy):
                    raw = np.array([w._weigh_object(h, copy) for h in hosts])
                    weights += w.multiplier * normalize(raw, w.minval, w.maxval)
        best = hosts[int(np.argmax(weights))]
        table.add_pod(best.host, copy.as_instance())
        placed.append(best.host)
    return placed


def _fits(host: HostState, spec: RequestSpec) -> bool:
    """kube-scheduler's NodeResourcesFit for the shapes used here (cpu, memory, pod count)."""
    free_cpu = host.vcpus_total - host.vcpus_used
    return (
        host.num_instances + 1 <= host.max_pods
        and (spec.vcpus <= 0 or free_cpu >= spec.vcpus - 1e-9)
        and (spec.memory_mb <= 0 or host.free_ram_mb >= spec.memory_mb)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scheduler = Scheduler(FILTERS, WEIGHERS)
    print(f"capacity: up to {args.copies} copies; filters {', '.join(FILTERS)}")
    print("ours: vectorised over a copy of the table; baseline: per-host rules (Nova's way)")
    with tempfile.TemporaryDirectory(prefix="weighbridge-capacity-") as tmp:
        for size in args.sizes:
            state, _, _ = build_ours(make_cluster(size, Path(tmp)))
            print(f"\n=== {size:,} nodes, {state.pod_count:,} pods")
            for shape, requests in SHAPES.items():
                spec = build_request_spec(shape_pod(shape, requests))
                ours, copies_s, placed = [], [], []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    table = state.table.copy()
                    copies_s.append(time.perf_counter() - t0)
                    headroom = count(table, scheduler, spec, args.copies, "nova")
                    ours.append(time.perf_counter() - t0)
                    placed = headroom.placed
                t0 = time.perf_counter()
                reference = per_host(state.table.copy(), scheduler, spec, args.copies)
                baseline = time.perf_counter() - t0
                assert placed == reference, f"{shape}: ours and the baseline disagree"
                best = min(ours)
                print(
                    f"  {shape:<6} {len(placed):>4} copies fit: ours {best * 1000:7.1f} ms "
                    f"(of which the table copy {min(copies_s) * 1000:5.1f} ms), baseline "
                    f"{baseline * 1000:8.1f} ms, ratio {best / baseline:.3f}; "
                    f"{best / max(len(placed), 1) * 1e6:.0f} us per copy"
                )


if __name__ == "__main__":
    main()
