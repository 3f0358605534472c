"""``/lti/login``: a login starts only for a registered platform and leads only to this
tool; it keeps a state and nonce and sends the browser to the platform with them."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from realtime.settings import Settings
from tests.limits import TIMEOUT
from tests.lti.conftest import ADMIN_KEY
from tests.lti.platform import PeerPlatform
from tests.realtime.harness import Running, running


def login_query(platform: PeerPlatform, tool: Running, **changed: str) -> dict[str, str]:
    query = {
        "iss": platform.url,
        "login_hint": "student-1",
        "target_link_uri": tool.base_url + "/lti/launch",
        "lti_message_hint": "hint-1",
        "client_id": platform.client_id,
    }
    query.update(changed)
    return {name: value for name, value in query.items() if value != ""}


async def test_the_login_redirects_to_the_platform_with_state_and_nonce(
    tool: Running, platform: PeerPlatform
) -> None:
    async with httpx.AsyncClient(base_url=tool.base_url, timeout=TIMEOUT) as client:
        response = await client.get("/lti/login", params=login_query(platform, tool))
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == platform.url + "/auth"
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert query["scope"] == "openid" and query["response_type"] == "id_token"
    assert query["response_mode"] == "form_post" and query["prompt"] == "none"
    assert query["client_id"] == platform.client_id
    assert query["redirect_uri"] == tool.base_url + "/lti/launch"
    assert query["login_hint"] == "student-1" and query["lti_message_hint"] == "hint-1"
    assert len(query["state"]) >= 40 and len(query["nonce"]) >= 40
    cookie = response.headers["set-cookie"].lower()
    for attribute in ("secure", "httponly", "samesite=none", "path=/lti", "max-age=600"):
        assert attribute in cookie
    assert query["state"].lower() in cookie


async def test_the_login_takes_a_post_form_too(tool: Running, platform: PeerPlatform) -> None:
    async with httpx.AsyncClient(base_url=tool.base_url, timeout=TIMEOUT) as client:
        response = await client.post("/lti/login", data=login_query(platform, tool))
    assert response.status_code == 302
    assert response.headers["location"].startswith(platform.url + "/auth?")


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"iss": ""}, "no iss"),
        ({"login_hint": ""}, "no login_hint"),
        ({"target_link_uri": ""}, "no target_link_uri"),
        ({"iss": "https://unknown.example"}, "not registered"),
        ({"client_id": "someone-else"}, "not registered"),
        ({"target_link_uri": "https://evil.example/steal"}, "not an address of this tool"),
        ({"login_hint": "a\x00b"}, "NUL"),
        ({"lti_message_hint": "x" * 70_000}, "too long"),
    ],
)
async def test_a_wrong_login_is_refused_with_a_page(
    tool: Running, platform: PeerPlatform, changed: dict[str, str], reason: str
) -> None:
    async with httpx.AsyncClient(base_url=tool.base_url, timeout=TIMEOUT) as client:
        response = await client.post("/lti/login", data=login_query(platform, tool, **changed))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert reason in response.text
    assert "set-cookie" not in response.headers


async def test_a_login_body_that_is_not_a_form_is_refused(
    tool: Running, platform: PeerPlatform
) -> None:
    async with httpx.AsyncClient(base_url=tool.base_url, timeout=TIMEOUT) as client:
        response = await client.post("/lti/login", json=login_query(platform, tool))
    assert response.status_code == 400
    assert "must be a form" in response.text


async def test_an_issuer_registered_twice_needs_its_client_id(
    tool: Running, platform: PeerPlatform
) -> None:
    second = {**platform.registration_body, "client_id": "another-client"}
    async with httpx.AsyncClient(base_url=tool.base_url, timeout=TIMEOUT) as client:
        added = await client.post(
            "/api/admin/lti/platforms",
            json=second,
            headers={"authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert added.status_code == 201, added.text
        assert added.json()["platform_id"] != "127.0.0.1"  # a name of its own
        response = await client.get(
            "/lti/login?" + urlencode(login_query(platform, tool, client_id=""))
        )
        chosen = await client.get("/lti/login", params=login_query(platform, tool))
    assert response.status_code == 400
    assert "must send its client_id" in response.text
    assert chosen.status_code == 302


async def test_logins_in_flight_are_bounded(lti_settings: Settings) -> None:
    bounded = dataclasses.replace(lti_settings, lti_max_pending_logins=2)
    async with running(bounded) as tool:
        platform = PeerPlatform(tool.base_url)
        platform.url = "https://lms.example"
        async with httpx.AsyncClient(base_url=tool.base_url, timeout=TIMEOUT) as client:
            await client.post(
                "/api/admin/lti/platforms",
                json=platform.registration_body,
                headers={"authorization": f"Bearer {ADMIN_KEY}"},
            )
            answers = [
                (await client.get("/lti/login", params=login_query(platform, tool))).status_code
                for _ in range(3)
            ]
    assert answers == [302, 302, 503]
