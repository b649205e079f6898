"""The bind barrier: a filter waits for the bind of the pod filtered just before it, but only
for pods of a scheduler that binds through the extender."""

from __future__ import annotations

import asyncio
import time

from extender.service.binding import BindBarrier

BINDING = "weighbridge-scheduler"
OTHER = "default-scheduler"


def engaged(wait_seconds: float = 5, **kw: float) -> BindBarrier:
    """A barrier that has seen a bind from BINDING (so its filters wait)."""
    barrier = BindBarrier(wait_seconds, **kw)
    barrier.filtered("warm-up", BINDING)
    barrier.bound("warm-up")
    return barrier


def test_no_wait_before_any_bind_was_seen() -> None:
    async def scenario() -> float:
        barrier = BindBarrier(wait_seconds=5)
        barrier.filtered("a", BINDING)
        start = time.monotonic()
        await barrier.wait("b", BINDING)
        return time.monotonic() - start

    assert asyncio.run(scenario()) < 0.1


def test_filter_waits_until_the_previous_pod_is_bound() -> None:
    async def scenario() -> list[str]:
        barrier = engaged()
        order: list[str] = []
        barrier.filtered("a", BINDING)

        async def bind_a() -> None:
            await asyncio.sleep(0.05)
            order.append("bind a")
            barrier.bound("a")

        async def filter_b() -> None:
            await barrier.wait("b", BINDING)
            order.append("filter b")

        await asyncio.gather(filter_b(), bind_a())
        return order

    assert asyncio.run(scenario()) == ["bind a", "filter b"]


def test_a_profile_that_does_not_bind_here_never_waits() -> None:
    """Issue 11's bug: one binding profile made every other profile's filters wait."""

    async def scenario() -> tuple[float, float]:
        barrier = engaged()
        barrier.filtered("a", BINDING)  # its bind is still to come
        barrier.filtered("x", OTHER)  # binds elsewhere: no bind will ever come
        start = time.monotonic()
        await barrier.wait("y", OTHER)
        other = time.monotonic() - start
        barrier.bound("a")
        start = time.monotonic()
        await barrier.wait("b", BINDING)  # x is not waited for: not a pod of BINDING
        return other, time.monotonic() - start

    other, binding = asyncio.run(scenario())
    assert other < 0.1
    assert binding < 0.1


def test_own_retry_does_not_wait_for_itself_and_waits_are_bounded() -> None:
    async def scenario() -> tuple[float, float]:
        barrier = engaged(wait_seconds=0.2)
        barrier.filtered("a", BINDING)
        start = time.monotonic()
        await barrier.wait("a", BINDING)
        own = time.monotonic() - start
        start = time.monotonic()
        await barrier.wait("b", BINDING)  # a is never bound: the wait gives up after 0.2 s
        return own, time.monotonic() - start

    own, other = asyncio.run(scenario())
    assert own < 0.1
    assert 0.15 < other < 1.0


def test_stale_and_disengaged_barrier_does_not_wait() -> None:
    async def scenario() -> float:
        barrier = engaged(stale_seconds=0.0)
        barrier.filtered("a", BINDING)
        await asyncio.sleep(0.01)
        start = time.monotonic()
        await barrier.wait("b", BINDING)
        quiet = engaged(engaged_seconds=0.0)
        quiet.filtered("a", BINDING)
        await asyncio.sleep(0.01)
        await quiet.wait("b", BINDING)
        return time.monotonic() - start

    assert asyncio.run(scenario()) < 0.1
