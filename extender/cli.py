"""`weighbridge serve`, `weighbridge explain` and `weighbridge demo`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

import yaml
from aiohttp import web

from . import __version__, logs, metrics
from .cache.snapshot import load_snapshot, read_objects
from .config import Config, load_config
from .errors import WeighbridgeError
from .explain import render, report
from .objects import Pod
from .scheduler import Scheduler
from .server import make_app
from .verbs import Extender

log = logging.getLogger("weighbridge")


def build_extender(snapshots: Sequence[str], config: Config) -> Extender:
    state = load_snapshot(snapshots, config.options)
    return Extender(state, Scheduler(config))


def read_pods(path: str) -> list[Pod]:
    pods = [o for o in read_objects([path]) if isinstance(o, Pod)]
    if not pods:
        raise WeighbridgeError(f"{path}: no Pod in it")
    return pods


async def _serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("serving", extra={"host": host, "port": port})
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not args.snapshot:
        raise WeighbridgeError("serve needs --snapshot FILE (live clusters: see the live cache)")
    extender = build_extender(args.snapshot, config)
    log.info(
        "cache loaded from snapshot",
        extra={"nodes": extender.state.node_count, "pods": extender.state.pod_count},
    )
    app = make_app(extender, config.server.max_body_bytes)
    asyncio.run(_serve(app, args.host, args.port))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    extender = build_extender(args.snapshot, config)
    for pod in read_pods(args.pod):
        decision = extender.decide(pod)
        rep = report(decision, extender.scheduler, extender.state.table.hosts)
        if args.json:
            print(json.dumps(rep, indent=2))
        else:
            print(render(rep, max_reasons=args.max_reasons, top=args.top))
            print()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(port=args.port, config_path=args.config)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weighbridge", description=__doc__)
    p.add_argument("--version", action="version", version=f"weighbridge {__version__}")
    p.add_argument("--log-level", default="INFO")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve the extender to kube-scheduler")
    s.add_argument("--snapshot", nargs="+", metavar="FILE", help="Kubernetes objects to serve from")
    s.add_argument("--config", metavar="FILE")
    s.add_argument("--host", default="0.0.0.0")
    s.add_argument("--port", type=int, default=8888)
    s.set_defaults(func=cmd_serve)

    e = sub.add_parser("explain", help="show what each filter and weigher does for a pod")
    e.add_argument("--snapshot", nargs="+", metavar="FILE", required=True)
    e.add_argument("--pod", required=True, metavar="POD.yaml")
    e.add_argument("--config", metavar="FILE")
    e.add_argument("--json", action="store_true", help="print the report as JSON")
    e.add_argument("--max-reasons", type=int, default=None, help="reasons shown per filter")
    e.add_argument("--top", type=int, default=None, help="nodes shown in the ranking")
    e.set_defaults(func=cmd_explain)

    d = sub.add_parser("demo", help="serve the bundled example and send it example pods")
    d.add_argument("--port", type=int, default=0, help="0 picks a free port")
    d.add_argument("--config", metavar="FILE")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.setup(args.log_level)
    metrics.BUILD.info({"version": __version__})
    try:
        return int(args.func(args))
    except WeighbridgeError as exc:
        print(f"weighbridge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def dump_yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False)


if __name__ == "__main__":
    sys.exit(main())
