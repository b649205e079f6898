"""The configuration file: which filters run in which order, weigher multipliers, options.

Validated with pydantic at start-up. Unknown filter or weigher names stop the start with one
message naming every unknown name, as Nova's host manager does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from extender.engine.filters import FILTERS
from extender.engine.scheduler import DEFAULT_FILTERS, DEFAULT_WEIGHERS, Scheduler
from extender.engine.weighers import WEIGHERS
from extender.errors import ConfigError, QuantityError
from extender.kube.quantities import parse_quantity
from extender.model.options import Options, Settings


class ServerSettings(Settings):
    """The HTTP server's limits and shutdown."""

    max_body_bytes: int = Field(
        64 * 1024 * 1024,
        gt=0,
        description="Largest request body accepted; 5,000 full Node objects are about 33 MB.",
    )
    shutdown_delay_seconds: float = Field(
        5.0,
        ge=0,
        description="On SIGTERM, how long the extender keeps answering while /readyz fails, "
        "so that the Service stops sending it calls before it stops listening; it then "
        "finishes the calls in flight and exits. Keep it well below the pod's "
        "terminationGracePeriodSeconds.",
    )
    max_in_flight: int = Field(
        64,
        gt=0,
        description="Calls to the verbs being answered at once, past which a call is answered "
        "at once with HTTP 503 instead of queueing (kube-scheduler calls one pod at a time "
        "per profile; a queue this long means the extender cannot keep up).",
    )
    max_queue_seconds: float = Field(
        0.5,
        gt=0,
        description="How long calls may wait for their turn (the event loop's lag) before "
        "new calls to the verbs are answered at once with HTTP 503 instead of queueing.",
    )
    max_connections: int = Field(
        512,
        gt=0,
        description="Open connections, past which a new one is closed at once; kept below "
        "the process's open-file limit (lowered to it, less 64, when that is smaller).",
    )
    body_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long a call may take to send its body before it is answered 408.",
    )
    idle_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="A connection that sends no complete request head for this long, from "
        "its opening or its last answer, is closed (slow or dead clients hold no slot).",
    )


class BindSettings(Settings):
    """The bind verb's assumptions (Nova's consume_from_request)."""

    assume_seconds: float = Field(
        30.0,
        gt=0,
        description="How long a pod this extender bound counts on its node before the pod "
        "watch confirms it; an assumption never confirmed is dropped after this.",
    )
    wait_for_binds_seconds: float = Field(
        0.5,
        ge=0,
        description="kube-scheduler binds asynchronously, so a filter call can arrive before "
        "the previous pod's bind: it waits up to this long for pending binds so that both "
        "pods are not placed on the same free capacity. 0 turns the wait off. Only used "
        "once bind calls have been received.",
    )


class LeaderSettings(Settings):
    """One active replica at a time (docs/replicas.md): a Lease, as kube-scheduler's own."""

    enabled: bool = Field(
        False,
        description="Elect one active replica through a coordination.k8s.io Lease; the "
        "others keep their caches synced and answer every pod with no node until they "
        "take over. Needed whenever more than one replica runs.",
    )
    lease_name: str = Field("weighbridge", min_length=1, description="The Lease's name.")
    namespace: str = Field(
        "",
        description="Namespace of the Lease and the EndpointSlice; empty: $POD_NAMESPACE, "
        "else the ServiceAccount's namespace, else default.",
    )
    identity: str = Field(
        "", description="This replica's name in the Lease; empty: $POD_NAME, else the host name."
    )
    lease_seconds: float = Field(
        15.0,
        gt=0,
        description="A standby takes the Lease once it has seen no renewal for this long "
        "(kube-scheduler's default): the longest a dead active replica is waited for.",
    )
    renew_deadline_seconds: float = Field(
        10.0,
        gt=0,
        description="The active replica stops answering by itself when it could not renew "
        "for this long, so it is silent before a standby may take over.",
    )
    retry_seconds: float = Field(
        2.0, gt=0, description="How often the Lease is renewed, or tried for by a standby."
    )
    catch_up_seconds: float = Field(
        5.0,
        ge=0,
        description="A new active replica first waits, up to this long, until its pod watch "
        "has caught up with the API server, so it sees the Bindings its predecessor made.",
    )
    service: str = Field(
        "",
        description="Publish the active replica as the only endpoint of this selector-less "
        "Service (an EndpointSlice written on each take-over); empty: publish nothing.",
    )
    address: str = Field("", description="The address published for the Service; empty: $POD_IP.")
    port_name: str = Field(
        "http", min_length=1, description="The Service port's name (http or https)."
    )

    @model_validator(mode="after")
    def _timeline(self) -> LeaderSettings:
        if not self.retry_seconds < self.renew_deadline_seconds < self.lease_seconds:
            raise ValueError(
                "need retry_seconds < renew_deadline_seconds < lease_seconds, or the active "
                "replica could still answer after a standby took over"
            )
        return self


class CapacitySettings(Settings):
    """Headroom: how many more pods of named shapes fit (docs/capacity.md)."""

    shapes: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Pod shapes whose headroom is exported as weighbridge_capacity_pods, by "
        "name: the requests of one container, e.g. small: {cpu: 500m, memory: 1Gi}.",
    )
    interval_seconds: float = Field(
        60.0,
        gt=0,
        description="How often the shapes' headroom is computed, off the request path.",
    )
    max_copies: int = Field(
        1000,
        gt=0,
        le=100_000,
        description="Most copies one count places (POST /capacity, the shapes); a count "
        "that reaches it reports at least this many.",
    )

    alert_below: dict[str, int] = Field(
        default_factory=dict,
        description="Per shape, the headroom under which the WeighbridgeHeadroomLow alert "
        "fires (exported as weighbridge_capacity_alert_below_pods); shapes not named here "
        "never alert.",
    )

    @model_validator(mode="after")
    def _known_shapes(self) -> CapacitySettings:
        unknown = sorted(set(self.alert_below) - set(self.shapes))
        if unknown:
            raise ValueError(f"alert_below names shapes that are not defined: {', '.join(unknown)}")
        return self

    @field_validator("shapes")
    @classmethod
    def _quantities(cls, shapes: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for name, requests in shapes.items():
            for resource, quantity in requests.items():
                try:
                    parse_quantity(quantity)
                except QuantityError as exc:
                    raise ValueError(f"shape {name}: {resource}: {exc}") from None
        return shapes


class EventSettings(Settings):
    """Events on pods the filters leave with no node (docs/troubleshooting.md)."""

    enabled: bool = Field(
        True,
        description="Write an events.k8s.io Event on a pod the filters leave with no node, "
        "with how many nodes each filter removed, the closest miss and what would make it "
        "fit; only the active replica writes them.",
    )
    min_interval_seconds: float = Field(
        30.0,
        gt=0,
        description="At most one Event write per pod per this long; rejections in between "
        "are counted into the Event's series at the next write.",
    )
    queue_size: int = Field(
        256,
        gt=0,
        description="Pods waiting for their Event to be written, past which new ones are "
        "dropped (and counted): the verbs never wait for the API server.",
    )
    write_timeout_seconds: float = Field(
        5.0, gt=0, description="An Event write that takes longer is abandoned (and counted)."
    )


class RequeueSettings(Settings):
    """Waking pods this extender rejected when a change only it sees may let them fit
    (docs/troubleshooting.md, "Pods that wait for kube-scheduler's flush")."""

    enabled: bool = Field(
        False,
        description="Patch the annotation weighbridge.io/requeue on pods the filters left "
        "with no node when a HostAggregate, NodeResourceTopology or DeviceClass changes, an "
        "assumption "
        "or a RetryFilter entry expires, and the change may cure the filter that rejected "
        "them: kube-scheduler retries a pod on any update of it, instead of after its "
        "unschedulable-pods flush (5 minutes). Needs patch on pods (the chart adds it).",
    )
    max_per_second: float = Field(
        10.0, gt=0, description="Pods patched per second, at most, across all pods."
    )
    min_interval_seconds: float = Field(
        10.0,
        ge=0,
        description="A pod is woken at most once per this long; a change in between "
        "wakes it when the interval ends.",
    )
    patch_timeout_seconds: float = Field(
        5.0, gt=0, description="A pod patch that takes longer is abandoned (and counted)."
    )


class Config(Settings):
    """The whole configuration file."""

    filters: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FILTERS),
        description="Enabled filters, run in this order; the first to leave no node stops.",
    )
    weighers: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHERS),
        description="Enabled weighers and their multipliers (negative reverses preference).",
    )
    options: Options = Field(default_factory=Options, description="Nova's scheduler options.")
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server.")
    bind: BindSettings = Field(default_factory=BindSettings, description="The bind verb.")
    capacity: CapacitySettings = Field(
        default_factory=CapacitySettings, description="Headroom counts."
    )
    events: EventSettings = Field(
        default_factory=EventSettings, description="Events on rejected pods."
    )
    leader: LeaderSettings = Field(
        default_factory=LeaderSettings, description="Leader election among replicas."
    )
    requeue: RequeueSettings = Field(
        default_factory=RequeueSettings, description="Waking rejected pods."
    )

    def scheduler(self) -> Scheduler:
        """The engine this configuration sets up."""
        return Scheduler(self.filters, self.weighers, self.options)

    @model_validator(mode="after")
    def _known_names(self) -> Config:
        unknown = [f"filter {n}" for n in self.filters if n not in FILTERS]
        unknown += [f"weigher {n}" for n in self.weighers if n not in WEIGHERS]
        if unknown:
            raise ValueError(
                "unknown "
                + ", ".join(unknown)
                + "; known filters: "
                + ", ".join(sorted(FILTERS))
                + "; known weighers: "
                + ", ".join(sorted(WEIGHERS))
            )
        dupes = sorted({n for n in self.filters if self.filters.count(n) > 1})
        if dupes:
            raise ValueError("filters listed more than once: " + ", ".join(dupes))
        return self


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "configuration") -> Config:
    """Validate a decoded document; raises ConfigError with every problem listed."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration in {source}: the top level must be a mapping")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_config(path: str | Path | None) -> Config:
    """Read the YAML configuration file, or the defaults when no file is given."""
    if path is None:
        return Config()
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration {path} is not valid YAML: {exc}") from None
    return parse_config(data, str(path))
