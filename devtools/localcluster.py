"""A throwaway Kubernetes control plane (etcd, kube-apiserver, kube-scheduler) for tests.

There are no kubelets and no kube-controller-manager, as in upstream's scheduler
integration tests: nodes are plain API objects, pods are bound but never run, namespaces
never finish deleting and nothing garbage-collects. The binaries are built from the Go
module in ``tests/cluster`` by ``scripts/build-control-plane.sh``, because only the Go
module proxy is reachable, not the release download sites.

Only the standard library and PyYAML are used, so the launcher works before the
project's own dependencies are installed.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import yaml

__all__ = [
    "DEFAULT_SCHEDULER_CONFIG",
    "ApiError",
    "CommandError",
    "ControlPlane",
    "ControlPlaneError",
    "HelmError",
    "KubectlError",
    "ManagedProcess",
    "binaries_dir",
    "free_port",
    "helm_binary",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTROL_PLANE_BINARIES = ("etcd", "kube-apiserver", "kube-scheduler", "kubectl")

DEFAULT_SCHEDULER_CONFIG = """\
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
"""

# Why each admission plugin is off (the rest of the defaults, PodSecurity and Priority
# included, stay on):
#   ServiceAccount: needs the token controller to create each namespace's "default"
#     ServiceAccount, which nothing here does;
#   TaintNodesByCondition: would taint every new Node not-ready, and no kubelet clears it;
#   StorageObjectInUseProtection: puts finalizers on PVCs/PVs that no controller removes.
DISABLED_ADMISSION_PLUGINS = (
    "ServiceAccount",
    "TaintNodesByCondition",
    "StorageObjectInUseProtection",
)

_LOG_TAIL_LINES = 40


class ControlPlaneError(RuntimeError):
    """A control-plane component failed to build, start, become ready or answer.

    Carries the component name and its log file, and quotes the log's tail in the
    message so that a failing test shows why without a trip to the work directory.
    """

    def __init__(
        self,
        message: str,
        *,
        component: str | None = None,
        log_path: Path | None = None,
        log_tail: str | None = None,
    ) -> None:
        self.component = component
        self.log_path = log_path
        self.log_tail = log_tail
        text = f"{component}: {message}" if component else message
        if log_path is not None:
            text += f"\n  log: {log_path}"
        if log_tail:
            text += f"\n  --- last lines ---\n{_indent(log_tail)}"
        super().__init__(text)


class CommandError(ControlPlaneError):
    """A kubectl or helm invocation exited non-zero; keeps the arguments and both outputs."""

    tool = "command"

    def __init__(self, command: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        output = stderr.strip() or stdout.strip()
        super().__init__(
            f"{self.tool} {' '.join(command)} exited {returncode}: {output}", component=self.tool
        )


class KubectlError(CommandError):
    """kubectl exited non-zero."""

    tool = "kubectl"


class HelmError(CommandError):
    """helm exited non-zero."""

    tool = "helm"


class ApiError(ControlPlaneError):
    """The API server answered a request with an HTTP error; keeps status and body."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:2000]}", component="api")

    @property
    def reason(self) -> str:
        """The Status object's ``reason`` (e.g. ``NotFound``, ``Forbidden``), if any."""
        try:
            return str(json.loads(self.body).get("reason", ""))
        except (ValueError, AttributeError):
            return ""


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def free_port() -> int:
    """Ask the kernel for an unused loopback TCP port (racy, but good enough for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_build_script(script: str, env_override: str, required: Sequence[str]) -> Path:
    """Return the directory named by ``env_override``, or build (cached) with ``script``."""
    override = os.environ.get(env_override)
    if override:
        directory = Path(override)
    else:
        path = REPO_ROOT / "scripts" / script
        try:
            # stderr is inherited: the first build takes many minutes and shows progress.
            done = subprocess.run(
                ["bash", str(path)], stdout=subprocess.PIPE, text=True, check=False
            )
        except OSError as exc:
            raise ControlPlaneError(f"cannot run {path}: {exc}", component="build") from exc
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        if done.returncode != 0 or not lines:
            raise ControlPlaneError(
                f"{path} exited {done.returncode}",
                component="build",
                log_tail="\n".join(lines[-_LOG_TAIL_LINES:]),
            )
        directory = Path(lines[-1].strip())
    missing = [b for b in required if not os.access(directory / b, os.X_OK)]
    if missing:
        source = f"${env_override}" if override else script
        raise ControlPlaneError(
            f"{directory} (from {source}) lacks executables: {', '.join(missing)}",
            component="build",
        )
    return directory


@functools.cache
def binaries_dir() -> Path:
    """Directory holding etcd, kube-apiserver, kube-scheduler and kubectl.

    ``$WEIGHBRIDGE_BIN_DIR`` skips the build; otherwise the cached build script runs
    (milliseconds when nothing changed; about 5-7 minutes on 2 cores from empty Go caches).
    """
    return _run_build_script(
        "build-control-plane.sh", "WEIGHBRIDGE_BIN_DIR", CONTROL_PLANE_BINARIES
    )


@functools.cache
def helm_binary() -> Path:
    """Path of helm built by scripts/build-helm.sh; ``$WEIGHBRIDGE_HELM_DIR`` skips the build."""
    return _run_build_script("build-helm.sh", "WEIGHBRIDGE_HELM_DIR", ("helm",)) / "helm"


def _child_env() -> dict[str, str]:
    """Environment for children: loopback never goes through a proxy, no user kube config."""
    env = dict(os.environ)
    for key in ("NO_PROXY", "no_proxy"):
        parts = [p for p in env.get(key, "").split(",") if p]
        for host in ("127.0.0.1", "localhost", "::1"):
            if host not in parts:
                parts.append(host)
        env[key] = ",".join(parts)
    env.pop("KUBECONFIG", None)
    env["KUBERC"] = "off"  # ignore a developer's ~/.kube/kuberc aliases and defaults
    return env


_PR_SET_PDEATHSIG = 1


def _find_prctl() -> Callable[..., int] | None:
    # Looked up once in the parent: the child between fork and exec should do no more
    # than one plain libc call.
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _find_prctl()


def _die_with_parent() -> None:
    """Run in the child before exec: SIGKILL it when the launching thread dies.

    This is what keeps a ``kill -9`` of the test run from leaving orphans. Linux-only;
    elsewhere the context manager and the atexit hook are the only guards. The
    launching *thread* counts, so start control planes from a long-lived thread.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


class ManagedProcess:
    """One component process whose stdout and stderr go to a log file in the work dir."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_path: Path,
        env: Mapping[str, str],
        *,
        port: int | None = None,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.log_path = log_path
        self.port = port
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        self._log.write(f"==== {stamp} starting: {' '.join(self.args)}\n".encode())
        self._log.flush()
        try:
            self.popen = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                # Own session: a terminal's Ctrl-C reaches only the test run, which then
                # stops the components in order.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            self._log.close()
            raise ControlPlaneError(f"cannot start {args[0]}: {exc}", component=name) from exc

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Last lines of the log, for error messages."""
        try:
            data = self.log_path.read_bytes()[-64 * 1024 :]
        except OSError:
            return ""
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def error(self, message: str) -> ControlPlaneError:
        """A ControlPlaneError about this process, quoting its log."""
        return ControlPlaneError(
            message, component=self.name, log_path=self.log_path, log_tail=self.tail()
        )

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (at once if it is 0); exit code."""
        try:
            if self.popen.poll() is None:
                try:
                    if timeout <= 0:
                        raise subprocess.TimeoutExpired(self.args, 0)
                    with contextlib.suppress(ProcessLookupError):
                        self.popen.send_signal(signal.SIGTERM)
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        self.popen.kill()
                    self.popen.wait(10)
            return self.popen.returncode
        finally:
            if not self._log.closed:
                self._log.write(f"==== stopped, exit code {self.popen.returncode}\n".encode())
                self._log.close()

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.popen.returncode}"
        return f"<ManagedProcess {self.name} pid={self.pid} {state} log={self.log_path}>"


_LIVE: set[ControlPlane] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    """Stop control planes nobody closed, so an aborted test run leaves no processes."""
    with _LIVE_LOCK:
        planes = list(_LIVE)
    for plane in planes:
        with contextlib.suppress(Exception):
            plane.stop()


def _openssl(args: str, cwd: Path) -> None:
    """Run ``openssl`` with whitespace-separated ``args`` (none contain spaces) in ``cwd``."""
    try:
        subprocess.run(
            ["openssl", *args.split()], cwd=cwd, check=True, capture_output=True, text=True
        )
    except FileNotFoundError as exc:
        raise ControlPlaneError("openssl is not installed", component="pki") from exc
    except subprocess.CalledProcessError as exc:
        raise ControlPlaneError(
            f"openssl {args} failed", component="pki", log_tail=exc.stderr
        ) from exc


class ControlPlane:
    """etcd + kube-apiserver (+ kube-scheduler on demand) on loopback ports.

    Use as a context manager; everything is stopped on exit, on exceptions too.
    Authentication is a static admin token (group system:masters) and RBAC is really
    enforced, so ``kubectl auth can-i --as system:serviceaccount:ns:name`` answers
    truthfully. PodSecurity and Priority admission are on.
    """

    def __init__(
        self,
        bin_dir: Path,
        work_dir: Path,
        *,
        apiserver_args: Sequence[str] = (),
        start_timeout: float = 120.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.bin_dir = Path(bin_dir)
        self.work_dir = Path(work_dir).resolve()
        self.apiserver_args = list(apiserver_args)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.token = secrets.token_hex(24)
        self.etcd_port = 0
        self.apiserver_port = 0
        self.etcd: ManagedProcess | None = None
        self.apiserver: ManagedProcess | None = None
        self.schedulers: list[ManagedProcess] = []
        self._scheduler_count = 0
        self._etcd_data: Path | None = None
        self._env = _child_env()
        self._ssl = ssl.create_default_context()
        self.pki_dir = self.work_dir / "pki"
        self.log_dir = self.work_dir / "logs"
        self.kubeconfig_path = self.work_dir / "kubeconfig"
        for binary in CONTROL_PLANE_BINARIES:
            if not os.access(self.bin_dir / binary, os.X_OK):
                raise ControlPlaneError(f"{self.bin_dir / binary} is missing or not executable")

    # -- public properties ------------------------------------------------------------

    @property
    def server_url(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def ca_path(self) -> Path:
        """CA that signed the API server's serving certificate (in the kubeconfig too)."""
        return self.pki_dir / "ca.crt"

    # -- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start etcd and kube-apiserver and wait until the API server is ready."""
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(exist_ok=True)
            self._make_pki()
            self._start_etcd()
            self.apiserver_port = free_port()
            self._start_apiserver()
            self._write_kubeconfig()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop schedulers, then the API server, then etcd; SIGKILL whatever lingers."""
        for proc in reversed(self.schedulers):
            proc.stop(self.stop_timeout)
        self.schedulers.clear()
        if self.apiserver is not None:
            self.apiserver.stop(self.stop_timeout)
            self.apiserver = None
        if self.etcd is not None:
            self.etcd.stop(self.stop_timeout)
            self.etcd = None
        if self._etcd_data is not None:
            shutil.rmtree(self._etcd_data, ignore_errors=True)
            self._etcd_data = None
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def restart_apiserver(self, *, graceful: bool = True) -> None:
        """Stop kube-apiserver and start it again on the same port, certs and etcd.

        Every watch (the scheduler's, an extender's informers) is cut. ``graceful`` sends
        SIGTERM, so watches end cleanly and clients get connection refused until it is
        back; ``graceful=False`` SIGKILLs it, as a crash would (connections reset).
        Returns once the new server is ready.
        """
        if self.apiserver is None:
            raise ControlPlaneError("not running", component="kube-apiserver")
        self.apiserver.stop(self.stop_timeout if graceful else 0.0)
        self.apiserver = None
        self._start_apiserver()

    # -- PKI and config ---------------------------------------------------------------

    def _make_pki(self) -> None:
        """CA, a serving cert for 127.0.0.1/localhost, an SA signing key and the token file."""
        d = self.pki_dir
        d.mkdir(parents=True, exist_ok=True)
        # EC P-256 everywhere: fast to generate, accepted for serving and SA signing.
        ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        _openssl(
            f"req -x509 {ec} -keyout ca.key -out ca.crt -days 3650 -subj /CN=weighbridge-ca", d
        )
        _openssl(f"req {ec} -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver", d)
        (d / "apiserver.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1\n"
            "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        )
        _openssl(
            "x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650"
            " -extfile apiserver.ext -out apiserver.crt",
            d,
        )
        _openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key", d)
        _openssl("pkey -in sa.key -pubout -out sa.pub", d)
        tokens = d / "tokens.csv"
        tokens.write_text(f'{self.token},admin,weighbridge-admin,"system:masters"\n')
        tokens.chmod(0o600)
        self._ssl = ssl.create_default_context(cafile=str(self.ca_path))

    def _write_kubeconfig(self) -> None:
        ca = base64.b64encode(self.ca_path.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "weighbridge",
                    "cluster": {"server": self.server_url, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [
                {"name": "weighbridge", "context": {"cluster": "weighbridge", "user": "admin"}}
            ],
            "current-context": "weighbridge",
        }
        self.kubeconfig_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig_path.chmod(0o600)

    # -- components -------------------------------------------------------------------

    def _start_etcd(self) -> None:
        self._etcd_data = Path(tempfile.mkdtemp(prefix="etcd-", dir=self.work_dir))
        self.etcd_port = free_port()
        self.etcd = ManagedProcess(
            "etcd",
            [
                str(self.bin_dir / "etcd"),
                f"--data-dir={self._etcd_data}",
                f"--client-port={self.etcd_port}",
                f"--peer-port={free_port()}",
                "--unsafe-no-fsync=true",
                "--log-level=error",  # warn logs every apiserver status probe
            ],
            self.log_dir / "etcd.log",
            self._env,
        )
        self._wait(self.etcd, f"{self.etcd_url}/health", self._etcd_healthy, self.start_timeout)

    def _apiserver_command(self) -> list[str]:
        d = self.pki_dir
        return [
            str(self.bin_dir / "kube-apiserver"),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.apiserver_port}",
            f"--cert-dir={d / 'apiserver-certs'}",
            f"--tls-cert-file={d / 'apiserver.crt'}",
            f"--tls-private-key-file={d / 'apiserver.key'}",
            f"--client-ca-file={d / 'ca.crt'}",
            f"--token-auth-file={d / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={d / 'sa.pub'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24",
            f"--disable-admission-plugins={','.join(DISABLED_ADMISSION_PLUGINS)}",
            "--allow-privileged=true",
            "--profiling=false",
            # Without this, SIGTERM waits up to a minute for open watches (HTTP/2 streams)
            # to end by themselves; with it, watches are ended and the server exits in ~1s.
            "--shutdown-watch-termination-grace-period=2s",
            *self.apiserver_args,
        ]

    def _start_apiserver(self) -> None:
        self.apiserver = ManagedProcess(
            "kube-apiserver",
            self._apiserver_command(),
            self.log_dir / "kube-apiserver.log",
            self._env,
        )
        self._wait(self.apiserver, f"{self.server_url}/readyz", self._https_ok, self.start_timeout)

    def start_scheduler(
        self,
        config_yaml: str = DEFAULT_SCHEDULER_CONFIG,
        *,
        extra_args: Sequence[str] = (),
        timeout: float | None = None,
    ) -> ManagedProcess:
        """Start kube-scheduler with a KubeSchedulerConfiguration and wait for /readyz.

        ``clientConnection.kubeconfig`` is filled in with the admin kubeconfig (kube-scheduler
        ignores ``--kubeconfig`` when ``--config`` is given) and leader election is turned
        off, unless the YAML sets them. The secure port is a free loopback port, so
        /metrics and /readyz can be read with the admin token (``scheduler_url`` below).
        """
        if self.apiserver is None:
            raise ControlPlaneError("start the control plane first", component="kube-scheduler")
        config = yaml.safe_load(config_yaml)
        if not isinstance(config, dict):
            raise ControlPlaneError(
                "scheduler config must be a YAML mapping", component="kube-scheduler"
            )
        connection = config.setdefault("clientConnection", {})
        connection.setdefault("kubeconfig", str(self.kubeconfig_path))
        config.setdefault("leaderElection", {}).setdefault("leaderElect", False)
        self._scheduler_count += 1
        n = self._scheduler_count
        config_path = self.work_dir / f"kube-scheduler-{n}.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        port = free_port()
        proc = ManagedProcess(
            f"kube-scheduler-{n}",
            [
                str(self.bin_dir / "kube-scheduler"),
                f"--config={config_path}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.work_dir / f'kube-scheduler-{n}-certs'}",
                f"--authentication-kubeconfig={self.kubeconfig_path}",
                f"--authorization-kubeconfig={self.kubeconfig_path}",
                *extra_args,
            ],
            self.log_dir / f"kube-scheduler-{n}.log",
            self._env,
            port=port,
        )
        self.schedulers.append(proc)
        url = f"https://127.0.0.1:{port}/readyz"
        try:
            self._wait(proc, url, self._https_ok_unverified, timeout or self.start_timeout)
        except BaseException:
            self.stop_scheduler(proc)
            raise
        return proc

    def stop_scheduler(self, proc: ManagedProcess | None = None) -> None:
        """Stop one scheduler, or all of them when ``proc`` is None."""
        targets = list(self.schedulers) if proc is None else [proc]
        for p in targets:
            p.stop(self.stop_timeout)
            if p in self.schedulers:
                self.schedulers.remove(p)

    # -- clients ----------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this cluster as admin; raises KubectlError if ``check``."""
        cmd = [
            str(self.bin_dir / "kubectl"),
            f"--kubeconfig={self.kubeconfig_path}",
            f"--cache-dir={self.work_dir / 'kubectl-cache'}",
            *args,
        ]
        try:
            done = subprocess.run(
                cmd,
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self._env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ControlPlaneError(
                f"kubectl {' '.join(args)} timed out after {timeout}s", component="kubectl"
            ) from exc
        if check and done.returncode != 0:
            raise KubectlError(args, done.returncode, done.stdout, done.stderr)
        return done

    def helm(
        self, *args: str, check: bool = True, timeout: float = 300.0
    ) -> subprocess.CompletedProcess[str]:
        """Run the built helm as admin with its state in the work dir; HelmError if ``check``."""
        home = self.work_dir / "helm"
        env = dict(self._env)
        for var, sub in (
            ("HELM_CACHE_HOME", "cache"),
            ("HELM_CONFIG_HOME", "config"),
            ("HELM_DATA_HOME", "data"),
        ):
            env[var] = str(home / sub)
        cmd = [str(helm_binary()), f"--kubeconfig={self.kubeconfig_path}", *args]
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if check and done.returncode != 0:
            raise HelmError(args, done.returncode, done.stdout, done.stderr)
        return done

    def request(self, method: str, path: str, body: Any = None, *, timeout: float = 30.0) -> Any:
        """One JSON request to the API server as admin; raises ApiError on HTTP errors."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server_url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            patch = "application/merge-patch+json"
            req.add_header("Content-Type", patch if method == "PATCH" else "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ssl) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(method, path, exc.code, exc.read().decode("utf-8", "replace")) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ControlPlaneError(f"{method} {path}: {exc}", component="api") from exc
        return json.loads(raw) if raw else None

    def install_crds(self) -> None:
        """Install the chart's CRDs (HostAggregate) and wait until they are served."""
        for crd in sorted((REPO_ROOT / "charts" / "weighbridge" / "crds").glob("*.yaml")):
            self.kubectl("apply", "--server-side", "-f", str(crd))
        self.kubectl(
            "wait",
            "--for=condition=Established",
            "crd/hostaggregates.weighbridge.io",
            "--timeout=60s",
        )

    def scheduler_url(self, proc: ManagedProcess) -> str:
        """Base URL of a scheduler's secure port (self-signed; use the admin token)."""
        return f"https://127.0.0.1:{proc.port}"

    # -- waiting ----------------------------------------------------------------------

    def _wait(
        self,
        proc: ManagedProcess,
        url: str,
        probe: Callable[[str], tuple[bool, str]],
        timeout: float,
    ) -> None:
        """Poll ``probe(url)`` until true; fail fast if the process exits, quoting its log."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            if not proc.alive():
                raise proc.error(f"exited with code {proc.popen.returncode} before {url} was ready")
            ok, last = probe(url)
            if ok:
                return
            if time.monotonic() > deadline:
                raise proc.error(f"not ready after {timeout:.0f}s ({url}: {last})")
            time.sleep(0.2)

    def _etcd_healthy(self, url: str) -> tuple[bool, str]:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                body = resp.read().decode()
        except (urllib.error.URLError, OSError) as exc:
            return False, str(exc)
        return '"health":"true"' in body.replace(" ", ""), body

    def _https_ok(self, url: str, context: ssl.SSLContext | None = None) -> tuple[bool, str]:
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=5, context=context or self._ssl) as resp:
                return resp.status == 200, resp.read().decode("utf-8", "replace")[-500:]
        except urllib.error.HTTPError as exc:
            return False, f"HTTP {exc.code}: {exc.read().decode('utf-8', 'replace')[-500:]}"
        except (urllib.error.URLError, OSError) as exc:
            return False, str(exc)

    def _https_ok_unverified(self, url: str) -> tuple[bool, str]:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return self._https_ok(url, ctx)

    def processes(self) -> Iterator[ManagedProcess]:
        """Every running component, for diagnostics."""
        for p in (self.etcd, self.apiserver, *self.schedulers):
            if p is not None:
                yield p
