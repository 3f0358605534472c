"""The bounds on connections: headers' size, a client that stops reading; a WebSocket's
frames of one loop iteration written at once."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from uvicorn.server import ServerState

from realtime.settings import Settings
from realtime.transport_limits import bounded_http_protocol, bounded_websocket_protocol
from tests.limits import TIMEOUT
from tests.realtime.harness import api, running


class _Transport(asyncio.Transport):
    """A transport that records what is done to it."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted = asyncio.Event()
        self.closing = False
        self.writes: list[bytes] = []
        self._wrote = asyncio.Event()

    def abort(self) -> None:
        self.aborted.set()

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name in ("sockname", "peername") else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))
        self._wrote.set()

    async def until_writes(self, count: int) -> list[bytes]:
        """The writes, once there are ``count`` of them."""
        async with asyncio.timeout(TIMEOUT):
            while len(self.writes) < count:
                self._wrote.clear()
                await self._wrote.wait()
        return self.writes


def _config(app: Any = None) -> uvicorn.Config:
    async def nothing(scope: object, receive: object, send: object) -> None:
        pass

    config = uvicorn.Config(app or nothing, ws="websockets-sansio")
    config.load()
    return config


async def test_an_http_client_that_stops_reading_is_dropped() -> None:
    """Its send buffer full for the write timeout: the connection is aborted; resumed
    in time, it is kept."""
    protocol = bounded_http_protocol(
        request_timeout=60, max_header_bytes=65536, write_timeout=0.05
    )(config=_config(), server_state=ServerState(), app_state={})
    kept, dropped = _Transport(), _Transport()
    protocol.connection_made(kept)
    protocol.pause_writing()
    protocol.resume_writing()
    other = bounded_http_protocol(request_timeout=60, max_header_bytes=65536, write_timeout=0.05)(
        config=_config(), server_state=ServerState(), app_state={}
    )
    other.connection_made(dropped)
    other.pause_writing()
    await asyncio.wait_for(dropped.aborted.wait(), TIMEOUT)
    assert not kept.aborted.is_set()


async def test_a_websocket_client_that_stops_reading_is_dropped() -> None:
    """The same for a WebSocket: its writer would wait for ever, its close owed."""
    protocol = bounded_websocket_protocol(0.05)(
        config=_config(), server_state=ServerState(), app_state={}
    )
    transport = _Transport()
    protocol.connection_made(transport)
    protocol.pause_writing()
    await asyncio.wait_for(transport.aborted.wait(), TIMEOUT)


_UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _text_frame(text: bytes) -> bytes:
    """A short text frame as a server sends it (final, unmasked)."""
    return b"\x81" + bytes([len(text)]) + text


async def test_a_websockets_frames_of_one_iteration_leave_in_one_write() -> None:
    """Three frames sent without a pause are one write, in order; the frames sent just
    before a close leave ahead of it, in the close's write."""
    sent = asyncio.Event()
    go_on = asyncio.Event()

    async def app(scope: object, receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        for text in ("one", "two", "three"):
            await send({"type": "websocket.send", "text": text})
        sent.set()
        await go_on.wait()
        await send({"type": "websocket.send", "text": "last"})
        await send({"type": "websocket.close", "code": 1000})

    protocol = bounded_websocket_protocol(60)(
        config=_config(app), server_state=ServerState(), app_state={}
    )
    transport = _Transport()
    protocol.connection_made(transport)
    protocol.data_received(_UPGRADE)
    async with asyncio.timeout(TIMEOUT):
        await sent.wait()
    handshake, frames = await transport.until_writes(2)  # the flush: the next iteration
    assert handshake.startswith(b"HTTP/1.1 101")
    assert frames == b"".join(_text_frame(text) for text in (b"one", b"two", b"three"))
    go_on.set()
    assert (await transport.until_writes(3))[2] == _text_frame(b"last") + b"\x88\x02\x03\xe8"
    protocol.connection_lost(None)


async def test_headers_past_the_limit_are_refused_with_431(settings: Settings) -> None:
    """Headers without end are not held in memory: past the limit, 431 and closed."""
    async with running(dataclasses.replace(settings, max_header_bytes=4096)) as run:
        parts = urlsplit(run.base_url)
        assert parts.hostname is not None and parts.port is not None
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            answer = await reader.read()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 431")
        # A header value without end, in chunks: refused once they pass the limit.
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        for _ in range(6):  # 6 KiB of a value never ended
            writer.write(b"a" * 1024)
            await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            answer = await reader.read()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 431")
        assert (await api(run, "GET", "/healthz", None)).status_code == 200
