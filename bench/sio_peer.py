"""The peer: a turn's work written the ordinary python-socketio way, to stand beside tutorchat.

Usage: ``python bench/sio_peer.py PORT DATABASE SECRET`` (``bench/peer_bench.py`` starts it).

A python-socketio ``AsyncServer`` in ASGI mode under uvicorn with tutorchat's flags, SQLite
through one aiosqlite connection (WAL, ``synchronous=NORMAL``). Per turn it does what a
tutorchat turn does, less the grading, replay and progress: the join checks the HS256
token's user against the conversation's owner; the event ``send`` (``client_msg_id``,
``content``) stores the turn with the conversation's next ``seq``, idempotent on
``(conversation_id, client_msg_id)``, and the ack (the handler's return value) leaves
after the commit; the reply streams to the room as ``assistant.start``, five
``assistant.delta`` and ``assistant.end``, its row inserted before the start and its
text stored before the end. Every write is one statement in autocommit, the tuned way
(no lock, three statements per turn); replies of one conversation keep its turns' order.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import jwt
import socketio
import uvicorn
from socketio.exceptions import ConnectionRefusedError

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, user_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL,
    client_msg_id TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, client_msg_id)
);
"""
# The next seq is read and taken in the statement that inserts the row: SQLite runs one
# statement at a time, so two inserts cannot take the same one.
_INSERT_NEXT = (
    "INSERT INTO messages (id, conversation_id, seq, role, content, status, client_msg_id,"
    " created_at) SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ? FROM messages"
    " WHERE conversation_id = ? ON CONFLICT (conversation_id, client_msg_id) DO NOTHING"
    " RETURNING seq"
)
DELTAS = 5
DELTA_GAP_SECONDS = 0.020
MAX_CONTENT = 8000


class Peer:
    """The server's state: its database connection and each conversation's reply order."""

    def __init__(self, database: str, secret: str) -> None:
        self.database = database
        self.secret = secret
        self.sio = socketio.AsyncServer(async_mode="asgi")
        self.db: aiosqlite.Connection | None = None
        self.reply_order: dict[str, asyncio.Lock] = {}
        self.sio.on("connect", self.connect)
        self.sio.on("send", self.send)
        self.app = socketio.ASGIApp(self.sio, on_startup=self.open, on_shutdown=self.close)

    async def open(self) -> None:
        self.db = await aiosqlite.connect(self.database, isolation_level=None)
        await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute("PRAGMA synchronous=NORMAL")
        await self.db.executescript(SCHEMA)

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        auth = auth if isinstance(auth, dict) else {}
        try:
            user = str(jwt.decode(auth.get("token", ""), self.secret, algorithms=["HS256"])["sub"])
        except (jwt.PyJWTError, KeyError):
            raise ConnectionRefusedError("unauthenticated") from None
        conversation = str(auth.get("conversation_id", ""))
        assert self.db is not None
        rows = await self.db.execute_fetchall(
            "SELECT user_id FROM conversations WHERE id = ?", (conversation,)
        )
        if not rows or next(iter(rows))[0] != user:
            raise ConnectionRefusedError("forbidden")
        await self.sio.save_session(sid, {"conversation": conversation})
        await self.sio.enter_room(sid, conversation)

    async def send(self, sid: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            return {"error": "bad_frame"}
        client_msg_id, content = data.get("client_msg_id"), data.get("content")
        if not isinstance(client_msg_id, str) or not 1 <= len(client_msg_id) <= 64:
            return {"error": "bad_frame"}
        if not isinstance(content, str) or not 1 <= len(content) <= MAX_CONTENT:
            return {"error": "bad_frame"}
        conversation = (await self.sio.get_session(sid))["conversation"]
        message_id, seq, duplicate = await self._store_turn(conversation, client_msg_id, content)
        if not duplicate:
            self.sio.start_background_task(self._reply, conversation)
        return {
            "client_msg_id": client_msg_id,
            "message_id": message_id,
            "seq": seq,
            "duplicate": duplicate,
        }

    async def _store_turn(
        self, conversation: str, client_msg_id: str, content: str
    ) -> tuple[str, int, bool]:
        assert self.db is not None
        message_id = uuid.uuid4().hex
        row = [message_id, conversation, "user", content, "complete", client_msg_id, _now()]
        stored = list(await self.db.execute_fetchall(_INSERT_NEXT, (*row, conversation)))
        if stored:
            return message_id, stored[0][0], False
        (earlier,) = await self.db.execute_fetchall(
            "SELECT id, seq FROM messages WHERE conversation_id = ? AND client_msg_id = ?",
            (conversation, client_msg_id),
        )
        return earlier[0], earlier[1], True

    async def _reply(self, conversation: str) -> None:
        assert self.db is not None
        async with self.reply_order.setdefault(conversation, asyncio.Lock()):
            message_id = uuid.uuid4().hex
            row = [message_id, conversation, "assistant", "", "streaming", None, _now()]
            ((seq,),) = await self.db.execute_fetchall(_INSERT_NEXT, (*row, conversation))
            await self.sio.emit(
                "assistant.start", {"message_id": message_id, "seq": seq}, room=conversation
            )
            text = f"Good, that is turn {seq}. Now the next item: what comes next?"
            size = len(text) // DELTAS
            for i in range(DELTAS):
                if i:
                    await asyncio.sleep(DELTA_GAP_SECONDS)
                chunk = text[i * size :] if i == DELTAS - 1 else text[i * size : (i + 1) * size]
                await self.sio.emit(
                    "assistant.delta",
                    {"message_id": message_id, "offset": i * size, "text": chunk},
                    room=conversation,
                )
            await self.db.execute(
                "UPDATE messages SET content = ?, status = 'complete' WHERE id = ?",
                (text, message_id),
            )
            await self.sio.emit(
                "assistant.end",
                {"message_id": message_id, "status": "complete", "length": len(text)},
                room=conversation,
            )


def _now() -> str:
    return datetime.now(UTC).isoformat()


if __name__ == "__main__":
    port, database, secret = sys.argv[1:4]
    uvicorn.run(
        Peer(database, secret).app,
        host="127.0.0.1",
        port=int(port),
        ws="websockets-sansio",
        loop="uvloop",
        http="httptools",
        ws_per_message_deflate=False,
        log_level="warning",
    )
