"""The naive baseline the benchmark compares against: what a first extender would do.

Standard-library json into dicts, the cache as dicts of the objects themselves, and a plain
Python loop over those dicts per request, doing the same checks and weights as weighbridge's
configuration in bench.py (AvailabilityZone, Ram, Disk, Compute, Core, NumInstances, IoOps;
RAM, CPU, Disk and IoOps weighers, normalised per request and mapped onto 0..10). It gives
the same answers; only the engineering differs. Run as a script it serves /filter and
/prioritize over aiohttp, like weighbridge.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from aiohttp import web

_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}
MIB = 2**20
MAX_IO_OPS = 8
MAX_INSTANCES = 50
DEFAULT_ZONE = "nova"
ZONE_LABEL = "topology.kubernetes.io/zone"
ZONE_ANNOTATION = "weighbridge.io/availability-zone"
WEIGHERS = {"ram": 1.0, "cpu": 1.0, "disk": 1.0, "io": -1.0}


def quantity(text: Any) -> float:
    if not isinstance(text, str):
        return float(text)
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"):
        if text.endswith(suffix):
            return float(text[:-2]) * _SUFFIX[suffix]
    if text[-1] in _SUFFIX and not text[-1].isdigit():
        return float(text[:-1]) * _SUFFIX[text[-1]]
    return float(text)


def pod_requests(pod: dict[str, Any]) -> dict[str, float]:
    """Sum of container requests (limits standing in), max'd with init containers."""
    total: dict[str, float] = {}
    for c in pod.get("spec", {}).get("containers", []):
        res = c.get("resources", {})
        for name, q in {**res.get("limits", {}), **res.get("requests", {})}.items():
            total[name] = total.get(name, 0.0) + quantity(q)
    for c in pod.get("spec", {}).get("initContainers", []):
        res = c.get("resources", {})
        for name, q in {**res.get("limits", {}), **res.get("requests", {})}.items():
            total[name] = max(total.get(name, 0.0), quantity(q))
    return total


class NaiveCache:
    """Nodes and pods as the dicts json gave us; per node, the sums its pods request."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, dict[str, Any]] = {}
        self.used: dict[str, dict[str, float]] = {}
        for obj in objects:
            if obj.get("kind") == "Node":
                self.nodes[obj["metadata"]["name"]] = obj
                self.used[obj["metadata"]["name"]] = {
                    "cpu": 0.0,
                    "memory": 0.0,
                    "ephemeral-storage": 0.0,
                    "pods": 0,
                    "io": 0,
                }
        for obj in objects:
            if obj.get("kind") != "Pod":
                continue
            node = obj.get("spec", {}).get("nodeName")
            phase = obj.get("status", {}).get("phase")
            if not node or phase in ("Succeeded", "Failed") or node not in self.used:
                continue
            self.pods[obj["metadata"]["uid"]] = obj
            used = self.used[node]
            for name, value in pod_requests(obj).items():
                if name in used:
                    used[name] += value
            used["pods"] += 1
            if phase in ("", "Pending") or obj["metadata"].get("deletionTimestamp"):
                used["io"] += 1


def _check(cache: NaiveCache, name: str, req: dict[str, float], zone: str | None) -> str | None:
    node = cache.nodes.get(name)
    if node is None:
        return f"node {name} is not in the cache"
    alloc = node["status"]["allocatable"]
    used = cache.used[name]
    if zone is not None:
        node_zone = node["metadata"].get("labels", {}).get(ZONE_LABEL, DEFAULT_ZONE)
        if node_zone != zone:
            return f"AvailabilityZoneFilter: requested zone {zone!r}, node is in {node_zone}"
    ram_total = quantity(alloc.get("memory", 0)) / MIB
    ram_req = req.get("memory", 0.0) / MIB
    if ram_total < ram_req or ram_total - used["memory"] / MIB < ram_req:
        return f"RamFilter: requested {ram_req:.0f}Mi"
    disk_total = quantity(alloc.get("ephemeral-storage", 0)) / MIB
    disk_req = req.get("ephemeral-storage", 0.0) / MIB
    if disk_total < disk_req or disk_total - used["ephemeral-storage"] / MIB < disk_req:
        return f"DiskFilter: requested {disk_req:.0f}Mi"
    if node.get("spec", {}).get("unschedulable"):
        return "ComputeFilter: node is cordoned"
    ready = any(
        c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", [])
    )
    if not ready:
        return "ComputeFilter: node is not Ready"
    cpu_total = quantity(alloc.get("cpu", 0))
    cpu_req = req.get("cpu", 0.0)
    if cpu_total and (cpu_req > cpu_total or cpu_total - used["cpu"] < cpu_req):
        return f"CoreFilter: requested {cpu_req:g} vCPUs"
    if used["pods"] >= MAX_INSTANCES:
        return "NumInstancesFilter"
    if used["io"] >= MAX_IO_OPS:
        return "IoOpsFilter"
    return None


def naive_filter(
    cache: NaiveCache, pod: dict[str, Any], names: list[str]
) -> tuple[list[str], dict[str, str]]:
    req = pod_requests(pod)
    zone = pod.get("metadata", {}).get("annotations", {}).get(ZONE_ANNOTATION)
    passed: list[str] = []
    failed: dict[str, str] = {}
    for name in names:
        reason = _check(cache, name, req, zone)
        if reason is None:
            passed.append(name)
        else:
            failed[name] = reason
    return passed, failed


def naive_prioritize(cache: NaiveCache, names: list[str]) -> list[dict[str, Any]]:
    known = [n for n in names if n in cache.nodes]
    raw: dict[str, list[float]] = {k: [] for k in WEIGHERS}
    for name in known:
        alloc = cache.nodes[name]["status"]["allocatable"]
        used = cache.used[name]
        raw["ram"].append(max(0.0, (quantity(alloc.get("memory", 0)) - used["memory"]) / MIB))
        raw["cpu"].append(max(0.0, quantity(alloc.get("cpu", 0)) - used["cpu"]))
        raw["disk"].append(
            max(
                0.0, (quantity(alloc.get("ephemeral-storage", 0)) - used["ephemeral-storage"]) / MIB
            )
        )
        raw["io"].append(float(used["io"]))
    totals = [0.0] * len(known)
    # scores span the sums of the weighers that told the hosts apart (all, when none did)
    told = list(WEIGHERS.values())
    if len(known) > 1:
        told = []
        for key, multiplier in WEIGHERS.items():
            values = raw[key]
            hi = max(values)
            if hi == 0:
                continue
            told.append(multiplier)
            for i, v in enumerate(values):
                totals[i] += multiplier * v / hi
        told = told or list(WEIGHERS.values())
    lo = sum(min(0.0, m) for m in told)
    span = sum(max(0.0, m) for m in told) - lo
    ranked = sorted(zip(known, totals, strict=True), key=lambda p: -p[1])
    return [
        {"Host": n, "Score": min(10, max(0, math.floor((w - lo) * 10 / span + 0.5)))}
        for n, w in ranked
    ]


def _names(args: dict[str, Any]) -> list[str]:
    if args.get("NodeNames") is not None:
        return list(args["NodeNames"])
    return [n["metadata"]["name"] for n in args["Nodes"]["items"]]


def make_app(cache: NaiveCache) -> web.Application:
    async def filter_(request: web.Request) -> web.Response:
        args = json.loads(await request.read())
        passed, failed = naive_filter(cache, args["Pod"], _names(args))
        if args.get("NodeNames") is not None:
            answer = {"Nodes": None, "NodeNames": passed}
        else:
            keep = set(passed)
            items = [n for n in args["Nodes"]["items"] if n["metadata"]["name"] in keep]
            answer = {
                "Nodes": {"kind": "NodeList", "apiVersion": "v1", "items": items},
                "NodeNames": None,
            }
        answer.update(FailedNodes=failed, FailedAndUnresolvableNodes={}, Error="")
        return web.json_response(answer)

    async def prioritize(request: web.Request) -> web.Response:
        args = json.loads(await request.read())
        return web.json_response(naive_prioritize(cache, _names(args)))

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_post("/filter", filter_)
    app.router.add_post("/prioritize", prioritize)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--snapshot", nargs="+", required=True, help="JSON Lists of objects")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    objects: list[dict[str, Any]] = []
    for path in args.snapshot:
        with open(path) as f:
            objects.extend(json.load(f)["items"])
    cache = NaiveCache(objects)
    del objects
    web.run_app(make_app(cache), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
