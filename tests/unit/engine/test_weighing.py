"""Weighing: Nova's normalisation (Victoria's per-request bounds), the weighted sum, stable
ties, and the mapping of weights onto kube-scheduler's 0..10 scores."""

from __future__ import annotations

import numpy as np
import pytest

from extender.engine.scheduler import MAX_SCORE, Scheduler
from extender.engine.weighers import normalize
from tests.builders import cluster, node, pod
from tests.unit.engine.helpers import weigh


@pytest.mark.parametrize(
    ("values", "bounds", "expected"),
    [
        ((), {}, ()),
        ((0, 0), {}, (0, 0)),
        ((1, 1), {}, (0, 0)),
        ((20, 50), {}, (0, 1)),
        ((20, 50), {"maxval": 100}, (0, 0.375)),
        ((20, 50), {"minval": 0}, (0.4, 1.0)),
        ((20, 50), {"minval": 0, "maxval": 100}, (0.2, 0.5)),
        # Victoria's fix: values are clipped to the declared bounds
        ((-10, 50), {"minval": 0}, (0, 1)),
        ((20, 150), {"minval": 0, "maxval": 100}, (0.2, 1.0)),
        # all-equal positive values under minval 0 normalise to 1, not 0 (reference §8.7)
        ((7, 7), {"minval": 0}, (1, 1)),
        ((-3, -5), {"minval": 0}, (0, 0)),
    ],
)
def test_normalize(
    values: tuple[float, ...], bounds: dict[str, float], expected: tuple[float, ...]
) -> None:
    got = normalize(np.array(values, dtype=np.float64), **bounds)
    assert got.tolist() == pytest.approx(list(expected))


def test_worked_example_of_the_reference() -> None:
    """§4.2.4: A (8192 MB, 10240 MB disk, 0 io ops), B (4096 MB, 81920 MB, 4 io ops)."""
    state = cluster(
        node("A", memory="8Gi", disk="10Gi"),
        node("B", memory="4Gi", disk="80Gi"),
        *(pod(node_name="B", phase="Pending") for _ in range(4)),
    )
    assert (state.table["B"].free_ram_mb, state.table["B"].num_io_ops) == (4096, 4)
    w, order = weigh({"RAMWeigher": 1.0, "DiskWeigher": 1.0, "IoOpsWeigher": -1.0}, state, pod())
    assert order == ["A", "B"]
    assert w.weights.tolist() == pytest.approx([1.125, 0.5])
    assert w.contributions["RAMWeigher"].tolist() == pytest.approx([1.0, 0.5])
    assert w.contributions["DiskWeigher"].tolist() == pytest.approx([0.125, 1.0])
    assert w.contributions["IoOpsWeigher"].tolist() == pytest.approx([0.0, -1.0])
    # sums range over [-1, 2]: A (1.125 + 1) / 3 * 10 = 7.08 -> 7, B 1.5 / 3 * 10 = 5
    assert w.scores.tolist() == [7, 5]


def test_all_equal_hosts_weigh_the_same_and_keep_their_order() -> None:
    state = cluster(*(node(n) for n in ("c", "a", "b", "d")))
    for names in (["c", "a", "b", "d"], ["d", "b", "a", "c"]):
        w, order = weigh({"RAMWeigher": 1.0, "IoOpsWeigher": -1.0}, state, pod(), names=names)
        assert order == names
        # equal free RAM under minval 0 is 1.0; equal io ops (all 0) give 0
        assert w.contributions["RAMWeigher"].tolist() == [1.0] * 4
        assert w.contributions["IoOpsWeigher"].tolist() == [0.0] * 4


def test_stable_ties_among_unequal_hosts() -> None:
    state = cluster(node("x", memory="8Gi"), node("big", memory="16Gi"), node("y", memory="8Gi"))
    _, order = weigh({"RAMWeigher": 1.0}, state, pod(), names=["y", "big", "x"])
    assert order == ["big", "y", "x"]


def test_ties_keep_input_order_among_many_hosts() -> None:
    """Enough hosts that an unstable sort would reorder ties (numpy's introsort does so
    above 16 elements)."""
    sizes = ["8Gi", "16Gi", "32Gi"]
    state = cluster(*(node(f"n{i:02d}", memory=sizes[i % 3]) for i in range(60)))
    names = [f"n{i:02d}" for i in range(60)]
    names = names[1::2] + names[::2]
    _, order = weigh({"RAMWeigher": 1.0}, state, pod(), names=names)
    expected = [n for size in reversed(sizes) for n in names if sizes[int(n[1:]) % 3] == size]
    assert order == expected


def test_a_single_host_runs_no_weigher() -> None:
    state = cluster(node("only", memory="1Gi"), node("other"))
    w, order = weigh({"RAMWeigher": 1.0, "IoOpsWeigher": -1.0}, state, pod(), names=["only"])
    assert order == ["only"]
    assert w.weights.tolist() == [0.0]
    assert w.contributions == {}
    assert w.seconds == {}
    # the weight 0 sits at 1/2 of the range [-1, 1]
    assert w.scores.tolist() == [5]
    empty, order = weigh({"RAMWeigher": 1.0}, state, pod(), names=[])
    assert order == []
    assert len(empty.scores) == 0


def test_a_zero_multiplier_contributes_nothing() -> None:
    state = cluster(node("a", memory="8Gi"), node("b", memory="16Gi"))
    w, order = weigh({"RAMWeigher": 0.0}, state, pod(), names=["a", "b"])
    assert order == ["a", "b"]
    assert w.weights.tolist() == [0.0, 0.0]
    assert "RAMWeigher" not in w.contributions
    assert w.scores.tolist() == [0, 0]


def test_scores_map_weights_linearly_onto_0_to_10() -> None:
    scheduler = Scheduler(weighers={"RAMWeigher": 2.0, "CPUWeigher": 1.0, "IoOpsWeigher": -1.0})
    assert scheduler.score_bounds() == (-1.0, 3.0)
    weights = np.array([3.0, -1.0, 1.0, 0.0, -0.05, 0.19, 5.0, -2.0])
    # (w + 1) / 4 * 10, rounded half up (2.5 -> 3, 2.375 -> 2), clipped into 0..10
    assert scheduler.scores(weights).tolist() == [10, 0, 5, 3, 2, 3, 10, 0]
    assert scheduler.scores(weights).dtype.kind == "i"
    assert int(scheduler.scores(np.array([3.0]))[0]) == MAX_SCORE


def test_scores_are_zero_when_no_weigher_counts() -> None:
    scheduler = Scheduler(weighers={"RAMWeigher": 0.0})
    assert scheduler.scores(np.array([0.0, 0.0])).tolist() == [0, 0]
    assert Scheduler(weighers={}).scores(np.array([0.0])).tolist() == [0]


def test_scores_through_weigh_are_integers_in_range() -> None:
    state = cluster(*(node(f"n{i}", memory=f"{i + 1}Gi", cpu=str(i + 1)) for i in range(12)))
    w, order = weigh({"RAMWeigher": 1.0, "CPUWeigher": 1.0}, state, pod())
    assert order[0] == "n11"
    assert order[-1] == "n0"
    scores = w.scores.tolist()
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 10
    assert all(isinstance(s, int) and 0 <= s <= 10 for s in scores)
