"""Nova's extra-spec operator grammar, and ComputeCapabilitiesFilter which uses it.

A requirement is the flavor extra spec's value: a known operator as its first word, then
operands, or else a plain string that must equal the host's value exactly. `=` means
numerically greater or equal; `>` and `<` without the `s` prefix are not operators (so
"> 2" is a plain string). Two conscious departures from Nova, which raises ValueError out
of the filter on a non-numeric value: a non-numeric operand is the pod's error (the pod is
told, naming the annotation), and a non-numeric host value simply does not match.

ComputeCapabilitiesFilter reads the pod's `weighbridge.io/extra-specs`. Unscoped keys are
evaluated only where the node has that attribute (HostState's names: free_ram_mb,
hypervisor_type, ...) or that stat; `capabilities:` keys walk nested values
(`capabilities:cpu_info:features` reads the stat cpu_info, a JSON string, then its
features). Stats here are the node's labels plus its `stats.weighbridge.io/` annotations.
Other scopes (`hw:`, `aggregate_instance_extra_specs:`, ...) are for other filters.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from extender.contract import EXTRA_SPECS
from extender.engine.filters.base import BaseFilter, reason
from extender.errors import AnnotationError
from extender.kube.annotations import MAX_JSON_DEPTH, json_depth
from extender.model.hoststate import QUERYABLE, HostState
from extender.model.request import RequestSpec

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
}
_STRING: dict[str, Callable[[str, str], bool]] = {
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}
OPERATORS = frozenset({*_NUMERIC, *_STRING, "<in>", "<all-in>", "<or>"})


class ExtraSpecError(ValueError):
    """A requirement the grammar cannot evaluate: a numeric operator with a non-number."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One parsed extra-spec value; `op` None means plain equality with `text`."""

    text: str
    op: str | None
    operands: tuple[str, ...]
    number: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Requirement:
        words = text.split()
        op = words[0] if words else None
        if op not in OPERATORS:
            return cls(text, None, ())
        operands = words[1:]
        if op == "<or>":
            operands = operands[::2]  # "<or> a <or> b": every other word is the keyword
        elif op != "<all-in>":
            operands = operands[:1]  # Nova uses the first operand only
        number = 0.0
        if op in _NUMERIC and operands:
            try:
                number = float(operands[0])
            except ValueError:
                raise ExtraSpecError(
                    f"{text!r}: {op} compares numbers and {operands[0]!r} is not one"
                ) from None
        return cls(text, op, tuple(operands), number)

    def matches(self, value: str | None) -> bool:
        op = self.op
        if op is None:
            return value == self.text
        if value is None or not self.operands:
            return False
        if op == "<or>":
            return value in self.operands
        if op == "<all-in>":
            return all(word in value for word in self.operands)
        if op == "<in>":
            return self.operands[0] in value
        string_op = _STRING.get(op)
        if string_op is not None:
            return string_op(value, self.operands[0])
        try:
            host_value = float(value)
        except ValueError:
            return False
        return _NUMERIC[op](host_value, self.number)


def match(value: str | None, req: str) -> bool:
    """Nova's extra_specs_ops.match: does the host's `value` satisfy requirement `req`?"""
    return Requirement.parse(req).matches(value)


def parse_requirement(key: str, req: str) -> Requirement:
    """A requirement from the pod's extra specs; a bad one names the annotation and key."""
    try:
        return Requirement.parse(req)
    except ExtraSpecError as exc:
        raise AnnotationError(EXTRA_SPECS, f"{key}: {exc}") from None


def as_text(value: Any) -> str:
    """A host value as Nova's str() of it; whole floats read as ints, as Nova's MB counts."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class _Capability:
    key: str
    path: tuple[str, ...]
    requirement: Requirement


def _capability_specs(spec: RequestSpec) -> list[_Capability]:
    specs = []
    for key, req in spec.extra_specs.items():
        scope = key.split(":")
        if len(scope) > 1:
            if scope[0] != "capabilities":
                continue
            scope = scope[1:]
        specs.append(_Capability(key, tuple(scope), parse_requirement(key, req)))
    return specs


def _walk(host: HostState, path: tuple[str, ...]) -> Any:
    """Nova's capability walk: attributes, then stats, then dict keys; a string on the way
    is read as JSON. None means the capability is missing."""
    cap: Any = host
    for segment in path:
        if isinstance(cap, str):
            if json_depth(cap) > MAX_JSON_DEPTH:
                return None
            try:
                cap = json.loads(cap)
            except ValueError:
                return None
        if cap is host:
            value = host.attribute(segment)
            cap = value if value is not None else host.capabilities.get(segment)
        elif isinstance(cap, dict):
            cap = cap.get(segment)
        else:
            return None
        if cap is None:
            return None
    return cap


class ComputeCapabilitiesFilter(BaseFilter):
    """Extra specs (`weighbridge.io/extra-specs`), unscoped or `capabilities:`, must match the
    node's attributes, labels and `stats.weighbridge.io/` annotations."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.derived(self.name, _capability_specs))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        for cap in spec.derived(self.name, _capability_specs):
            if len(cap.path) == 1 and cap.key == cap.path[0]:
                name = cap.key
                if name not in QUERYABLE and name not in host.capabilities:
                    continue  # an unscoped key the node does not know is not for this filter
            value = _walk(host, cap.path)
            if value is None:
                return f"{self.name}: {cap.key} requires {cap.requirement.text!r}, node has none"
            text = as_text(value)
            if not cap.requirement.matches(text):
                wanted = cap.requirement.text
                return reason(f"{self.name}: {cap.key} requires {wanted!r}", f"has {text!r}")
        return None
