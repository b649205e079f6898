"""Kubernetes quantities, as the API server parses them, in the units Nova counts in."""

from __future__ import annotations

import pytest

from extender.errors import QuantityError
from extender.kube.quantities import MIB, parse_quantity, parse_resource_list, to_native


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
        " 12Mi ",
        "1e1000000",
        "1e400",
        "10E",
        "9999999999999999999999",
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


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (2.0**70, "larger than"),
    ],
)
def test_numbers_a_quantity_cannot_hold_are_refused(value: float, why: str) -> None:
    with pytest.raises(QuantityError, match=why):
        parse_quantity(value)


def test_resource_amounts_are_never_negative() -> None:
    """A quantity may be negative, an amount of a resource not (the API server refuses it)."""
    assert parse_quantity("-1") == -1.0
    with pytest.raises(QuantityError, match="memory must not be negative"):
        parse_resource_list({"memory": "-5Gi"})
