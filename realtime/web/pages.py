"""The browser side: the widget's two files, and in demo mode a page to try it.

``/widget/tutorchat.js`` and ``/widget/tutorchat.css`` are what a course page embeds
(see docs/WIDGET.md); they need no build step. In demo mode ``/`` serves a page that
lists the demo assessments and mounts the widget, with tokens minted by
``POST /demo/visitors`` for anonymous visitors of the demo course.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from persistence.records import AssessmentConfig
from realtime.auth import mint
from realtime.demo import DEMO_COURSE, DEMO_PLATFORM
from realtime.hub import Hub
from realtime.limits import RateLimit

__all__ = ["demo_routes", "widget_routes"]

STATIC = Path(__file__).parent / "static"
VISITOR_TOKEN_TTL = timedelta(days=7)
VISITORS_PER_MINUTE = 10


def widget_routes() -> list[BaseRoute]:
    """The widget's script and stylesheet, always served."""
    return [Mount("/widget", StaticFiles(directory=STATIC / "widget"), name="widget")]


def demo_routes() -> list[BaseRoute]:
    """The demo page and what it calls (demo mode only: it hands out tokens)."""
    return [
        Route("/", demo_page),
        Route("/demo/demo.js", demo_file("demo.js")),
        Route("/demo/demo.css", demo_file("demo.css")),
        Route("/demo/assessments", demo_assessments),
        Route("/demo/visitors", demo_visitors(VISITORS_PER_MINUTE), methods=["POST"]),
    ]


async def demo_page(request: Request) -> Response:
    return FileResponse(STATIC / "demo" / "index.html")


def demo_file(name: str) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint serving one of the demo page's files."""

    async def serve(request: Request) -> Response:
        return FileResponse(STATIC / "demo" / name)

    return serve


async def demo_assessments(request: Request) -> JSONResponse:
    """The seeded assessments: id, type and title."""
    configs: list[AssessmentConfig] = request.app.state.demo_assessments
    return JSONResponse(
        {
            "assessments": [
                {
                    "id": config.id,
                    "type": config.assessment_type,
                    "title": str(config.ai_config.get("title") or config.assessment_type),
                }
                for config in configs
            ]
        }
    )


def demo_visitors(per_minute: int) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint that mints a token for a new anonymous learner of the demo course,
    ``per_minute`` a minute per address: each visitor is a new user, with limits of its
    own, so minting is what is limited."""
    visitors = _PerAddress(per_minute, 60.0)

    async def demo_visitor(request: Request) -> Response:
        address = request.client.host if request.client is not None else ""
        if not visitors.allow(address, asyncio.get_running_loop().time()):
            return JSONResponse({"error": "too many visitors from this address"}, status_code=429)
        return _visitor_token(request.app.state.hub)

    return demo_visitor


def _visitor_token(hub: Hub) -> JSONResponse:
    user = f"visitor-{secrets.token_hex(8)}"
    token = mint(
        hub.settings.signing_secret,
        user_id=user,
        course_id=DEMO_COURSE,
        platform_id=DEMO_PLATFORM,
        ttl=VISITOR_TOKEN_TTL,
    )
    return JSONResponse({"user_id": user, "token": token}, status_code=201)


class _PerAddress:
    """A rate limit per client address, forgetting an address once its window is past."""

    def __init__(self, count: int, window: float) -> None:
        self._count, self._window = count, window
        self._limits: dict[str, RateLimit] = {}

    def allow(self, address: str, now: float) -> bool:
        if len(self._limits) > 10_000:  # a sweep now and then keeps it small
            self._limits = {a: r for a, r in self._limits.items() if r.recent(now)}
        limit = self._limits.setdefault(address, RateLimit(self._count, self._window))
        if not limit.allows(now):
            return False
        limit.record(now)
        return True
