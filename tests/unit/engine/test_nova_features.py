"""Nova's features since Ocata, with the cases of Nova's own unit tests where it has them:
per-aggregate weight multipliers (Stein), NumInstancesWeigher and HypervisorVersionWeigher
(2023.2), ImagePropertiesWeigher (2023.2, per-property settings 2025.1), tenant confinement
(Rocky) and suffixed tenant keys (2023.2), `max_server_per_host` (Rocky) and metrics age.
Every RequestSpec is built from a real pod object against a real cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from extender.contract import (
    IMAGE_PROPERTIES,
    METRICS_TIMESTAMP,
    SERVER_GROUP_LABEL,
    SERVER_GROUP_POLICY,
    SERVER_GROUP_RULES,
)
from extender.engine.weighers import WEIGHERS
from extender.errors import AnnotationError
from extender.model.options import MetricsOptions, Options
from tests.builders import aggregate, cluster, node, pod, request_spec
from tests.unit.engine.helpers import check, passing, raw, run, weigh

# -- per-aggregate weight multipliers ---------------------------------------------------------


def test_every_weigher_has_novas_multiplier_key() -> None:
    keys = {name: cls.multiplier_key for name, cls in WEIGHERS.items()}
    assert all(key.endswith("_weight_multiplier") for key in keys.values()), keys
    assert keys["RAMWeigher"] == "ram_weight_multiplier"
    assert keys["ImagePropertiesWeigher"] == "image_props_weight_multiplier"


def _ram_cluster(**metadata: str) -> Any:
    """Nova's test_weights_ram hosts (512, 1024, 3072, 8192 MiB free); host4 is in `agg`."""
    return cluster(
        aggregate("agg", **metadata),
        aggregate("other", ram_weight_multiplier="3.0"),
        node("host1", memory="512Mi"),
        node("host2", memory="1024Mi"),
        node("host3", memory="3072Mi", aggregates=["other"]),
        node("host4", memory="8192Mi", aggregates=["agg", "other"]),
    )


def test_aggregate_multiplier_is_the_minimum_across_the_hosts_aggregates() -> None:
    """Nova's get_weight_multiplier: host4 is in `agg` (1.5) and `other` (3.0): 1.5."""
    state = _ram_cluster(ram_weight_multiplier="1.5")
    w, order = weigh({"RAMWeigher": 1.0}, state, pod())
    assert order == ["host4", "host3", "host2", "host1"]
    share = dict(zip(order, w.contributions["RAMWeigher"].tolist(), strict=True))
    # RAMWeigher's lower bound is 0: normalised = free / 8192
    assert share["host4"] == pytest.approx(1.5)  # 1.0 x min(1.5, 3.0)
    assert share["host3"] == pytest.approx(3.0 * 3072 / 8192)  # only in `other`
    assert share["host2"] == pytest.approx(1024 / 8192)  # the option


@pytest.mark.parametrize("bad", ["not-a-number", "1.5,2"])
def test_an_unparsable_aggregate_multiplier_falls_back_to_the_option(bad: str) -> None:
    """Nova logs a warning and uses the option when any aggregate value does not parse:
    host4's `other` says 3.0, but its `agg` value is bad, so it weighs with 1.0."""
    state = _ram_cluster(ram_weight_multiplier=bad)
    w, _ = weigh({"RAMWeigher": 1.0}, state, pod(), names=["host1", "host4"])
    assert w.contributions["RAMWeigher"].tolist() == pytest.approx([1.0, 512 / 8192])


def test_a_weigher_at_zero_runs_for_the_nodes_whose_aggregates_set_it() -> None:
    """NumInstancesWeigher is off by default; an aggregate turns it on for its nodes."""
    state = cluster(
        aggregate("spread", num_instances_weight_multiplier="-1.0"),
        node("busy", aggregates=["spread"]),
        node("idle", aggregates=["spread"]),
        node("plain"),
        *(pod(node_name="busy") for _ in range(3)),
    )
    w, order = weigh({"NumInstancesWeigher": 0.0}, state, pod())
    assert order[-1] == "busy"
    assert dict(zip(order, w.contributions["NumInstancesWeigher"].tolist(), strict=True)) == {
        "idle": 0.0,
        "plain": 0.0,  # multiplier 0: the option
        "busy": -1.0,
    }


def test_build_failure_negates_the_aggregate_value_as_the_option() -> None:
    state = cluster(
        aggregate("a", build_failure_weight_multiplier="10"), node("n", aggregates=["a"])
    )
    weigher = WEIGHERS["BuildFailureWeigher"](Options(), 1_000_000.0)
    assert weigher.multiplier == -1_000_000.0
    assert weigher.weight_multiplier(state.table["n"]) == -10.0


def test_scores_stay_linear_when_multipliers_differ_per_host() -> None:
    """The span widens by the weigher's lowest and highest multiplier among the
    candidates, so every sum maps inside 0..10 in proportion."""
    state = _ram_cluster(ram_weight_multiplier="5.0")
    w, order = weigh({"RAMWeigher": 1.0, "IoOpsWeigher": -1.0}, state, pod())
    # RAM multipliers 1 (host1, host2), 3 (host3, host4: min(5, 3)); IoOps says nothing
    assert w.bounds == (0.0, 3.0)
    assert order[0] == "host4" and w.scores.tolist()[0] == 10
    for weight, score in zip(w.weights.tolist(), w.scores.tolist(), strict=True):
        assert score == int(weight / 3.0 * 10 + 0.5)
    # without the aggregates' multipliers the span would be 0..1 and every node above
    # host2's share would be clipped at 10
    assert w.scores.tolist() == [10, 4, 0, 0]


# -- NumInstancesWeigher, HypervisorVersionWeigher --------------------------------------------


def test_num_instances_weigher_nova_cases() -> None:
    """Nova's test_weights_num_instances: 0, 1, 2, 3 instances; positive packs, negative
    spreads."""
    state = cluster(
        *(node(f"host{i}") for i in range(4)),
        *(pod(node_name=f"host{i}") for i in range(4) for _ in range(i)),
    )
    assert raw("NumInstancesWeigher", state, pod()) == [0, 1, 2, 3]
    assert weigh({"NumInstancesWeigher": 1.0}, state, pod())[1][0] == "host3"
    w, order = weigh({"NumInstancesWeigher": -1.0}, state, pod())
    assert order[0] == "host0"
    assert w.weights.tolist() == pytest.approx([0.0, -1 / 3, -2 / 3, -1.0])


def test_hypervisor_version_weigher_reads_the_kubelet_version() -> None:
    state = cluster(
        node("old", kubelet="v1.30.4"),
        node("new", kubelet="v1.31.2"),
        node("newest", kubelet="v1.31.10-eks-1234"),
    )
    assert raw("HypervisorVersionWeigher", state, pod()) == [1030004, 1031002, 1031010]
    assert weigh({"HypervisorVersionWeigher": 1.0}, state, pod())[1] == ["newest", "new", "old"]
    assert weigh({"HypervisorVersionWeigher": -1.0}, state, pod())[1][0] == "old"


# -- ImagePropertiesWeigher -------------------------------------------------------------------

WIN_PC = {"os_distro": "windows", "hw_machine_type": "pc"}
LIN = {"os_distro": "linux"}
LIN_PC = {"os_distro": "linux", "hw_machine_type": "pc"}


def _image_cluster() -> Any:
    """Nova's test_weights_image_props hosts: host1 empty, host2 one windows/pc instance,
    host3 a linux and a linux/pc instance, host4 one linux instance."""
    return cluster(
        *(node(f"host{i}") for i in range(1, 5)),
        pod(node_name="host2", annotations={IMAGE_PROPERTIES: WIN_PC}),
        pod(node_name="host3", annotations={IMAGE_PROPERTIES: LIN}),
        pod(node_name="host3", annotations={IMAGE_PROPERTIES: LIN_PC}),
        pod(node_name="host4", annotations={IMAGE_PROPERTIES: LIN}),
        pod(node_name="host1", annotations={IMAGE_PROPERTIES: "not json"}),  # counts none
    )


def _image_weights(props: dict[str, str], options: Options | None = None) -> dict[str, float]:
    w, order = weigh(
        {"ImagePropertiesWeigher": 1.0},
        _image_cluster(),
        pod(annotations={IMAGE_PROPERTIES: props}),
        options,
    )
    return dict(zip(order, w.weights.tolist(), strict=True))


def test_image_properties_weigher_nova_cases() -> None:
    assert max(_image_weights(WIN_PC).items(), key=lambda kv: kv[1]) == ("host2", 1.0)
    assert _image_weights({"hw_machine_type": "pc"}) == {
        "host2": 1.0,
        "host3": 1.0,
        "host1": 0.0,
        "host4": 0.0,
    }
    assert _image_weights(LIN) == pytest.approx(
        {"host3": 1.0, "host4": 0.5, "host1": 0, "host2": 0}
    )
    assert _image_weights(LIN_PC) == pytest.approx(
        {"host3": 1.0, "host2": 1 / 3, "host4": 1 / 3, "host1": 0.0}
    )


def test_image_props_weight_setting_weighs_only_the_listed_properties() -> None:
    options = Options(image_props_weight_setting=["os_distro=1", "hw_machine_type=0"])
    assert _image_weights(LIN_PC, options) == pytest.approx(
        {"host3": 1.0, "host4": 0.5, "host1": 0.0, "host2": 0.0}
    )


def test_a_pod_without_image_properties_does_not_engage_the_weigher() -> None:
    state = _image_cluster()
    assert not WEIGHERS["ImagePropertiesWeigher"](Options(), 1.0).applies(
        request_spec(state, pod())
    )


# -- tenants ----------------------------------------------------------------------------------


def _tenant_cluster() -> Any:
    return cluster(
        aggregate("finance", filter_tenant_id="finance"),
        aggregate("shared", filter_tenant_id="audit", filter_tenant_id_2="shop, finance"),
        node("fin-1", aggregates=["finance"]),
        node("shared-1", aggregates=["shared"]),
        node("open-1"),
    )


def test_suffixed_tenant_keys_count_in_multi_tenancy_isolation() -> None:
    """Nova 2023.2: any key starting with filter_tenant_id names tenants."""
    state = _tenant_cluster()
    name = "AggregateMultiTenancyIsolation"
    assert passing([name], state, pod(namespace="shop")) == ["open-1", "shared-1"]
    assert passing([name], state, pod(namespace="audit")) == ["open-1", "shared-1"]
    assert passing([name], state, pod(namespace="other")) == ["open-1"]
    assert check(name, state, pod(namespace="other"), "shared-1") is not None


CONFINED = Options(limit_tenants_to_placement_aggregate=True)
REQUIRED = Options(
    limit_tenants_to_placement_aggregate=True, placement_aggregate_required_for_tenants=True
)


@pytest.mark.parametrize(
    ("namespace", "options", "expected"),
    [
        # Nova's test_require_tenant_aggregate: the tenant's aggregates only
        ("finance", CONFINED, ["fin-1", "shared-1"]),
        ("shop", CONFINED, ["shared-1"]),
        # test_require_tenant_aggregate_no_match: anywhere, unless required
        ("other", CONFINED, ["fin-1", "open-1", "shared-1"]),
        ("other", REQUIRED, []),
        # test_require_tenant_aggregate_disabled
        ("finance", Options(), ["fin-1", "open-1", "shared-1"]),
    ],
)
def test_tenant_confinement(namespace: str, options: Options, expected: list[str]) -> None:
    """With no filter enabled at all: the request filter runs whatever `filters:` says."""
    assert passing([], _tenant_cluster(), pod(namespace=namespace), options) == expected


def test_tenant_confinement_sees_aggregates_beyond_the_candidates() -> None:
    state = _tenant_cluster()
    result = run([], state, pod(namespace="finance"), CONFINED, names=["open-1"])
    assert len(result.passed) == 0
    assert result.unresolvable == {
        "open-1": "TenantAggregate: namespace finance is confined to aggregates finance, "
        "shared (limit_tenants_to_placement_aggregate)"
    }


# -- max_server_per_host ----------------------------------------------------------------------


def _member(node_name: str | None = None, rules: Any = None, policy: str = "anti-affinity") -> Any:
    annotations: dict[str, Any] = {SERVER_GROUP_POLICY: policy}
    if rules is not None:
        annotations[SERVER_GROUP_RULES] = rules
    return pod(node_name=node_name, labels={SERVER_GROUP_LABEL: "web"}, annotations=annotations)


def test_max_server_per_host_nova_cases() -> None:
    """Nova's test_affinity_filter: with max_server_per_host 2, a host with one member
    passes and one with two fails; without the rule, one member is enough to fail."""
    state = cluster(
        node("one"),
        node("two"),
        node("none"),
        _member("one"),
        _member("two"),
        _member("two"),
    )
    name = "ServerGroupAntiAffinityFilter"
    assert passing([name], state, _member(rules={"max_server_per_host": 2})) == ["none", "one"]
    assert check(name, state, _member(rules={"max_server_per_host": 2}), "two") == (
        f"{name}: server group web (anti-affinity) has 2 pods here, max_server_per_host 2"
    )
    assert passing([name], state, _member()) == ["none"]
    assert passing([name], state, _member(rules={"max_server_per_host": "3"})) == [
        "none",
        "one",
        "two",
    ]


@pytest.mark.parametrize(
    ("rules", "policy", "says"),
    [
        ({"max_server_per_host": 0}, "anti-affinity", "must be a positive integer"),
        ({"max_server_per_host": True}, "anti-affinity", "must be a positive integer"),
        ({"max_servers": 2}, "anti-affinity", "unknown rule 'max_servers'"),
        ({"max_server_per_host": 2}, "soft-anti-affinity", "only the anti-affinity policy"),
        ([2], "anti-affinity", "must be a JSON object"),
    ],
)
def test_malformed_group_rules_are_refused(rules: Any, policy: str, says: str) -> None:
    state = cluster(node("n"))
    with pytest.raises(AnnotationError, match=says):
        request_spec(state, _member(rules=rules, policy=policy))


def test_rules_without_a_group_are_refused() -> None:
    with pytest.raises(AnnotationError, match=r"no weighbridge\.io/server-group label"):
        request_spec(cluster(), pod(annotations={SERVER_GROUP_RULES: {"max_server_per_host": 2}}))


# -- metrics age ------------------------------------------------------------------------------


def _stamp(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def _metric_node(name: str, stamp: str | None) -> Any:
    annotations = {"metrics.weighbridge.io/cpu.percent": "10"}
    if stamp is not None:
        annotations[METRICS_TIMESTAMP] = stamp
    return node(name, annotations=annotations)


def test_stale_metrics_are_unavailable() -> None:
    state = cluster(
        _metric_node("fresh", _stamp(5)),
        _metric_node("stale", _stamp(600)),
        _metric_node("unknown", None),
        _metric_node(
            "zulu", (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
    )
    ageless = Options(metrics=MetricsOptions(weight_setting=["cpu.percent=1"]))
    aged = Options(metrics=MetricsOptions(weight_setting=["cpu.percent=1"], max_age_seconds=60))
    assert passing(["MetricsFilter"], state, pod(), ageless) == [
        "fresh",
        "stale",
        "unknown",
        "zulu",
    ]
    assert passing(["MetricsFilter"], state, pod(), aged) == ["fresh", "zulu"]
    assert check("MetricsFilter", state, pod(), "stale", aged) == (
        "MetricsFilter: node's metrics are 600s old, max_age_seconds 60"
    )
    assert check("MetricsFilter", state, pod(), "unknown", aged) == (
        f"MetricsFilter: node's metrics are of unknown age (no {METRICS_TIMESTAMP}), "
        "max_age_seconds 60"
    )
    assert raw("MetricsWeigher", state, pod(), options=aged) == [10, -10000, -10000, 10]


def test_metrics_age_is_in_the_host_summary() -> None:
    state = cluster(_metric_node("n", "2025-01-01T00:00:00Z"), _metric_node("m", None))
    summary = state.table["n"].summary()["metrics"]
    assert summary["values"] == {"cpu.percent": 10.0}
    assert summary["timestamp"] == "2025-01-01T00:00:00+00:00"
    assert summary["age_seconds"] > 0
    assert state.table["m"].summary()["metrics"]["age_seconds"] is None
