"""The pages a launch answers with: the learner's widget, the instructor's configuration
page, and the refusal that says what went wrong.

Each is a small server-rendered document; everything that comes from a launch is
escaped, and what the page's script needs (the token, the conversation) travels in a
``<script type="application/json">`` block, which no browser runs. The pages are framed
by the LMS, so each carries its own Content Security Policy naming who may frame it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.responses import HTMLResponse

from realtime.web.middleware import framed_page_policy

__all__ = ["error_page", "framed", "launch_page", "notice_page"]

_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _document(title: str, body: str, *, scripts: Iterable[str] = ()) -> str:
    tags = "".join(f'<script src="{html.escape(src)}"></script>' for src in scripts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="stylesheet" href="/widget/tutorchat.css">'
        '<link rel="stylesheet" href="/lti/static/lti.css">'
        f"</head><body><main>{body}</main>{tags}</body></html>"
    )


def framed(
    title: str,
    body: str,
    *,
    ancestors: Iterable[str],
    status: int = 200,
    form_action: str | None = None,
    scripts: Iterable[str] = (),
) -> HTMLResponse:
    """A page of ``body`` (HTML, escaped by its maker) that the platform may frame."""
    return HTMLResponse(
        _document(title, body, scripts=scripts),
        status_code=status,
        headers={
            **_NO_STORE,
            "content-security-policy": framed_page_policy(ancestors, form_action),
        },
    )


def error_page(message: str, *, status: int = 400, ancestors: Iterable[str] = ()) -> HTMLResponse:
    """A refused launch: what was wrong, and what to do."""
    message = message[:1].upper() + message[1:]
    body = (
        "<h1>This launch could not start</h1>"
        f'<p class="lti-reason" role="alert">{html.escape(message)}.</p>'
        "<p>Nothing was saved. Open the assessment again from your course. If this page "
        "comes back, give this message to your instructor or the school's LMS "
        "administrator.</p>"
    )
    return framed("Launch refused", body, status=status, ancestors=ancestors)


def notice_page(
    title: str, message: str, *, ancestors: Iterable[str] = (), status: int = 200
) -> HTMLResponse:
    """A launch that was accepted but has nothing to open (no assessment set up yet)."""
    body = f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
    return framed(title, body, status=status, ancestors=ancestors)


def launch_page(
    *,
    title: str,
    heading: str,
    data: dict[str, Any],
    script: str,
    ancestors: Iterable[str],
    widget: bool = False,
) -> HTMLResponse:
    """A page that runs ``script`` with ``data`` (after the widget's, if it mounts one)."""
    # "<" escaped: the JSON cannot end its script element whatever a launch put in it.
    payload = orjson.dumps(data).decode().replace("<", "\\u003c")
    body = (
        f"<h1>{html.escape(heading)}</h1>"
        f'<script type="application/json" id="tutorchat-launch">{payload}</script>'
        '<div id="tutorchat-root"></div>'
    )
    return framed(
        title,
        body,
        ancestors=ancestors,
        scripts=[*(["/widget/tutorchat.js"] if widget else []), f"/lti/static/{script}"],
    )
