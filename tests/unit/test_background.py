"""`weighbridge serve`'s background tasks (Events, requeue, the Lease, ...): one that dies of
an unexpected error says so in the log at once, with its name and traceback; one cancelled
at shutdown says nothing."""

from __future__ import annotations

import asyncio

import pytest

from extender.cli import _background


async def _broken() -> None:
    raise RuntimeError("a bug")


async def _endless() -> None:
    await asyncio.Event().wait()


def test_a_task_that_dies_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        task = _background(_broken(), "events")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert task.done()

    with caplog.at_level("ERROR", logger="weighbridge"):
        asyncio.run(scenario())
    (record,) = [r for r in caplog.records if r.getMessage() == "background task died"]
    assert record.task == "events"  # type: ignore[attr-defined]
    assert record.exc_info is not None and str(record.exc_info[1]) == "a bug"


def test_a_cancelled_task_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        task = _background(_endless(), "requeue")
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0)

    with caplog.at_level("ERROR", logger="weighbridge"):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if r.getMessage() == "background task died"]
