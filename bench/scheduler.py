"""kube-scheduler with weighbridge in the loop against kube-scheduler alone: make bench-scheduler.

A scheduler_perf-style benchmark on the project's local control plane (devtools/localcluster.py:
etcd, kube-apiserver and the real kube-scheduler built from Go modules). For each cluster size
it creates N fake Nodes (32 cpu / 128 Gi, three zones, 45 racks that are HostAggregates with
an availability zone) and background pods bound to them, then, round after round, runs each
configuration once, in the same order, each on a fresh kube-scheduler (and a fresh
`weighbridge serve` when it is in the loop):

  alone        kube-scheduler alone, client rate limit raised (qps/burst 1000)
  names        + weighbridge filter and prioritize, node names (nodeCacheCapable: true)
  bind         + the bind verb
  best         names, weighbridge answering only its best node (options.host_subset_size 1:
               kube-scheduler then neither scores nor calls prioritize)
  best-bind    best, with the bind verb
  nodes        + full Node objects on the wire (nodeCacheCapable: false)
  null         names, with bench/null_extender.py in weighbridge's place: an extender that
               decides nothing, the most any Python extender can reach here
  null-best    null, answering only the first node (as best does)
  null-nodes   null, with full Node objects on the wire (as nodes)
  alone-all    kube-scheduler alone, percentageOfNodesToScore 100
  names-all    + weighbridge, names, percentageOfNodesToScore 100
  alone-50qps  kube-scheduler alone at its default client rate limit (50 qps, burst 100)
  names-50qps  + weighbridge, names, at that default

A run creates one batch of pods at once (8 client threads) while no scheduler runs, then
starts kube-scheduler and times it from the first binding to the last (a watch sees each), so
pods/s is the scheduler's pace with a full queue, not the API clients'. Pod latency is the time
from kube-scheduler's start to the pod's binding (its place in the queue included); "attempt"
is kube-scheduler's own scheduling_attempt_duration (one pod's cycle, without the queue).
The machine is shared and noisy, so each
configuration's pods/s is divided by its own baseline's (alone, alone-all or alone-50qps) from
the same round; the summary gives the median of those ratios and the range over rounds.
CPU per pod is each process's user+system time (/proc/<pid>/stat) over the run divided by the
batch; verb latencies come from weighbridge's /metrics (the run's fresh process).

Environment (or options): NODES=1000,5000  ROUNDS=2  BATCH=1000  BG_PODS=20000  MODES=...
QUICK=1 (one round, 1,000 nodes, batches of 300, alone/names/bind/best only).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from devtools.localcluster import ControlPlane, ManagedProcess, binaries_dir, free_port  # noqa: E402

ZONES = ("zone-a", "zone-b", "zone-c")
RACKS = 45
CLIENT_THREADS = 8
IDLE_SECONDS = 10.0
RAISED = {"qps": 1000, "burst": 1000}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POD_SHAPES = (("100m", "256Mi"), ("250m", "512Mi"), ("500m", "1Gi"), ("1", "2Gi"))


@dataclass(frozen=True)
class Mode:
    """One configuration: weighbridge's part (None: not in the loop) and kube-scheduler's."""

    name: str
    baseline: str
    extender: str | None = None  # "names", "bind" or "nodes"
    raised: bool = True
    all_nodes: bool = False
    batch_share: float = 1.0  # slow configurations place a smaller batch
    subset: int = 0  # weighbridge's options.host_subset_size
    null: bool = False  # bench/null_extender.py in weighbridge's place


MODES = {
    m.name: m
    for m in (
        Mode("alone", "alone"),
        Mode("names", "alone", "names"),
        Mode("bind", "alone", "bind"),
        Mode("best", "alone", "names", subset=1),
        Mode("best-bind", "alone", "bind", subset=1),
        Mode("null", "alone", "names", null=True),
        Mode("null-best", "alone", "names", subset=1, null=True),
        Mode("null-nodes", "alone", "nodes", batch_share=0.2, null=True),
        Mode("nodes", "alone", "nodes", batch_share=0.2),
        Mode("alone-all", "alone-all", all_nodes=True, batch_share=0.5),
        Mode("names-all", "alone-all", "names", all_nodes=True, batch_share=0.5),
        Mode("alone-50qps", "alone-50qps", raised=False),
        Mode("names-50qps", "alone-50qps", "names", raised=False),
    )
}
QUICK_MODES = ("alone", "names", "bind", "best")


# -- the cluster ---------------------------------------------------------------------------


def node_body(i: int) -> dict[str, Any]:
    """A Ready node as a kubelet reports it: 32 cpu, 128 Gi, a zone and a rack aggregate."""
    rack = i % RACKS
    zone = ZONES[rack % len(ZONES)]
    name = f"node-{i:05d}"
    allocatable = {
        "cpu": "31750m",
        "memory": "128464Mi",
        "ephemeral-storage": "190982656Ki",
        "pods": "110",
    }
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "m5.8xlarge",
        "topology.kubernetes.io/region": "region-1",
        "topology.kubernetes.io/zone": zone,
        f"aggregate.weighbridge.io/rack-{rack:02d}": "true",
    }
    stamp = "2025-06-01T12:00:00Z"
    conditions = [
        {"type": t, "status": "False", "lastHeartbeatTime": stamp, "reason": f"KubeletHasNo{t}"}
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ]
    conditions.append(
        {"type": "Ready", "status": "True", "lastHeartbeatTime": stamp, "reason": "KubeletReady"}
    )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {
            "capacity": allocatable,
            "allocatable": allocatable,
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": f"10.{i // 250}.{i % 250}.10"}],
            "nodeInfo": {
                "kubeletVersion": "v1.36.3",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://2.1.0",
            },
        },
    }


def aggregate_body(rack: int) -> dict[str, Any]:
    zone = ZONES[rack % len(ZONES)]
    return {
        "apiVersion": "weighbridge.io/v1alpha1",
        "kind": "HostAggregate",
        "metadata": {"name": f"rack-{rack:02d}"},
        "spec": {"metadata": {"availability_zone": zone, "rack": f"r{rack:02d}"}},
    }


def pod_body(namespace: str, name: str, i: int, node: str | None = None) -> dict[str, Any]:
    """A pause pod; bound to `node` when given (background load)."""
    cpu, memory = POD_SHAPES[i % len(POD_SHAPES)]
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "app",
                "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": cpu, "memory": memory}},
            }
        ],
    }
    if node is not None:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": f"app-{i % 20}"}},
        "spec": spec,
    }


class Api:
    """Keep-alive HTTPS connections to the API server, one per thread."""

    def __init__(self, plane: ControlPlane) -> None:
        self.port = plane.apiserver_port
        self.token = plane.token
        self.context = ssl.create_default_context(cafile=str(plane.ca_path))
        self.local = threading.local()

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One request; a connection idle for a while (the API server closes those) is
        opened again first."""
        conn: http.client.HTTPSConnection | None = getattr(self.local, "conn", None)
        if conn is None or time.monotonic() - self.local.used > IDLE_SECONDS:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context)
            self.local.conn = conn
            self.local.used = time.monotonic()
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, data, headers)
        response = conn.getresponse()
        raw = response.read()
        self.local.used = time.monotonic()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def post_all(self, path_and_bodies: list[tuple[str, dict[str, Any]]]) -> list[float]:
        """POST every body with CLIENT_THREADS threads; each request's completion time."""
        work: queue.Queue[tuple[int, str, dict[str, Any]]] = queue.Queue()
        for i, (path, body) in enumerate(path_and_bodies):
            work.put((i, path, body))
        done = [0.0] * len(path_and_bodies)
        errors: list[BaseException] = []

        def worker() -> None:
            while True:
                try:
                    i, path, body = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    self.request("POST", path, body)
                except BaseException as exc:  # reported below, after the other threads end
                    errors.append(exc)
                    return
                done[i] = time.monotonic()

        threads = [threading.Thread(target=worker) for _ in range(CLIENT_THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return done


def build_cluster(plane: ControlPlane, api: Api, nodes: int, bg_pods: int) -> None:
    t0 = time.monotonic()
    plane.install_crds()
    api.post_all(
        [("/apis/weighbridge.io/v1alpha1/hostaggregates", aggregate_body(r)) for r in range(RACKS)]
    )
    api.post_all([("/api/v1/nodes", node_body(i)) for i in range(nodes)])
    api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "background"}})
    path = "/api/v1/namespaces/background/pods"
    api.post_all(
        [
            (path, pod_body("background", f"bg-{i}", i, f"node-{i % nodes:05d}"))
            for i in range(bg_pods)
        ]
    )
    print(
        f"cluster: {nodes} nodes in {RACKS} aggregates, {bg_pods} bound pods "
        f"({time.monotonic() - t0:.0f} s to create)",
        flush=True,
    )


# -- the processes ---------------------------------------------------------------------------


def scheduler_config(mode: Mode, extender_url: str | None) -> str:
    config: dict[str, Any] = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
    }
    if mode.raised:
        config["clientConnection"] = dict(RAISED)
    if mode.all_nodes:
        config["percentageOfNodesToScore"] = 100
    if mode.extender is not None and extender_url is not None:
        extender: dict[str, Any] = {
            "urlPrefix": extender_url,
            "filterVerb": "filter",
            "prioritizeVerb": "prioritize",
            "weight": 5,
            "nodeCacheCapable": mode.extender != "nodes",
            "httpTimeout": "30s",
            "ignorable": False,
        }
        if mode.extender == "bind":
            extender["bindVerb"] = "bind"
        config["extenders"] = [extender]
    return yaml.safe_dump(config)


class Weighbridge:
    """`weighbridge serve` with its default configuration, on a free port."""

    name = "weighbridge"

    def __init__(self, plane: ControlPlane, work: Path, source: Path, subset: int = 0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        work.mkdir(parents=True, exist_ok=True)
        command, env = self.command(plane, work, source, subset)
        self.proc = ManagedProcess(self.name, command, work / f"{self.name}.log", env)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 120
        while self.status("/readyz") != 200:
            if not self.proc.alive():
                raise self.proc.error("exited before it was ready")
            if time.monotonic() > deadline:
                raise self.proc.error("not ready after 120 s")
            time.sleep(0.2)

    def command(
        self, plane: ControlPlane, work: Path, source: Path, subset: int
    ) -> tuple[list[str], dict[str, str]]:
        """The process to start, and its environment."""
        config = work / "weighbridge.yaml"
        settings: dict[str, Any] = {"server": {"shutdown_delay_seconds": 0}}
        if subset:
            settings["options"] = {"host_subset_size": subset}
        config.write_text(yaml.safe_dump(settings))
        command = [
            sys.executable,
            "-P",  # the package comes from PYTHONPATH (`source`), not from the working directory
            "-m",
            "extender.cli",
            "serve",
            f"--kubeconfig={plane.kubeconfig_path}",
            f"--config={config}",
            "--host=127.0.0.1",
            f"--port={self.port}",
        ]
        return command, {**os.environ, "PYTHONPATH": str(source)}

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return int(response.status)
        except OSError:
            return 0

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=30) as response:
            return str(response.read().decode())

    def stop(self) -> None:
        self.proc.stop(timeout=30)


class NullExtender(Weighbridge):
    """bench/null_extender.py where weighbridge would be; it keeps no metrics, so its runs
    print no verb latencies."""

    name = "null-extender"

    def command(
        self, plane: ControlPlane, work: Path, source: Path, subset: int
    ) -> tuple[list[str], dict[str, str]]:
        command = [sys.executable, str(HERE / "null_extender.py"), f"--port={self.port}"]
        if subset:
            command.append("--best")
        return command, dict(os.environ)

    def metrics(self) -> str:
        return ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (its own threads; children not counted)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


_SAMPLE = re.compile(r"^(\w+)_(bucket|sum|count)\{([^}]*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
Latency = tuple[int, float, float]


def histograms(metrics: str, name: str, key: str) -> dict[str, Latency]:
    """Histogram `name` in Prometheus text, by the value of label `key`: calls, mean and
    p99 (interpolated in the buckets), in seconds."""
    buckets: dict[str, list[tuple[float, float]]] = {}
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in metrics.splitlines():
        m = _SAMPLE.match(line)
        if m is None or m.group(1) != name:
            continue
        labels = dict(_LABEL.findall(m.group(3)))
        which, value = labels.get(key, ""), float(m.group(4))
        if m.group(2) == "bucket":
            buckets.setdefault(which, []).append((float(labels["le"]), value))
        elif m.group(2) == "sum":
            sums[which] = sums.get(which, 0.0) + value
        else:
            counts[which] = counts.get(which, 0.0) + value
    return {
        which: (int(n), sums[which] / n, _quantile(buckets[which], n, 0.99))
        for which, n in counts.items()
        if n
    }


def _quantile(buckets: list[tuple[float, float]], count: float, q: float) -> float:
    rank = q * count
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in sorted(buckets):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / max(cumulative - lower_count, 1e-9)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, cumulative
    return lower_bound


# -- one run ---------------------------------------------------------------------------------


@dataclass
class Run:
    mode: str
    round: int
    pods: int
    seconds: float
    latencies: list[float]
    wb_cpu: float | None
    ks_cpu: float
    load: str
    verbs: dict[str, Latency] = field(default_factory=dict)
    ratio: float | None = None

    @property
    def rate(self) -> float:
        """Pods bound per second, from the first binding to the last."""
        return (self.pods - 1) / self.seconds


class BindWatch:
    """Watches a namespace's pods and notes when each first shows a node."""

    def __init__(self, api: Api, namespace: str, expected: int) -> None:
        self.bound: dict[str, float] = {}
        self.expected = expected
        self.all_bound = threading.Event()
        self.conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=api.context)
        path = f"/api/v1/namespaces/{namespace}/pods?watch=1&allowWatchBookmarks=false"
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {api.token}"})
        self.response = self.conn.getresponse()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.response:
                event = json.loads(line)
                pod = event["object"]
                name = pod["metadata"].get("name")
                if pod.get("spec", {}).get("nodeName") and name not in self.bound:
                    self.bound[name] = time.monotonic()
                    if len(self.bound) >= self.expected:
                        self.all_bound.set()
                        return
        except (OSError, ValueError, http.client.HTTPException):
            return

    def close(self) -> None:
        self.conn.close()


def py_spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` into `output` (collapsed stacks) until it gets SIGINT."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [binary, "record", "--pid", str(pid), "-r", "250", "-f", "raw", "-o", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def scheduler_metrics(plane: ControlPlane, scheduler: ManagedProcess) -> str:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(
        plane.scheduler_url(scheduler) + "/metrics",
        headers={"Authorization": f"Bearer {plane.token}"},
    )
    with urllib.request.urlopen(request, timeout=30, context=context) as response:
        return str(response.read().decode())


def run_once(
    plane: ControlPlane,
    api: Api,
    mode: Mode,
    round_: int,
    batch: int,
    work: Path,
    source: Path,
    profile: Path | None = None,
) -> Run:
    """Create the batch with no scheduler running (weighbridge, when in the loop, already
    watching), then start kube-scheduler and time it from the first binding to the last."""
    namespace = f"bench-{round_}-{mode.name}"
    api.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    path = f"/api/v1/namespaces/{namespace}/pods"
    pods = max(10, int(batch * mode.batch_share))
    wb = None
    if mode.extender is not None:
        extender = NullExtender if mode.null else Weighbridge
        wb = extender(plane, work / namespace, source, mode.subset)
    scheduler = None
    spy = None
    try:
        load = loadavg()
        wb_cpu0 = cpu_seconds(wb.pid) if wb else 0.0
        spy = py_spy(wb.pid, profile) if wb is not None and profile is not None else None
        watch = BindWatch(api, namespace, pods)
        api.post_all([(path, pod_body(namespace, f"p-{i}", i)) for i in range(pods)])
        scheduler = plane.start_scheduler(scheduler_config(mode, wb.url if wb else None))
        started = time.monotonic()
        ks_cpu0 = cpu_seconds(scheduler.pid)
        if not watch.all_bound.wait(timeout=max(120.0, pods / 2.0)):
            watch.close()
            raise RuntimeError(
                f"{mode.name}: only {len(watch.bound)} of {pods} pods bound; see {work}"
            )
        watch.close()
        ks_cpu = cpu_seconds(scheduler.pid) - ks_cpu0
        wb_cpu = cpu_seconds(wb.pid) - wb_cpu0 if wb else None
        verbs = (
            histograms(wb.metrics(), "weighbridge_request_duration_seconds", "verb") if wb else {}
        )
        attempts = histograms(
            scheduler_metrics(plane, scheduler),
            "scheduler_scheduling_attempt_duration_seconds",
            "result",
        )
        verbs["attempt"] = attempts["scheduled"]
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        if scheduler is not None:
            plane.stop_scheduler(scheduler)
        if wb is not None:
            wb.stop()
    api.request("DELETE", f"{path}?gracePeriodSeconds=0")
    times = sorted(watch.bound.values())
    return Run(
        mode.name,
        round_,
        pods,
        times[-1] - times[0],
        [t - started for t in times],
        wb_cpu,
        ks_cpu,
        load + " / " + loadavg(),
        verbs,
    )


# -- the report ------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def print_run(run: Run) -> None:
    lat = sorted(run.latencies)
    verbs = "  ".join(
        f"{verb} n={n} mean={_ms(mean)} p99={_ms(p99)} ms"
        for verb, (n, mean, p99) in run.verbs.items()
    )
    wb = f"{_ms(run.wb_cpu / run.pods)}" if run.wb_cpu is not None else "-"
    ratio = f"{run.ratio:.2f}" if run.ratio is not None else "-"
    print(
        f"  round {run.round} {run.mode:<12} {run.pods:>5} pods {run.rate:7.1f} pods/s "
        f"ratio {ratio:>4}  latency p50 {lat[len(lat) // 2]:.2f} s "
        f"p99 {lat[int(len(lat) * 0.99)]:.2f} s  "
        f"CPU/pod wb {wb} ms ks {_ms(run.ks_cpu / run.pods)} ms  load {run.load}"
        + (f"\n      {verbs}" if verbs else ""),
        flush=True,
    )


def _span(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return (fmt + " ({}-{})").format(
        statistics.median(values), fmt.format(min(values)), fmt.format(max(values))
    )


def print_summary(nodes: int, runs: list[Run]) -> None:
    print(f"\n== {nodes} nodes: medians over rounds (range) ==")
    header = (
        f"{'configuration':<12} {'pods/s':>20} {'ratio':>17} {'p50 s':>6} {'p99 s':>6} "
        f"{'wb ms/pod':>17} {'ks ms/pod':>17}  verbs mean/p99 ms"
    )
    print(header)
    for name in MODES:
        mine = [r for r in runs if r.mode == name]
        if not mine:
            continue
        rates = [r.rate for r in mine]
        ratios = [r.ratio for r in mine if r.ratio is not None]
        p50 = statistics.median(sorted(r.latencies)[len(r.latencies) // 2] for r in mine)
        p99 = statistics.median(sorted(r.latencies)[int(len(r.latencies) * 0.99)] for r in mine)
        wb = [1000 * r.wb_cpu / r.pods for r in mine if r.wb_cpu is not None]
        ks = [1000 * r.ks_cpu / r.pods for r in mine]
        verbs = []
        for verb in ("attempt", "filter", "prioritize", "bind"):
            seen = [r.verbs[verb] for r in mine if verb in r.verbs]
            if seen:
                mean = statistics.median(v[1] for v in seen)
                p99v = statistics.median(v[2] for v in seen)
                verbs.append(f"{verb} {_ms(mean)}/{_ms(p99v)}")
        print(
            f"{name:<12} {_span(rates, '{:.1f}'):>20} "
            f"{(_span(ratios, '{:.2f}') if ratios else '-'):>17} {p50:6.2f} {p99:6.2f} "
            f"{(_span(wb, '{:.2f}') if wb else '-'):>17} {_span(ks, '{:.2f}'):>17}  "
            + "  ".join(verbs),
            flush=True,
        )


def bench(nodes: int, args: argparse.Namespace, modes: list[str]) -> list[Run]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-scheduler-{nodes}-"))
    runs: list[Run] = []
    with ControlPlane(binaries_dir(), work) as plane:
        api = Api(plane)
        build_cluster(plane, api, nodes, args.bg_pods)
        for round_ in range(1, args.rounds + 1):
            rates: dict[str, float] = {}
            for name in modes:
                mode = MODES[name]
                profile = None
                if args.profile and mode.extender is not None and round_ == args.rounds:
                    profile = Path(args.profile) / f"weighbridge-{nodes}-{name}.txt"
                run = run_once(
                    plane, api, mode, round_, args.batch, work, Path(args.source), profile
                )
                rates[name] = run.rate
                if mode.baseline in rates and mode.baseline != name:
                    run.ratio = run.rate / rates[mode.baseline]
                runs.append(run)
                print_run(run)
    shutil.rmtree(work, ignore_errors=True)
    print_summary(nodes, runs)
    return runs


def main() -> None:
    env = os.environ.get
    quick = env("QUICK", "") not in ("", "0")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", default=env("NODES", "1000" if quick else "1000,5000"))
    parser.add_argument("--rounds", type=int, default=int(env("ROUNDS", "1" if quick else "2")))
    parser.add_argument("--batch", type=int, default=int(env("BATCH", "300" if quick else "1000")))
    parser.add_argument("--bg-pods", type=int, default=int(env("BG_PODS", "20000")))
    parser.add_argument("--modes", default=env("MODES", ",".join(QUICK_MODES if quick else MODES)))
    parser.add_argument(
        "--source",
        default=env("SOURCE", str(HERE.parent)),
        help="the directory holding the extender package to run (a copy, to compare versions)",
    )
    parser.add_argument(
        "--profile",
        default=env("PROFILE", ""),
        help="a directory: py-spy (if installed) records weighbridge in the last round",
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown modes {unknown}; known: {', '.join(MODES)}")
    print(
        f"bench-scheduler: nodes {args.nodes}, {args.rounds} rounds, batches of {args.batch} "
        f"pods, {args.bg_pods} background pods, modes {','.join(modes)}; "
        f"{os.cpu_count()} cores, load {loadavg()}",
        flush=True,
    )
    for nodes in (int(n) for n in args.nodes.split(",")):
        bench(nodes, args, modes)


if __name__ == "__main__":
    main()
