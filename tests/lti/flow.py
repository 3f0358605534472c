"""A launch driven over real HTTP, as a browser would go: the platform's link, the tool's
login, the platform's authorization, the form posted to the tool's launch.

httpx keeps no ``Secure`` cookie over plain http (a browser does on 127.0.0.1), so the
state cookie the tool sets is carried by hand, exactly as it was set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.limits import TIMEOUT
from tests.lti.platform import LaunchSpec, PeerPlatform

__all__ = ["Login", "begin_login", "launch", "post_launch"]

_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_ACTION = re.compile(r'<form id="launch" method="post" action="([^"]*)">')


@dataclass
class Login:
    """A login the tool began: its redirect to the platform, and the state cookie."""

    authorize_url: str
    state: str
    nonce: str
    cookie: str  # "name=value"


async def begin_login(client: httpx.AsyncClient, platform: PeerPlatform, spec: LaunchSpec) -> Login:
    """Follow the platform's link to the tool's login; the tool's answer redirects to the
    platform's authorization endpoint."""
    start = await client.get(platform.start_url(spec))
    assert start.status_code == 302, start.text
    login = await client.get(start.headers["location"])
    assert login.status_code == 302, login.text
    location = login.headers["location"]
    query = parse_qs(urlsplit(location).query)
    set_cookie = login.headers["set-cookie"]
    return Login(location, query["state"][0], query["nonce"][0], set_cookie.split(";")[0])


async def post_launch(
    client: httpx.AsyncClient, tool_url: str, fields: dict[str, str], cookie: str | None
) -> httpx.Response:
    """Post a launch form to the tool, with the state cookie (or none)."""
    headers = {"cookie": cookie} if cookie else {}
    return await client.post(tool_url + "/lti/launch", data=fields, headers=headers)


async def launch(tool_url: str, platform: PeerPlatform, spec: LaunchSpec) -> httpx.Response:
    """A whole launch; the tool's answer to the posted form."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        login = await begin_login(client, platform, spec)
        form = await client.get(login.authorize_url)
        assert form.status_code == 200, form.text
        action = unescape(_ACTION.search(form.text).group(1))  # type: ignore[union-attr]
        fields = {name: unescape(value) for name, value in _FIELD.findall(form.text)}
        assert action == tool_url + "/lti/launch"
        return await post_launch(client, tool_url, fields, login.cookie)
