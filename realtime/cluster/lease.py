"""Leases in Redis: which process runs a conversation's replies.

A process takes a conversation's lease before it answers a turn, holds it while its
worker runs, and renews every lease it holds a few times per lease period. A lease is a
key (the holder's process id, with an expiry) plus an entry in one sorted set of every
lease by its expiry: a key that expires vanishes, and the set is how another process
finds a lease whose holder died, claims it, and cleans up after it.

Each operation is one Lua script, atomic in Redis, with Redis's clock for the expiry so
that processes on different machines agree.
"""

from __future__ import annotations

import time

import redis.asyncio as redis

__all__ = ["Leases"]

KEY = "tutorchat:lease:{}"
# How much of a lease's period a confirmation is trusted for without Redis (the rest is
# margin for clocks and for the time the confirmation took to arrive).
SURE_FRACTION = 0.8
EXPIRIES = "tutorchat:leases"

# Redis's clock in milliseconds, as ``now_ms``.
_NOW_MS = """
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
"""

# KEYS: lease key, expiries; ARGV: holder, ttl ms, conversation id. 1: held now.
_TAKE = (
    _NOW_MS
    + """
local expires = now_ms + tonumber(ARGV[2])
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], expires, ARGV[3])
return 1
"""
)

# KEYS: lease key, expiries; ARGV: holder, ttl ms, conversation id. 1: extended, 0: held
# by another, -1: gone. Unlike a take it does not set a missing key: the lease may have
# been released since the renewal looked at what is held.
_RENEW = (
    _NOW_MS
    + """
local holder = redis.call('GET', KEYS[1])
if not holder then return -1 end
if holder ~= ARGV[1] then return 0 end
local expires = now_ms + tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], expires, ARGV[3])
return 1
"""
)

# KEYS: lease key, expiries; ARGV: holder, conversation id.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 0
"""

# KEYS: expiries; ARGV: how many. The conversations whose lease expired.
_EXPIRED = (
    _NOW_MS
    + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[1]))
"""
)


class Leases:
    """This process's leases.

    Args:
        client: the Redis client, made with ``decode_responses=True``.
        holder: this process's id, stored as the holder.
        seconds: how long a lease lasts without renewal.
    """

    def __init__(self, client: redis.Redis, holder: str, seconds: float) -> None:
        self.holder = holder
        self.seconds = seconds
        self._ttl_ms = max(1, int(seconds * 1000))
        self._take = client.register_script(_TAKE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._expired = client.register_script(_EXPIRED)
        self._client = client
        self._held: set[str] = set()
        self._confirmed: dict[str, float] = {}  # when Redis last said so (monotonic)

    @property
    def held(self) -> frozenset[str]:
        """The conversations whose lease this process holds."""
        return frozenset(self._held)

    async def take(self, conversation_id: str) -> bool:
        """Take (or keep) the lease; False if another process holds it."""
        taken = await self._take(
            keys=[KEY.format(conversation_id), EXPIRIES],
            args=[self.holder, self._ttl_ms, conversation_id],
        )
        if taken:
            self._held.add(conversation_id)
            self._confirmed[conversation_id] = time.monotonic()
        return bool(taken)

    def surely_held(self, conversation_id: str) -> bool:
        """Held, and confirmed recently enough that no other process can have taken it
        since (by this process's clock, with a margin): what may go on while Redis does
        not answer."""
        confirmed = self._confirmed.get(conversation_id)
        return (
            conversation_id in self._held
            and confirmed is not None
            and time.monotonic() - confirmed < self.seconds * SURE_FRACTION
        )

    async def release(self, conversation_id: str) -> None:
        """Let the lease go (a no-op if another process holds it now)."""
        self._held.discard(conversation_id)
        self._confirmed.pop(conversation_id, None)
        await self._release(
            keys=[KEY.format(conversation_id), EXPIRIES], args=[self.holder, conversation_id]
        )

    async def holder_of(self, conversation_id: str) -> str | None:
        """The process holding the lease, if any."""
        holder = await self._client.get(KEY.format(conversation_id))
        return None if holder is None else str(holder)

    async def renew(self) -> list[str]:
        """Extend every lease held; returns those lost (expired and taken by another).

        A lease that expired with no one taking it is taken again if this process still
        holds it: after a restart of Redis (which keeps nothing) every lease is gone, and
        their holders are alive.
        """
        held = sorted(self._held)
        if not held:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for conversation_id in held:
                await self._renew(
                    keys=[KEY.format(conversation_id), EXPIRIES],
                    args=[self.holder, self._ttl_ms, conversation_id],
                    client=pipe,
                )
            outcomes = await pipe.execute()
        now = time.monotonic()
        lost = []
        for conversation_id, outcome in zip(held, outcomes, strict=True):
            if conversation_id not in self._held:
                continue  # released while the renewal ran
            if outcome == 1:
                self._confirmed[conversation_id] = now
            elif outcome == 0 or not await self.take(conversation_id):
                lost.append(conversation_id)
                self._held.discard(conversation_id)
                self._confirmed.pop(conversation_id, None)
        return lost

    async def expired(self, limit: int = 100) -> list[str]:
        """Conversations whose lease expired without a release: their holder died."""
        found: list[str] = await self._expired(keys=[EXPIRIES], args=[limit])
        return found
