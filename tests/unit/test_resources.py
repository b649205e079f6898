"""Kubernetes quantities and pod requests, as the API server and kube-scheduler compute them."""

from __future__ import annotations

import pytest
from factories import container, pod

from extender.errors import ObjectError, QuantityError
from extender.kube.pods import pod_resources
from extender.kube.quantities import (
    MIB,
    ContainerResources,
    parse_quantity,
    parse_resource_list,
    pod_requests,
    to_native,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1n", 1e-9),
        ("1u", 1e-6),
        ("500m", 0.5),
        ("3", 3.0),
        ("2k", 2e3),
        ("2M", 2e6),
        ("2G", 2e9),
        ("2T", 2e12),
        ("2P", 2e15),
        ("2E", 2e18),
        ("1Ki", 1024.0),
        ("1Mi", 1024.0**2),
        ("1Gi", 1024.0**3),
        ("1Ti", 1024.0**4),
        ("1Pi", 1024.0**5),
        ("1Ei", 1024.0**6),
        ("1.5Gi", 1.5 * 1024**3),
        (".5", 0.5),
        ("5.", 5.0),
        ("+1", 1.0),
        ("-1", -1.0),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("2e+2", 200.0),
        ("1.5e-3", 0.0015),
        ("128974848", 128974848.0),
        (" 12Mi ", 12 * 1024.0**2),
        (4, 4.0),
        (0.25, 0.25),
    ],
)
def test_parse_quantity(text: str | int | float, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "m",
        "Ki",
        "1Kb",
        "1KiB",
        "1K",
        "abc",
        "1e",
        "e3",
        "1.2.3",
        "0x10",
        "Inf",
        "NaN",
        "1_000",
        "1 5",
        "1e3Ki",
        "1.5e3m",
        "--1",
    ],
)
def test_bad_quantity_names_the_text(text: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert info.value.text == text
    assert repr(text) in str(info.value)


def test_native_units() -> None:
    assert to_native("memory", 3 * MIB) == 3.0
    assert to_native("ephemeral-storage", 10 * MIB) == 10.0
    assert to_native("cpu", 0.25) == 0.25
    assert to_native("nvidia.com/gpu", 2) == 2
    assert parse_resource_list({"cpu": "250m", "memory": "1Gi", "pods": "110"}) == {
        "cpu": 0.25,
        "memory": 1024.0,
        "pods": 110.0,
    }
    assert parse_resource_list(None) == {}


def requests_of(**kwargs: object) -> dict[str, float]:
    return pod_resources(pod(**kwargs)).requests  # type: ignore[arg-type]


def test_containers_add_up() -> None:
    got = requests_of(
        containers=[
            container({"cpu": "500m", "memory": "1Gi"}),
            container({"cpu": "250m", "memory": "512Mi", "ephemeral-storage": "2Gi"}),
        ]
    )
    assert got == {"cpu": 0.75, "memory": 1536.0, "ephemeral-storage": 2048.0}


def test_limits_stand_in_for_missing_requests() -> None:
    got = requests_of(
        containers=[container({"cpu": "1"}, {"cpu": "2", "memory": "2Gi", "nvidia.com/gpu": 1})]
    )
    assert got == {"cpu": 1.0, "memory": 2048.0, "nvidia.com/gpu": 1.0}


def test_no_requests_at_all() -> None:
    assert requests_of(containers=[container()]) == {}
    assert requests_of(containers=[container({"cpu": "0"})]) == {}


def test_init_containers_run_one_at_a_time() -> None:
    got = requests_of(
        containers=[container({"cpu": "1", "memory": "1Gi"})],
        init_containers=[
            container({"cpu": "3", "memory": "256Mi"}),
            container({"cpu": "2", "memory": "4Gi"}),
        ],
    )
    # the peak of the init phase is the larger init container per resource, not their sum
    assert got == {"cpu": 3.0, "memory": 4096.0}


def test_sidecars_run_with_the_containers_and_later_init_containers() -> None:
    sidecar = container({"cpu": "1"}, restart_policy="Always")
    after = requests_of(
        containers=[container({"cpu": "1"})],
        init_containers=[sidecar, container({"cpu": "2"})],
    )
    # regular 1 + sidecar 1 = 2; the init container runs beside the sidecar: 1 + 2 = 3
    assert after == {"cpu": 3.0}
    before = requests_of(
        containers=[container({"cpu": "1"})],
        init_containers=[container({"cpu": "2"}), sidecar],
    )
    # the init container ran before the sidecar started: max(1 + 1, 2) = 2
    assert before == {"cpu": 2.0}


def test_sidecars_accumulate_for_each_later_init_container() -> None:
    got = pod_requests(
        [ContainerResources({"memory": 100.0})],
        [
            ContainerResources({"memory": 50.0}, restartable=True),
            ContainerResources({"memory": 60.0}, restartable=True),
            ContainerResources({"memory": 200.0}),
        ],
    )
    assert got.requests == {"memory": 310.0}
    assert got.get("cpu") == 0.0


def test_overhead_is_added_after_the_init_peak() -> None:
    got = requests_of(
        containers=[container({"cpu": "1", "memory": "1Gi"})],
        init_containers=[container({"cpu": "4"})],
        overhead={"cpu": "100m", "memory": "64Mi"},
    )
    assert got == {"cpu": 4.1, "memory": 1088.0}


def test_pod_level_resources_replace_cpu_and_memory_only() -> None:
    got = requests_of(
        containers=[container({"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"})],
        pod_resources={"requests": {"cpu": "3", "memory": "8Gi", "ephemeral-storage": "9Gi"}},
        overhead={"cpu": "500m"},
    )
    assert got == {"cpu": 3.5, "memory": 8192.0, "ephemeral-storage": 1024.0}


def test_pod_level_limits_default_pod_level_requests() -> None:
    got = requests_of(
        containers=[container({"cpu": "1"})],
        pod_resources={"limits": {"memory": "2Gi"}},
    )
    assert got == {"cpu": 1.0, "memory": 2048.0}


def test_bad_quantity_in_a_pod_names_the_pod_and_the_text() -> None:
    with pytest.raises(ObjectError) as info:
        pod_resources(pod("broken", namespace="shop", requests={"memory": "12 GB"}))
    assert "Pod shop/broken" in str(info.value)
    assert "'12 GB'" in str(info.value)
