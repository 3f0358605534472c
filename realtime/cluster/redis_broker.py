"""The broker of many processes: Redis Pub/Sub, one channel per conversation.

A process subscribes to a conversation's channel only while it has sockets on it, and to
a channel of its own, on which other processes send it work (a turn stored elsewhere for
a conversation whose lease it holds) and ``cancel``. Events go to this process's
subscribers at once and to Redis in order, in pipelined batches from one task; each
carries its seq, and the rooms resynchronise from the database when they see a gap.

The text of a reply in flight is kept under a key beside its events (set before each
delta is published, in the same pipeline), so a process where a client joins mid-reply
replays all of it, not just what was last saved to the database.

When the connection to Redis drops, the listener reconnects with backoff, subscribes
again to every channel it needs, and calls ``on_reconnect``: events published meanwhile
are lost to this process, so its rooms resynchronise every socket from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson
import redis.asyncio as redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from protocol.codec import encode, parse_server_frame
from protocol.errors import InvalidMessage
from realtime.cluster.broker import Deliver, Event, InProcessBroker
from realtime.on_demand import OnDemand

__all__ = ["RedisBroker"]

logger = logging.getLogger(__name__)

CHANNEL = "tutorchat:conversation:{}"
PROCESS_CHANNEL = "tutorchat:process:{}"
REPLY_TEXT = "tutorchat:reply:{}"
# A reply's text outlives its reply only if its end was lost; it then expires.
REPLY_TEXT_MS = 3_600_000
# How long a join waits for Redis to confirm its subscription before it goes on (the
# reconnect loop's resync covers a subscription that was not live).
SUBSCRIBE_TIMEOUT = 2.0
RECONNECT_BACKOFF = (0.05, 2.0)

Control = Mapping[str, Any]


class RedisBroker:
    """Events between processes through Redis.

    Args:
        client: the Redis client, made with ``decode_responses=True`` (commands, and a
            connection of its own for Pub/Sub).
        process_id: this process, unique among those sharing the Redis.
    """

    def __init__(self, client: redis.Redis, process_id: str) -> None:
        self.process_id = process_id
        self.on_control: Callable[[Control], None] = lambda _: None
        self.on_reconnect: Callable[[], None] = lambda: None
        self._client = client
        self._local = InProcessBroker()
        self._own = PROCESS_CHANNEL.format(process_id)
        self._outgoing: list[tuple[str, str, str]] = []  # (operation, key, value)
        self._sender = OnDemand(self._send, linger=5.0, name="redis-sender")
        self._pubsub: PubSub | None = None
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._channel_lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        """Connect and listen; returns once subscribed to this process's channel."""
        self._listener = asyncio.create_task(self._listen(), name="redis-listener")
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT * 5):
            await self._connected.wait()

    async def close(self) -> None:
        """Send what is queued, stop listening, close the client."""
        self._sender.cancel()
        await self._send(False)
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self._client.aclose()

    # The Broker interface

    def publish(self, event: Event) -> None:
        self._local.publish(event)
        payload = {"p": self.process_id, "s": event.seq, "f": encode(event.frame)}
        channel = CHANNEL.format(event.conversation_id)
        self._queue("publish", channel, orjson.dumps(payload).decode())

    @contextlib.asynccontextmanager
    async def subscribe(self, conversation_id: str, deliver: Deliver) -> AsyncIterator[None]:
        channel = CHANNEL.format(conversation_id)
        first = self._local.subscriber_count(conversation_id) == 0
        async with self._local.subscribe(conversation_id, deliver):
            if first:
                await self._join(channel)
            elif (pending := self._confirmations.get(channel)) is not None:
                await _confirmed(pending)  # the first join's subscription is not live yet
            try:
                yield
            finally:
                if self._local.subscriber_count(conversation_id) == 1:
                    await self._leave(channel, conversation_id)

    # Beside the events

    def send_control(self, process_id: str, message: Control) -> None:
        """Send ``message`` to another process (in order with this process's events)."""
        self._queue("publish", PROCESS_CHANNEL.format(process_id), orjson.dumps(message).decode())

    def keep_reply_text(self, message_id: str, text: str) -> None:
        """The reply's text so far, for processes where a client joins mid-reply."""
        self._queue("set", REPLY_TEXT.format(message_id), text)

    def drop_reply_text(self, message_id: str) -> None:
        """The reply ended (its end is published before this)."""
        self._queue("delete", REPLY_TEXT.format(message_id), "")

    async def reply_text(self, message_id: str) -> str | None:
        """The text of a reply in flight in some process, if Redis has it."""
        try:
            text = await self._client.get(REPLY_TEXT.format(message_id))
        except RedisError:
            return None
        return None if text is None else str(text)

    # Sending

    def _queue(self, operation: str, key: str, value: str) -> None:
        self._outgoing.append((operation, key, value))
        self._sender.kick()

    async def _send(self, _final: bool) -> bool:
        if not self._outgoing:
            return False
        batch, self._outgoing = self._outgoing, []
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for operation, key, value in batch:
                    if operation == "publish":
                        pipe.publish(key, value)
                    elif operation == "set":
                        pipe.set(key, value, px=REPLY_TEXT_MS)
                    else:
                        pipe.delete(key)
                await pipe.execute()
        except RedisError as error:
            # Lost to the other processes: their rooms resynchronise from the database
            # when their own connection comes back, or at the next gap they see.
            logger.warning("redis: %d events not sent: %s", len(batch), error)
        return True

    # Listening

    async def _join(self, channel: str) -> None:
        async with self._channel_lock:
            pubsub = self._pubsub
            if pubsub is None:
                return  # not connected: the reconnect subscribes to it and resyncs
            confirmed = asyncio.get_running_loop().create_future()
            self._confirmations[channel] = confirmed
            try:
                await pubsub.subscribe(channel)
            except RedisError:
                self._confirmations.pop(channel, None)
                return
        await _confirmed(confirmed)

    async def _leave(self, channel: str, conversation_id: str) -> None:
        async with self._channel_lock:
            pubsub = self._pubsub
            # Another socket may have joined while this one waited for the lock.
            if pubsub is None or self._local.subscriber_count(conversation_id) > 1:
                return
            with contextlib.suppress(RedisError):
                await pubsub.unsubscribe(channel)

    async def _listen(self) -> None:
        backoff = RECONNECT_BACKOFF[0]
        connected_before = False
        while True:
            pubsub = self._client.pubsub()
            try:
                async with self._channel_lock:
                    channels = [self._own, *map(CHANNEL.format, self._local.conversations())]
                    await pubsub.subscribe(*channels)
                    self._pubsub = pubsub
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message["type"] == "subscribe" and message["channel"] == self._own:
                        self._connected.set()
                        backoff = RECONNECT_BACKOFF[0]
                        if connected_before:
                            logger.warning("redis: reconnected; resynchronising the rooms")
                            self.on_reconnect()
                        connected_before = True
                    self._received(message)
            except (RedisError, OSError) as error:
                logger.warning("redis: connection lost (%s); retrying in %.2fs", error, backoff)
            finally:
                self._pubsub = None
                self._connected.clear()
                for waiting in self._confirmations.values():
                    if not waiting.done():
                        waiting.set_result(None)
                self._confirmations.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_BACKOFF[1])

    def _received(self, message: Mapping[str, Any]) -> None:
        kind = message["type"]
        channel = message["channel"]
        if kind == "subscribe":
            confirmed = self._confirmations.pop(channel, None)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            return
        if kind != "message":
            return
        try:
            data = orjson.loads(message["data"])
            if channel == self._own:
                self.on_control(data)
                return
            if data["p"] == self.process_id:
                return  # delivered here when it was published
            frame = parse_server_frame(data["f"])
            seq = data["s"]
            if seq is not None and not isinstance(seq, int):
                raise TypeError(f"seq {seq!r}")
        except (orjson.JSONDecodeError, InvalidMessage, LookupError, TypeError) as error:
            # Not from a tutorchat process of this version: dropped, the room unharmed.
            logger.warning("redis: ignored a malformed message on %s: %s", channel, error)
            return
        conversation_id = channel.removeprefix(CHANNEL.format(""))
        self._local.publish(Event(conversation_id=conversation_id, frame=frame, seq=seq))


async def _confirmed(confirmation: asyncio.Future[None]) -> None:
    """The subscription is live once Redis confirms it; only then may a room read its
    replay, or events between the read and the subscription would be lost."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
            await asyncio.shield(confirmation)
