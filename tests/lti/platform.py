"""A real LTI 1.3 platform for the tests: ``lti1p3platform`` (from PyPI) behind a small
Starlette app, served on a free port like any peer.

It does what an LMS does in a launch: starts the OIDC login at the tool
(``/launch/start``, as a course page's link would), answers the tool's authorization
request (``/auth``) with a signed id_token in an auto-submitted form, and publishes its
key set (``/jwks``). What each launch says (the user, roles, context, resource link,
services) is a :class:`LaunchSpec`, kept under the login's ``lti_message_hint``.
"""

from __future__ import annotations

import dataclasses
import html
import secrets
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as PlatformRequest
from lti1p3platform.request import TRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from realtime.lti.signing import new_key

__all__ = ["INSTRUCTOR", "LEARNER", "LaunchSpec", "PeerPlatform"]

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
CLIENT_ID = "tutorchat-tool"
DEPLOYMENT_ID = "deployment-1"


@dataclasses.dataclass
class LaunchSpec:
    """What one launch says of its user and placement."""

    user_id: str = "student-1"
    roles: list[str] = dataclasses.field(default_factory=lambda: [LEARNER])
    resource_link_id: str = "link-1"
    resource_link_title: str | None = "Week 1 quiz"
    context_id: str | None = "course-1"
    context_title: str | None = "Biology 101"
    name: str | None = "Ada Lovelace"
    email: str | None = "ada@example.edu"
    lineitem_url: str | None = None
    memberships_url: str | None = None
    return_url: str | None = None


class _Config(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        assert self._registration is not None
        return self._registration


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> Response:
        return RedirectResponse(url, 302)


class _Request(PlatformRequest):
    def build_metadata(self, request: Any) -> TRequest:
        starlette_request, form = request
        return {
            "method": starlette_request.method,
            "form_data": form,
            "get_data": dict(starlette_request.query_params),
            "headers": starlette_request.headers,
            "content_type": starlette_request.headers.get("content-type"),
            "path": starlette_request.url.path,
            "json": None,
        }


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> Response:
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(str(launch_data[name]))}">'
            for name in ("id_token", "state")
        )
        action = html.escape(str(launch_data["launch_url"]))
        return HTMLResponse(
            "<!doctype html><html><body>"
            f'<form id="launch" method="post" action="{action}">{fields}</form>'
            "<script>document.getElementById('launch').submit()</script></body></html>"
        )


class PeerPlatform:
    """The platform, for a tool at ``tool_url``; :meth:`app` once its own URL is known."""

    def __init__(self, tool_url: str) -> None:
        self.tool_url = tool_url
        self.kid, self.private_key = new_key()
        private = serialization.load_pem_private_key(self.private_key.encode(), None)
        self.public_key = (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.url = ""
        self.client_id = CLIENT_ID
        self.deployment_id = DEPLOYMENT_ID
        self._launches: dict[str, LaunchSpec] = {}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/launch/start", self._start),
                Route("/course", self._course),
                Route("/auth", self._auth),
                Route("/jwks", self._jwks),
            ]
        )

    @property
    def registration_body(self) -> dict[str, Any]:
        """The admin API's body registering this platform."""
        return {
            "issuer": self.url,
            "client_id": self.client_id,
            "auth_login_url": self.url + "/auth",
            "auth_token_url": self.url + "/token",
            "jwks_url": self.url + "/jwks",
            "deployment_ids": [self.deployment_id],
        }

    def start_url(self, spec: LaunchSpec) -> str:
        """Where a course page's link to the tool goes: the platform starts the login."""
        hint = secrets.token_urlsafe(8)
        self._launches[hint] = spec
        return f"{self.url}/launch/start?{urlencode({'hint': hint})}"

    def base_claims(self, spec: LaunchSpec, nonce: str) -> dict[str, Any]:
        """The claims the platform signs for ``spec``, to be altered by a test."""
        launch = self._launch(spec, None)
        message: dict[str, Any] = launch.get_launch_message()
        message["nonce"] = nonce
        return message

    def sign(
        self, claims: dict[str, Any], *, kid: str | None = None, key: str | None = None
    ) -> str:
        """``claims`` signed by the platform (or another ``key``), with ``kid``; valid for
        five minutes from now unless they have an ``exp`` of their own."""
        kid = self.kid if kid is None else kid
        headers = {"kid": kid} if kid else {}  # "": no kid at all
        lifetime = None if "exp" in claims else 300
        signed: str = Registration.encode_and_sign(
            dict(claims), key or self.private_key, headers, expiration=lifetime
        )
        return signed

    def _registration(self) -> Registration:
        return (
            Registration()
            .set_iss(self.url)
            .set_client_id(self.client_id)
            .set_deployment_id(self.deployment_id)
            .set_oidc_login_url(self.tool_url + "/lti/login")
            .set_launch_url(self.tool_url + "/lti/launch")
            .set_tool_key_set_url(self.tool_url + "/lti/jwks")
            .set_platform_private_key(self.private_key)
            .set_platform_public_key(self.public_key)
        )

    def _launch(self, spec: LaunchSpec, request: PlatformRequest | None) -> _Launch:
        config = _Config(registration=self._registration())
        launch = _Launch(request, config)
        launch._registration = config.get_registration()
        launch.set_user_data(spec.user_id, spec.roles, spec.name, spec.email)
        launch.set_resource_link_claim(spec.resource_link_id, title=spec.resource_link_title)
        if spec.context_id is not None:
            launch.set_launch_context_claim(spec.context_id, context_title=spec.context_title)
        if spec.return_url is not None:
            launch.set_launch_presentation_claim("iframe", spec.return_url)
        if spec.lineitem_url is not None:
            launch.set_ags(lineitems_url=self.url + "/lineitems", lineitem_url=spec.lineitem_url)
        if spec.memberships_url is not None:
            launch.set_nrps(spec.memberships_url)
        return launch

    def _start(self, request: Request) -> Response:
        hint = request.query_params["hint"]
        spec = self._launches[hint]
        config = _Config(registration=self._registration())
        login = _Login(request, config)
        login.set_lti_message_hint(hint=hint)
        response: Response = login.initiate_login(spec.user_id)
        return response

    def _course(self, request: Request) -> Response:
        """A course page that frames the tool, as an LMS does."""
        hint = request.query_params["hint"]
        source = html.escape(f"{self.url}/launch/start?{urlencode({'hint': hint})}")
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><title>Course</title></head><body>'
            "<h1>Biology 101</h1>"
            f'<iframe id="tool" title="Assessment" src="{source}" '
            'style="width: 100%; height: 40rem; border: 0"></iframe></body></html>'
        )

    def _auth(self, request: Request) -> Response:
        """The authorization endpoint: the tool's redirect (a GET) gets the launch form."""
        spec = self._launches[request.query_params["lti_message_hint"]]
        platform_request = _Request((request, {}))
        form: Response = self._launch(spec, platform_request).lti_launch()
        return form

    def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": self._registration().get_jwks()})
