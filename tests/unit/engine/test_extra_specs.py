"""Nova's extra-spec grammar (its unit-test cases), ComputeCapabilitiesFilter and
AggregateInstanceExtraSpecsFilter, through pods and nodes."""

from __future__ import annotations

import json

import pytest

from extender.contract import EXTRA_SPECS
from extender.engine.filters.extra_specs import ExtraSpecError, Requirement, match
from extender.kube.objects import HostAggregate
from tests.builders import aggregate, cluster, node, pod
from tests.unit.engine.helpers import check, extender_filter, run

# (host value, requirement, matches): every case of nova's test_extra_specs_ops.py
NOVA_CASES = [
    ("1", "1", True),
    ("", "1", False),
    ("3", "1", False),
    ("222", "2", False),
    ("4", "> 2", False),  # ">" is not an operator: a plain string
    ("123", "= 123", True),
    ("124", "= 123", True),  # "=" means numerically greater or equal
    ("34", "= 234", False),
    ("34", "=", False),
    ("123", "s== 123", True),
    ("1234", "s== 123", False),
    ("1234", "s!= 123", True),
    ("123", "s!= 123", False),
    ("1000", "s>= 234", False),  # lexicographic
    ("1234", "s<= 1000", False),
    ("2", "s< 12", False),
    ("12", "s> 2", False),
    ("12311321", "<in> 11", True),
    ("12311321", "<in> 12311321", True),
    ("12311321", "<in> 12311321 <in>", True),
    ("12310321", "<in> 11", False),
    ("12310321", "<in> 11 <in>", False),
    ("12", "<or> 11 <or> 12", True),
    ("12", "<or> 11 <or> 12 <or>", True),
    ("13", "<or> 11 <or> 12", False),
    ("13", "<or> 11 <or> 12 <or>", False),
    ("2", "<= 10", True),
    ("3", "<= 2", False),
    ("3", ">= 1", True),
    ("2", ">= 3", False),
    (str(["aes", "mmx", "aux"]), "<all-in> aes mmx", True),
    (str(["aes", "mmx", "aux"]), "<all-in> mmx", True),
    (str(["aes", "mmx", "aux"]), "<all-in>  txt", False),
    (str(["aes", "mmx", "aux"]), "<all-in> txt 3dnow", False),
    (str(["aes", "mmx", "aux"]), "<all-in> txt aes", False),
]


@pytest.mark.parametrize(("value", "req", "matches"), NOVA_CASES)
def test_nova_extra_specs_ops_cases(value: str, req: str, matches: bool) -> None:
    assert match(value, req) is matches


@pytest.mark.parametrize(
    ("value", "req", "matches"),
    [
        ("4", "== 4.0", True),
        ("4", "!= 4", False),
        ("5", "!= 4", True),
        ("4", "<in>", False),  # an operator without operands matches nothing
        ("a", "<or>", False),  # Nova raises IndexError here
        ("b", "<or> a x b", True),  # every other word after <or> is the separator
        ("x", "<or> a x b", False),
        ("12", "<in> 9 12", False),  # only the first operand counts
        (None, "1", False),
        (None, "= 1", False),
        ("fast", ">= 3", False),  # a non-numeric host value does not match (Nova raises)
        ("", "", True),  # no words: plain equality with the whole string
    ],
)
def test_grammar_edges(value: str | None, req: str, matches: bool) -> None:
    assert match(value, req) is matches


def test_a_numeric_operator_with_a_non_numeric_operand_is_an_error() -> None:
    with pytest.raises(ExtraSpecError, match="'lots' is not one"):
        Requirement.parse("= lots")
    assert Requirement.parse("s== lots").matches("lots")


# -- ComputeCapabilitiesFilter ------------------------------------------------------------


def _stats(**stats: str) -> dict[str, str]:
    return {f"stats.weighbridge.io/{k}": v for k, v in stats.items()}


def _ccf(specs: dict[str, str], **node_kw: object) -> str | None:
    state = cluster(node("n1", **node_kw))
    return check("ComputeCapabilitiesFilter", state, pod(annotations={EXTRA_SPECS: specs}), "n1")


def test_capabilities_from_stats_and_other_scopes_ignored() -> None:
    stats = _stats(opt1="1", opt2="2")
    specs = {"opt1": "1", "opt2": "2", "trust:trusted_host": "true"}
    assert _ccf(specs, annotations=stats) is None
    reason = _ccf({**specs, "opt2": "222"}, annotations=stats)
    assert reason == "ComputeCapabilitiesFilter: opt2 requires '222' [node: has '2']"


def test_unknown_unscoped_key_is_ignored() -> None:
    assert _ccf({"XXYY": "1"}) is None


def test_host_attributes_with_operators() -> None:
    assert _ccf({"free_ram_mb": ">= 300"}, memory="1Gi") is None
    assert _ccf({"free_ram_mb": "<= 300"}, memory="1Gi") is not None
    # plain string equality: "0" is not "1"
    assert _ccf({"free_disk_mb": "1"}, disk="0") == (
        "ComputeCapabilitiesFilter: free_disk_mb requires '1' [node: has '0']"
    )
    # whole numbers read as Nova's ints, so "8" equals 8 vCPUs
    assert _ccf({"vcpus_total": "8"}, cpu="8") is None
    assert _ccf({"hypervisor_type": "containerd"}) is None
    assert _ccf({"hypervisor_type": "cri-o"}) is not None


def test_multi_level_capabilities() -> None:
    stats = _stats(opt1=json.dumps({"a": 1, "b": {"aa": 2}}))
    # "opt1:a" has the namespace opt1, so it is not for this filter
    assert _ccf({"opt1:a": "1", "capabilities:opt1:b:aa": "2"}, annotations=stats) is None
    assert _ccf({"capabilities:opt1:b:aa": "3"}, annotations=stats) is not None
    assert _ccf({"capabilities:opt1:b:zz": "2"}, annotations=stats) == (
        "ComputeCapabilitiesFilter: capabilities:opt1:b:zz requires '2', node has none"
    )


def test_cpu_info_json_walk() -> None:
    intel = _stats(cpu_info=json.dumps({"vendor": "Intel", "features": ["avx2", "aes"]}))
    assert _ccf({"capabilities:cpu_info:vendor": "Intel"}, annotations=intel) is None
    assert _ccf({"capabilities:cpu_info:features": "<all-in> avx2 aes"}, annotations=intel) is None
    assert _ccf({"capabilities:cpu_info:features": "<all-in> avx512"}, annotations=intel)
    assert _ccf({"capabilities:cpu_info:vendor": "Intel"}, annotations=_stats(cpu_info="{ }"))
    assert _ccf({"capabilities:cpu_info:vendor": "Intel"}, annotations=_stats(cpu_info="cpu_info"))
    # a JSON list cannot be walked into
    assert _ccf({"capabilities:cpu_info:vendor": "x"}, annotations=_stats(cpu_info="[1]"))


def test_node_labels_are_capabilities() -> None:
    labels = {"node.kubernetes.io/instance-type": "c16m64"}
    assert (
        _ccf({"node.kubernetes.io/instance-type": "<or> c8m32 <or> c16m64"}, labels=labels) is None
    )
    assert _ccf({"capabilities:kubernetes.io/arch": "amd64"}) is None
    assert _ccf({"capabilities:kubernetes.io/arch": "arm64"}) is not None
    # the stats annotation wins over a label of the same name
    both = _ccf({"tier": "gold"}, labels={"tier": "silver"}, annotations=_stats(tier="gold"))
    assert both is None


def test_missing_attribute_value_fails_and_internals_are_not_capabilities() -> None:
    assert _ccf({"host_ip": "10.0.0.1"}, ip=None) == (
        "ComputeCapabilitiesFilter: host_ip requires '10.0.0.1', node has none"
    )
    # methods and the table row are not attributes a user can reach
    assert _ccf({"row": "= 0", "update_from_node": "x"}) is None
    assert _ccf({"capabilities:row": "0"}) is not None


def test_a_non_numeric_node_value_does_not_match() -> None:
    assert _ccf({"disk": ">= 3"}, annotations=_stats(disk="fast")) == (
        "ComputeCapabilitiesFilter: disk requires '>= 3' [node: has 'fast']"
    )


def test_not_engaged_without_capability_specs() -> None:
    state = cluster(node("n1"))
    assert not run(["ComputeCapabilitiesFilter"], state, pod()).steps[0].rejected
    hw_only = pod(annotations={EXTRA_SPECS: {"hw:cpu_policy": "dedicated"}})
    step = run(["ComputeCapabilitiesFilter"], state, hw_only).steps[0]
    assert (step.start, step.end) == (1, 1)


def test_bad_operand_refuses_every_node_naming_the_annotation() -> None:
    state = cluster(node("n1"), node("n2"))
    bad = pod(annotations={EXTRA_SPECS: {"free_ram_mb": "= lots"}})
    answer = extender_filter(state, bad, ["ComputeCapabilitiesFilter"])
    assert answer.NodeNames == []
    assert answer.FailedNodes == {}
    reasons = set(answer.FailedAndUnresolvableNodes.values())
    assert reasons == {
        "ComputeCapabilitiesFilter: annotation weighbridge.io/extra-specs: free_ram_mb: "
        "'= lots': = compares numbers and 'lots' is not one"
    }
    assert set(answer.FailedAndUnresolvableNodes) == {"n1", "n2"}


# -- AggregateInstanceExtraSpecsFilter ----------------------------------------------------


def _aies(specs: dict[str, str], *aggs: HostAggregate) -> str | None:
    names = [a.metadata.name for a in aggs]
    state = cluster(node("n1", aggregates=names), *aggs)
    return check(
        "AggregateInstanceExtraSpecsFilter", state, pod(annotations={EXTRA_SPECS: specs}), "n1"
    )


def test_aggregate_extra_specs_nova_cases() -> None:
    aggs = (aggregate("a1", opt1="1"), aggregate("a2", opt2="2"))
    specs = {
        "opt1": "1",
        "aggregate_instance_extra_specs:opt2": "2",
        "trust:trusted_host": "true",
    }
    assert _aies(specs, *aggs) is None
    assert _aies({"opt2": "222"}, *aggs) == (
        "AggregateInstanceExtraSpecsFilter: opt2 requires '222', which the node's aggregates do "
        "not match [node: aggregates have 2]"
    )
    two = (aggregate("a1", opt1="1"), aggregate("a2", opt1="3"))
    assert _aies({"aggregate_instance_extra_specs:opt1": "3"}, *two) is None


def test_aggregate_values_are_comma_split_and_operators_apply() -> None:
    agg = aggregate("a1", opt1="1, 3", cores="8")
    assert _aies({"opt1": "3"}, agg) is None
    assert _aies({"cores": ">= 4"}, agg) is None
    assert _aies({"cores": ">= 16"}, agg) is not None
    assert _aies({"opt1": "<or> 5 <or> 3"}, agg) is None


def test_a_key_no_aggregate_defines_fails_the_node() -> None:
    """The classic interaction: an unscoped spec meant for ComputeCapabilitiesFilter."""
    assert _aies({"free_ram_mb": ">= 1"}, aggregate("a1", opt1="1")) == (
        "AggregateInstanceExtraSpecsFilter: free_ram_mb requires '>= 1', no aggregate of the "
        "node has free_ram_mb"
    )
    assert _aies({"opt1": "1"}) is not None  # a node in no aggregate
    assert _aies({"capabilities:opt9": "1", "hw:x": "y"}, aggregate("a1")) is None


def test_aggregate_extra_specs_not_engaged_without_specs() -> None:
    state = cluster(node("n1", aggregates=["a1"]), aggregate("a1", opt1="1"))
    step = run(["AggregateInstanceExtraSpecsFilter"], state, pod()).steps[0]
    assert (step.start, step.end, step.seconds) == (1, 1, 0.0)
