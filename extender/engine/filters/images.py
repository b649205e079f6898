"""Filters on the pod's image: ImagePropertiesFilter and IsolatedHostsFilter.

ImagePropertiesFilter compares the image properties in `weighbridge.io/image-properties`
with the node's supported instances, one triple (architecture, runtime, os) from the
`kubernetes.io/arch` and `kubernetes.io/os` labels and the container runtime. Property
names are Nova's (Ocata's `hw_architecture`, `img_hv_type`, `hw_vm_mode`,
`img_hv_requested_version`, or the legacy `architecture`, `hypervisor_type`, `vm_mode`,
`hypervisor_version_requires`); the version predicate is checked against the kubelet
version, and, as in Nova, only when one of the other three is set.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from extender.contract import IMAGE_ID, IMAGE_PROPERTIES
from extender.engine.filters.base import BaseFilter, reason
from extender.errors import AnnotationError
from extender.model.hoststate import HostState
from extender.model.options import Options
from extender.model.request import RequestSpec

#: (Ocata name, legacy name) of each property; Nova's ImageMetaProps reads both.
_PROPERTIES = {
    "architecture": ("hw_architecture", "architecture"),
    "hypervisor_type": ("img_hv_type", "hypervisor_type"),
    "vm_mode": ("hw_vm_mode", "vm_mode"),
    "version": ("img_hv_requested_version", "hypervisor_version_requires"),
}

#: Nova canonicalises architectures (x86_32 is i686); Kubernetes names them as Go does.
_ARCH_ALIASES = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "x64": "amd64",
    "i686": "386",
    "i386": "386",
    "x86_32": "386",
    "aarch64": "arm64",
    "armv8": "arm64",
    "armv7l": "arm",
    "armv7": "arm",
    "armhf": "arm",
}

_COMPARE: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
}
_CLAUSE = re.compile(r"\s*(<=|>=|==|!=|<|>)\s*(\d+(?:\.\d+){0,2})\s*")

Version = tuple[int, int, int]
Predicate = list[tuple[str, Version]]


def canonical_arch(name: str) -> str:
    name = name.lower()
    return _ARCH_ALIASES.get(name, name)


def parse_version(text: str) -> Version:
    parts = [int(p) for p in text.split(".")]
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def version_of(number: int) -> Version:
    """HostState keeps the kubelet version as Nova's int: major*10^6 + minor*10^3 + patch."""
    return number // 1_000_000, number // 1_000 % 1_000, number % 1_000


def parse_predicate(text: str) -> Predicate:
    """Nova's version predicate, e.g. ">=1.30,<1.33": every clause must hold."""
    clauses = []
    for clause in text.split(","):
        found = _CLAUSE.fullmatch(clause)
        if found is None:
            raise ValueError(
                f"{clause.strip()!r} is not a comparison like '>=1.30' (operators "
                f"{' '.join(_COMPARE)})"
            )
        clauses.append((found.group(1), parse_version(found.group(2))))
    return clauses


def satisfies(version: Version, predicate: Predicate) -> bool:
    return all(_COMPARE[op](version, bound) for op, bound in predicate)


def _format_version(version: Version) -> str:
    return ".".join(str(v) for v in version)


@dataclass(frozen=True, slots=True)
class _ImageRequest:
    architecture: str | None
    hypervisor_type: str | None
    vm_mode: str | None
    version: Predicate | None
    version_text: str

    @property
    def engaged(self) -> bool:
        return bool(self.architecture or self.hypervisor_type or self.vm_mode)


def _string_property(props: dict[str, object], which: str) -> str | None:
    for name in _PROPERTIES[which]:
        value = props.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise AnnotationError(
                IMAGE_PROPERTIES, f"{name} must be a string, got {type(value).__name__}"
            )
        return value
    return None


def _image_request(spec: RequestSpec) -> _ImageRequest:
    props = spec.image_properties
    arch = _string_property(props, "architecture")
    hv_type = _string_property(props, "hypervisor_type")
    vm_mode = _string_property(props, "vm_mode")
    version_text = _string_property(props, "version")
    predicate = None
    if version_text is not None:
        try:
            predicate = parse_predicate(version_text)
        except ValueError as exc:
            name = next(n for n in _PROPERTIES["version"] if props.get(n) == version_text)
            raise AnnotationError(IMAGE_PROPERTIES, f"{name}: {exc}") from None
    return _ImageRequest(
        canonical_arch(arch) if arch else None,
        hv_type.lower() if hv_type else None,
        vm_mode.lower() if vm_mode else None,
        predicate,
        version_text or "",
    )


class ImagePropertiesFilter(BaseFilter):
    """The node must support the image's architecture, runtime (Nova's hypervisor type) and
    os (Nova's vm mode), and its kubelet version must satisfy the image's predicate."""

    def applies(self, spec: RequestSpec) -> bool:
        return spec.derived(self.name, _image_request).engaged

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        req = spec.derived(self.name, _image_request)
        if not host.supported_instances:
            return f"{self.name}: the image needs {self._wanted(req)}; node advertises none"
        wanted = (req.architecture, req.hypervisor_type, req.vm_mode)
        for arch, runtime, os_name in host.supported_instances:
            offered = (canonical_arch(arch), runtime.lower(), os_name.lower())
            if all(w is None or w == o for w, o in zip(wanted, offered, strict=True)):
                break
        else:
            offered_text = "; ".join("/".join(t) for t in host.supported_instances)
            return reason(
                f"{self.name}: the image needs {self._wanted(req)}, which the node does not offer",
                f"offers {offered_text}",
            )
        if req.version is not None and host.hypervisor_version:
            version = version_of(host.hypervisor_version)
            if not satisfies(version, req.version):
                return reason(
                    f"{self.name}: the image needs kubelet {req.version_text}",
                    f"runs {_format_version(version)}",
                )
        return None

    @staticmethod
    def _wanted(req: _ImageRequest) -> str:
        parts = {
            "architecture": req.architecture,
            "runtime": req.hypervisor_type,
            "os": req.vm_mode,
        }
        return ", ".join(f"{k} {v}" for k, v in parts.items() if v)


class IsolatedHostsFilter(BaseFilter):
    """Isolated images run only on isolated hosts; with the restrict option (the default)
    isolated hosts run only isolated images."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.images = frozenset(options.isolated_images)
        self.hosts = frozenset(options.isolated_hosts)
        self.restrict = options.restrict_isolated_hosts_to_isolated_images

    def applies(self, spec: RequestSpec) -> bool:
        return bool(self.images or self.hosts)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        host_isolated = host.host in self.hosts
        image_isolated = bool(spec.image_id) and spec.image_id in self.images
        if self.restrict:
            passes = image_isolated == host_isolated
        else:
            passes = not image_isolated or host_isolated
        if passes:
            return None
        image = spec.image_id or f"no image (set {IMAGE_ID})"
        if host_isolated:
            return (
                f"{self.name}: node is in isolated_hosts and takes only isolated_images; "
                f"the pod's image is {image}"
            )
        return f"{self.name}: image {image} is in isolated_images; node is not in isolated_hosts"
