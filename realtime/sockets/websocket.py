"""The WebSocket endpoint, ``/ws/conversations/{conversation_id}``: a thin adapter.

It checks the Origin before the upgrade (403 denial), then the ``hello`` (token, the
conversation, who may see it), replays, and reads client frames one at a time in the
socket's own task. The connection's outbox is sent by a writer task that exists only
while frames are queued, and the heartbeat runs on loop timers: a held socket that
nobody is talking to costs one task. When either side closes, the other stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from persistence.errors import NotFound
from persistence.records import Conversation
from protocol.errors import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_PROTOCOL_VIOLATION,
    CLOSE_SERVER_RESTART,
    CLOSE_SLOW,
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
    ServerPing,
    ServerPong,
)
from protocol.session import Session
from realtime.auth import AuthError, Identity, verify
from realtime.conversation import ConversationRuntime, Refused
from realtime.hub import Hub
from realtime.limits import RateLimit
from realtime.on_demand import OnDemand
from realtime.settings import Settings
from realtime.sockets.connection import Connection

__all__ = ["conversation_socket"]

logger = logging.getLogger(__name__)
_ids = itertools.count(1)
# A socket in a conversation that is talking keeps its writer task between frames.
WRITER_LINGER_SECONDS = 2.0


class _Ended(Exception):
    """One of the connection's tasks has finished: stop the others."""


async def conversation_socket(websocket: WebSocket) -> None:
    """Serve one client of one conversation."""
    hub: Hub = websocket.app.state.hub
    settings = hub.settings
    origin = websocket.headers.get("origin")
    if origin is not None and not _origin_allowed(origin, websocket, settings):
        await websocket.send_denial_response(PlainTextResponse("origin not allowed", 403))
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
        await _close(websocket, violation.close_code, str(violation))
        return
    except AuthError as error:
        await _close(websocket, CLOSE_UNAUTHENTICATED, str(error))
        return
    except NotFound:
        await _close(websocket, CLOSE_NOT_FOUND, "no such conversation")
        return
    except (WebSocketDisconnect, TimeoutError):
        await _close(websocket, CLOSE_UNAUTHENTICATED, "no hello in time")
        return
    access = _access(identity, runtime.conversation)
    if access is not Access.STUDENT and access is not Access.OBSERVER:
        # Another tenant's conversation is not theirs to know of: as if it did not exist.
        code = CLOSE_FORBIDDEN if access is Access.FORBIDDEN else CLOSE_NOT_FOUND
        await _close(
            websocket,
            code,
            "not your conversation" if code == CLOSE_FORBIDDEN else "no such conversation",
        )
        hub.release(runtime)
        return
    observer = access is Access.OBSERVER
    slot = hub.users.join(identity.platform_id, identity.user_id)
    if slot is None:
        await _close(websocket, CLOSE_TRY_AGAIN_LATER, "too many sockets")
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
    # A socket's authority ends with its token: at exp it closes 4401, and the client
    # comes back with a fresh one and its last_seq.
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, identity.expires_at - time.time()), conn.close, CLOSE_UNAUTHENTICATED
    )
    try:
        async with runtime.attach(conn):
            replayed = await runtime.replay(conn, hello.last_seq)
            logger.debug("joined after seq %d, %d replayed", hello.last_seq, replayed, extra=where)
            await _serve(websocket, session, conn, runtime, hub, slot.turns)
    finally:
        hub.users.leave(slot)
        expiry.cancel()
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
    heartbeat = _Heartbeat(conn, hub.settings)
    # A client that takes no close within the heartbeat timeout is gone.
    writer = _Writer(websocket, conn, close_timeout=hub.settings.heartbeat_timeout)
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
    heartbeat: _Heartbeat,
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
    heartbeat: _Heartbeat,
    now: float,
) -> None:
    match frame:
        case Send():
            if conn.observer:
                raise Refused("not_allowed", "observers cannot send")
            stored = await runtime.submit_turn(conn, frame, limiter.allows(now))
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


class _Writer:
    """Sends the connection's outbox, then the close, from a task that runs only while
    there is something to send. Once the close is sent it stops the socket's reader,
    which may be waiting for a client that never answers."""

    def __init__(self, websocket: WebSocket, conn: Connection, *, close_timeout: float) -> None:
        self._websocket = websocket
        self._close_timeout = close_timeout
        self._conn = conn
        self._reader: asyncio.Task[Any] | None = asyncio.current_task()
        self._sender = OnDemand(self._step, linger=WRITER_LINGER_SECONDS, name=f"writer-{conn.id}")
        self.kick = self._sender.kick
        self.closed = False
        self._finished: asyncio.Future[None] | None = None

    async def _step(self, _final: bool) -> bool:
        if self.closed:
            return False
        try:
            text = self._conn.next_text()
            if text is not None:
                await self._websocket.send_text(text)
                return True
            if self._conn.close_code is None:
                return False
            await _close(self._websocket, self._conn.close_code, "")
        except WebSocketDisconnect:
            pass  # the client has gone: nothing more can be sent, the close included
        self.closed = True
        if self._reader is not None:
            self._reader.cancel()
        if self._finished is not None:
            self._finished.set_result(None)
        return False

    async def finish(self) -> None:
        """The reader is done: send what is left and the close, for a bounded time."""
        self._reader = None
        if not self.closed:
            # Made only now: a future held by every socket would cost memory for nothing.
            self._finished = asyncio.get_running_loop().create_future()
            self._conn.close(1000)  # a no-op if a code is set already (the first one wins)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._close_timeout):
                    await self._finished
        self._sender.cancel()  # it is lingering, or stuck on a client that reads nothing


class _Heartbeat:
    """Pings every interval; a pong must come back within the timeout, or the connection
    closes 4408. Timers on the loop rather than a task: every held socket has one."""

    def __init__(self, conn: Connection, settings: Settings) -> None:
        self._conn = conn
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        self._waiting: str | None = None
        self._timer = self._loop.call_later(settings.heartbeat_interval, self._ping)

    def answered(self, nonce: object) -> None:
        if self._waiting is not None and nonce == self._waiting:
            self._waiting = None
            self._timer.cancel()
            self._timer = self._loop.call_later(self._settings.heartbeat_interval, self._ping)

    def stop(self) -> None:
        self._timer.cancel()

    def _ping(self) -> None:
        # Unpredictable (the protocol says so): a client that could foresee nonces could
        # answer pings without reading, and hold a socket whose outbox never drains.
        self._waiting = secrets.token_hex(8)
        self._conn.send(ServerPing(nonce=self._waiting))
        self._timer = self._loop.call_later(self._settings.heartbeat_timeout, self._expired)

    def _expired(self) -> None:
        self._conn.close(CLOSE_SLOW)


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


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code, reason)
    except RuntimeError:
        pass  # already closed by the client
