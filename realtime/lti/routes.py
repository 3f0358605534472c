"""The LTI routes: login, launch, deep linking's choice, the tool's key set, the launch
pages' files, and the operator's admin API."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from realtime.lti import admin
from realtime.lti.deep_linking import choose
from realtime.lti.dynamic_registration import register_platform
from realtime.lti.launch import launch
from realtime.lti.login import login
from realtime.lti.service import Lti
from realtime.lti.storage import confirm
from realtime.web.api import JSON

__all__ = ["routes"]

STATIC = Path(__file__).parent.parent / "web" / "static" / "lti"
# Platforms may cache the key set this long. One that cached it before a rotation meets
# the new kid and fetches the set again, as the LTI security framework asks; the old key
# stays published a day (realtime.lti.signing).
KEY_SET_MAX_AGE = 300


async def key_set(request: Request) -> Response:
    """``/lti/jwks``: the tool's public keys, by kid."""
    lti: Lti = request.app.state.lti
    return JSON(
        await lti.signer.key_set(),
        headers={"cache-control": f"public, max-age={KEY_SET_MAX_AGE}"},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/lti/login", login, methods=["GET", "POST"]),
        Route("/lti/launch", launch, methods=["POST"]),
        Route("/lti/launch/confirm", confirm, methods=["POST"]),
        Route("/lti/deep-link", choose, methods=["POST"]),
        Route("/lti/jwks", key_set, methods=["GET"]),
        Route("/lti/register", register_platform, methods=["GET"]),
        Mount("/lti/static", StaticFiles(directory=STATIC), name="lti"),
        *admin.routes,
    ]
