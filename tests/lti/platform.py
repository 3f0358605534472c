"""A real LTI 1.3 platform for the tests: ``lti1p3platform`` (from PyPI) behind a small
Starlette app, served on a free port like any peer.

It does what an LMS does in a launch: starts the OIDC login at the tool
(``/launch/start``, as a course page's link would), answers the tool's authorization
request (``/auth``) with a signed id_token in an auto-submitted form, and publishes its
key set (``/jwks``). What each launch says (the user, roles, context, resource link,
services) is a :class:`LaunchSpec`, kept under the login's ``lti_message_hint``.

Its services are the library's too: the token endpoint (``/token``, client credentials
with the tool's signed assertion, checked against the tool's published keys) and
Assignment and Grade Services (``/lineitems``, a line item's ``/scores``), keeping a
gradebook. A test can take the score service down (503) or make it throttle (429).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as PlatformRequest
from lti1p3platform.request import TRequest
from lti1p3platform.response import Response as ServiceResponse
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import (
    AssignmentsGradesService,
    NamesRoleProvisioningService,
)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from realtime.lti.signing import new_key
from tests.limits import TIMEOUT
from tests.realtime.inbox import Inbox
from tests.servers import serve

__all__ = ["INSTRUCTOR", "LEARNER", "LaunchSpec", "PeerPlatform", "registered"]

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
    grades: bool = False  # the launch offers AGS: the line item container
    lineitem_url: str | None = None  # and this line item of the link
    memberships_url: str | None = None
    return_url: str | None = None
    deep_linking: bool = False  # an LtiDeepLinkingRequest (an instructor adding the tool)
    storage_target: str | None = None  # the platform's storage frame, named in the login
    custom: dict[str, str] | None = None


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
        starlette_request, form, body = request
        return {
            "method": starlette_request.method,
            "form_data": form,
            "get_data": dict(starlette_request.query_params),
            "headers": starlette_request.headers,
            "content_type": starlette_request.headers.get("content-type"),
            "path": starlette_request.url.path,
            "json": body,
        }


@dataclasses.dataclass
class Gradebook:
    """The platform's line items and the scores it took."""

    lineitems: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    received: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # (line item, user) -> the newest score taken (by its timestamp)
    grades: dict[tuple[str, str], dict[str, Any]] = dataclasses.field(default_factory=dict)
    # "down" (503), "throttle" (429), or "hang": the request waits for ``released``,
    # then is answered 503 (its sender may be dead by then) and nothing is taken.
    failing: str | None = None
    released: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    # Every score request, with the status it was answered with.
    requests: Inbox[int] = dataclasses.field(default_factory=Inbox)
    # Every score taken.
    taken: Inbox[dict[str, Any]] = dataclasses.field(default_factory=Inbox)


class _Grades(AssignmentsGradesService):
    def __init__(self, request: _Request, config: _Config, peer: PeerPlatform) -> None:
        super().__init__(request, config, peer.url + "/lineitems")
        self._peer = peer
        self._book = peer.gradebook

    def find_lineitems(self, page: int = 1, limit: Any = None, **filters: Any) -> Any:
        wanted = filters.get("resource_link_id")
        items = [
            item
            for item in self._book.lineitems.values()
            if wanted is None or item.get("resourceLinkId") == wanted
        ]
        return {"content": items, "has_next": False, "next": None}

    def find_lineitem(self, line_item_id: str) -> Any:
        return self._book.lineitems[self._peer.lineitem_url(line_item_id)]

    def create_lineitem(self, creation_data: Any) -> Any:
        number = str(len(self._book.lineitems) + 1)
        item = {**creation_data, "id": self._peer.lineitem_url(number)}
        self._book.lineitems[item["id"]] = item
        return item

    def update_lineitem(self, update_data: Any) -> Any:
        raise NotImplementedError

    def delete_lineitem(self, line_item_id: str) -> None:
        raise NotImplementedError

    def get_results(
        self, line_item_id: str, page: int = 1, limit: Any = None, user_id: Any = None
    ) -> Any:
        raise NotImplementedError

    def update_score(self, line_item_id: str, score: Any) -> UpdateScoreStatus:
        lineitem = self._peer.lineitem_url(line_item_id)
        self._book.received.append({**score, "lineitem": lineitem})
        key = (lineitem, score["userId"])
        before = self._book.grades.get(key)
        if before is not None and _when(score) < _when(before):
            return UpdateScoreStatus.OLD_TIMESTAMP
        self._book.grades[key] = score
        return UpdateScoreStatus.SUCCESS if before else UpdateScoreStatus.CREATED


class _Roster(NamesRoleProvisioningService):
    """The course's members, two to a page (so that the tool follows the pages)."""

    def __init__(self, request: _Request, config: _Config, peer: PeerPlatform) -> None:
        super().__init__(request, config, peer.url + "/memberships")
        self._members = peer.members

    def get_member_data_page(self, page: Any = 1, limit: Any = None, **_: Any) -> Any:
        number = int(page)
        content = self._members[(number - 1) * 2 : number * 2]
        return {"content": content, "has_next": number * 2 < len(self._members), "next": None}

    def get_context_by_id(self) -> Context:
        return Context(id="course-1", label="BIO101", title="Biology 101")


def _when(score: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(score["timestamp"]).replace("Z", "+00:00"))


def _answer(service: ServiceResponse) -> Response:
    """The library's service answer as HTTP: a page of line items is its list."""
    result = service.result
    if isinstance(result, dict) and "content" in result and "has_next" in result:
        result = result["content"]
    body = b"" if result is None else orjson.dumps(result)
    if result is None and service.code >= 400:
        body = orjson.dumps({"error": service.message})
    return Response(body, status_code=service.code, media_type=service.media_type)


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
        self.gradebook = Gradebook()
        self.storage_forgets = False
        # Dynamic registration: the token the LMS hands the tool, what the tool sent.
        self.registration_token = "registration-" + secrets.token_urlsafe(8)
        self.registrations: list[dict[str, Any]] = []
        # The course's members, as NRPS gives them (user_id, roles, name, email, status).
        self.members: list[dict[str, Any]] = []
        # The content items of each deep linking answer the platform took.
        self.deep_links: Inbox[list[dict[str, Any]]] = Inbox()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/launch/start", self._start),
                Route("/course", self._course),
                Route("/storage", self._storage),
                Route("/auth", self._auth),
                Route("/jwks", self._jwks),
                Route("/token", self._token, methods=["POST"]),
                Route("/deep_link_return", self._deep_link_return, methods=["POST"]),
                Route("/memberships", self._memberships),
                Route("/.well-known/openid-configuration", self._openid_configuration),
                Route("/register", self._register, methods=["POST"]),
                Route("/lineitems", self._lineitems, methods=["GET", "POST"]),
                Route("/lineitems/{number}/scores", self._scores, methods=["POST"]),
            ]
        )

    def lineitem_url(self, number: str) -> str:
        """A line item's id: its URL."""
        return number if number.startswith("http") else f"{self.url}/lineitems/{number}"

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
            .set_deeplink_launch_url(self.tool_url + "/lti/launch")
            .set_tool_key_set_url(self.tool_url + "/lti/jwks")
            .set_platform_private_key(self.private_key)
            .set_platform_public_key(self.public_key)
        )

    def _launch(self, spec: LaunchSpec, request: PlatformRequest | None) -> _Launch:
        config = _Config(registration=self._registration())
        launch = _Launch(request, config)
        launch._registration = config.get_registration()
        launch.set_user_data(spec.user_id, spec.roles, spec.name, spec.email)
        if spec.deep_linking:
            launch.set_dl(
                self.url + "/deep_link_return", title="Add", accept_types={"ltiResourceLink"}
            )
        else:
            launch.set_resource_link_claim(spec.resource_link_id, title=spec.resource_link_title)
        if spec.custom is not None:
            launch.set_custom_parameters_claim(spec.custom)
        if spec.context_id is not None:
            launch.set_launch_context_claim(spec.context_id, context_title=spec.context_title)
        if spec.return_url is not None:
            launch.set_launch_presentation_claim("iframe", spec.return_url)
        if spec.grades:
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
        url = login.prepare_preflight_url(spec.user_id)
        if spec.storage_target is not None:
            url += "&" + urlencode({"lti_storage_target": spec.storage_target})
        return RedirectResponse(url, 302)

    def _course(self, request: Request) -> Response:
        """A course page that frames the tool, as an LMS does, with the platform's
        storage frame beside it when the launch names one."""
        hint = request.query_params["hint"]
        spec = self._launches[hint]
        source = html.escape(f"{self.url}/launch/start?{urlencode({'hint': hint})}")
        storage = ""
        if spec.storage_target is not None:
            name = html.escape(spec.storage_target)
            storage = f'<iframe name="{name}" title="storage" src="/storage" hidden></iframe>'
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><title>Course</title></head><body>'
            f"<h1>Biology 101</h1>{storage}"
            f'<iframe id="tool" title="Assessment" src="{source}" '
            'style="width: 100%; height: 40rem; border: 0"></iframe></body></html>'
        )

    def _storage(self, request: Request) -> Response:
        """The platform's storage frame (1EdTech Platform Storage): keeps what a tool's
        frame puts, by the tool's origin, and gives it back. With ``forget`` set it
        keeps nothing (a platform that lost the state)."""
        forget = "true" if self.storage_forgets else "false"
        return HTMLResponse(
            "<!doctype html><html><body><script>"
            "var kept = {};"
            "window.addEventListener('message', function (event) {"
            "  var m = event.data; if (!m || typeof m !== 'object') return;"
            "  var mine = kept[event.origin] = kept[event.origin] || {};"
            "  if (m.subject === 'lti.put_data') {"
            f"    if (!{forget}) mine[m.key] = m.value;"
            "    event.source.postMessage({subject: 'lti.put_data.response',"
            "      message_id: m.message_id, key: m.key, value: m.value}, event.origin);"
            "  } else if (m.subject === 'lti.get_data') {"
            "    event.source.postMessage({subject: 'lti.get_data.response',"
            "      message_id: m.message_id, key: m.key, value: mine[m.key]}, event.origin);"
            "  }"
            "});"
            "</script></body></html>"
        )

    def _auth(self, request: Request) -> Response:
        """The authorization endpoint: the tool's redirect (a GET) gets the launch form."""
        spec = self._launches[request.query_params["lti_message_hint"]]
        platform_request = _Request((request, {}, None))
        form: Response = self._launch(spec, platform_request).lti_launch()
        return form

    def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": self._registration().get_jwks()})

    async def _token(self, request: Request) -> Response:
        """The token endpoint; the library fetches the tool's keys (with ``requests``,
        blocking: in a thread, so the tool on this loop can answer)."""
        form = dict(parse_qsl((await request.body()).decode()))
        config = _Config(registration=self._registration())
        try:
            token = await run_in_threadpool(config.get_access_token, form)
        except Exception as refused:  # the library's refusals are of several kinds
            return JSONResponse({"error": "invalid_client", "detail": str(refused)}, 400)
        return JSONResponse(token)

    async def _lineitems(self, request: Request) -> Response:
        service = await self._grades(request)
        if request.method == "POST":
            return _answer(await run_in_threadpool(service.handle_create_lineitem))
        return _answer(await run_in_threadpool(service.handle_get_lineitems))

    async def _scores(self, request: Request) -> Response:
        answer = await self._score(request)
        self.gradebook.requests.deliver(answer.status_code)
        return answer

    async def _score(self, request: Request) -> Response:
        if self.gradebook.failing == "down":
            return JSONResponse({"error": "maintenance"}, 503)
        if self.gradebook.failing == "throttle":
            return JSONResponse({"error": "slow down"}, 429, headers={"retry-after": "1"})
        if self.gradebook.failing == "hang":
            self.gradebook.requests.deliver(0)  # arrived, not answered yet
            await self.gradebook.released.wait()
            return JSONResponse({"error": "too late"}, 503)
        service = await self._grades(request)
        number = request.path_params["number"]
        taken = len(self.gradebook.received)
        answer = _answer(await run_in_threadpool(service.handle_update_score, number))
        for score in self.gradebook.received[taken:]:
            self.gradebook.taken.deliver(score)
        return answer

    async def _grades(self, request: Request) -> _Grades:
        raw = await request.body()
        body = orjson.loads(raw) if raw else None
        config = _Config(registration=self._registration())
        config.get_registration()
        return _Grades(_Request((request, {}, body)), config, self)

    async def _deep_link_return(self, request: Request) -> Response:
        """Where the tool posts its deep linking answer: the library checks the JWT
        (the tool's signature, by its published keys; the message type)."""
        form = dict(parse_qsl((await request.body()).decode()))
        config = _Config(registration=self._registration())
        config.get_registration()
        try:
            items = await run_in_threadpool(config.validate_deeplinking_resp, form)
        except Exception as refused:  # the library's refusals are of several kinds
            return JSONResponse({"error": str(refused)}, 400)
        self.deep_links.deliver(items)
        return HTMLResponse("<!doctype html><title>Added</title><p>Added.</p>")

    async def _memberships(self, request: Request) -> Response:
        """NRPS: the library's page of members, with a ``Link`` to the next page."""
        config = _Config(registration=self._registration())
        config.get_registration()
        service = _Roster(_Request((request, {}, None)), config, self)
        answer = await run_in_threadpool(service.handle_get_members)
        result = answer.result
        headers = {}
        page = int(request.query_params.get("page", "1"))
        if isinstance(result, dict) and page * 2 < len(self.members):
            headers["link"] = f'<{self.url}/memberships?page={page + 1}>; rel="next"'
        body = orjson.dumps(result if result is not None else {"error": answer.message})
        return Response(
            body, status_code=answer.code, media_type=answer.media_type, headers=headers
        )

    def _openid_configuration(self, request: Request) -> Response:
        """The platform's OpenID configuration, as LTI Dynamic Registration reads it."""
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": self.url + "/auth",
                "token_endpoint": self.url + "/token",
                "jwks_uri": self.url + "/jwks",
                "registration_endpoint": self.url + "/register",
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "lti1p3platform",
                    "version": "0.1",
                },
            }
        )

    async def _register(self, request: Request) -> Response:
        """The registration endpoint: takes the tool's registration (with the token it
        was handed) and answers its client id and deployment."""
        if request.headers.get("authorization") != f"Bearer {self.registration_token}":
            return JSONResponse({"error": "invalid_token"}, 401)
        self.registrations.append(orjson.loads(await request.body()))
        return JSONResponse(
            {
                "client_id": self.client_id,
                "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                    "deployment_id": self.deployment_id
                },
            },
            201,
        )


@contextlib.asynccontextmanager
async def registered(tool_url: str, admin_key: str) -> AsyncIterator[PeerPlatform]:
    """A platform running on a free port, registered with the tool at ``tool_url``
    through the operator's admin API, until the block ends."""
    peer = PeerPlatform(tool_url)
    async with serve(peer.app()) as url:
        peer.url = url
        async with httpx.AsyncClient(base_url=tool_url, timeout=TIMEOUT) as client:
            response = await client.post(
                "/api/admin/lti/platforms",
                json=peer.registration_body,
                headers={"authorization": f"Bearer {admin_key}"},
            )
        assert response.status_code == 201, response.text
        yield peer
