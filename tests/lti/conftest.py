"""A tool server and a real LTI platform (tests/lti/platform.py) beside it, registered
through the operator's admin API, on each database engine."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette

from persistence.records import GradeEntry
from realtime.lti.service import Lti
from realtime.settings import Settings
from tests.lti.platform import PeerPlatform, registered
from tests.realtime.conftest import run, settings
from tests.realtime.harness import Running, running
from tests.realtime.inbox import Inbox

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
    async with registered(tool.base_url, ADMIN_KEY) as peer:
        yield peer
