"""Conversations and their messages.

Turn writes (user turns, assistant replies as they stream, evaluations) go through the
group-commit writer; opening, completing and abandoning conversations are rare and take a
transaction of their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from persistence.assessments import of_assessment
from persistence.database import Database
from persistence.errors import NotFound, StoreError, TooManyAttempts
from persistence.grades import enqueue_grade
from persistence.progress import record_completion
from persistence.records import (
    AssessmentConfigId,
    Conversation,
    ConversationId,
    JsonObject,
    Message,
    MessageId,
    Tenant,
    from_row,
)
from persistence.schema import MAX_SEQ, assessment_configs, conversations
from persistence.schema import conversation_messages as messages
from persistence.turns import (
    Appended,
    AppendMessage,
    RecordEvaluation,
    TurnOp,
    TurnResult,
    UpdateMessage,
)
from persistence.values import new_id, utcnow
from persistence.writer import WriterLanes

__all__ = ["ConversationStore", "TurnWriter"]

TurnWriter = WriterLanes[TurnOp, TurnResult]


def turn_lane(op: TurnOp) -> str:
    """A turn write's lane: its conversation's (seq assignment locks the conversation's
    row), or for a message's update, the message's own (it locks that row alone)."""
    return op.conversation_id if isinstance(op, AppendMessage) else op.message_id


class ConversationStore:
    """Reads and writes ``conversations`` and ``conversation_messages``.

    Args:
        db: the database.
        writer: the group-commit writer for turn writes (see :func:`apply_turns`).
    """

    def __init__(self, db: Database, writer: TurnWriter) -> None:
        self._db = db
        self._writer = writer

    async def open_attempt(
        self,
        assessment_config_id: str,
        user_id: str,
        course_id: str,
        *,
        max_attempts: int | None = None,
        new: Literal["never", "if_none_open", "always"] = "always",
    ) -> tuple[Conversation, bool]:
        """The student's active conversation of an assessment, created if there is none.

        Args:
            max_attempts: the most conversations one student may have of the assessment.
            new: when there is no active one, whether to make one: ``always``;
                ``if_none_open``, only when the student has no finished attempt either
                (else the latest finished one is the answer, to read); ``never``.

        Returns:
            The conversation, and True if this call created it.

        Raises:
            NotFound: no such assessment, or (``never``) no attempt yet.
            TooManyAttempts: a new one would be more than ``max_attempts``.
        """
        for _ in range(2):
            found = await self._active(assessment_config_id, user_id, course_id)
            if found is not None:
                return found, False
            if new != "always":
                finished = await self.attempts(assessment_config_id, user_id, course_id)
                if finished:
                    return finished[0], False
                if new == "never":
                    raise NotFound(f"no attempt of {assessment_config_id}")
            if max_attempts is not None:
                made = await self._attempts(assessment_config_id, user_id, course_id)
                if made >= max_attempts:
                    raise TooManyAttempts(f"at most {max_attempts} attempts of this assessment")
            try:
                return await self._create(assessment_config_id, user_id, course_id), True
            except IntegrityError:
                # Another tab (or process) created it between our read and insert, or the
                # assessment does not exist; the second read tells which.
                continue
        raise NotFound(f"no assessment {assessment_config_id}")

    async def attempts(
        self, assessment_config_id: str, user_id: str, course_id: str
    ) -> list[Conversation]:
        """A student's conversations of an assessment, the newest first."""
        query = (
            select(conversations)
            .where(
                conversations.c.assessment_config_id == assessment_config_id,
                conversations.c.user_id == user_id,
                conversations.c.course_id == course_id,
            )
            .order_by(conversations.c.started_at.desc(), conversations.c.id.desc())
        )
        return [from_row(Conversation, row) for row in await self._db.fetch_all(query)]

    async def get(self, conversation_id: str) -> Conversation:
        """The conversation with this id.

        Raises:
            NotFound: there is none.
        """
        query = select(conversations).where(conversations.c.id == conversation_id)
        row = await self._db.fetch_one(query)
        if row is None:
            raise NotFound(f"no conversation {conversation_id}")
        return from_row(Conversation, row)

    async def append_user_turn(
        self, conversation_id: ConversationId, client_msg_id: str, content: str
    ) -> Appended:
        """Store a student's turn once per ``client_msg_id``; returns after commit.

        Raises:
            NotFound: no such conversation.
            ConversationClosed: the conversation is over (a repeat still gets its original).
        """
        op = AppendMessage(
            conversation_id=conversation_id,
            role="user",
            content=content,
            client_msg_id=client_msg_id,
        )
        return await self._appended(op)

    async def start_assistant(
        self,
        conversation_id: ConversationId,
        content: str = "",
        metadata: JsonObject | None = None,
        *,
        grades: RecordEvaluation | None = None,
    ) -> Message:
        """Store the start of an assistant reply (status ``streaming``) and give it its seq.

        Args:
            grades: the evaluation of the turn it answers, and the score after it, stored
                in the same transaction (one commit before the reply can begin, not two).
        """
        op = AppendMessage(
            conversation_id=conversation_id,
            role="assistant",
            content=content,
            status="streaming",
            metadata=metadata,
            grades=grades,
        )
        return (await self._appended(op)).message

    async def find_turn(self, conversation_id: str, client_msg_id: str) -> Message | None:
        """The user turn stored under ``client_msg_id``, if any."""
        query = select(messages).where(
            messages.c.conversation_id == conversation_id,
            messages.c.client_msg_id == client_msg_id,
        )
        row = await self._db.fetch_one(query)
        return None if row is None else from_row(Message, row)

    async def newest_messages(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> list[Message]:
        """The newest ``limit`` messages with ``seq > after_seq``, in seq order."""
        if after_seq >= MAX_SEQ:
            return []
        query = (
            select(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.seq > after_seq)
            .order_by(messages.c.seq.desc())
            .limit(limit)
        )
        rows = await self._db.fetch_all(query)
        return [from_row(Message, row) for row in reversed(rows)]

    async def streaming(self, conversation_id: str) -> list[Message]:
        """The conversation's replies still ``streaming``, as stored."""
        rows = await self._db.fetch_all(
            select(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.status == "streaming")
            .order_by(messages.c.seq)
        )
        return [from_row(Message, row) for row in rows]

    async def interrupt_streaming(
        self, conversation_id: str | None = None, *, texts: Mapping[str, str] | None = None
    ) -> list[Message]:
        """Mark replies still ``streaming`` as ``interrupted``; returns them as stored.

        Args:
            conversation_id: only this conversation's (its lease expired: the process that
                ran the reply is gone). None: every conversation's, which only a server
                that owns them all (one process) may do, at start-up.
            texts: replies' text as their clients were sent it, by message id: stored in
                the same transaction where it extends the text saved.
        """
        where = [messages.c.status == "streaming"]
        if conversation_id is not None:
            where.append(messages.c.conversation_id == conversation_id)
        ended: list[Message] = []
        async with self._db.write() as conn:
            query = select(messages).where(*where).order_by(messages.c.seq)
            rows = (await conn.execute(query)).mappings().all()
            if rows:
                ids = [row["id"] for row in rows]
                await conn.execute(
                    update(messages).where(messages.c.id.in_(ids)).values(status="interrupted")
                )
            for row in rows:
                message = dataclasses.replace(from_row(Message, row), status="interrupted")
                text = (texts or {}).get(message.id, "")
                if len(text) > len(message.content) and text.startswith(message.content):
                    message = dataclasses.replace(message, content=text)
                    await conn.execute(
                        update(messages).where(messages.c.id == message.id).values(content=text)
                    )
                ended.append(message)
        return ended

    async def message(self, message_id: str) -> Message | None:
        """One message by its id, as stored."""
        row = await self._db.fetch_one(select(messages).where(messages.c.id == message_id))
        return None if row is None else from_row(Message, row)

    async def flush_text(self, message_id: MessageId, content: str) -> None:
        """Save the text a streaming reply has so far."""
        await self._writer.submit(UpdateMessage(message_id=message_id, content=content))

    async def finish_message(self, message_id: MessageId, content: str, status: str) -> None:
        """Save a reply's final text and status (complete, cancelled, error, interrupted).

        Only while it is streaming: a reply another process has ended (it took the
        conversation over) keeps that end; so does :meth:`flush_text`."""
        op = UpdateMessage(message_id=message_id, content=content, status=status)
        await self._writer.submit(op)

    async def messages_after(
        self, conversation_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[Message]:
        """Up to ``limit`` messages with ``seq > after_seq``, in seq order."""
        if after_seq >= MAX_SEQ:
            return []
        query = (
            select(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.seq > after_seq)
            .order_by(messages.c.seq)
            .limit(limit)
        )
        rows = await self._db.fetch_all(query)
        return [from_row(Message, row) for row in rows]

    async def complete(
        self,
        conversation_id: str,
        *,
        mastery_score: float,
        missed: Mapping[str, int],
        comment: str | None = None,
    ) -> Conversation:
        """Close the conversation with its final score, count it in student progress,
        and (for a resource link an LTI launch placed) put the score in the grade outbox.

        All happen in one transaction. Completing a closed conversation changes nothing
        and returns it as it is.

        Args:
            conversation_id: the conversation.
            mastery_score: the final score, 0-100.
            missed: item or objective id -> times the student missed it in this attempt.
            comment: what the gradebook shows beside the score.

        Raises:
            NotFound: no such conversation.
        """
        now = utcnow()
        statement = (
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.status == "active")
            .values(status="completed", completed_at=now, mastery_score=mastery_score)
            .returning(*conversations.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).mappings().one_or_none()
            if row is not None:
                await record_completion(
                    conn,
                    self._db,
                    tenant=Tenant(row["platform_id"], row["course_id"]),
                    user_id=row["user_id"],
                    mastery_score=mastery_score,
                    missed=missed,
                    now=now,
                )
                await enqueue_grade(
                    conn,
                    conversation_id=conversation_id,
                    score_given=mastery_score,
                    comment=comment,
                    now=now,
                )
        if row is None:
            return await self.get(conversation_id)
        return from_row(Conversation, row)

    async def of_assessment(self, assessment_config_id: str) -> list[Conversation]:
        """Every attempt of an assessment, oldest first."""
        query = (
            select(conversations)
            .where(conversations.c.assessment_config_id == assessment_config_id)
            .order_by(conversations.c.started_at, conversations.c.id)
        )
        return [from_row(Conversation, row) for row in await self._db.fetch_all(query)]

    async def of_student(self, tenant: Tenant, user_id: str) -> list[Conversation]:
        """Every attempt of one student in a course, of any assessment, newest first."""
        query = (
            select(conversations)
            .where(
                conversations.c.platform_id == tenant.platform_id,
                conversations.c.course_id == tenant.course_id,
                conversations.c.user_id == user_id,
            )
            .order_by(conversations.c.started_at.desc(), conversations.c.id.desc())
        )
        return [from_row(Conversation, row) for row in await self._db.fetch_all(query)]

    async def abandon_idle(self, idle_since: datetime) -> list[Conversation]:
        """Mark abandoned every active conversation with no activity since ``idle_since``."""
        statement = (
            update(conversations)
            .where(
                conversations.c.status == "active",
                conversations.c.last_activity_at < idle_since,
            )
            .values(status="abandoned", completed_at=utcnow())
            .returning(*conversations.c)
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [from_row(Conversation, row) for row in rows]

    async def _appended(self, op: AppendMessage) -> Appended:
        result = await self._writer.submit(op)
        if not isinstance(result, Appended):
            raise StoreError(f"expected an appended message, got {result!r}")
        return result

    async def _active(
        self, assessment_config_id: str, user_id: str, course_id: str
    ) -> Conversation | None:
        query = select(conversations).where(
            conversations.c.assessment_config_id == assessment_config_id,
            conversations.c.user_id == user_id,
            conversations.c.course_id == course_id,
            conversations.c.status == "active",
        )
        row = await self._db.fetch_one(query)
        return None if row is None else from_row(Conversation, row)

    async def _attempts(self, assessment_config_id: str, user_id: str, course_id: str) -> int:
        query = select(func.count()).where(
            conversations.c.assessment_config_id == assessment_config_id,
            conversations.c.user_id == user_id,
            conversations.c.course_id == course_id,
        )
        async with self._db.read() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def _create(
        self, assessment_config_id: str, user_id: str, course_id: str
    ) -> Conversation:
        now = utcnow()
        statement = (
            conversations.insert()
            .values(
                id=new_id(),
                assessment_config_id=AssessmentConfigId(assessment_config_id),
                user_id=user_id,
                course_id=course_id,
                platform_id=of_assessment(assessment_config_id, assessment_configs.c.platform_id),
                status="active",
                started_at=now,
                mastery_score=0.0,
                last_seq=0,
                last_activity_at=now,
            )
            .returning(*conversations.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).mappings().one()
        return from_row(Conversation, row)
