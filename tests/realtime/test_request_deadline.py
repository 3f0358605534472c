"""HTTP requests must arrive whole in time: half-sent ones do not hold their sockets."""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import urlsplit

from realtime.settings import Settings
from tests.limits import TIMEOUT
from tests.realtime.harness import (
    Client,
    api,
    create_assessment,
    of_type,
    open_conversation,
    running,
)
from tests.realtime.test_session_e2e import FILL_BLANK


async def _closed_by_server(url: str, sent: bytes) -> bytes:
    """Open a connection, send ``sent``, and read until the server closes it."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(sent)
    await writer.drain()
    async with asyncio.timeout(TIMEOUT):
        received = await reader.read()  # b"" once the server has closed it
    writer.close()
    return received


async def test_half_sent_requests_are_closed_at_the_deadline(settings: Settings) -> None:
    """Headers never finished, or a body trickling, are closed without an answer; a
    whole request on another connection is answered meanwhile, and a socket upgraded
    before them is not held to the deadline."""
    async with running(dataclasses.replace(settings, request_timeout=0.3)) as run:
        assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
        conversation = await open_conversation(run, assessment)
        client = await Client.connect(run, conversation, run.token("student-1"))
        await client.until(of_type("welcome"))
        teacher = run.token("teacher", "course-1", "Instructor").encode()
        headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        body = (
            b"PUT /api/assessments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + teacher
            + b"\r\nContent-Length: 100\r\n\r\n{"
        )
        stalled = [asyncio.create_task(_closed_by_server(run.base_url, s)) for s in (headers, body)]
        assert (await api(run, "GET", "/healthz", None)).status_code == 200
        assert await asyncio.gather(*stalled) == [b"", b""]
        # Opened before those were closed at their deadline, so older than it: as a
        # WebSocket it is not held to it.
        await client.send({"type": "ping", "nonce": "still"})
        await client.until(of_type("pong", nonce="still"))
