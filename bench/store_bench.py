"""Store benchmark: user turns persisted per second on SQLite.

The store runs ``--appenders`` concurrent tasks, each appending turns to its own
conversation through ``ConversationStore.append_user_turn`` (group commit, seq assignment,
idempotency check) until ``--turns`` turns are stored. The baseline, in the same run,
inserts the same rows into a fresh database of the same schema with raw ``sqlite3`` on one
thread, ``executemany`` in batches of 100 per commit, with the store's pragmas.

Usage: ``python bench/store_bench.py [--appenders 1000] [--turns 100000] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from persistence.database import SQLITE_PRAGMAS
from persistence.records import Conversation, Tenant
from persistence.store import Store, open_store
from persistence.values import new_id
from realtime.gc_tuning import tune_garbage_collector

BASELINE_BATCH = 100


async def _setup(store: Store, appenders: int) -> list[Conversation]:
    config = await store.assessments.upsert(
        tenant=Tenant("bench", "course"),
        resource_link_id="bench",
        assessment_type="fill_blank",
        grading_schema="mastery",
        ai_config={"items": []},
        created_by="bench",
    )
    return [
        (await store.conversations.open_attempt(config.id, f"student-{i}", "course"))[0]
        for i in range(appenders)
    ]


async def store_rate(path: Path, appenders: int, turns: int) -> dict[str, Any]:
    """Turns/s through the store with ``appenders`` concurrent tasks."""
    async with open_store(f"sqlite+aiosqlite:///{path}") as store:
        conversations = await _setup(store, appenders)
        per_task = turns // appenders

        async def appender(conversation: Conversation) -> None:
            for turn in range(per_task):
                await store.conversations.append_user_turn(
                    conversation.id, f"turn-{turn}", "the mitochondria"
                )

        tune_garbage_collector()  # as the server does once it has started
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for conversation in conversations:
                group.create_task(appender(conversation))
        elapsed = time.perf_counter() - started
    stored = per_task * appenders
    return {
        "turns": stored,
        "seconds": round(elapsed, 3),
        "turns_per_second": round(stored / elapsed),
        "mean_batch": round(store.writer.operations / store.writer.transactions, 1),
        "transactions": store.writer.transactions,
    }


def baseline_rate(path: Path, conversation_ids: list[str], turns: int) -> dict[str, Any]:
    """Turns/s for raw sqlite3 inserting the same rows, 100 per commit, one thread."""
    per_conversation = turns // len(conversation_ids)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = [
        (new_id(), cid, seq, "user", "the mitochondria", "complete", f"turn-{seq}", None, now)
        for seq in range(1, per_conversation + 1)
        for cid in conversation_ids
    ]
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    insert = (
        "INSERT INTO conversation_messages (id, conversation_id, seq, role, content, status,"
        " client_msg_id, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    tune_garbage_collector()
    started = time.perf_counter()
    for start in range(0, len(rows), BASELINE_BATCH):
        conn.execute("BEGIN")
        conn.executemany(insert, rows[start : start + BASELINE_BATCH])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return {
        "turns": len(rows),
        "seconds": round(elapsed, 3),
        "turns_per_second": round(len(rows) / elapsed),
    }


async def _fresh_schema(path: Path, appenders: int) -> list[str]:
    async with open_store(f"sqlite+aiosqlite:///{path}") as store:
        return [conversation.id for conversation in await _setup(store, appenders)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appenders", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = asyncio.run(store_rate(Path(tmp, "store.db"), args.appenders, args.turns))
        ids = asyncio.run(_fresh_schema(Path(tmp, "baseline.db"), args.appenders))
        baseline = baseline_rate(Path(tmp, "baseline.db"), ids, args.turns)
    ratio = store["turns_per_second"] / baseline["turns_per_second"]
    result = {
        "appenders": args.appenders,
        "store": store,
        "baseline_raw_sqlite3": baseline,
        "ratio": round(ratio, 3),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
