"""Launches without cookies, over HTTP: the login's page for the platform's storage, and
the confirmation that only this server's own page, with the launch's state, can make."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
import orjson
import pytest

from tests.limits import TIMEOUT
from tests.lti.flow import post_launch
from tests.lti.platform import LaunchSpec, PeerPlatform
from tests.lti.test_grades_e2e import set_up
from tests.realtime.harness import Running

_DATA = re.compile(r'<script type="application/json" id="tutorchat-launch">(.*?)</script>')
SPEC = LaunchSpec(storage_target="lti_storage")


def page_data(page: str) -> dict[str, Any]:
    found = _DATA.search(page)
    assert found, page
    data: dict[str, Any] = orjson.loads(found.group(1))
    return data


async def check_page(tool: Running, platform: PeerPlatform) -> dict[str, Any]:
    """A launch whose browser kept no cookie: the page that checks the storage."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        start = await client.get(platform.start_url(SPEC))
        login = await client.get(start.headers["location"])
        assert login.status_code == 200, login.text
        put = page_data(login.text)
        assert put["mode"] == "put" and put["target"] == "lti_storage"
        assert put["origin"] == platform.url  # the authorization endpoint's origin only
        assert put["key"] == "tutorchat_state_" + put["value"]
        assert put["next"].startswith(platform.url + "/auth?")
        form = await client.get(put["next"])
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.text))
        launch = await post_launch(
            client, tool.base_url, {k: unescape(v) for k, v in fields.items()}, None
        )
    assert launch.status_code == 200, launch.text
    data = page_data(launch.text)
    assert data["mode"] == "get" and data["expected"] == put["value"]
    return data


async def confirm(tool: Running, fields: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        return await client.post(
            tool.base_url + "/lti/launch/confirm", data=fields, headers=headers
        )


async def test_the_confirmation_from_the_tools_page_opens_the_launch(
    tool: Running, platform: PeerPlatform
) -> None:
    await set_up(tool, platform)
    data = await check_page(tool, platform)
    fields = {"code": data["code"], "state": data["expected"]}
    opened = await confirm(tool, fields, {"sec-fetch-site": "same-origin"})
    assert opened.status_code == 200, opened.text
    assert page_data(opened.text)["conversationId"]


@pytest.mark.parametrize(
    ("change", "headers", "reason"),
    [
        ({}, {"sec-fetch-site": "cross-site"}, "did not come from this tool"),
        ({}, {"origin": "https://evil.example"}, "did not come from this tool"),
        ({"state": "another-state"}, {"sec-fetch-site": "same-origin"}, "does not hold"),
        ({"code": "forged"}, {"sec-fetch-site": "same-origin"}, "is not this tool"),
    ],
)
async def test_a_confirmation_from_elsewhere_or_of_another_state_is_refused(
    tool: Running,
    platform: PeerPlatform,
    change: dict[str, str],
    headers: dict[str, str],
    reason: str,
) -> None:
    data = await check_page(tool, platform)
    fields = {"code": data["code"], "state": data["expected"], **change}
    refused = await confirm(tool, fields, headers)
    assert refused.status_code == 400
    assert reason in refused.text
