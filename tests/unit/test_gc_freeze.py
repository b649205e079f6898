"""`weighbridge serve` freezes the cache's objects out of the garbage collector once the first
lists are in: a full collection then walks only what came after, not the whole cache (in
bench-scheduler's 5,000-node run, the one full collection while pods were scheduled took
137 ms before and 11 ms after)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from extender.cli import _freeze_when_synced


class Listing:
    """A cache whose lists come in after `pending` readiness checks."""

    def __init__(self, pending: int) -> None:
        self.pending = pending

    def not_ready(self) -> str | None:
        if self.pending:
            self.pending -= 1
            return "cache not synced yet: pods"
        return None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_objects_are_frozen_only_once_the_cache_is_synced() -> None:
    cache = Listing(pending=2)

    async def run() -> int:
        task = asyncio.create_task(_freeze_when_synced(cache.not_ready))
        await asyncio.sleep(0.05)
        frozen_while_listing = gc.get_freeze_count()
        await asyncio.wait_for(task, 5)
        return frozen_while_listing

    kept = [[i] for i in range(1000)]  # long-lived containers, as the cache's are
    assert asyncio.run(run()) == 0
    assert gc.get_freeze_count() >= len(kept)
