"""uvicorn's protocols with the bounds a public server needs on its connections.

uvicorn times out only idle keep-alive connections. Without more, a client holds a socket
(a file descriptor, and memory) for ever by sending half a request's headers, trickling
its body, sending headers without end, or never reading what it is sent; a thousand such
use up the descriptors. So:

- a request's headers and body must arrive within ``request_timeout`` of its first byte
  (or of the connection), else the connection is closed;
- its headers may be at most ``max_header_bytes``, else 431 and the connection closed;
- a connection whose client has not read for ``write_timeout`` (its send buffer full
  all that time) is dropped, on HTTP and on a WebSocket alike.

A WebSocket upgrade leaves the request deadline at its headers: from then on the socket
has the protocol's ``hello`` timeout and its heartbeat.

A WebSocket's data frames sent in one turn of the event loop leave in one write: a turn's
``ack`` and ``assistant_start``, or a replay, cost one system call, not one per frame.
"""

from __future__ import annotations

import asyncio

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

__all__ = ["bounded_http_protocol", "bounded_websocket_protocol"]

_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
    b"connection: close\r\n\r\n"
)


class _WriteStall(asyncio.BaseProtocol):
    """Aborts the connection when its send buffer has stayed full ``_write_timeout``
    seconds: the client reads nothing."""

    _write_timeout: float
    _stall: asyncio.TimerHandle | None = None
    transport: asyncio.Transport

    def pause_writing(self) -> None:
        super().pause_writing()
        loop = asyncio.get_running_loop()
        self._stall = loop.call_later(self._write_timeout, self.transport.abort)

    def resume_writing(self) -> None:
        self._stop_stall()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_stall()
        super().connection_lost(exc)

    def _stop_stall(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None


def bounded_http_protocol(
    *, request_timeout: float, max_header_bytes: int, write_timeout: float
) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a request deadline, a header size limit and a
    write-stall timeout."""

    class BoundedHttpProtocol(_WriteStall, HttpToolsProtocol):
        _write_timeout = write_timeout
        _deadline: asyncio.TimerHandle | None = None
        _in_headers = True
        # Header bytes, counted two ways: the chunks that did not finish the headers (a
        # value without end never reaches a callback), and the url and headers parsed.
        _raw_header_bytes = 0
        _parsed_header_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            # Counted once parsed: a chunk that ends the headers may carry the body too,
            # and one that does not end them was headers all through.
            if self._in_headers and not self.transport.is_closing():
                self._raw_header_bytes += len(data)
                if self._raw_header_bytes > max_header_bytes:
                    self._refuse_headers()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_headers = True
            self._raw_header_bytes = self._parsed_header_bytes = 0
            if self._deadline is None:
                self._arm()

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            self._parsed_header_bytes += len(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            super().on_header(name, value)
            self._parsed_header_bytes += len(name) + len(value)

        def on_headers_complete(self) -> None:
            self._in_headers = False
            if self._parsed_header_bytes > max_header_bytes:
                self._refuse_headers()  # before the application hears of the request
                return
            super().on_headers_complete()
            if self.parser.should_upgrade() and self._should_upgrade():
                self._disarm()

        def _refuse_headers(self) -> None:
            self.transport.write(_TOO_LARGE)
            self.transport.close()

        def on_message_complete(self) -> None:
            if self.transport.is_closing():
                return  # refused at its headers: no cycle was started
            super().on_message_complete()
            self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(request_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedHttpProtocol


def bounded_websocket_protocol(write_timeout: float) -> type[WebSocketsSansIOProtocol]:
    """uvicorn's websockets-sansio protocol, dropping a client that stops reading (its
    writer would otherwise wait for ever, and the close it owes (4408) never go out), and
    writing the data frames of one loop iteration at once."""

    class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
        _stall: asyncio.TimerHandle | None = None
        _flush_scheduled = False

        async def send(self, message: ASGISendEvent) -> None:
            if message["type"] != "websocket.send" or not self._open():
                await super().send(message)  # its writes carry the frames still pending
                return
            await self.writable.wait()
            if self.disconnected:
                raise ClientDisconnected()
            data, text = message.get("bytes"), message.get("text")
            try:
                if data is not None:
                    self.conn.send_binary(data)
                elif text is not None:
                    self.conn.send_text(text.encode())
            except InvalidState:
                raise ClientDisconnected() from None
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self.loop.call_soon(self._flush)

        def _open(self) -> bool:
            return self.handshake_complete and not self.close_sent and self.initial_response is None

        def _flush(self) -> None:
            self._flush_scheduled = False
            data = b"".join(self.conn.data_to_send())
            if data and not self.transport.is_closing():
                self.transport.write(data)

        def pause_writing(self) -> None:
            super().pause_writing()
            self._stall = asyncio.get_running_loop().call_later(write_timeout, self.transport.abort)

        def resume_writing(self) -> None:
            if self._stall is not None:
                self._stall.cancel()
                self._stall = None
            super().resume_writing()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._stall is not None:
                self._stall.cancel()
            super().connection_lost(exc)

    return BoundedWebSocketProtocol
