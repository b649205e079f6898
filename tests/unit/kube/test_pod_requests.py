"""A pod's requests as kube-scheduler computes them: containers add up, init containers run
one at a time, sidecars run beside what follows them, overhead and pod-level resources."""

from __future__ import annotations

import pytest

from extender.errors import ObjectError
from extender.kube.pods import pod_resources
from extender.kube.quantities import ContainerResources, pod_requests
from tests.builders import container, pod


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
