"""Status reports (agent/backend/reports.py): in order, retried, and drained before a restart."""

from __future__ import annotations

import asyncio

from agent.backend.reports import ReportQueue


async def test_drain_waits_until_the_queued_reports_are_sent():
    sent: list[str] = []
    link_up = asyncio.Event()
    tries: list[str] = []
    tried_twice = asyncio.Event()

    async def send(report: str) -> bool:
        tries.append(report)
        if len(tries) == 2:
            tried_twice.set()
        if not link_up.is_set():
            return False  # not yet: retried
        sent.append(report)
        return True

    queue = ReportQueue(send, retry_s=0.01)
    runner = asyncio.create_task(queue.run())
    queue.put("Downloaded")
    queue.put("Installing")
    drained = asyncio.create_task(queue.drain(5))
    await tried_twice.wait()  # the first report failed twice: nothing is done yet
    assert not drained.done() and sent == []
    link_up.set()
    await drained
    assert sent == ["Downloaded", "Installing"]
    runner.cancel()

async def test_drain_gives_up_after_its_time():
    async def never(report: str) -> bool:
        return False

    queue = ReportQueue(never, retry_s=0.01)
    runner = asyncio.create_task(queue.run())
    queue.put("Installing")
    await queue.drain(0.05)  # returns (and logs) instead of blocking the restart
    runner.cancel()
