"""The extender protocol of k8s.io/kube-scheduler/extender/v1: types, decoding, encoding.

The Go types have no JSON tags, so every key is the capitalised field name, and nil is sent
as null. Whole Nodes are kept as raw JSON: we read only their names (the cache knows the
rest) and answer with the very bytes we were sent, which saves re-encoding 30 MB.
"""

from __future__ import annotations

from typing import Any

import msgspec

from extender.errors import WireError
from extender.kube.objects import NodeName, Pod


class RawNodeList(msgspec.Struct, omit_defaults=True):
    items: list[msgspec.Raw] = []
    metadata: dict[str, Any] = {}
    kind: str = ""
    apiVersion: str = ""


class ExtenderArgs(msgspec.Struct):
    Pod: Pod | None = None
    Nodes: RawNodeList | None = None
    NodeNames: list[str] | None = None


class ExtenderFilterResult(msgspec.Struct):
    Nodes: RawNodeList | None = None
    NodeNames: list[str] | None = None
    FailedNodes: dict[str, str] = {}
    FailedAndUnresolvableNodes: dict[str, str] = {}
    Error: str = ""


class HostPriority(msgspec.Struct):
    Host: str
    Score: int


class ExtenderBindingArgs(msgspec.Struct):
    PodName: str = ""
    PodNamespace: str = ""
    PodUID: str = ""
    Node: str = ""


class ExtenderBindingResult(msgspec.Struct):
    Error: str = ""


class MetaPod(msgspec.Struct):
    UID: str


class MetaVictims(msgspec.Struct):
    Pods: list[MetaPod] | None = None
    NumPDBViolations: int = 0


class Victims(msgspec.Struct):
    Pods: list[Pod] | None = None
    NumPDBViolations: int = 0


class ExtenderPreemptionArgs(msgspec.Struct):
    Pod: Pod | None = None
    NodeNameToVictims: dict[str, Victims] | None = None
    NodeNameToMetaVictims: dict[str, MetaVictims] | None = None


class ExtenderPreemptionResult(msgspec.Struct):
    NodeNameToMetaVictims: dict[str, MetaVictims] | None = None


_args_decoder = msgspec.json.Decoder(ExtenderArgs)


class CapacityArgs(msgspec.Struct):
    """POST /capacity: the pod to count copies of, and at most how many (default: the
    configured capacity.max_copies)."""

    Pod: Pod | None = None
    Max: int | None = None


_name_decoder = msgspec.json.Decoder(NodeName)
_capacity_decoder = msgspec.json.Decoder(CapacityArgs)
_bind_decoder = msgspec.json.Decoder(ExtenderBindingArgs)
_preempt_decoder = msgspec.json.Decoder(ExtenderPreemptionArgs)
encoder = msgspec.json.Encoder()


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes, what: str) -> Any:
    if not body:
        raise WireError(f"empty body: expected {what} as JSON")
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise WireError(f"not valid {what}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise WireError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        # msgspec bounds its own recursion and says so: nesting no Kubernetes object has
        raise WireError(f"not valid {what}: JSON nested too deeply") from None


#: more candidate nodes than any call names (kube-scheduler sends at most every node of a
#: cluster, 5,000 for the largest it supports); past it a call is refused, not worked through
MAX_NODES = 50_000


def decode_args(body: bytes) -> tuple[ExtenderArgs, Pod, list[str]]:
    """Decode filter/prioritize arguments; returns the args, the pod and the node names."""
    args, pod = _decode_pod_args(body)
    if args.NodeNames is None and args.Nodes is None:
        raise WireError("ExtenderArgs has neither NodeNames nor Nodes")
    return args, pod, _node_names(args)


def _decode_pod_args(body: bytes) -> tuple[ExtenderArgs, Pod]:
    args: ExtenderArgs = _decode(_args_decoder, body, "ExtenderArgs")
    if args.Pod is None:
        raise WireError("ExtenderArgs has no Pod")
    return args, args.Pod


def _node_names(args: ExtenderArgs) -> list[str]:
    """The candidates' names: NodeNames as given, or the names of the Nodes' items in order."""
    items = args.Nodes.items if args.Nodes else []
    given = len(items) if args.NodeNames is None else len(args.NodeNames)
    if given > MAX_NODES:
        raise WireError(f"{given} candidate nodes; at most {MAX_NODES}")
    if args.NodeNames is not None:
        return args.NodeNames
    names = []
    for i, raw in enumerate(items):
        try:
            name = _name_decoder.decode(raw).metadata.name
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
            raise WireError(f"Nodes.items[{i}] is not a Node: {exc}") from None
        if not name:
            raise WireError(f"Nodes.items[{i}] has no metadata.name")
        names.append(name)
    return names


def decode_binding(body: bytes) -> ExtenderBindingArgs:
    args: ExtenderBindingArgs = _decode(_bind_decoder, body, "ExtenderBindingArgs")
    missing = [k for k in ("PodName", "PodNamespace", "Node") if not getattr(args, k)]
    if missing:
        raise WireError(f"ExtenderBindingArgs is missing {', '.join(missing)}")
    return args


def decode_preemption(body: bytes) -> tuple[ExtenderPreemptionArgs, Pod]:
    args: ExtenderPreemptionArgs = _decode(_preempt_decoder, body, "ExtenderPreemptionArgs")
    if args.Pod is None:
        raise WireError("ExtenderPreemptionArgs has no Pod")
    return args, args.Pod


def decode_explain(body: bytes) -> tuple[Pod, list[str] | None]:
    """A what-if request: a Pod, and optionally the candidate node names (default: all)."""
    args, pod = _decode_pod_args(body)
    if args.NodeNames is None and args.Nodes is None:
        return pod, None
    return pod, _node_names(args)


def decode_capacity(body: bytes) -> tuple[Pod, int | None]:
    args: CapacityArgs = _decode(_capacity_decoder, body, "capacity arguments")
    if args.Pod is None:
        raise WireError("capacity arguments have no Pod")
    if args.Max is not None and args.Max < 1:
        raise WireError(f"Max={args.Max}: expected a whole number above 0")
    return args.Pod, args.Max


def binding_uid(args: ExtenderBindingArgs) -> str:
    """The key of the pod a bind call names, as `pod_uid` keys it."""
    return args.PodUID or f"{args.PodNamespace}/{args.PodName}"
