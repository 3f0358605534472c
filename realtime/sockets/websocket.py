"""The WebSocket endpoint, ``/ws/conversations/{conversation_id}``: a thin adapter.

It checks the Origin before the upgrade (403 denial), then the ``hello`` (token, the
conversation, who may see it), replays, and reads client frames one at a time in the
socket's own task. The connection's outbox is sent by a writer task that exists only
while frames are queued, and the heartbeat runs on loop timers: a held socket that
nobody is talking to costs one task. When either side closes, the other stops.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from assessment.spec import InvalidConfig
from persistence.errors import NotFound
from persistence.records import Conversation
from protocol.errors import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_PROTOCOL_VIOLATION,
    CLOSE_SERVER_ERROR,
    CLOSE_SERVER_RESTART,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
    InvalidMessage,
    ProtocolViolation,
)
from protocol.messages import (
    Cancel,
    ClientFrame,
    Complete,
    Error,
    Hello,
    Ping,
    Pong,
    Send,
    ServerPong,
)
from protocol.session import Session
from realtime.auth import AuthError, Identity, verify
from realtime.conversation import ConversationRuntime, Refused
from realtime.hub import Hub
from realtime.limits import RateLimit
from realtime.settings import Settings
from realtime.sockets.connection import Connection
from realtime.sockets.heartbeat import Heartbeat
from realtime.sockets.writer import Writer, close_socket
from realtime.web.middleware import DATA_HEADERS

__all__ = ["conversation_socket"]

logger = logging.getLogger(__name__)
_ids = itertools.count(1)


class _Ended(Exception):
    """One of the connection's tasks has finished: stop the others."""


async def conversation_socket(websocket: WebSocket) -> None:
    """Serve one client of one conversation."""
    hub: Hub = websocket.app.state.hub
    settings = hub.settings
    origin = websocket.headers.get("origin")
    if origin is not None and not _origin_allowed(origin, websocket, settings):
        denial = PlainTextResponse("origin not allowed", 403, headers=DATA_HEADERS)
        await websocket.send_denial_response(denial)
        return
    await websocket.accept()
    if hub.draining:
        await websocket.close(CLOSE_SERVER_RESTART, "server restarting")
        return
    session = Session(f"ws-{next(_ids)}", max_content=settings.max_content_chars)
    try:
        hello = await _hello(websocket, session, settings)
        identity = verify(hello.token, settings.secrets)
        conversation_id = websocket.path_params["conversation_id"]
        if "\x00" in conversation_id:
            raise NotFound("no conversation id has NUL")
        runtime = await hub.runtime(conversation_id)
    except ProtocolViolation as violation:
        await close_socket(websocket, violation.close_code, str(violation))
        return
    except AuthError as error:
        await close_socket(websocket, CLOSE_UNAUTHENTICATED, str(error))
        return
    except NotFound:
        await close_socket(websocket, CLOSE_NOT_FOUND, "no such conversation")
        return
    except InvalidConfig as broken:  # its assessment cannot run (stored before a rule)
        logger.error("assessment cannot be loaded: %s", broken)
        await close_socket(websocket, CLOSE_SERVER_ERROR, "the assessment cannot be loaded")
        return
    except (WebSocketDisconnect, TimeoutError):
        await close_socket(websocket, CLOSE_UNAUTHENTICATED, "no hello in time")
        return
    access = _access(identity, runtime.conversation)
    if access is not Access.STUDENT and access is not Access.OBSERVER:
        # Another tenant's conversation is not theirs to know of: as if it did not exist.
        code = CLOSE_FORBIDDEN if access is Access.FORBIDDEN else CLOSE_NOT_FOUND
        await close_socket(
            websocket,
            code,
            "not your conversation" if code == CLOSE_FORBIDDEN else "no such conversation",
        )
        hub.release(runtime)
        return
    observer = access is Access.OBSERVER
    slot = hub.users.join(identity.platform_id, identity.user_id)
    if slot is None:
        await close_socket(websocket, CLOSE_TRY_AGAIN_LATER, "too many sockets")
        hub.release(runtime)
        return
    session.authenticated()
    conn = Connection(
        session.connection_id,
        identity,
        observer=observer,
        outbox_bytes=settings.outbox_bytes,
        on_slow=hub.metrics.slow_consumer_closes.inc,
    )
    hub.metrics.open_sockets.inc()
    where = {"conversation": runtime.id, "connection": conn.id}
    try:
        async with runtime.attach(conn):
            replayed = await runtime.replay(conn, hello.last_seq)
            logger.debug("joined after seq %d, %d replayed", hello.last_seq, replayed, extra=where)
            await _serve(websocket, session, conn, runtime, hub, slot.turns)
    finally:
        hub.users.leave(slot)
        session.closed()
        hub.metrics.open_sockets.dec()
        logger.debug("left", extra=where | {"code": conn.close_code})


async def _hello(websocket: WebSocket, session: Session, settings: Settings) -> Hello:
    async with asyncio.timeout(settings.hello_timeout):
        message = await websocket.receive()
    text = _text(message)
    frame = session.receive(text, asyncio.get_running_loop().time())
    assert isinstance(frame, Hello)
    return frame


def _origin_allowed(origin: str, websocket: WebSocket, settings: Settings) -> bool:
    """An allowed origin, or the server's own (a page it served, such as the demo): the
    same host and the same scheme, so a plain-HTTP page cannot pass for an HTTPS one."""
    if origin in settings.allowed_origins:
        return True
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    own = f"{scheme}://{websocket.headers.get('host')}"
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == own


class Access(enum.Enum):
    """What a token may do on a conversation."""

    STUDENT = "student"  # its own: read and send
    OBSERVER = "observer"  # an instructor of its course: read only
    FORBIDDEN = "forbidden"  # another student's of the same course
    UNKNOWN = "unknown"  # another tenant's: not theirs to know of


def _access(identity: Identity, conversation: Conversation) -> Access:
    if identity.tenant != conversation.tenant:
        return Access.UNKNOWN
    if identity.user_id == conversation.user_id:
        return Access.STUDENT
    if identity.is_instructor:
        return Access.OBSERVER
    return Access.FORBIDDEN


async def _serve(
    websocket: WebSocket,
    session: Session,
    conn: Connection,
    runtime: ConversationRuntime,
    hub: Hub,
    limiter: RateLimit,
) -> None:
    heartbeat = Heartbeat(conn, hub.settings, expires_at=conn.identity.expires_at)
    # A client that takes no close within the heartbeat timeout is gone.
    writer = Writer(websocket, conn, close_timeout=hub.settings.heartbeat_timeout)
    conn.on_ready = writer.kick
    writer.kick()  # the replay is queued already
    try:
        await _read(websocket, session, conn, runtime, hub, heartbeat, limiter)
    except (_Ended, WebSocketDisconnect):
        pass
    except asyncio.CancelledError:
        # The writer closed the socket and stopped this read; any other cancel is real.
        if not writer.closed:
            raise
        task = asyncio.current_task()
        assert task is not None
        task.uncancel()
    finally:
        heartbeat.stop()
        await writer.finish()


async def _read(
    websocket: WebSocket,
    session: Session,
    conn: Connection,
    runtime: ConversationRuntime,
    hub: Hub,
    heartbeat: Heartbeat,
    limiter: RateLimit,
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            conn.close(message.get("code") or 1000)
            raise _Ended
        now = loop.time()
        try:
            frame = session.receive(_text(message), now)
            await _handle(frame, conn, runtime, hub, limiter, heartbeat, now)
        except InvalidMessage as refused:
            _refuse(conn, hub, refused.code, str(refused), refused.ref)
        except Refused as refused:
            _refuse(conn, hub, refused.code, str(refused), _ref(frame))
            try:
                if refused.clients_fault:
                    session.refused(now)
            except ProtocolViolation as violation:
                conn.close(violation.close_code)
        except ProtocolViolation as violation:
            conn.close(violation.close_code)
        if conn.close_code is not None:
            raise _Ended


async def _handle(
    frame: ClientFrame,
    conn: Connection,
    runtime: ConversationRuntime,
    hub: Hub,
    limiter: RateLimit,
    heartbeat: Heartbeat,
    now: float,
) -> None:
    match frame:
        case Send():
            if conn.observer:
                raise Refused("not_allowed", "observers cannot send")
            conn.storing = frame.client_msg_id
            try:
                stored = await runtime.submit_turn(conn, frame, limiter.allows(now))
            finally:
                conn.storing = None
            if stored:
                limiter.record(now)
            hub.metrics.ack_latency.observe(asyncio.get_running_loop().time() - now)
        case Cancel():
            if conn.observer:
                raise Refused("not_allowed", "observers cannot cancel")
            await runtime.cancel(frame.message_id)
        case Complete():
            if conn.observer:
                raise Refused("not_allowed", "observers cannot complete")
            runtime.request_complete()
        case Ping():
            conn.send(ServerPong(nonce=frame.nonce))
        case Pong():
            heartbeat.answered(frame.nonce)
        case Hello():  # pragma: no cover - the session refuses a second hello
            raise AssertionError("a second hello reached the handler")


def _refuse(conn: Connection, hub: Hub, code: str, message: str, ref: str | None) -> None:
    hub.metrics.refused_frames.labels(code).inc()
    conn.send(Error(code=code, message=message, ref=ref))


def _ref(frame: ClientFrame) -> str | None:
    return frame.client_msg_id if isinstance(frame, Send) else frame.type


def _text(message: Mapping[str, Any]) -> str:
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(int(message.get("code") or 1000))
    text = message.get("text")
    if not isinstance(text, str):
        raise ProtocolViolation(
            "binary frames are not part of the protocol", CLOSE_PROTOCOL_VIOLATION
        )
    return text
