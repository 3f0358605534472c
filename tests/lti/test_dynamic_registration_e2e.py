"""LTI Dynamic Registration: a platform registers itself from the operator's link, and
launches from it are accepted at once; without a valid link nothing is fetched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from tests.limits import TIMEOUT
from tests.lti.conftest import ADMIN_KEY
from tests.lti.flow import launch
from tests.lti.platform import INSTRUCTOR, LaunchSpec, PeerPlatform
from tests.realtime.harness import Running
from tests.servers import serve


@pytest.fixture
async def unregistered(tool: Running) -> AsyncIterator[PeerPlatform]:
    """A platform the tool does not know yet."""
    peer = PeerPlatform(tool.base_url)
    peer.client_id = "dynamic-client"
    peer.deployment_id = "dynamic-deployment"
    async with serve(peer.app()) as url:
        peer.url = url
        yield peer


async def registration_link(tool: Running) -> str:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        made = await client.post(
            tool.base_url + "/api/admin/lti/registrations",
            headers={"authorization": f"Bearer {ADMIN_KEY}"},
        )
    assert made.status_code == 201, made.text
    link: str = made.json()["url"]
    return link


async def open_link(link: str, platform: PeerPlatform, **changed: str) -> httpx.Response:
    """What the LMS does with the link: open it with its configuration and token."""
    query = {
        "openid_configuration": platform.url + "/.well-known/openid-configuration",
        "registration_token": platform.registration_token,
        **changed,
    }
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        return await client.get(link + "&" + urlencode(query))


async def test_a_platform_registers_itself_and_launches(
    tool: Running, unregistered: PeerPlatform
) -> None:
    link = await registration_link(tool)
    page = await open_link(link, unregistered)
    assert page.status_code == 200, page.text
    assert "Registered" in page.text and "/lti/static/close.js" in page.text
    (sent,) = unregistered.registrations
    assert sent["initiate_login_uri"] == tool.base_url + "/lti/login"
    assert sent["redirect_uris"] == [tool.base_url + "/lti/launch"]
    assert sent["jwks_uri"] == tool.base_url + "/lti/jwks"
    assert sent["token_endpoint_auth_method"] == "private_key_jwt"
    configuration = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert {m["type"] for m in configuration["messages"]} == {
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    }
    teacher = await launch(
        tool.base_url, unregistered, LaunchSpec(user_id="teacher-1", roles=[INSTRUCTOR])
    )
    assert teacher.status_code == 200, teacher.text
    assert "/lti/static/configure.js" in teacher.text


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"registration_token": "wrong"}, "refused the registration (HTTP 401)"),
        ({"openid_configuration": "http://lms.example/.well-known/x"}, "must be https"),
        ({"openid_configuration": "file:///etc/passwd"}, "must be https"),
    ],
)
async def test_a_registration_that_cannot_complete_says_why(
    tool: Running, unregistered: PeerPlatform, changed: dict[str, str], reason: str
) -> None:
    page = await open_link(await registration_link(tool), unregistered, **changed)
    assert page.status_code == 400
    assert reason in page.text


async def test_without_the_operators_link_nothing_is_fetched(
    tool: Running, unregistered: PeerPlatform
) -> None:
    forged = tool.base_url + "/lti/register?code=forged"
    page = await open_link(forged, unregistered)
    assert page.status_code == 400
    assert "not a registration link" in page.text
    assert unregistered.registrations == []
