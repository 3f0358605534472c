"""The operator's API for LTI: platforms registered, deployments added, keys rotated.

Authenticated with ``TUTORCHAT_ADMIN_KEY`` as ``Authorization: Bearer``, never a user's
token: no instructor or learner reaches it. With no key configured every route is 404,
as if the API did not exist. Answers are JSON, errors ``{"error": "..."}``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from persistence.errors import NotFound
from realtime.lti.dynamic_registration import REGISTRATION_LIFETIME, registration_url
from realtime.lti.registry import (
    InvalidRegistration,
    Registration,
    check_identifier,
    described,
    is_platform_id,
    register,
)
from realtime.lti.service import Lti
from realtime.lti.signing import rotate
from realtime.web.api import JSON, ApiError, body_of

__all__ = ["routes"]

Handler = Callable[[Request, Lti], Awaitable[Response]]


def operator(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` for the operator only (the admin key)."""

    async def endpoint(request: Request) -> Response:
        lti: Lti = request.app.state.lti
        key = lti.settings.admin_key
        if not key:
            return JSON({"error": "not found"}, status_code=404)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), key.encode()
        ):
            return JSON({"error": "the admin key is missing or wrong"}, status_code=401)
        try:
            return await handler(request, lti)
        except ApiError as error:
            return JSON({"error": str(error)}, status_code=error.status)
        except InvalidRegistration as invalid:
            return JSON({"error": str(invalid)}, status_code=422)
        except NotFound as missing:
            return JSON({"error": str(missing)}, status_code=404)

    endpoint.__name__ = handler.__name__
    return endpoint


async def list_platforms(request: Request, lti: Lti) -> Response:
    platforms = [
        described(platform, await lti.store.platforms.deployments(platform.id))
        for platform in await lti.store.platforms.all()
    ]
    return JSON({"platforms": platforms})


async def register_platform(request: Request, lti: Lti) -> Response:
    registration = Registration.from_json(await body_of(request))
    platform = await register(lti.store, registration)
    deployments = await lti.store.platforms.deployments(platform.id)
    return JSON(described(platform, deployments), status_code=201)


async def add_deployment(request: Request, lti: Lti) -> Response:
    platform_id = _platform_id(request)
    deployment = (await body_of(request)).get("deployment_id")
    if not isinstance(deployment, str) or not deployment:
        raise ApiError(422, "deployment_id: must be a non-empty string")
    check_identifier(deployment, "deployment_id")
    await lti.store.platforms.add_deployment(platform_id, deployment)
    platform = await lti.store.platforms.get(platform_id)
    return JSON(described(platform, await lti.store.platforms.deployments(platform_id)))


async def remove_platform(request: Request, lti: Lti) -> Response:
    platform_id = _platform_id(request)
    await lti.store.platforms.remove(platform_id)
    return JSON({"removed": platform_id})


def _platform_id(request: Request) -> str:
    platform_id: str = request.path_params["platform_id"]
    if not is_platform_id(platform_id):
        raise NotFound(f"no platform {platform_id[:80]!r}")
    return platform_id


async def rotate_key(request: Request, lti: Lti) -> Response:
    key = await rotate(lti.store.tool_keys)
    return JSON({"kid": key.kid, "created_at": key.created_at.isoformat()}, status_code=201)


async def new_registration(request: Request, lti: Lti) -> Response:
    """A dynamic registration link, for a platform's administrator to give the LMS."""
    url = registration_url(lti.settings.signing_secret, lti.base_url(request))
    return JSON({"url": url, "expires_in": int(REGISTRATION_LIFETIME.total_seconds())}, 201)


routes = [
    Route("/api/admin/lti/platforms", operator(list_platforms), methods=["GET"]),
    Route("/api/admin/lti/platforms", operator(register_platform), methods=["POST"]),
    Route(
        "/api/admin/lti/platforms/{platform_id}/deployments",
        operator(add_deployment),
        methods=["POST"],
    ),
    Route("/api/admin/lti/platforms/{platform_id}", operator(remove_platform), methods=["DELETE"]),
    Route("/api/admin/lti/keys", operator(rotate_key), methods=["POST"]),
    Route("/api/admin/lti/registrations", operator(new_registration), methods=["POST"]),
]
