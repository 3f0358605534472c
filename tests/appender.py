"""A separate process for the durability test: appends turns, reporting each commit.

Usage: ``python -m tests.appender DATABASE_URL CONVERSATION_ID``. It prints
``<client_msg_id> <seq>`` for every turn whose append has returned (so is committed),
and keeps appending from 20 tasks until it is killed.
"""

from __future__ import annotations

import asyncio
import itertools
import sys

from persistence.records import ConversationId
from persistence.store import open_store


async def main(url: str, conversation_id: ConversationId) -> None:
    counter = itertools.count()
    async with open_store(url, migrate_first=False) as store:

        async def appender() -> None:
            while True:
                client_msg_id = f"turn-{next(counter)}"
                result = await store.conversations.append_user_turn(
                    conversation_id, client_msg_id, "an answer"
                )
                sys.stdout.write(f"{client_msg_id} {result.message.seq}\n")
                sys.stdout.flush()

        async with asyncio.TaskGroup() as group:
            for _ in range(20):
                group.create_task(appender())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], ConversationId(sys.argv[2])))
