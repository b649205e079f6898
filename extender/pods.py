"""What the extender reads from a Pod, whether it is being placed or already placed."""

from __future__ import annotations

from .errors import ObjectError, QuantityError
from .hoststate import PodInfo, pod_is_io_op
from .objects import Container, Pod
from .resources import (
    ContainerResources,
    PodResources,
    container_requests,
    parse_resource_list,
    pod_requests,
)
from .wire import ExtenderBindingArgs

FLAVOR_ANNOTATION = "weighbridge.io/flavor"


def _container(c: Container, restartable: bool) -> ContainerResources:
    res = c.resources
    requests = container_requests(res.requests if res else None, res.limits if res else None)
    return ContainerResources(requests, restartable)


def pod_resources(pod: Pod) -> PodResources:
    """A pod's requests in HostState units; a bad quantity is the pod's error, named."""
    spec = pod.spec
    try:
        pod_level = None
        if spec.resources is not None:
            pod_level = container_requests(spec.resources.requests, spec.resources.limits)
        return pod_requests(
            (_container(c, False) for c in spec.containers),
            (_container(c, c.restart_policy == "Always") for c in spec.init_containers),
            parse_resource_list(spec.overhead),
            pod_level,
        )
    except QuantityError as exc:
        raise ObjectError(pod_where(pod), str(exc)) from None


def pod_uid(pod: Pod) -> str:
    """A pod's key in the cache: its UID, or namespace/name where a snapshot has no UID."""
    meta = pod.metadata
    return meta.uid or f"{meta.namespace}/{meta.name}"


def pod_name(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def pod_where(pod: Pod) -> str:
    return f"Pod {pod_name(pod)}"


def binding_uid(args: ExtenderBindingArgs) -> str:
    """The key of the pod a bind call names, as `pod_uid` keys it."""
    return args.PodUID or f"{args.PodNamespace}/{args.PodName}"


def first_image(pod: Pod) -> str:
    return pod.spec.containers[0].image if pod.spec.containers else ""


def pod_info(pod: Pod) -> PodInfo:
    """The lean record a HostState keeps for a pod bound to it."""
    meta = pod.metadata
    return PodInfo(
        uid=pod_uid(pod),
        namespace=meta.namespace,
        name=meta.name,
        resources=pod_resources(pod),
        io_op=pod_is_io_op(pod),
        labels=meta.labels,
        flavor=meta.annotations.get(FLAVOR_ANNOTATION),
        image=first_image(pod),
    )
