"""The operator's admin API for LTI: only with the admin key; every field checked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.limits import TIMEOUT
from tests.lti.conftest import ADMIN_KEY
from tests.realtime.harness import Running

BODY = {
    "issuer": "https://canvas.instructure.com",
    "client_id": "10000000000001",
    "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
    "jwks_url": "https://sso.canvaslms.com/api/lti/security/jwks",
    "deployment_ids": ["1:abc"],
}


async def admin(
    run: Running, method: str, path: str, body: Any = None, key: str | None = ADMIN_KEY
) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=run.base_url, timeout=TIMEOUT) as client:
        return await client.request(method, path, json=body, headers=headers)


async def test_without_an_admin_key_the_api_does_not_exist(run: Running) -> None:
    response = await admin(run, "GET", "/api/admin/lti/platforms")
    assert response.status_code == 404


@pytest.mark.parametrize("key", [None, "wrong-" + "w" * 40, ADMIN_KEY + "x"])
async def test_a_missing_or_wrong_key_is_401(tool: Running, key: str | None) -> None:
    response = await admin(tool, "GET", "/api/admin/lti/platforms", key=key)
    assert response.status_code == 401


async def test_register_list_add_a_deployment_and_remove(tool: Running) -> None:
    created = await admin(tool, "POST", "/api/admin/lti/platforms", BODY)
    assert created.status_code == 201, created.text
    platform = created.json()
    assert platform["platform_id"] == "canvas.instructure.com"
    again = await admin(
        tool, "POST", "/api/admin/lti/platforms", {**BODY, "jwks_url": "https://x.example/jwks"}
    )
    assert again.json()["platform_id"] == "canvas.instructure.com"  # updated, same id
    assert again.json()["jwks_url"] == "https://x.example/jwks"
    added = await admin(
        tool,
        "POST",
        "/api/admin/lti/platforms/canvas.instructure.com/deployments",
        {"deployment_id": "2:def"},
    )
    assert added.json()["deployment_ids"] == ["1:abc", "2:def"]
    listed = await admin(tool, "GET", "/api/admin/lti/platforms")
    assert [p["platform_id"] for p in listed.json()["platforms"]] == ["canvas.instructure.com"]
    removed = await admin(tool, "DELETE", "/api/admin/lti/platforms/canvas.instructure.com")
    assert removed.status_code == 200
    assert (await admin(tool, "GET", "/api/admin/lti/platforms")).json() == {"platforms": []}
    gone = await admin(tool, "DELETE", "/api/admin/lti/platforms/canvas.instructure.com")
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"issuer": ""}, "issuer"),
        ({"client_id": 5}, "client_id"),
        ({"jwks_url": "file:///etc/passwd"}, "jwks_url"),
        ({"auth_login_url": "https://lms.example/a b"}, "auth_login_url"),
        ({"auth_token_url": "https://lms.example/\x00"}, "the body must not contain NUL"),
        ({"deployment_ids": "1"}, "deployment_ids"),
        ({"deployment_ids": ["x" * 300]}, "deployment_ids"),
        ({"platform_id": "../etc"}, "platform_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_a_wrong_field_is_422_naming_it(
    tool: Running, changed: dict[str, Any], field: str
) -> None:
    response = await admin(tool, "POST", "/api/admin/lti/platforms", {**BODY, **changed})
    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith(field)


async def test_unknown_platforms_are_404(tool: Running) -> None:
    for path in ("/api/admin/lti/platforms/none", "/api/admin/lti/platforms/%00"):
        assert (await admin(tool, "DELETE", path)).status_code == 404
    added = await admin(
        tool, "POST", "/api/admin/lti/platforms/none/deployments", {"deployment_id": "d"}
    )
    assert added.status_code == 404


async def test_rotating_the_key_publishes_both(tool: Running) -> None:
    first = (await admin(tool, "GET", "/lti/jwks")).json()["keys"]
    rotated = await admin(tool, "POST", "/api/admin/lti/keys")
    assert rotated.status_code == 201
    keys = (await admin(tool, "GET", "/lti/jwks")).json()["keys"]
    assert {key["kid"] for key in keys} == {first[0]["kid"], rotated.json()["kid"]}
