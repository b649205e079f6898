"""The bind barrier: a filter waits for the bind of the pod filtered just before it."""

from __future__ import annotations

import asyncio
import time

from extender.service.binding import BindBarrier


def test_no_wait_before_any_bind_was_seen() -> None:
    async def scenario() -> float:
        barrier = BindBarrier(wait_seconds=5)
        barrier.filtered("a")
        start = time.monotonic()
        await barrier.wait("b")
        return time.monotonic() - start

    assert asyncio.run(scenario()) < 0.1


def test_filter_waits_until_the_previous_pod_is_bound() -> None:
    async def scenario() -> list[str]:
        barrier = BindBarrier(wait_seconds=5)
        barrier.bound("warm-up")
        order: list[str] = []
        barrier.filtered("a")

        async def bind_a() -> None:
            await asyncio.sleep(0.05)
            order.append("bind a")
            barrier.bound("a")

        async def filter_b() -> None:
            await barrier.wait("b")
            order.append("filter b")

        await asyncio.gather(filter_b(), bind_a())
        return order

    assert asyncio.run(scenario()) == ["bind a", "filter b"]


def test_own_retry_does_not_wait_for_itself_and_waits_are_bounded() -> None:
    async def scenario() -> tuple[float, float]:
        barrier = BindBarrier(wait_seconds=0.2)
        barrier.bound("warm-up")
        barrier.filtered("a")
        start = time.monotonic()
        await barrier.wait("a")
        own = time.monotonic() - start
        start = time.monotonic()
        await barrier.wait("b")  # a is never bound: the wait gives up after 0.2 s
        return own, time.monotonic() - start

    own, other = asyncio.run(scenario())
    assert own < 0.1
    assert 0.15 < other < 1.0


def test_stale_and_disengaged_barrier_does_not_wait() -> None:
    async def scenario() -> float:
        barrier = BindBarrier(wait_seconds=5, stale_seconds=0.0)
        barrier.bound("warm-up")
        barrier.filtered("a")
        await asyncio.sleep(0.01)
        start = time.monotonic()
        await barrier.wait("b")
        quiet = BindBarrier(wait_seconds=5, engaged_seconds=0.0)
        quiet.bound("long ago")
        quiet.filtered("a")
        await asyncio.sleep(0.01)
        await quiet.wait("b")
        return time.monotonic() - start

    assert asyncio.run(scenario()) < 0.1
