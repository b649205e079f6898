"""What a filter and a weigher share: the name Nova's configuration knows it by, and a
registry of every public one, filled as their classes are defined.

A new filter or weigher is found by the config check, the docs and the property tests
without being listed anywhere by hand. Classes whose names start with `_` are shared
bases (a ratio filter, a column weigher), not plugins.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Plugin:
    """Base of the filter and weigher families; each family declares its own `registry`."""

    name: ClassVar[str] = ""
    registry: ClassVar[dict[str, Any]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__
        if "registry" not in cls.__dict__ and not cls.name.startswith("_"):
            cls.registry[cls.name] = cls
