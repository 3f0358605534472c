"""LTI Dynamic Registration 1.0: a platform registers itself, from a link the operator
made.

The operator makes a registration URL (``tutorchat lti registration-url``, or the admin
API): ``/lti/register?code=...``, the code signed by the server for a day. A platform's
administrator gives it to the LMS, which opens it with its ``openid_configuration`` URL
and a ``registration_token``. The tool then reads the platform's OpenID configuration
(its issuer on the configuration URL's host, as the specification requires), sends its
own client registration (the login, launch and key set URLs, the services it uses,
deep linking), and stores what the platform answers: its client id and deployment, so
that launches from it are accepted. The page it answers with asks the LMS to close it
(``org.imsglobal.lti.close``).

Only a valid code makes the tool fetch anything: the URLs come from the LMS's browser,
and the code is the operator's consent to follow them. They must be https (http only on
the loopback interface, for a platform on the same machine).
"""

from __future__ import annotations

import html
from datetime import timedelta
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import Response

from realtime.lti import own_tokens
from realtime.lti.claims import LaunchRefused
from realtime.lti.forms import parameters
from realtime.lti.pages import error_page, framed
from realtime.lti.registry import InvalidRegistration, Registration, register
from realtime.lti.service import Lti
from realtime.lti.services import LINEITEM_READ_SCOPE, LINEITEM_SCOPE, MEMBERSHIP_SCOPE, SCORE_SCOPE

__all__ = ["REGISTRATION_LIFETIME", "register_platform", "registration_url"]

REGISTRATION_AUDIENCE = "tutorchat-registration"
REGISTRATION_LIFETIME = timedelta(hours=24)
MAX_CONFIGURATION_BYTES = 256 * 1024
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
TOOL_NAME = "tutorchat"


def registration_url(
    secret: str, base_url: str, *, lifetime: timedelta = REGISTRATION_LIFETIME
) -> str:
    """A registration URL for one platform's administrator, valid for ``lifetime``."""
    code = own_tokens.issue(secret, REGISTRATION_AUDIENCE, lifetime, {})
    return f"{base_url.rstrip('/')}/lti/register?{urlencode({'code': code})}"


async def register_platform(request: Request) -> Response:
    """``GET /lti/register``: the platform's side of dynamic registration begins here."""
    lti: Lti = request.app.state.lti
    try:
        params = await parameters(request)
        _check_code(lti, params.get("code", ""))
        configuration_url = params.get("openid_configuration", "")
        _check_url(configuration_url, "openid_configuration")
        client = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        async with client:
            configuration = await _configuration(client, configuration_url)
            answer = await _send_registration(
                client, lti, request, configuration, params.get("registration_token")
            )
        platform_config = configuration.get(PLATFORM_CONFIGURATION) or {}
        deployment = (answer.get(TOOL_CONFIGURATION) or {}).get("deployment_id")
        platform = await register(
            lti.store,
            Registration(
                issuer=configuration["issuer"],
                client_id=str(answer["client_id"]),
                auth_login_url=configuration["authorization_endpoint"],
                auth_token_url=configuration["token_endpoint"],
                jwks_url=configuration["jwks_uri"],
                token_audience=_text(configuration.get("authorization_server")),
                deployment_ids=(deployment,) if isinstance(deployment, str) else (),
            ),
        )
    except (LaunchRefused, InvalidRegistration) as refused:
        return error_page(f"the registration failed: {refused}")
    product = _text(platform_config.get("product_family_code")) or "the platform"
    body = (
        "<h1>Registered</h1>"
        f"<p>This tool is registered with {html.escape(product)} as "
        f"<strong>{html.escape(platform.id)}</strong>. You can close this window.</p>"
    )
    # Any LMS frame may show this page: it holds nothing but the news.
    return framed("Registered", body, ancestors=["*"], scripts=["/lti/static/close.js"])


def _check_code(lti: Lti, code: str) -> None:
    own_tokens.read(
        lti.settings.signing_secret,
        REGISTRATION_AUDIENCE,
        code,
        expired="this registration link has expired: ask the operator for a new one",
        foreign="this is not a registration link of this tool's operator",
    )


def _check_url(url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return
    raise LaunchRefused(f"the {name} URL must be https")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


async def _configuration(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await client.get(url, headers={"accept": "application/json"})
    except httpx.HTTPError as error:
        raise LaunchRefused(f"the platform's configuration could not be read: {error}") from None
    if response.status_code != 200 or len(response.content) > MAX_CONFIGURATION_BYTES:
        raise LaunchRefused(f"the platform's configuration answered HTTP {response.status_code}")
    try:
        configuration = response.json()
    except ValueError:
        raise LaunchRefused("the platform's configuration is not JSON") from None
    if not isinstance(configuration, dict):
        raise LaunchRefused("the platform's configuration is not a JSON object")
    for name in (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "registration_endpoint",
    ):
        value = configuration.get(name)
        if not isinstance(value, str):
            raise LaunchRefused(f"the platform's configuration has no {name}")
        _check_url(value, name)
    if urlsplit(configuration["issuer"]).hostname != urlsplit(url).hostname:
        raise LaunchRefused("the platform's issuer is not on its configuration's host")
    return configuration


async def _send_registration(
    client: httpx.AsyncClient,
    lti: Lti,
    request: Request,
    configuration: dict[str, Any],
    token: str | None,
) -> dict[str, Any]:
    base = lti.base_url(request)
    launch = base + "/lti/launch"
    body = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": base + "/lti/login",
        "redirect_uris": [launch],
        "client_name": TOOL_NAME,
        "jwks_uri": base + "/lti/jwks",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join((SCORE_SCOPE, LINEITEM_SCOPE, LINEITEM_READ_SCOPE, MEMBERSHIP_SCOPE)),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(base).netloc,
            "target_link_uri": launch,
            "description": "A tutor that quizzes students and sends their scores to the gradebook.",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {"type": "LtiResourceLinkRequest", "target_link_uri": launch},
                {"type": "LtiDeepLinkingRequest", "target_link_uri": launch, "label": TOOL_NAME},
            ],
        },
    }
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    try:
        response = await client.post(
            configuration["registration_endpoint"], json=body, headers=headers
        )
    except httpx.HTTPError as error:
        raise LaunchRefused(f"the platform could not be reached: {error}") from None
    if response.status_code not in (200, 201):
        raise LaunchRefused(f"the platform refused the registration (HTTP {response.status_code})")
    try:
        answer = response.json()
    except ValueError:
        raise LaunchRefused("the platform's answer is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("client_id"), str | int):
        raise LaunchRefused("the platform's answer has no client_id")
    return answer


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
