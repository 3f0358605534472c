"""The browser side: the widget's two files, and in demo mode a page to try it.

``/widget/tutorchat.js`` and ``/widget/tutorchat.css`` are what a course page embeds
(see docs/WIDGET.md); they need no build step. In demo mode ``/`` serves a page that
lists the demo assessments and mounts the widget, with tokens minted by
``POST /demo/visitors`` for anonymous visitors of the demo course.
"""

from __future__ import annotations

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

__all__ = ["demo_routes", "widget_routes"]

STATIC = Path(__file__).parent / "static"
VISITOR_TOKEN_TTL = timedelta(days=7)


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
        Route("/demo/visitors", demo_visitor, methods=["POST"]),
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


async def demo_visitor(request: Request) -> JSONResponse:
    """A token for a new anonymous learner of the demo course."""
    hub: Hub = request.app.state.hub
    user = f"visitor-{secrets.token_hex(8)}"
    token = mint(
        hub.settings.signing_secret,
        user_id=user,
        course_id=DEMO_COURSE,
        platform_id=DEMO_PLATFORM,
        ttl=VISITOR_TOKEN_TTL,
    )
    return JSONResponse({"user_id": user, "token": token}, status_code=201)
