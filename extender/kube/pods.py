"""What the extender reads from a Pod, whether it is being placed or already placed."""

from __future__ import annotations

from extender.errors import ObjectError, QuantityError
from extender.kube.objects import Container, Pod
from extender.kube.quantities import (
    ContainerResources,
    PodResources,
    container_requests,
    parse_resource_list,
    pod_requests,
)

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


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


def first_image(pod: Pod) -> str:
    return pod.spec.containers[0].image if pod.spec.containers else ""


def pod_is_terminal(pod: Pod) -> bool:
    """Succeeded and Failed pods hold no resources on their node."""
    return pod.status.phase in TERMINAL_PHASES


def pod_is_io_op(pod: Pod) -> bool:
    """Nova counts builds and other disk-heavy tasks; a pod starting or terminating is that here."""
    return pod.metadata.deletion_timestamp is not None or pod.status.phase in ("", "Pending")
