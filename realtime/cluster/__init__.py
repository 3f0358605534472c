"""What a process shares with the others of a deployment: Redis events and leases.

One process on its own needs none of it (``REDIS_URL`` unset). With Redis, every process
of the deployment opens one :class:`Cluster`: the broker carries conversations' events
and the processes' messages to each other, and the leases say which process runs each
conversation's replies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import socket
from collections.abc import AsyncIterator

import redis.asyncio as redis

from realtime.cluster.lease import Leases
from realtime.cluster.redis_broker import RedisBroker

__all__ = ["Cluster", "open_cluster"]

# Connections to Redis per process: the Pub/Sub listener holds one, and each command in
# flight (a lease taken, a batch of events, a reply's text read) one more while it
# waits for its answer. Past this many, a command waits for a free one (up to
# POOL_WAIT_SECONDS) instead of failing, as redis-py's default pool does at 100: a burst
# of joins and turns on a busy loop reached that.
POOL_CONNECTIONS = 64
POOL_WAIT_SECONDS = 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class Cluster:
    """This process's part in a deployment of several."""

    process_id: str
    broker: RedisBroker
    leases: Leases


@contextlib.asynccontextmanager
async def open_cluster(redis_url: str, lease_seconds: float) -> AsyncIterator[Cluster]:
    """Connect to Redis and listen; the block's end closes the connection."""
    # Unique however processes are started: a restarted process is a new holder.
    process_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    pool = redis.BlockingConnectionPool.from_url(
        redis_url,
        decode_responses=True,
        socket_keepalive=True,
        max_connections=POOL_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
    )
    client = redis.Redis(connection_pool=pool)
    broker = RedisBroker(client, process_id)
    await broker.start()
    try:
        yield Cluster(process_id, broker, Leases(client, process_id, lease_seconds))
    finally:
        await broker.close()
        await pool.aclose()
