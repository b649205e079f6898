"""The demo: serve the bundled example cluster and play kube-scheduler against it over HTTP.

Every answer printed here came back from the running extender through the real extender
protocol: /filter and /prioritize as kube-scheduler sends them (node names), and /explain,
the what-if view of what each filter did.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import yaml
from aiohttp import web

from extender.cache.snapshot import load_snapshot, read_objects
from extender.http.server import make_app
from extender.http.server import runner as served
from extender.kube.objects import Pod
from extender.service.config import load_config
from extender.service.explain import render
from extender.service.extender import Extender

#: the example clusters and pods, in the checkout (the wheel does not ship them)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example_path(name: str) -> Path:
    return EXAMPLES / name


def yaml_objects(path: Path) -> list[dict[str, Any]]:
    """The objects of a YAML file as written: its documents, with Lists flattened."""
    found: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(path.read_text()):
        if doc is None:
            continue
        found.extend(doc["items"] if doc.get("kind") == "List" else [doc])
    return found


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with session.post(url, data=msgspec.json.encode(body)) as response:
        return response.status, await response.json()


def _filter_line(answer: dict[str, Any], asked: int) -> str:
    passed = answer["NodeNames"] or []
    return (
        f"  /filter: {len(passed)} of {asked} nodes pass; FailedNodes "
        f"{len(answer['FailedNodes'])}, FailedAndUnresolvableNodes "
        f"{len(answer['FailedAndUnresolvableNodes'])}"
    )


async def _play(base: str, pods: list[Pod], names: list[str]) -> None:
    async with aiohttp.ClientSession() as session:
        for pod in pods:
            body = {"Pod": msgspec.to_builtins(pod), "Nodes": None, "NodeNames": names}
            print("=" * 100)
            _, filtered = await _post(session, f"{base}/filter", body)
            status, report = await _post(session, f"{base}/explain", body)
            if status == 200:
                print(render(report, max_reasons=3, top=5))
            else:
                print(
                    f"Pod {pod.metadata.namespace}/{pod.metadata.name}: /explain answered "
                    f"{status}: {report['Error']}"
                )
            print(_filter_line(filtered, len(names)))
            unresolvable = filtered["FailedAndUnresolvableNodes"]
            if unresolvable and not filtered["NodeNames"]:
                first = next(iter(unresolvable.items()))
                print(f"  e.g. {first[0]}: {first[1]}")
            passed = filtered["NodeNames"] or []
            if len(passed) > 1:
                _, prio = await _post(session, f"{base}/prioritize", {**body, "NodeNames": passed})
                best = sorted(prio, key=lambda p: -p["Score"])[:5]
                print(
                    "  /prioritize (top 5): " + ", ".join(f"{p['Host']}={p['Score']}" for p in best)
                )
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
        calls = [
            line for line in text.splitlines() if line.startswith("weighbridge_requests_total{")
        ]
        print("=" * 100)
        print("extender metrics after the demo:")
        for line in calls:
            print("  " + line)


async def _demo(port: int, config_path: str | None) -> None:
    config = load_config(config_path)
    cluster = example_path("cluster.yaml")
    state = load_snapshot([cluster], config.options)
    pods = [o for o in read_objects([example_path("pods.yaml")]) if isinstance(o, Pod)]
    extender = Extender(state, config.scheduler())
    runner = served(make_app(extender, config.server), config.server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"weighbridge demo: extender serving {cluster.name} on http://127.0.0.1:{bound}")
    print(
        f"  cache: {state.node_count} nodes, {state.pod_count} pods, "
        f"{len(state.aggregates)} aggregates; filters: {', '.join(config.filters)}"
    )
    try:
        names = [h.host for h in state.table.hosts]
        await _play(f"http://127.0.0.1:{bound}", pods, names)
    finally:
        await runner.cleanup()


def run_demo(port: int = 0, config_path: str | None = None) -> int:
    asyncio.run(_demo(port, config_path))
    return 0
