"""MetricsFilter and MetricsWeigher over `metrics.weighbridge.io/` node annotations."""

from __future__ import annotations

from typing import Any

import pytest

from extender.cache.state import ClusterState
from extender.errors import ConfigError
from extender.model.options import MetricsOptions, Options, parse_weight_setting
from extender.service.config import parse_config
from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import check, passing, raw, weigh


def _metrics(**values: str) -> dict[str, str]:
    return {f"metrics.weighbridge.io/{k.replace('_', '.')}": v for k, v in values.items()}


def _options(*setting: str, **kw: Any) -> Options:
    return Options(metrics=MetricsOptions(weight_setting=list(setting), **kw))


def test_metrics_filter_nova_cases() -> None:
    state = cluster(
        node("both", annotations=_metrics(cpu_frequency="1.0", numa_membw_current="10")),
        node("one", annotations=_metrics(cpu_frequency="1.0")),
    )
    options = _options("cpu.frequency=1", "numa.membw.current=2")
    assert passing(["MetricsFilter"], state, pod(), options) == ["both"]
    assert check("MetricsFilter", state, pod(), "both", _options("foo=1", "bar=2")) == (
        "MetricsFilter: node does not report bar, foo"
    )
    # no setting: every node passes, the filter is not engaged
    assert passing(["MetricsFilter"], state, pod()) == ["both", "one"]


def test_a_non_numeric_metric_is_not_reported() -> None:
    state = cluster(node("n1", annotations=_metrics(load="high")))
    assert check("MetricsFilter", state, pod(), "n1", _options("load=1")) is not None


def test_weight_setting_parsing() -> None:
    assert parse_weight_setting(["kernel = 2.0", "idle=-2", "idle=1"]) == [
        ("kernel", 2.0),
        ("idle", -2.0),
        ("idle", 1.0),
    ]
    with pytest.raises(ConfigError) as err:
        parse_config(
            {"options": {"metrics": {"weight_setting": ["idle=a1", "idle", "=5", "kernel = 2.0t"]}}}
        )
    message = str(err.value)
    assert "options.metrics.weight_setting" in message
    for bad in ("'idle=a1'", "'idle'", "'=5'", "'kernel = 2.0t'"):
        assert bad in message


def _four() -> ClusterState:
    return cluster(
        node("n1", annotations=_metrics(foo="512", bar="1")),
        node("n2", annotations=_metrics(foo="1024", bar="2")),
        node("n3", annotations=_metrics(foo="3072", bar="1")),
        node("n4", annotations=_metrics(foo="8192", bar="0")),
    )


def test_weighted_sum_of_metrics() -> None:
    state = _four()
    assert raw("MetricsWeigher", state, pod(), options=_options("foo=1")) == [512, 1024, 3072, 8192]
    _, order = weigh({"MetricsWeigher": 1.0}, state, pod(), _options("foo=1"))
    assert order[0] == "n4"
    _, order = weigh({"MetricsWeigher": 1.0}, state, pod(), _options("foo=-1"))
    assert order[0] == "n1"
    mixed = raw("MetricsWeigher", state, pod(), options=_options("foo=0.001", "bar=-1000"))
    assert mixed == pytest.approx([-999.488, -1998.976, -996.928, 8.192])
    # duplicates add up: -2 + 1 = -1 x foo
    assert raw("MetricsWeigher", state, pod(), options=_options("foo=-2", "foo=1"))[0] == -512


def test_missing_metric_required() -> None:
    state = cluster(
        node("n1", annotations=_metrics(foo="1")),
        node("n2", annotations=_metrics(foo="2")),
        node("n3"),
    )
    options = _options("foo=1")
    assert raw("MetricsWeigher", state, pod(), options=options) == [1.0, 2.0, -10000.0]
    w, order = weigh({"MetricsWeigher": 1.0}, state, pod(), options)
    assert order == ["n2", "n1", "n3"]
    assert w.weights[-1] == 0.0


def test_missing_metric_not_required() -> None:
    state = cluster(
        node("n1", annotations=_metrics(foo="1")), node("n2", annotations=_metrics(foo="3"))
    )
    lenient = {"required": False, "weight_of_unavailable": -5.0}
    # a missing metric with a non-zero ratio: weight_of_unavailable
    assert raw("MetricsWeigher", state, pod(), options=_options("foo=1", "zot=2", **lenient)) == [
        -5.0,
        -5.0,
    ]
    # ratio 0: the term is skipped
    assert raw("MetricsWeigher", state, pod(), options=_options("foo=1", "zot=0", **lenient)) == [
        1.0,
        3.0,
    ]
    # multiplier 0: skipped too (Nova's code, not its help text)
    skipped = raw(
        "MetricsWeigher",
        state,
        pod(),
        options=_options("foo=1", "zot=2", **lenient),
        multiplier=0.0,
    )
    assert skipped == [1.0, 3.0]
    strict = raw("MetricsWeigher", state, pod(), options=_options("foo=1", "zot=0"))
    assert strict == [-10000.0, -10000.0]


def test_no_setting_no_contribution() -> None:
    w, _ = weigh({"MetricsWeigher": 1.0}, _four(), pod())
    assert w.contributions == {}
    assert w.weights.tolist() == [0.0] * 4
