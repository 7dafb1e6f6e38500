"""SQLite transactions of one process take turns at the writer gate; urgent ones first."""

from __future__ import annotations

import asyncio

import pytest

from storage.db import Database, WriterGate


async def test_urgent_transactions_go_before_those_already_waiting() -> None:
    gate = WriterGate()
    order: list[str] = []

    async def hold(name: str, *, urgent: bool = False) -> None:
        await gate.acquire(urgent=urgent)
        order.append(name)
        await asyncio.sleep(0)
        gate.release()

    await gate.acquire()  # a message's transaction is running
    tasks = [asyncio.create_task(hold(f"work{n}")) for n in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(hold("inbox", urgent=True)))
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["inbox", "work0", "work1", "work2"]


async def test_a_cancelled_waiter_never_keeps_the_gate() -> None:
    gate = WriterGate()
    await gate.acquire()
    waiting = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gate.release()
    await asyncio.wait_for(gate.acquire(), 1)  # free again
    # Handed the gate at the moment it is cancelled: it passes it on.
    handed = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    gate.release()  # resolves handed's turn ...
    handed.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await handed
    await asyncio.wait_for(gate.acquire(), 1)


async def test_sessions_take_turns_on_sqlite(database: Database) -> None:
    inside = 0
    most = 0

    async def transaction() -> None:
        nonlocal inside, most
        async with database.session():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.05)
            inside -= 1

    await asyncio.gather(*(transaction() for _ in range(5)))
    # SQLite: one at a time, in this process's own queue; PostgreSQL: side by side.
    assert most == 1 if database.dialect == "sqlite" else most > 1
