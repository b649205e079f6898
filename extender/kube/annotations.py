"""JSON in annotations, read with bounds: users write it, so its nesting is checked before it
is parsed (a thousand nested brackets would otherwise exhaust the parser's recursion)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from extender.errors import AnnotationError

#: deeper than any query, hint or spec needs; Nova's own examples stay under 5
MAX_JSON_DEPTH = 32
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text, strings aside; linear."""
    chars = np.frombuffer(_STRINGS.sub("", text).encode(), dtype=np.uint8)
    steps = np.isin(chars, _OPEN).astype(np.int64) - np.isin(chars, _CLOSE)
    return int(np.cumsum(steps).max(initial=0))


def load_json(text: str, key: str) -> Any:
    """Parse the JSON of annotation `key`; too deep or not JSON is the pod's error."""
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise AnnotationError(key, f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationError(key, f"not valid JSON ({exc.msg} at char {exc.pos})") from None
