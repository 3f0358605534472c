"""The tool's side of 1EdTech's LTI 1.3 certification checks, one test each: a launch the
tool must refuse gets a page saying why and stores nothing; one it must accept opens.

Each launch begins with a real login at the tool (its state, nonce and cookie); the
id_token is then the platform's own message (lti1p3platform), altered as the check says,
and signed by the platform's key unless the check is about the signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from persistence.database import Database
from realtime.lti.signing import new_key
from tests.limits import TIMEOUT
from tests.lti.flow import begin_login, post_launch
from tests.lti.platform import INSTRUCTOR, LEARNER, LaunchSpec, PeerPlatform
from tests.realtime.harness import Running

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
Claims = dict[str, Any]


def without(*names: str) -> Callable[[Claims], None]:
    def alter(claims: Claims) -> None:
        for name in names:
            claims.pop(name, None)

    return alter


def setting(name: str, value: Any) -> Callable[[Claims], None]:
    def alter(claims: Claims) -> None:
        claims[name] = value

    return alter


def without_link_id(claims: Claims) -> None:
    claims[LTI + "resource_link"] = {"title": "no id"}


async def stored_rows(tool: Running) -> dict[str, int]:
    """What launches may leave behind: conversations, resource links, logins."""
    db = Database(tool.settings.database_url)
    try:
        counts: dict[str, int] = {}
        async with db.read() as conn:
            for table in ("conversations", "lti_resource_links", "lti_launch_states"):
                found = await conn.execute(text(f"SELECT count(*) FROM {table}"))
                counts[table] = int(found.scalar_one())
        return counts
    finally:
        await db.dispose()


async def refused_launch(
    tool: Running,
    platform: PeerPlatform,
    alter: Callable[[Claims], None] = lambda claims: None,
    *,
    kid: str | None = None,
    key: str | None = None,
    token: str | None = None,
    cookie: bool = True,
) -> str:
    """A launch altered by ``alter``; asserts it was refused and stored nothing, and
    returns the reason the page gives."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        login = await begin_login(client, platform, LaunchSpec())
        before = await stored_rows(tool)
        claims = platform.base_claims(LaunchSpec(), login.nonce)
        alter(claims)
        id_token = token if token is not None else platform.sign(claims, kid=kid, key=key)
        response = await post_launch(
            client,
            tool.base_url,
            {"id_token": id_token, "state": login.state},
            login.cookie if cookie else None,
        )
    assert response.status_code == 400, response.text
    assert "This launch could not start" in response.text
    after = await stored_rows(tool)
    assert after["conversations"] == before["conversations"]
    assert after["lti_resource_links"] == before["lti_resource_links"]
    assert after["lti_launch_states"] == before["lti_launch_states"] - 1  # used up
    reason = response.text.split('class="lti-reason" role="alert">')[1].split("</p>")[0]
    return reason


async def test_no_kid(tool: Running, platform: PeerPlatform) -> None:
    assert "no kid" in await refused_launch(tool, platform, kid="")


async def test_a_kid_the_platform_does_not_have(tool: Running, platform: PeerPlatform) -> None:
    assert "has no key" in await refused_launch(tool, platform, kid="not-a-key")


async def test_signed_by_another_key_under_the_platforms_kid(
    tool: Running, platform: PeerPlatform
) -> None:
    _, other = new_key()
    assert "signature does not verify" in await refused_launch(tool, platform, key=other)


async def test_wrong_lti_version(tool: Running, platform: PeerPlatform) -> None:
    reason = await refused_launch(tool, platform, setting(LTI + "version", "1.1"))
    assert "version" in reason


async def test_no_lti_version(tool: Running, platform: PeerPlatform) -> None:
    assert "no LTI version" in await refused_launch(tool, platform, without(LTI + "version"))


async def test_not_a_jwt(tool: Running, platform: PeerPlatform) -> None:
    assert "not a JWT" in await refused_launch(tool, platform, token="oauth_consumer_key=1.1")


async def test_a_1p1_style_form_value_with_dots(tool: Running, platform: PeerPlatform) -> None:
    assert "not a JWT" in await refused_launch(tool, platform, token="a.b.c")


async def test_no_target_link_uri(tool: Running, platform: PeerPlatform) -> None:
    reason = await refused_launch(tool, platform, without(LTI + "target_link_uri"))
    assert "target_link_uri" in reason


async def test_issued_in_the_future(tool: Running, platform: PeerPlatform) -> None:
    def future(claims: Claims) -> None:
        claims["iat"] = int(time.time()) + 3600
        claims["exp"] = int(time.time()) + 7200

    assert "future" in await refused_launch(tool, platform, future)


async def test_expired(tool: Running, platform: PeerPlatform) -> None:
    def past(claims: Claims) -> None:
        claims["iat"] = int(time.time()) - 7200
        claims["exp"] = int(time.time()) - 3600

    assert "expired" in await refused_launch(tool, platform, past)


async def test_an_iat_that_is_not_a_number(tool: Running, platform: PeerPlatform) -> None:
    def wrong(claims: Claims) -> None:
        claims["iat"] = "yesterday"
        claims["exp"] = int(time.time()) + 300

    assert "iat" in await refused_launch(tool, platform, wrong)


async def test_no_message_type(tool: Running, platform: PeerPlatform) -> None:
    reason = await refused_launch(tool, platform, without(LTI + "message_type"))
    assert "message_type" in reason


async def test_an_unknown_message_type(tool: Running, platform: PeerPlatform) -> None:
    reason = await refused_launch(tool, platform, setting(LTI + "message_type", "LtiNoSuch"))
    assert "LtiNoSuch" in reason


async def test_no_roles_claim(tool: Running, platform: PeerPlatform) -> None:
    assert "no roles" in await refused_launch(tool, platform, without(LTI + "roles"))


async def test_no_deployment_id(tool: Running, platform: PeerPlatform) -> None:
    reason = await refused_launch(tool, platform, without(LTI + "deployment_id"))
    assert "deployment_id" in reason


async def test_no_resource_link_id(tool: Running, platform: PeerPlatform) -> None:
    assert "resource_link.id" in await refused_launch(tool, platform, without_link_id)


async def test_no_sub(tool: Running, platform: PeerPlatform) -> None:
    assert "no sub" in await refused_launch(tool, platform, without("sub"))


async def test_a_replayed_nonce(tool: Running, platform: PeerPlatform) -> None:
    reason = await refused_launch(tool, platform, setting("nonce", "an-earlier-nonce"))
    assert "nonce" in reason


async def test_an_unknown_deployment(tool: Running, platform: PeerPlatform) -> None:
    reason = await refused_launch(tool, platform, setting(LTI + "deployment_id", "elsewhere"))
    assert "not registered" in reason


async def test_another_audience(tool: Running, platform: PeerPlatform) -> None:
    assert "aud" in await refused_launch(tool, platform, setting("aud", "another-tool"))


async def test_several_audiences_without_azp(tool: Running, platform: PeerPlatform) -> None:
    def several(claims: Claims) -> None:
        claims["aud"] = [platform.client_id, "another-tool"]
        claims.pop("azp", None)

    assert "azp" in await refused_launch(tool, platform, several)


async def test_another_issuer(tool: Running, platform: PeerPlatform) -> None:
    reason = await refused_launch(tool, platform, setting("iss", "https://elsewhere.example"))
    assert "issuer" in reason


async def test_a_browser_without_the_logins_cookie(tool: Running, platform: PeerPlatform) -> None:
    assert "cookie" in await refused_launch(tool, platform, cookie=False)


async def test_a_launch_posted_twice_is_refused_the_second_time(
    tool: Running, platform: PeerPlatform
) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        login = await begin_login(client, platform, LaunchSpec())
        fields = {
            "id_token": platform.sign(platform.base_claims(LaunchSpec(), login.nonce)),
            "state": login.state,
        }
        first = await post_launch(client, tool.base_url, fields, login.cookie)
        second = await post_launch(client, tool.base_url, fields, login.cookie)
    assert first.status_code == 200, first.text
    assert second.status_code == 400
    assert "expired or was already used" in second.text


def email_only(claims: Claims) -> None:
    claims.pop("name", None)


def names_only(claims: Claims) -> None:
    claims.pop("name", None)
    claims.pop("email", None)
    claims.update(given_name="Ada", family_name="Lovelace")


ACCEPTED: dict[str, tuple[Callable[[Claims], None], str]] = {
    "a teacher with several roles": (
        setting(
            LTI + "roles",
            [INSTRUCTOR, "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"],
        ),
        "instructor",
    ),
    "a student with several roles": (
        setting(
            LTI + "roles",
            [LEARNER, "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"],
        ),
        "learner",
    ),
    "a short role": (setting(LTI + "roles", ["Instructor"]), "instructor"),
    "an unknown role": (setting(LTI + "roles", ["http://example.edu/roles#Wizard"]), "learner"),
    "no role": (setting(LTI + "roles", []), "learner"),
    "email only": (email_only, "learner"),
    "names only": (names_only, "learner"),
    "no personal data": (without("name", "email"), "learner"),
    "no context": (without(LTI + "context"), "learner"),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
async def test_accepted(tool: Running, platform: PeerPlatform, case: str) -> None:
    alter, role = ACCEPTED[case]
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        login = await begin_login(client, platform, LaunchSpec())
        claims = platform.base_claims(LaunchSpec(), login.nonce)
        alter(claims)
        response = await post_launch(
            client,
            tool.base_url,
            {"id_token": platform.sign(claims), "state": login.state},
            login.cookie,
        )
    assert response.status_code == 200, response.text
    # No assessment is set up: an instructor gets its configuration, a learner is told.
    shown = "instructor" if "/lti/static/configure.js" in response.text else "learner"
    assert shown == role
    if role == "learner":
        assert "has not set up this assessment yet" in response.text
