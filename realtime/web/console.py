"""The instructor console: a page the server serves at ``/console`` (no build step, no
framework), its script, stylesheet and Chart.js under ``/console/files/``.

It holds no authority of its own: it calls the HTTP API with the instructor's token,
which arrives in the address's fragment (``/console#token=…``: an LTI instructor launch
links there; a fragment never reaches a server or a log) or is pasted in, and is kept
for the browser tab only (``sessionStorage``).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["routes"]

FILES = Path(__file__).parent / "static" / "console"


async def console_page(request: Request) -> Response:
    return FileResponse(FILES / "index.html")


def routes() -> list[BaseRoute]:
    return [
        Route("/console", console_page),
        Mount("/console/files", StaticFiles(directory=FILES), name="console"),
    ]
