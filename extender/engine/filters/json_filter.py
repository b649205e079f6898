"""JsonFilter: Nova's JSON query language over HostState attributes.

The query is the `query` hint of `weighbridge.io/hints`, a JSON string (as in Nova) or the
JSON list itself: `["and", [">=", "$free_ram_mb", 1024], ["=", "$labels.disktype", "ssd"]]`.
Nova's grammar and quirks are kept: arguments that evaluate to None (unknown variables,
null, "") are dropped before the operator runs; `not` returns a list with each argument
negated, and a list is true inside `and`/`or` whenever it is non-empty; at the top a list
passes if any element is true. `$attr.key` reads a HostState attribute, then dict keys; a
key may itself contain dots (`$labels.kubernetes.io/arch`, `$metrics.cpu.percent`), the
longest one present wins. Where Nova raises (an unknown operator, a malformed query) the
query is checked once per request and the pod is told why, naming the annotation; a
comparison of values that do not compare (a string with a number) fails that node only.

Anyone who may create a pod writes the query, and it runs once per candidate node, so its
work is bounded: at most MAX_QUERY_BYTES of JSON, MAX_QUERY_DEPTH levels of nesting and
MAX_PATH_SEGMENTS keys per variable, compiled once per request in time linear in its size
(the keys a variable may stand for are joined then, not on every node).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from typing import Any

from extender.contract import HINTS
from extender.engine.filters.base import BaseFilter, reason
from extender.errors import AnnotationError
from extender.kube.annotations import json_depth
from extender.model.hoststate import HostState
from extender.model.request import RequestSpec

#: bounds on what a query may cost (see the module's docstring)
MAX_QUERY_BYTES = 4096
MAX_QUERY_DEPTH = 16
MAX_PATH_SEGMENTS = 16

Args = list[Any]
Evaluator = Callable[[HostState], Any]


class _Incomparable(Exception):
    """Two values of the query do not compare on this node."""


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Args], bool]:
    def run(args: Args) -> bool:
        if len(args) < 2:
            return False
        first = args[0]
        try:
            return all(op(first, other) for other in args[1:])
        except TypeError:
            kinds = ", ".join(sorted({type(a).__name__ for a in args}))
            raise _Incomparable(f"cannot compare {first!r} with {args[1:]!r} ({kinds})") from None

    return run


OPERATORS: dict[str, Callable[[Args], Any]] = {
    "=": _compare(operator.eq),
    "<": _compare(operator.lt),
    ">": _compare(operator.gt),
    "in": lambda args: len(args) >= 2 and args[0] in args[1:],
    "<=": _compare(operator.le),
    ">=": _compare(operator.ge),
    "not": lambda args: [not a for a in args],
    "or": any,
    "and": all,
}


def _lookup(path: str) -> Evaluator:
    """`$attr.k1.k2`: a HostState attribute, then dict keys (the longest that exists)."""
    first, *rest = path.split(".")
    if len(rest) >= MAX_PATH_SEGMENTS:
        raise AnnotationError(
            HINTS, f"query: variable ${path[:64]}... has more than {MAX_PATH_SEGMENTS} keys"
        )
    # keys[i]: the keys that may start at segment i, longest first, with where they end
    keys = [[(".".join(rest[i:j]), j) for j in range(len(rest), i, -1)] for i in range(len(rest))]

    def run(host: HostState) -> Any:
        obj = host.attribute(first)
        i = 0
        while obj is not None and i < len(rest):
            if not isinstance(obj, dict):
                return None
            for key, end in keys[i]:
                if key in obj:
                    obj, i = obj[key], end
                    break
            else:
                return None
        return obj

    return run


def _constant(value: Any) -> Evaluator:
    return lambda host: value


def _compile_arg(arg: Any) -> Evaluator:
    if isinstance(arg, list):
        return _compile(arg)
    if isinstance(arg, str):
        if not arg:
            return _constant(None)
        if arg.startswith("$"):
            return _lookup(arg[1:])
    return _constant(arg)


def _compile(query: list[Any]) -> Evaluator:
    if not query:
        return _constant(True)
    name = query[0]
    op = OPERATORS.get(name) if isinstance(name, str) else None
    if op is None:
        raise AnnotationError(
            HINTS,
            f"query: unknown operator {json.dumps(name)[:64]} in {json.dumps(query)[:200]}; "
            "operators are " + " ".join(OPERATORS),
        )
    args = [_compile_arg(a) for a in query[1:]]

    def run(host: HostState) -> Any:
        cooked = [v for v in (a(host) for a in args) if v is not None]
        return op(cooked)

    return run


def _bounded(text: str) -> None:
    """Refuse a query's JSON past MAX_QUERY_BYTES or MAX_QUERY_DEPTH: checked on the text as
    written (before it is parsed) and as compiled (a list query, or the written one spelled
    out again)."""
    if len(text) > MAX_QUERY_BYTES:
        raise AnnotationError(HINTS, f"query: {len(text)} bytes; at most {MAX_QUERY_BYTES}")
    if json_depth(text) > MAX_QUERY_DEPTH:
        raise AnnotationError(HINTS, f"query: nested deeper than {MAX_QUERY_DEPTH} levels")


def compile_query(spec: RequestSpec) -> tuple[Evaluator, str] | None:
    """The pod's query, checked and compiled once per request; None when there is none."""
    raw = spec.scheduler_hints.get("query")
    if not raw:
        return None
    if isinstance(raw, str):
        _bounded(raw)
        try:
            query = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise AnnotationError(HINTS, f"query: not valid JSON ({exc.msg})") from None
    else:
        query = raw
    if not query:
        return None
    if not isinstance(query, list):
        raise AnnotationError(
            HINTS,
            f'query must be a JSON list like [">=", "$free_ram_mb", 1024], got {raw!r:.200}',
        )
    text = json.dumps(query)
    _bounded(text)
    return _compile(query), text


class JsonFilter(BaseFilter):
    """Hint `query` in `weighbridge.io/hints`: Nova's JSON query over HostState attributes."""

    def applies(self, spec: RequestSpec) -> bool:
        return spec.derived(self.name, compile_query) is not None

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        compiled = spec.derived(self.name, compile_query)
        if compiled is None:
            return None
        evaluate, text = compiled
        try:
            result = evaluate(host)
        except _Incomparable as exc:
            return reason(f"{self.name}: query {text} cannot be evaluated", str(exc))
        if isinstance(result, list):
            result = any(result)
        if result:
            return None
        return f"{self.name}: query {text} is false for this node"
