"""Typed errors: each says what was wrong and where, so callers can answer without a traceback."""

from __future__ import annotations


class WeighbridgeError(Exception):
    """Base of every error this package raises on purpose."""


class QuantityError(WeighbridgeError, ValueError):
    """A Kubernetes quantity that cannot be parsed."""

    def __init__(self, text: object, why: str) -> None:
        super().__init__(f"invalid quantity {text!r}: {why}")
        self.text = text


class _LocatedError(WeighbridgeError):
    """An error in a named place of the user's input: `where` it is, and `why`."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.where = where
        self.why = why


class ObjectError(_LocatedError):
    """A Kubernetes object that cannot become part of the cache."""


class SnapshotError(WeighbridgeError):
    """A snapshot file that cannot be read."""


class ConfigError(WeighbridgeError):
    """A configuration that cannot be used; raised at start-up."""


class WireError(WeighbridgeError):
    """A request body that is not valid extender arguments (answered with HTTP 400)."""


class AnnotationError(_LocatedError):
    """A pod annotation or label the user got wrong; the pod is answered with this reason."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"annotation {key}", why)
        self.key = key


class NotSyncedError(WeighbridgeError):
    """The cache has not finished its first list; answers would be wrong."""


class BusyError(WeighbridgeError):
    """A bounded resource is in use (one capacity count at a time); answered with 429."""
