"""ImagePropertiesFilter (architecture, runtime, os, kubelet version) and IsolatedHostsFilter."""

from __future__ import annotations

from typing import Any

import pytest

from extender.contract import IMAGE_ID, IMAGE_PROPERTIES
from extender.engine.filters.images import parse_predicate, satisfies, version_of
from extender.model.options import Options
from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import check, extender_filter, passing, run


def _props(props: dict[str, Any], **node_kw: Any) -> str | None:
    state = cluster(node("n1", **node_kw))
    return check("ImagePropertiesFilter", state, pod(annotations={IMAGE_PROPERTIES: props}), "n1")


FULL = {
    "hw_architecture": "x86_64",
    "img_hv_type": "containerd",
    "hw_vm_mode": "linux",
}


def test_full_match_with_version_predicate() -> None:
    assert _props({**FULL, "img_hv_requested_version": ">=1.30,<1.32"}) is None
    assert _props({**FULL, "img_hv_requested_version": ">=1.32"}) == (
        "ImagePropertiesFilter: the image needs kubelet >=1.32 [node: runs 1.31.2]"
    )
    # Nova's host version 5000 (0.5.0) against ">=6.0"
    assert _props({**FULL, "img_hv_requested_version": ">=6.0"}, kubelet="v0.5.0") is not None


def test_mismatches_and_partial_requests() -> None:
    assert _props({**FULL, "hw_architecture": "armv7"}) == (
        "ImagePropertiesFilter: the image needs architecture arm, runtime containerd, os linux, "
        "which the node does not offer [node: offers amd64/containerd/linux]"
    )
    partial = {"hw_architecture": "x86_64", "hw_vm_mode": "linux"}
    assert _props(partial) is None
    assert _props(partial, os="windows") is not None
    assert _props({"img_hv_type": "cri-o"}, runtime="cri-o://1.30.0") is None
    assert _props({"img_hv_type": "cri-o"}) is not None


def test_legacy_property_names_and_precedence() -> None:
    legacy = {"architecture": "amd64", "hypervisor_type": "containerd", "vm_mode": "linux"}
    assert _props(legacy) is None
    assert _props({**legacy, "hypervisor_version_requires": ">=1.40"}) is not None
    # the Ocata name wins over the legacy one
    assert _props({"hw_architecture": "arm64", "architecture": "amd64"}) is not None


@pytest.mark.parametrize(
    ("image", "node_arch", "passes"),
    [
        ("aarch64", "arm64", True),
        ("X86_64", "amd64", True),
        ("i686", "386", True),
        ("x86_32", "386", True),
        ("amd64", "x86_64", True),  # either side may use either name
        ("ppc64le", "amd64", False),
    ],
)
def test_architectures_are_canonical(image: str, node_arch: str, passes: bool) -> None:
    assert (_props({"hw_architecture": image}, arch=node_arch) is None) is passes


def test_version_only_or_nothing_is_not_checked() -> None:
    """As Nova: the predicate is read only when arch, type or mode is also asked for."""
    state = cluster(node("n1"))
    only_version = pod(annotations={IMAGE_PROPERTIES: {"img_hv_requested_version": ">=9.0"}})
    assert passing(["ImagePropertiesFilter"], state, only_version) == ["n1"]
    assert run(["ImagePropertiesFilter"], state, only_version).steps[0].seconds == 0.0
    assert passing(["ImagePropertiesFilter"], state, pod()) == ["n1"]


def test_node_without_supported_instances_or_version() -> None:
    assert _props({"hw_architecture": "amd64"}, arch="", os="") == (
        "ImagePropertiesFilter: the image needs architecture amd64; node advertises none"
    )
    # no kubelet version: the version part passes
    assert _props({**FULL, "img_hv_requested_version": ">=9.0"}, kubelet="") is None


def test_predicates() -> None:
    v = version_of(1_031_002)
    assert v == (1, 31, 2)
    assert satisfies(v, parse_predicate(">=1.31, <1.31.3"))
    assert not satisfies(v, parse_predicate("==1.31"))
    assert satisfies(v, parse_predicate("!=1.30,>1"))
    for bad in ("1.30", ">= x", "~=1.2", ">=1.2.3.4", ""):
        with pytest.raises(ValueError):
            parse_predicate(bad)


@pytest.mark.parametrize(
    ("props", "why"),
    [
        (
            {"hw_architecture": "amd64", "img_hv_requested_version": "1.30"},
            "img_hv_requested_version: '1.30' is not a comparison like '>=1.30'",
        ),
        ({"hw_architecture": 64}, "hw_architecture must be a string, got int"),
    ],
)
def test_malformed_properties_refuse_every_node(props: dict[str, Any], why: str) -> None:
    state = cluster(node("n1"), node("n2"))
    answer = extender_filter(
        state, pod(annotations={IMAGE_PROPERTIES: props}), ["ImagePropertiesFilter"]
    )
    assert answer.NodeNames == []
    reasons = set(answer.FailedAndUnresolvableNodes.values())
    assert len(reasons) == 1
    (reason,) = reasons
    assert reason.startswith("ImagePropertiesFilter: annotation weighbridge.io/image-properties: ")
    assert why in reason


# -- IsolatedHostsFilter ------------------------------------------------------------------

ISOLATED = "registry.example/secure:1.0"


def _isolated(image: str, restrict: bool, **opts: Any) -> list[str]:
    state = cluster(node("iso-1"), node("other"))
    options = Options(
        isolated_images=opts.get("images", [ISOLATED]),
        isolated_hosts=opts.get("hosts", ["iso-1"]),
        restrict_isolated_hosts_to_isolated_images=restrict,
    )
    return passing(["IsolatedHostsFilter"], state, pod(image=image), options)


def test_isolation_restricted() -> None:
    assert _isolated(ISOLATED, True) == ["iso-1"]
    assert _isolated("registry.example/web:1", True) == ["other"]


def test_isolation_unrestricted() -> None:
    assert _isolated(ISOLATED, False) == ["iso-1"]
    assert _isolated("registry.example/web:1", False) == ["iso-1", "other"]


def test_isolation_with_only_hosts_or_nothing() -> None:
    assert _isolated("any", True, images=[]) == ["other"]
    assert _isolated("any", False, images=[]) == ["iso-1", "other"]
    assert _isolated(ISOLATED, True, images=[], hosts=[]) == ["iso-1", "other"]


def test_image_id_annotation_and_no_image() -> None:
    state = cluster(node("iso-1"), node("other"))
    options = Options(isolated_images=[ISOLATED], isolated_hosts=["iso-1"])
    named = pod(image="registry.example/web:1", annotations={IMAGE_ID: ISOLATED})
    assert passing(["IsolatedHostsFilter"], state, named, options) == ["iso-1"]
    # no image at all counts as not isolated (Nova's volume-backed boot)
    assert passing(["IsolatedHostsFilter"], state, pod(image=""), options) == ["other"]
    assert check("IsolatedHostsFilter", state, pod(image=""), "iso-1", options) == (
        "IsolatedHostsFilter: node is in isolated_hosts and takes only isolated_images; "
        "the pod's image is no image (set weighbridge.io/image-id)"
    )
    assert check("IsolatedHostsFilter", state, pod(image=ISOLATED), "other", options) == (
        f"IsolatedHostsFilter: image {ISOLATED} is in isolated_images; node is not in "
        "isolated_hosts"
    )
