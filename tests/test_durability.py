"""A process killed with SIGKILL mid-run loses no turn it reported committed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from persistence.records import Conversation
from persistence.store import Store
from tests.limits import TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
REPORTED_BEFORE_KILL = 500


async def test_every_reported_turn_survives_sigkill(
    database_url: str, store: Store, conversation: Conversation
) -> None:
    """Turns the child reported after their commit are all in the database, seq for seq."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.appender",
        database_url,
        conversation.id,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    reported: dict[str, int] = {}
    try:
        while len(reported) < REPORTED_BEFORE_KILL:
            line = await asyncio.wait_for(child.stdout.readline(), TIMEOUT)
            assert line, "the appender exited early"
            client_msg_id, seq = line.decode().split()
            reported[client_msg_id] = int(seq)
        child.send_signal(signal.SIGKILL)
        # Whole lines written before the kill were reported too.
        rest = await asyncio.wait_for(child.stdout.read(), TIMEOUT)
        for line in rest.split(b"\n")[:-1]:
            client_msg_id, seq = line.decode().split()
            reported[client_msg_id] = int(seq)
    finally:
        if child.returncode is None:
            child.kill()
        # (Not its exit status: asyncio's child watcher may report 255 for a child
        # killed while it reaps another test's.)
        await asyncio.wait_for(child.wait(), TIMEOUT)

    stored = {
        m.client_msg_id: m.seq
        for m in await store.conversations.messages_after(conversation.id, limit=1_000_000)
    }
    assert {k: stored.get(k) for k in reported} == reported
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))
