"""Why a pod goes where it goes: each filter's counts and reasons, then the weighed ranking
with each weigher's share. Served as JSON by POST /explain and printed by the CLI and demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extender.engine.scheduler import FilterResult, Scheduler, Weighing
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec


@dataclass(slots=True)
class Decision:
    """Everything the engine did for one pod, for `explain` and the demo."""

    spec: RequestSpec
    candidates: int
    unknown: list[str]
    filtering: FilterResult
    weighing: Weighing


def request_summary(spec: RequestSpec) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "pod": f"{spec.project_id}/{spec.name}",
        "memory_mb": spec.memory_mb,
        "vcpus": spec.vcpus,
        "disk_mb": spec.disk_mb,
    }
    extras = {
        "devices": spec.pci_requests,
        "availability_zone": spec.availability_zone,
        "flavor": spec.flavor,
        "server_group": (
            f"{spec.instance_group.name} ({spec.instance_group.policies[0]})"
            if spec.instance_group and spec.instance_group.policies
            else None
        ),
        "force_hosts": spec.force_hosts,
        "ignore_hosts": spec.ignore_hosts,
        "extra_specs": spec.extra_specs,
        "image_properties": spec.image_properties,
        "hints": spec.scheduler_hints,
        "numa_policy": spec.numa_policy,
    }
    summary.update({k: v for k, v in extras.items() if v})
    return summary


def report(decision: Decision, scheduler: Scheduler, hosts: list[HostState]) -> dict[str, Any]:
    """A JSON-ready account of one decision."""
    w = decision.weighing
    ranking = []
    for i, row in enumerate(w.rows.tolist()):
        host = hosts[row]
        ranking.append(
            {
                "node": host.host,
                "score": int(w.scores[i]),
                "weight": round(float(w.weights[i]), 6),
                "contributions": {
                    name: round(float(share[i]), 6) + 0.0 for name, share in w.contributions.items()
                },
                "free_ram_mb": host.free_ram_mb,
                "free_vcpus": round(host.vcpus_total - host.vcpus_used, 3),
                "num_instances": host.num_instances,
            }
        )
    lo, hi = w.bounds
    return {
        "request": request_summary(decision.spec),
        "candidates": decision.candidates,
        "unknown_nodes": decision.unknown,
        "forced": decision.filtering.forced,
        "filters": [
            {"name": s.name, "start": s.start, "end": s.end, "rejected": s.rejected}
            for s in decision.filtering.steps
        ],
        "weighers": {wr.name: wr.multiplier for wr in scheduler.weighers},
        "score_bounds": [lo, hi],
        "ranking": ranking,
    }


def _fmt_request(req: dict[str, Any]) -> str:
    parts = [
        f"memory {req['memory_mb']:g}Mi",
        f"cpu {req['vcpus']:g}",
        f"disk {req['disk_mb']:g}Mi",
    ]
    for key in (
        "devices",
        "availability_zone",
        "flavor",
        "server_group",
        "force_hosts",
        "ignore_hosts",
        "extra_specs",
        "image_properties",
        "hints",
        "numa_policy",
    ):
        if key in req:
            parts.append(f"{key} {req[key]}")
    return ", ".join(parts)


def render_steps(steps: list[dict[str, Any]], max_reasons: int | None = None) -> list[str]:
    """Each filter's `in -> out` count and the reasons of the nodes it rejected."""
    lines = []
    for step in steps:
        lines.append(f"    {step['name']:<34} {step['start']:>5} -> {step['end']:<5}")
        reasons = sorted(step["rejected"].items())
        shown = reasons if max_reasons is None else reasons[:max_reasons]
        for node, reason in shown:
            lines.append(f"        {node}: {reason}")
        if len(shown) < len(reasons):
            lines.append(f"        ... and {len(reasons) - len(shown)} more")
    return lines


def render(rep: dict[str, Any], max_reasons: int | None = None, top: int | None = None) -> str:
    """Plain text for a terminal; `max_reasons` and `top` shorten long lists."""
    lines = [f"Pod {rep['request']['pod']}: {_fmt_request(rep['request'])}"]
    lines.append(f"  candidates: {rep['candidates']} nodes")
    for name in rep["unknown_nodes"]:
        lines.append(f"  unknown to the cache: {name}")
    lines.append("  filters:")
    lines.extend(render_steps(rep["filters"], max_reasons))
    if rep["forced"]:
        lines.append("    (forced nodes skip the filters)")
    ranking = rep["ranking"]
    if not ranking:
        lines.append("  no node passes: the pod stays Pending")
        return "\n".join(lines)
    weighers = list(rep["weighers"])
    mults = ", ".join(f"{n} x{m:g}" for n, m in rep["weighers"].items())
    lines.append(
        f"  ranking (weighers: {mults}; score 0..10 over sums "
        f"{rep['score_bounds'][0]:g}..{rep['score_bounds'][1]:g}):"
    )
    # a column for each weigher that told the nodes apart, named in full
    told = [n for n in weighers if any(e["contributions"].get(n, 0.0) for e in ranking)]
    labels = {n: n.removesuffix("Weigher") for n in told}
    widths = {n: max(len(label), 7) for n, label in labels.items()}
    header = f"    {'#':>3}  {'node':<22} {'score':>5} {'weight':>8}"
    header += "".join(f" {labels[n]:>{widths[n]}}" for n in told)
    lines.append(header)
    shown_rank = ranking if top is None else ranking[:top]
    for i, entry in enumerate(shown_rank, 1):
        row = f"    {i:>3}  {entry['node']:<22} {entry['score']:>5} {entry['weight']:>8.3f}"
        row += "".join(f" {entry['contributions'].get(n, 0.0):>{widths[n]}.3f}" for n in told)
        lines.append(row)
    if len(shown_rank) < len(ranking):
        lines.append(f"    ... and {len(ranking) - len(shown_rank)} more")
    quiet = [n for n in weighers if n not in told]
    if len(ranking) == 1:
        lines.append("    (one node left: no weigher runs, as in Nova)")
    elif quiet:
        lines.append(f"    (0 on every node, no column: {', '.join(quiet)})")
    lines.append(f"  chosen: {ranking[0]['node']}")
    return "\n".join(lines)
