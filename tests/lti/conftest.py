"""A tool server and a real LTI platform (tests/lti/platform.py) beside it, registered
through the operator's admin API, on each database engine."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from persistence.records import GradeEntry
from realtime.lti.service import Lti
from realtime.settings import Settings
from tests.limits import TIMEOUT
from tests.lti.platform import PeerPlatform
from tests.realtime.conftest import run, settings
from tests.realtime.harness import Running, running
from tests.realtime.inbox import Inbox
from tests.servers import serve

__all__ = ["ADMIN_KEY", "lti_settings", "platform", "run", "settings", "settled", "tool"]

ADMIN_KEY = "operator-key-" + "k" * 40


def settled(tool: Running) -> Inbox[tuple[GradeEntry, str]]:
    """What the tool's grade sender does with each score from now on."""
    inbox: Inbox[tuple[GradeEntry, str]] = Inbox()
    app = tool.server.config.app
    assert isinstance(app, Starlette)
    lti: Lti = app.state.lti
    lti.sender.watch(lambda entry, outcome: inbox.deliver((entry, outcome)))
    return inbox


@pytest.fixture
def lti_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_key=ADMIN_KEY)


@pytest.fixture
async def tool(lti_settings: Settings) -> AsyncIterator[Running]:
    """The tool (this server), with the admin API on."""
    async with running(lti_settings) as server:
        yield server


@pytest.fixture
async def platform(tool: Running) -> AsyncIterator[PeerPlatform]:
    """The platform, running and registered with the tool."""
    peer = PeerPlatform(tool.base_url)
    async with serve(peer.app()) as url:
        peer.url = url
        async with httpx.AsyncClient(base_url=tool.base_url, timeout=TIMEOUT) as client:
            response = await client.post(
                "/api/admin/lti/platforms",
                json=peer.registration_body,
                headers={"authorization": f"Bearer {ADMIN_KEY}"},
            )
        assert response.status_code == 201, response.text
        yield peer
