"""Turn writes: the operations the group-commit writer applies, and how a batch applies.

A batch runs in one transaction: it reads the heads (status and ``last_seq``) of the
conversations it appends to, locking them on PostgreSQL, gives each new message the next
``seq`` in submission order, inserts the rows, and moves the heads to the newest seqs.
So ``seq`` is assigned in the transaction that inserts the row, with no gaps and no
reuse, however many tasks or processes append at once.

On PostgreSQL a batch is one call of the function ``tutorchat_apply_turns`` (migration
0003), which does the same on the server: one round trip per batch, where the steps
from here would be five to seven, each a wait for the network and then for the event
loop.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import DateTime, bindparam, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from persistence.errors import ConversationClosed, NotFound, StoreError
from persistence.prepared import Prepared
from persistence.records import ConversationId, JsonObject, Message, MessageId, from_row
from persistence.schema import conversation_messages as messages
from persistence.schema import conversations
from persistence.values import new_id, utcnow

__all__ = [
    "AppendMessage",
    "Appended",
    "RecordEvaluation",
    "TurnOp",
    "TurnResult",
    "UpdateMessage",
    "apply_turns",
    "apply_turns_on_postgres",
]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AppendMessage:
    """Insert a message at the conversation's next ``seq``.

    A ``user`` message is refused when the conversation is closed, and is written once per
    ``client_msg_id``: a repeat returns the original row flagged as a duplicate. An
    assistant reply may carry the evaluation of the turn it answers (``grades``), stored
    in the same transaction: both or neither.
    """

    conversation_id: ConversationId
    role: Literal["user", "assistant", "system"]
    content: str
    status: str = "complete"
    client_msg_id: str | None = None
    metadata: JsonObject | None = None
    grades: RecordEvaluation | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UpdateMessage:
    """Change a stored message; fields left None are left as they are."""

    message_id: MessageId
    content: str | None = None
    status: str | None = None
    metadata: JsonObject | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecordEvaluation:
    """A user turn's evaluation (its metadata) and the conversation's score after it."""

    message_id: MessageId
    evaluation: JsonObject
    mastery_score: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Appended:
    """The stored message, and whether it was there already (a repeated client_msg_id)."""

    message: Message
    duplicate: bool


TurnOp = AppendMessage | UpdateMessage
TurnResult = Appended | None

# Statements are built once: the IN lists expand at execution, so one compiled form serves.
# Those of every batch are Prepared: on SQLite they run on the driver's cursor.
_heads = Prepared(
    select(conversations.c.id, conversations.c.status, conversations.c.last_seq)
    .where(conversations.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(conversations.c.id)
    .with_for_update()
)
_stored_turns = select(messages).where(
    tuple_(messages.c.conversation_id, messages.c.client_msg_id).in_(
        bindparam("keys", expanding=True)
    )
)
_ROW_COLUMNS = (
    "id",
    "conversation_id",
    "seq",
    "role",
    "content",
    "status",
    "client_msg_id",
    "metadata",
    "created_at",
)
_insert_message = Prepared(insert(messages).values({k: bindparam(k) for k in _ROW_COLUMNS}))
# After the insert, each head moves to its conversation's newest seq: one statement with
# one parameter set, instead of a parameter set per conversation.
_move_heads = Prepared(
    update(conversations)
    .where(conversations.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        last_seq=select(func.max(messages.c.seq))
        .where(messages.c.conversation_id == conversations.c.id)
        .scalar_subquery(),
        last_activity_at=bindparam("now"),
    )
)
_apply_on_server = select(
    func.tutorchat_apply_turns(
        bindparam("ops", type_=JSONB),
        bindparam("at", type_=DateTime(timezone=True)),
        type_=JSONB,
    )
)
# Only while the attempt is open: a closed one keeps its final score or a teacher's.
_set_score = Prepared(
    update(conversations)
    .where(conversations.c.id == bindparam("score_id"), conversations.c.status == "active")
    .values(mastery_score=bindparam("score"))
)
# A message update for each set of changed columns, made the first time it is needed.
_updates: dict[tuple[str, ...], Prepared] = {}


def apply_turns(
    conn: Connection, ops: Sequence[TurnOp], *, careful: bool
) -> list[TurnResult | StoreError]:
    """Apply ``ops`` in order inside the open transaction of ``conn``.

    Repeats of stored turns are rare (a resend after a reconnect), so the first attempt
    (``careful=False``) inserts as if there were none, and the unique (conversation_id,
    client_msg_id) refuses the batch if there is one. The careful attempt looks the stored
    originals up first.
    """
    results: list[TurnResult | StoreError] = [None] * len(ops)
    appends = [(i, op) for i, op in enumerate(ops) if isinstance(op, AppendMessage)]
    if appends:
        _append(conn, appends, results, careful=careful)
    updates = [op for op in ops if isinstance(op, UpdateMessage)]
    # The evaluations that ride with replies, for the replies that were stored.
    graded = [
        (op.conversation_id, op.grades)
        for i, op in appends
        if op.grades is not None and isinstance(results[i], Appended)
    ]
    updates += [
        UpdateMessage(message_id=grades.message_id, metadata=grades.evaluation)
        for _, grades in graded
    ]
    _update_messages(conn, updates)
    if graded:
        scores = [{"score_id": c, "score": grades.mastery_score} for c, grades in graded]
        _set_score.execute_many(conn, scores)
    return results


def apply_turns_on_postgres(
    conn: Connection, ops: Sequence[TurnOp], *, careful: bool
) -> list[TurnResult | StoreError]:
    """Apply ``ops`` in order with one call of ``tutorchat_apply_turns``, which is
    always careful (it looks repeats up under the conversation's lock, a cheap index
    probe on the server): ``careful`` changes nothing."""
    now = utcnow()
    new: list[Message | None] = []
    payload: list[dict[str, Any]] = []
    for op in ops:
        if isinstance(op, AppendMessage):
            message = _new_message(op, 0, now)  # its seq is the server's answer
            new.append(message)
            payload.append(_append_item(op, message))
        else:
            new.append(None)
            payload.append({"k": "u", "id": op.message_id, **_changes(op)})
    answers = conn.execute(_apply_on_server, {"ops": payload, "at": now}).scalar_one()
    return [
        None if message is None else _appended(message, answer)
        for message, answer in zip(new, answers, strict=True)
    ]


def _append_item(op: AppendMessage, message: Message) -> dict[str, Any]:
    grades = op.grades
    return {
        "k": "a",
        "id": message.id,
        "c": op.conversation_id,
        "role": op.role,
        "content": op.content,
        "status": op.status,
        "client_msg_id": op.client_msg_id,
        "metadata": op.metadata,
        "grades": None
        if grades is None
        else {
            "id": grades.message_id,
            "evaluation": grades.evaluation,
            "score": grades.mastery_score,
        },
    }


def _changes(op: UpdateMessage) -> dict[str, Any]:
    """The fields an update sets (the others stay as they are)."""
    return {
        name: value
        for name in ("content", "status", "metadata")
        if (value := getattr(op, name)) is not None
    }


def _appended(message: Message, answer: dict[str, Any]) -> TurnResult | StoreError:
    """What the server said of an append, as :func:`apply_turns` would have said it."""
    if "seq" in answer:
        return Appended(message=dataclasses.replace(message, seq=answer["seq"]), duplicate=False)
    if (original := answer.get("duplicate")) is not None:
        row = original | {"created_at": datetime.fromisoformat(original["created_at"])}
        return Appended(message=from_row(Message, row), duplicate=True)
    if answer["refused"] == "closed":
        return ConversationClosed(f"conversation {message.conversation_id} is {answer['status']}")
    return NotFound(f"no conversation {message.conversation_id}")


def _append(
    conn: Connection,
    appends: list[tuple[int, AppendMessage]],
    results: list[TurnResult | StoreError],
    *,
    careful: bool,
) -> None:
    heads = _conversation_heads(conn, {op.conversation_id for _, op in appends})
    known = _existing_turns(conn, [op for _, op in appends]) if careful else {}
    _insert_appends(conn, appends, heads, known, results)
    if careful:
        return
    # A repeat is answered even when the conversation has closed since its original, and
    # a refused turn inserts nothing that could reveal it: look those up.
    refused = [(i, op) for i, op in appends if isinstance(results[i], ConversationClosed)]
    if any(op.client_msg_id is not None for _, op in refused):
        known = _existing_turns(conn, [op for _, op in refused])
        for index, op in refused:
            if (original := known.get((op.conversation_id, op.client_msg_id))) is not None:
                results[index] = Appended(message=original, duplicate=True)


def _insert_appends(
    conn: Connection,
    appends: list[tuple[int, AppendMessage]],
    heads: dict[str, tuple[str, int]],
    known: dict[tuple[str, str | None], Message],
    results: list[TurnResult | StoreError],
) -> None:
    """Give each new message its seq, move the heads and insert; repeats get originals."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for index, op in appends:
        key = (op.conversation_id, op.client_msg_id)
        if op.client_msg_id is not None and key in known:
            results[index] = Appended(message=known[key], duplicate=True)
            continue
        head = heads.get(op.conversation_id)
        if head is None:
            results[index] = NotFound(f"no conversation {op.conversation_id}")
            continue
        status, last_seq = head
        if op.role == "user" and status != "active":
            results[index] = ConversationClosed(f"conversation {op.conversation_id} is {status}")
            continue
        heads[op.conversation_id] = (status, last_seq + 1)
        message = _new_message(op, last_seq + 1, now)
        rows.append(_row(message))
        results[index] = Appended(message=message, duplicate=False)
        if op.client_msg_id is not None:
            known[key] = message
    if rows:
        _insert_message.execute_many(conn, rows)
        moved = sorted({row["conversation_id"] for row in rows})
        _move_heads.execute(conn, {"ids": moved, "now": now})


def _existing_turns(
    conn: Connection, ops: list[AppendMessage]
) -> dict[tuple[str, str | None], Message]:
    """The stored messages that ``ops`` would repeat, by (conversation, client_msg_id)."""
    keys = {(op.conversation_id, op.client_msg_id) for op in ops if op.client_msg_id is not None}
    if not keys:
        return {}
    rows = (conn.execute(_stored_turns, {"keys": sorted(keys)})).mappings()
    return {(row["conversation_id"], row["client_msg_id"]): from_row(Message, row) for row in rows}


def _conversation_heads(conn: Connection, ids: set[ConversationId]) -> dict[str, tuple[str, int]]:
    """Status and last_seq of each conversation, locked on PostgreSQL in id order."""
    rows = _heads.execute(conn, {"ids": sorted(ids)})
    return {row[0]: (row[1], row[2]) for row in rows}


def _update_messages(conn: Connection, ops: list[UpdateMessage]) -> None:
    """Apply message updates, one executemany per set of changed columns."""
    by_columns: defaultdict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for op in ops:
        changes = _changes(op)
        by_columns[tuple(changes)].append(
            {"message_id": op.message_id} | {f"new_{k}": v for k, v in changes.items()}
        )
    for columns, params in by_columns.items():
        if not columns:
            continue
        statement = _updates.get(columns)
        if statement is None:
            change = update(messages).where(messages.c.id == bindparam("message_id"))
            if "content" in columns or "status" in columns:
                # A reply's text and status change only while it streams: once ended
                # (by another process that took the conversation over) it stays so.
                change = change.where(messages.c.status == "streaming")
            statement = _updates[columns] = Prepared(
                change.values({name: bindparam(f"new_{name}") for name in columns})
            )
        statement.execute_many(conn, params)


def _new_message(op: AppendMessage, seq: int, now: datetime) -> Message:
    return Message(
        id=MessageId(new_id()),
        conversation_id=op.conversation_id,
        seq=seq,
        role=op.role,
        content=op.content,
        status=op.status,
        client_msg_id=op.client_msg_id,
        metadata=op.metadata,
        created_at=now,
    )


def _row(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "client_msg_id": message.client_msg_id,
        "metadata": message.metadata,
        "created_at": message.created_at,
    }
