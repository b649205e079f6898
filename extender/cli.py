"""weighbridge: OpenStack Nova's filter scheduler as a Kubernetes scheduler extender.

Commands: `serve` (the extender), `explain` (why a pod goes where it goes), `capacity` (how
many more copies of a pod fit), `demo` (the bundled example over HTTP) and `cluster` (a
local control plane with weighbridge and kube-scheduler). `weighbridge COMMAND --help`
lists each command's options with their defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import uvloop
from kubernetes import config as k8s_config

from extender import __version__, logs, telemetry
from extender.cache.kubeapi import ApiError, KubeApi, load_configuration
from extender.cache.live import LiveCache
from extender.cache.snapshot import load_snapshot, read_objects
from extender.cache.state import ClusterState
from extender.errors import WeighbridgeError
from extender.http.server import STOPPING, listen, make_app, runner
from extender.http.tls import DEFAULT_RELOAD_SECONDS, ServerTLS, TLSFiles
from extender.kube.objects import Pod
from extender.kube.wire import decode_explain
from extender.service.binding import BindBarrier, Binder
from extender.service.capacity import Capacity
from extender.service.capacity import render as render_capacity
from extender.service.config import Config, LeaderSettings, ServerSettings, load_config
from extender.service.events import EventEmitter
from extender.service.explain import render, report
from extender.service.extender import Extender, Readiness, always_ready
from extender.service.leader import Endpoint, LeaderElector
from extender.service.requeue import Requeuer

log = logging.getLogger("weighbridge")

#: how long `capacity --kubeconfig` waits for the first list of every kind
LIST_TIMEOUT_SECONDS = 60.0

#: the chart's Service of every replica (and its namespace) for release `weighbridge`, which
#: `explain` asks through the API server's service proxy: any replica answers from its synced
#: cache, and the proxy reaches only pod endpoints a selector found (docs/replicas.md)
SERVICE = "weighbridge-replicas"
SERVICE_NAMESPACE = "weighbridge"
SERVICE_PORT = 8888

SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def build_extender(
    state: ClusterState,
    config: Config,
    readiness: Readiness = always_ready,
    binder: Binder | None = None,
    active: Readiness = always_ready,
) -> Extender:
    scheduler = config.scheduler()
    headroom = Capacity(state, scheduler, config.capacity, config.options.default_availability_zone)
    return Extender(state, scheduler, readiness, binder, headroom, active)


def read_pods(path: str) -> list[Pod]:
    pods = [o for o in read_objects([path]) if isinstance(o, Pod)]
    if not pods:
        raise WeighbridgeError(f"{path}: no Pod in it")
    return pods


async def _serve(
    extender: Extender,
    settings: ServerSettings,
    host: str,
    port: int,
    tls: ServerTLS | None,
    on_stop: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully: report not ready for
    `shutdown_delay_seconds` while still answering (the Service needs that long to stop
    routing kube-scheduler here), stop listening, and finish the calls in flight. With TLS,
    the certificate files are watched for the whole time (ServerTLS.watch). `on_stop` runs
    first thing on the signal (the active replica hands its Lease over)."""
    app = make_app(extender, settings, client_auth=tls is not None and tls.client_auth)
    served = runner(app, settings)
    await served.setup()
    context = tls.context if tls is not None else None
    server = await listen(served, host, port, context, settings.max_connections)
    log.info("serving", extra={"host": host, "port": port, "scheme": _scheme(tls)})
    rotation = _background(tls.watch(), "tls-watch") if tls is not None else None
    stopping = app[STOPPING]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    headroom = _background(_export_headroom(extender), "headroom")
    delay = settings.shutdown_delay_seconds
    try:
        await stopping.wait()
        if on_stop is not None:
            await on_stop()
        log.info("stopping: not ready, still answering", extra={"delay_s": delay})
        await asyncio.sleep(delay)
    finally:
        headroom.cancel()
        if rotation is not None:
            rotation.cancel()
        server.close()
        await served.cleanup()
    log.info("stopped")


async def _export_headroom(extender: Extender) -> None:
    """The configured shapes' headroom as metrics, once the cache has synced."""
    while extender.readiness() is not None:
        await asyncio.sleep(1.0)
    await extender.headroom.export()


def _server_tls(args: argparse.Namespace) -> ServerTLS | None:
    """HTTPS from the --tls-* options (None: plain HTTP); their files are read now, so a
    missing or broken one stops the start instead of the first handshake."""
    if not args.tls_cert_file and not args.tls_key_file:
        if args.tls_client_ca_file:
            raise WeighbridgeError("--tls-client-ca-file needs --tls-cert-file and --tls-key-file")
        return None
    if not (args.tls_cert_file and args.tls_key_file):
        raise WeighbridgeError("--tls-cert-file and --tls-key-file go together")
    files = TLSFiles(args.tls_cert_file, args.tls_key_file, args.tls_client_ca_file or None)
    return ServerTLS(files, args.tls_reload_interval)


def _scheme(tls: ServerTLS | None) -> str:
    """How the port is served, for the start-up log an operator checks first."""
    if tls is None:
        return "http"
    return "https with client certificates" if tls.client_auth else "https"


def _warn_if_unauthenticated(tls: ServerTLS | None, host: str, port: int) -> None:
    """Live mode serves bind, which creates Bindings with this process's ServiceAccount:
    say so loudly when any client that reaches the port may call it."""
    if tls is not None and tls.client_auth:
        return
    how = "plain HTTP" if tls is None else "TLS without --tls-client-ca-file"
    log.warning(
        "the verbs that change the cluster (bind) are served without client authentication "
        f"({how}): any client that reaches {host}:{port} can bind pods with this "
        "ServiceAccount; give --tls-client-ca-file (docs/install.md, Who may call what)",
        extra={"host": host, "port": port},
    )


@asynccontextmanager
async def _live_cache(
    config: Config, kubeconfig: str | None
) -> AsyncIterator[tuple[KubeApi, ClusterState, LiveCache]]:
    """A cache fed by list+watch from the cluster for the block: started, then stopped with
    its API client."""
    api = KubeApi(load_configuration(kubeconfig))
    state = ClusterState(config.options)
    cache = LiveCache(api, state)
    cache.start()
    try:
        yield api, state, cache
    finally:
        await cache.stop()
        await api.close()


async def _serve_live(config: Config, args: argparse.Namespace, tls: ServerTLS | None) -> None:
    """Serve from a cache fed by list+watch; ready once every informer has listed."""
    async with _live_cache(config, args.kubeconfig) as (api, state, cache):
        binder = Binder(
            api,
            state,
            config.bind.assume_seconds,
            BindBarrier(config.bind.wait_for_binds_seconds),
        )
        elector = _elector(config.leader, api, cache, args.port)
        active = always_ready if elector is None else elector.why_not_active
        extender = build_extender(state, config, cache.not_ready, binder, active)
        _warn_if_unauthenticated(tls, args.host, args.port)
        tasks = [_background(_freeze_when_synced(cache.not_ready), "gc-freeze")]
        if config.events.enabled:
            emitter = EventEmitter(api, _identity(config.leader), config.events)
            extender.events = emitter
            tasks.append(_background(emitter.run(), "events"))
        if config.requeue.enabled:
            requeuer = Requeuer(api, state, config.requeue)
            extender.requeue = requeuer
            state.changed = requeuer.changed
            tasks.append(_background(requeuer.run(), "requeue"))
        try:
            if elector is None:
                telemetry.LEADER.set(1)  # the only replica: it always answers
                await _serve(extender, config.server, args.host, args.port, tls)
                return
            tasks.append(_background(_elect_when_synced(elector, cache), "leader-election"))
            await _serve(extender, config.server, args.host, args.port, tls, elector.release)
        finally:
            for task in tasks:
                task.cancel()


def _identity(settings: LeaderSettings) -> str:
    """This replica's name, in the Lease and in the Events it writes."""
    return settings.identity or os.environ.get("POD_NAME") or socket.gethostname()


def _elector(
    settings: LeaderSettings, api: KubeApi, cache: LiveCache, port: int
) -> LeaderElector | None:
    """The Lease this replica competes for, with its identity and endpoint resolved from
    the pod's environment (the chart sets POD_NAME, POD_NAMESPACE, POD_IP)."""
    if not settings.enabled:
        return None
    namespace = settings.namespace or os.environ.get("POD_NAMESPACE") or _own_namespace()
    identity = _identity(settings)
    endpoint = None
    if settings.service:
        address = settings.address or os.environ.get("POD_IP", "")
        if not address:
            raise WeighbridgeError(
                "leader.service is set, but neither leader.address nor $POD_IP says which "
                "address to publish"
            )
        endpoint = Endpoint(settings.service, address, port, settings.port_name)
    catch_up = min(settings.catch_up_seconds, settings.renew_deadline_seconds / 2)
    return LeaderElector(
        api,
        namespace,
        settings.lease_name,
        identity,
        lease_seconds=settings.lease_seconds,
        renew_deadline_seconds=settings.renew_deadline_seconds,
        retry_seconds=settings.retry_seconds,
        catch_up=lambda: cache.caught_up(catch_up),
        endpoint=endpoint,
    )


def _own_namespace() -> str:
    """The ServiceAccount's namespace in a pod; `default` elsewhere."""
    try:
        return Path(SERVICE_ACCOUNT_NAMESPACE).read_text().strip() or "default"
    except OSError:
        return "default"


def _background(work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """A task that runs beside the server, whose death by an unexpected error is logged
    with its traceback when it happens, rather than only when the task is collected, if
    ever."""
    task = asyncio.create_task(work, name=name)
    task.add_done_callback(_log_death)
    return task


def _log_death(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("background task died", exc_info=error, extra={"task": task.get_name()})


async def _synced(not_ready: Callable[[], str | None]) -> None:
    """Return once the cache's first lists are in (`not_ready` says None)."""
    while not_ready() is not None:
        await asyncio.sleep(0.2)


async def _freeze_when_synced(not_ready: Callable[[], str | None]) -> None:
    """Once the first lists are in, take what they built out of the garbage collector's
    sight (gc.freeze): the cache's objects live as long as the process, and a full
    collection that walks them all holds every call (at 5,000 nodes and 20,000 pods, 137 ms
    while pods were being scheduled; 11 ms once they are frozen). Frozen objects are still
    freed when their last reference goes; a collection first clears what is already
    garbage, so none of it is kept."""
    await _synced(not_ready)
    gc.collect()
    gc.freeze()
    log.info(
        "cache synced; its objects frozen out of garbage collection",
        extra={"frozen_objects": gc.get_freeze_count()},
    )


async def _elect_when_synced(elector: LeaderElector, cache: LiveCache) -> None:
    """Compete for the Lease only with a synced cache: a replica that could not answer
    must not hold it."""
    await _synced(cache.not_ready)
    await elector.run()


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    tls = _server_tls(args)
    if not args.snapshot:
        uvloop.run(_serve_live(config, args, tls))
        return 0
    extender = build_extender(load_snapshot(args.snapshot, config.options), config)
    log.info(
        "cache loaded from snapshot",
        extra={"nodes": extender.state.node_count, "pods": extender.state.pod_count},
    )
    telemetry.LEADER.set(1)
    # uvloop: about 50 us less per call than asyncio's own loop, measured by bench/bench.py
    uvloop.run(_serve(extender, config.server, args.host, args.port, tls))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    if bool(args.snapshot) == bool(args.target):
        raise WeighbridgeError("give either --snapshot and --pod, or a live pod NAMESPACE/NAME")
    if args.target:
        namespace, _, name = args.target.rpartition("/")
        return _explain_live(args, namespace or _context_namespace(args.kubeconfig), name)
    if not args.pod:
        raise WeighbridgeError("--snapshot needs --pod")
    config = load_config(args.config)
    extender = build_extender(load_snapshot(args.snapshot, config.options), config)
    for pod in read_pods(args.pod):
        decision = extender.decide(pod)
        _print_report(report(decision, extender.scheduler, extender.state.table.hosts), args)
    return 0


def _print_report(rep: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(render(rep, max_reasons=args.max_reasons, top=args.top))
        print()


def _explain_live(args: argparse.Namespace, namespace: str, name: str) -> int:
    _print_report(uvloop.run(_live_report(args, namespace, name)), args)
    return 0


async def _live_report(args: argparse.Namespace, namespace: str, name: str) -> dict[str, Any]:
    """The pod as the API server has it, explained by the running extender (reached through
    the API server's service proxy, so this works from anywhere kubectl does) or, with
    --local, by an extender built here on one list of the cluster."""
    api = KubeApi(load_configuration(args.kubeconfig))
    try:
        body = {"Pod": json.loads(await api.get(f"/api/v1/namespaces/{namespace}/pods/{name}"))}
        if not args.local:
            return await _ask_extender(api, args, body)
    finally:
        await api.close()
    config = load_config(args.config)
    extender = build_extender(await _list_cluster(config, args.kubeconfig), config)
    return extender.explain(*decode_explain(json.dumps(body).encode()))


async def _ask_extender(
    api: KubeApi, args: argparse.Namespace, body: dict[str, Any]
) -> dict[str, Any]:
    """POST /explain to the Service's endpoints through the API server's service proxy."""
    service = f"{args.service_scheme}:{args.service}:{args.service_port}"
    path = f"/api/v1/namespaces/{args.service_namespace}/services/{service}/proxy/explain"
    try:
        answer: dict[str, Any] = json.loads(await api.post(path, body))
    except ApiError as exc:
        raise WeighbridgeError(
            f"asking the extender (Service {args.service_namespace}/{args.service}): {exc}; "
            "--service and --service-namespace name another, --local explains here"
        ) from None
    return answer


def _context_namespace(kubeconfig: str | None) -> str:
    """The namespace of the kubeconfig's current context, as kubectl uses it; `default`."""
    try:
        _, current = k8s_config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, OSError):
        return "default"
    return str(current.get("context", {}).get("namespace") or "default")


async def _list_cluster(config: Config, kubeconfig: str | None) -> ClusterState:
    """The cluster as one LIST of every kind shows it (no watch kept)."""
    async with _live_cache(config, kubeconfig) as (_, state, cache):
        deadline = time.monotonic() + LIST_TIMEOUT_SECONDS
        while (missing := cache.not_ready()) is not None:
            if time.monotonic() > deadline:
                raise WeighbridgeError(f"no full list in {LIST_TIMEOUT_SECONDS:g} s: {missing}")
            await asyncio.sleep(0.1)
    return state


def cmd_capacity(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.snapshot:
        state = load_snapshot(args.snapshot, config.options)
    else:
        state = uvloop.run(_list_cluster(config, args.kubeconfig))
    headroom = build_extender(state, config).headroom
    for pod in read_pods(args.pod):
        rep = headroom.count_now(pod, args.max)
        if args.json:
            print(json.dumps(rep, indent=2))
        else:
            print(render_capacity(rep, max_reasons=args.max_reasons))
            print()
    return 0


def _devtools(module: str) -> ModuleType:
    """The demos and the local control plane are development tools: they live in devtools/
    of a checkout, beside this package, and the wheel does not ship them."""
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "devtools" / "__init__.py").is_file():
        raise WeighbridgeError(
            "this command needs a checkout of weighbridge: devtools/ is not installed with "
            "the package (git clone the project and run it from there)"
        )
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    return importlib.import_module(f"devtools.{module}")


def cmd_demo(args: argparse.Namespace) -> int:
    return int(_devtools("demo").run_demo(port=args.port, config_path=args.config))


def cmd_cluster(args: argparse.Namespace) -> int:
    return int(_devtools("clusterdemo").run_cluster(Path(args.work_dir), demo=args.demo))


def _positive_seconds(text: str) -> float:
    """argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of seconds")
    return value


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default, unless it has none or says it already."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            default is None
            or default is False
            or default == argparse.SUPPRESS
            or not action.option_strings
            or "default" in text
        ):
            return text
        return f"{text} (default: %(default)s)"


CONFIG_HELP = (
    "the configuration file (YAML; every key and default in docs/configuration.md); "
    "without it, the defaults"
)


def _live_explain_options(p: argparse.ArgumentParser) -> None:
    """The options `explain NAMESPACE/NAME` and `kubectl weighbridge why` share."""
    p.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="live cluster: kubeconfig (default: in-cluster, then $KUBECONFIG or ~/.kube/config)",
    )
    p.add_argument(
        "--local",
        action="store_true",
        help="explain here, on one list of the cluster with --config's filters and weighers, "
        "instead of asking the running extender",
    )
    p.add_argument(
        "--service", default=SERVICE, help="the running extender's Service, as the chart names it"
    )
    p.add_argument(
        "--service-namespace", default=SERVICE_NAMESPACE, metavar="NAMESPACE", help="its namespace"
    )
    p.add_argument(
        "--service-port", type=int, default=SERVICE_PORT, metavar="PORT", help="its port"
    )
    p.add_argument(
        "--service-scheme",
        default="http",
        choices=["http", "https"],
        metavar="SCHEME",
        help="its scheme: http or https",
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--max-reasons", type=int, metavar="N", help="reasons shown per filter (default: all)"
    )
    p.add_argument("--top", type=int, metavar="N", help="nodes shown in the ranking (default: all)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="weighbridge", description=__doc__, formatter_class=_HelpFormatter
    )
    p.add_argument("--version", action="version", version=f"weighbridge {__version__}")
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        type=str.upper,
        metavar="LEVEL",
        help="least severe log records written (JSON lines on stderr): DEBUG, INFO, WARNING, "
        "ERROR or CRITICAL",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)

    s = command("serve", "serve the extender to kube-scheduler")
    s.add_argument(
        "--snapshot",
        nargs="+",
        metavar="FILE",
        help="serve from these files of Kubernetes objects instead of a live cluster",
    )
    s.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="live cluster: kubeconfig (default: in-cluster, then $KUBECONFIG or ~/.kube/config)",
    )
    s.add_argument("--tls-cert-file", metavar="FILE", help="serve HTTPS with this certificate")
    s.add_argument("--tls-key-file", metavar="FILE", help="the certificate's private key")
    s.add_argument(
        "--tls-client-ca-file",
        metavar="FILE",
        help="mutual TLS: ask clients for a certificate and trust those this CA (PEM, one or "
        "more) signed; without one, every path but /healthz, /readyz and /metrics answers 401",
    )
    s.add_argument(
        "--tls-reload-interval",
        type=_positive_seconds,
        default=DEFAULT_RELOAD_SECONDS,
        metavar="SECONDS",
        help="how often the certificate, key and client CA files are checked for new content "
        "(cert-manager renewals, Secret updates); new connections use changed files without "
        f"a restart (default: {DEFAULT_RELOAD_SECONDS:g})",
    )
    s.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    s.add_argument("--host", default="0.0.0.0", help="address to listen on")
    s.add_argument("--port", type=int, default=8888, help="port to listen on")
    s.set_defaults(func=cmd_serve)

    e = command(
        "explain",
        "show what each filter and weigher does for a pod: in a snapshot (--snapshot, --pod) "
        "or Pending in the cluster (NAMESPACE/NAME)",
    )
    e.add_argument(
        "target",
        nargs="?",
        metavar="NAMESPACE/NAME",
        help="a pod in the cluster (without NAMESPACE/: the kubeconfig context's namespace)",
    )
    e.add_argument(
        "--snapshot",
        nargs="+",
        metavar="FILE",
        help="the cluster: files of Kubernetes objects (kubectl get -o yaml)",
    )
    e.add_argument("--pod", metavar="POD.yaml", help="with --snapshot: the pod to explain")
    _live_explain_options(e)
    e.set_defaults(func=cmd_explain)

    k = command("capacity", "how many more copies of a pod fit, and where (nothing is reserved)")
    source = k.add_mutually_exclusive_group()
    source.add_argument(
        "--snapshot", nargs="+", metavar="FILE", help="count on these files of objects"
    )
    source.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="count on a live cluster, listed once (default when no --snapshot: in-cluster, "
        "then $KUBECONFIG or ~/.kube/config)",
    )
    k.add_argument("--pod", required=True, metavar="POD.yaml", help="the pod to copy")
    k.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    k.add_argument(
        "--max",
        type=int,
        default=None,
        metavar="N",
        help="stop after N copies (default and ceiling: capacity.max_copies, 1000)",
    )
    k.add_argument("--json", action="store_true", help="print the report as JSON")
    k.add_argument(
        "--max-reasons",
        type=int,
        metavar="N",
        help="reasons shown per filter that stopped (default: all)",
    )
    k.set_defaults(func=cmd_capacity)

    d = command("demo", "serve the bundled example and send it example pods")
    d.add_argument("--port", type=int, default=0, help="port to serve on; 0 picks a free one")
    d.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    d.set_defaults(func=cmd_demo)

    c = command(
        "cluster", "a local control plane with the example nodes, weighbridge and kube-scheduler"
    )
    c.add_argument("--demo", action="store_true", help="apply the example pods, explain, stop")
    c.add_argument(
        "--work-dir",
        default=str(Path(tempfile.gettempdir()) / "weighbridge-cluster"),
        help="certificates, kubeconfig and logs",
    )
    c.set_defaults(func=cmd_cluster)
    return p


def kubectl_parser() -> argparse.ArgumentParser:
    """`kubectl weighbridge`: kubectl runs the console script kubectl-weighbridge for it."""
    p = argparse.ArgumentParser(
        prog="kubectl weighbridge",
        description="weighbridge, the scheduler extender, as a kubectl plugin",
        formatter_class=_HelpFormatter,
    )
    p.set_defaults(log_level="WARNING")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    help = "why a pod is Pending, or where it would go: each filter's and weigher's verdict"
    w = sub.add_parser("why", help=help, description=help, formatter_class=_HelpFormatter)
    w.add_argument("target", metavar="POD", help="the pod's name")
    w.add_argument(
        "-n",
        "--namespace",
        help="the pod's namespace (default: the kubeconfig context's, else default)",
    )
    _live_explain_options(w)
    w.set_defaults(func=cmd_why)
    return p


def cmd_why(args: argparse.Namespace) -> int:
    return _explain_live(args, args.namespace or _context_namespace(args.kubeconfig), args.target)


def kubectl_main(argv: Sequence[str] | None = None) -> int:
    return main(argv, kubectl_parser())


def main(argv: Sequence[str] | None = None, cli: argparse.ArgumentParser | None = None) -> int:
    args = (cli or parser()).parse_args(argv)
    logs.setup(args.log_level)
    telemetry.BUILD.info({"version": __version__})
    try:
        return int(args.func(args))
    except WeighbridgeError as exc:
        print(f"weighbridge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
