"""The client's frames on a conversation: a turn stored and acknowledged, a cancel, and
``complete``, each checked in the protocol's order, and the events they publish."""

from __future__ import annotations

from persistence.errors import ConversationClosed, WriteFailed, WriterClosed
from persistence.records import ConversationId, Message
from persistence.store import Store
from protocol.messages import (
    Ack,
    AssistantDelta,
    AssistantEnd,
    AssistantStart,
    Completed,
    MessageFrame,
    MessageId,
    Progress,
    Send,
)
from realtime.cluster.broker import Broker, Event
from realtime.conversation.ownership import Ownership
from realtime.conversation.pipeline import Job, Pipeline
from realtime.conversation.reply import Streamer
from realtime.conversation.standing import Standing
from realtime.conversation.transcript import Transcript
from realtime.metrics import Metrics
from realtime.sockets.connection import Connection
from realtime.sockets.frames import message_frame

__all__ = ["Intake", "Refused"]


class Refused(Exception):
    """A client frame the conversation refuses; ``code`` is the protocol's error code.

    Attributes:
        clients_fault: counts toward the refused frames that close a socket (not a turn
            the server could not store: the client is right to send it again).
    """

    def __init__(self, code: str, message: str, *, clients_fault: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.clients_fault = clients_fault


class Intake:
    """The client-frame half of :class:`ConversationRuntime` (a base with no state of
    its own: the runtime holds the parts named here)."""

    __slots__ = ()

    id: ConversationId
    standing: Standing
    transcript: Transcript
    pipeline: Pipeline
    streamer: Streamer
    ownership: Ownership | None
    _store: Store
    _metrics: Metrics
    _broker: Broker

    async def submit_turn(self, conn: Connection, frame: Send, allowed: bool) -> bool:
        """Store a student's turn and acknowledge it after commit.

        The checks go in the protocol's order: a repeat gets its original ack whatever
        the conversation's state and is never rate-limited; then a closed conversation
        refuses; then the rate limit.

        Args:
            allowed: the connection's rate limit lets one more turn through.

        Returns:
            True if a new turn was stored (False: a repeat, answered with its ack).

        Raises:
            Refused: conversation_closed, rate_limited, or unavailable (the database
                could not commit it: nothing is stored, nothing acknowledged, and the
                same ``client_msg_id`` may be sent again).
        """
        if self.standing.closing or not allowed:
            await self._refuse_turn(conn, frame)
            return False
        try:
            appended = await self._store.conversations.append_user_turn(
                self.id, frame.client_msg_id, frame.content
            )
        except ConversationClosed:
            raise Refused("conversation_closed", "the conversation is over") from None
        except (WriteFailed, WriterClosed):
            raise Refused(
                "unavailable", "the turn could not be stored; send it again", clients_fault=False
            ) from None
        message = appended.message
        ack = _ack(frame, message, duplicate=appended.duplicate)
        if appended.duplicate:
            conn.send(ack)
            return False
        self.transcript.append(message)
        self._publish(message_frame(message), message.seq, origin=conn.id, for_origin=ack)
        self._metrics.turns.inc()
        self.pipeline.enqueue(Job("answer", message))
        return True

    async def _refuse_turn(self, conn: Connection, frame: Send) -> None:
        """A repeat still gets its original ack, however the conversation stands."""
        original = await self._store.conversations.find_turn(self.id, frame.client_msg_id)
        if original is not None:
            conn.send(_ack(frame, original, duplicate=True))
            return
        if self.standing.closing:
            raise Refused("conversation_closed", "the conversation is over")
        raise Refused("rate_limited", "too many turns; wait a moment")

    async def cancel(self, message_id: str) -> None:
        """Stop the reply in flight (it ends ``cancelled``), here or in its process.

        Raises:
            Refused: unknown_message, if that reply is not in flight.
        """
        live = self.streamer.in_flight(message_id)
        if live is not None and live.stop("cancelled"):
            return
        if self.ownership is not None and await self.ownership.forward_cancel(
            MessageId(message_id)
        ):
            return
        raise Refused("unknown_message", f"no reply {message_id} is in flight")

    def request_complete(self) -> None:
        """The student ends the assessment: it is scored once pending turns are answered.

        Raises:
            Refused: conversation_closed, if it is already over.
        """
        if self.standing.closing:
            raise Refused("conversation_closed", "the conversation is over")
        self.standing.closing = True
        self.pipeline.enqueue(Job("complete"))

    def _publish(
        self,
        frame: Progress | Completed | MessageFrame | AssistantStart | AssistantDelta | AssistantEnd,
        seq: int | None = None,
        *,
        origin: str | None = None,
        for_origin: Ack | None = None,
    ) -> None:
        """Send an event of the conversation to its sockets, in every process.

        Args:
            seq: the seq of the message the event belongs to.
            origin: the connection that caused it, which gets ``for_origin`` instead.
        """
        self._broker.publish(
            Event(
                conversation_id=self.id, frame=frame, seq=seq, origin=origin, for_origin=for_origin
            )
        )


def _ack(frame: Send, turn: Message, *, duplicate: bool) -> Ack:
    """The ``ack`` of a stored turn."""
    return Ack(
        client_msg_id=frame.client_msg_id,
        message_id=MessageId(turn.id),
        seq=turn.seq,
        duplicate=duplicate,
    )
