"""Fixtures for the widget's tests: headless Chromium driven by Playwright, and a page of
another origin that embeds the widget as a course site would.

Chromium is Debian's (``/usr/bin/chromium``, or ``TUTORCHAT_CHROMIUM``); Playwright never
downloads a browser of its own. Without Chromium the tests skip, except under
``CI=true``, where they fail. Each test leaves a screenshot of its page in
``test-results/<test name>.png``.
"""

from __future__ import annotations

import dataclasses
import html
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from realtime.settings import Settings
from tests.lti.platform import PeerPlatform, registered
from tests.realtime.harness import Running, running
from tests.required import unavailable
from tests.servers import serve
from tests.web.axe import RESULTS, require_axe

CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine has no network: Chromium's own background requests only fail.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = os.environ.get("TUTORCHAT_CHROMIUM") or shutil.which("chromium") or ""
    if not path or not Path(path).exists():
        unavailable("Chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    executable = _chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        await launched.close()


# The sizes every page is checked at: a desktop and a phone.
SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}


@pytest.fixture(params=list(SIZES))
async def sized(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A page at each of the two sizes, for axe (its context bypasses the Content
    Security Policy, to inject the checker); page errors fail the test."""
    require_axe()
    created = await browser.new_context(viewport=SIZES[request.param], bypass_csp=True)
    opened = await created.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    await created.close()
    assert not errors, errors


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (its own storage) with a phone-sized viewport."""
    created = await browser.new_context(viewport={"width": 390, "height": 780})
    yield created
    await created.close()


@pytest.fixture
async def page(context: BrowserContext, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A page whose screenshot is saved when the test ends; page errors fail the test."""
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    RESULTS.mkdir(exist_ok=True)
    await opened.screenshot(path=RESULTS / f"{request.node.name}.png", full_page=True)
    assert not errors, errors


class CoursePage:
    """A course site on its own origin: it embeds the widget from the tutorchat server."""

    def __init__(self) -> None:
        self.server_url = ""
        self.mounts: dict[str, dict[str, str]] = {}
        self.fresh_tokens: dict[str, str] = {}
        self.app = Starlette(
            routes=[
                Route("/course/{name}", self._page),
                Route("/course/{name}/token", self._token),
            ]
        )

    def embed(
        self,
        name: str,
        conversation_id: str,
        token: str,
        fresh: str = "",
        **options: str,
    ) -> str:
        """The path of a page mounting the widget on ``conversation_id``; with ``fresh``,
        the page hands the widget that token when its own expires (``getToken``). The
        page keeps the close codes the widget saw in ``window.closes``. ``options`` are
        the widget's others (``assessmentId``, ``locale``)."""
        self.mounts[name] = {"conversationId": conversation_id, "token": token, **options}
        if fresh:
            self.fresh_tokens[name] = fresh
        return f"/course/{name}"

    async def _token(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse(self.fresh_tokens[request.path_params["name"]])

    async def _page(self, request: Request) -> HTMLResponse:
        options = self.mounts[request.path_params["name"]] | {"url": self.server_url}
        server = html.escape(self.server_url)
        return HTMLResponse(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Course</title>
            <link rel="stylesheet" href="{server}/widget/tutorchat.css"></head>
            <body><main><h1 style="font-size: 1rem; margin: 0 0 0.5rem">Course</h1>
            <div id="tutor" style="height: 85vh"></div></main>
            <script src="{server}/widget/tutorchat.js"></script>
            <script>
              var options = {orjson.dumps(options).decode()};
              window.closes = [];
              options.onEvent = function (event) {{
                if (event.type === "closed") window.closes.push(event.code);
              }};
              if ({"true" if request.path_params["name"] in self.fresh_tokens else "false"}) {{
                options.getToken = function () {{
                  return fetch(location.pathname + "/token").then(function (r) {{
                    return r.text();
                  }});
                }};
              }}
              window.tutorchatWidget = TutorChat.mount(document.getElementById("tutor"), options);
            </script>
            </body></html>"""
        )


@pytest.fixture
async def course() -> AsyncIterator[tuple[CoursePage, str]]:
    """The course site and its origin (to allow in the server's settings)."""
    site = CoursePage()
    async with serve(site.app) as url:
        yield site, url


@pytest.fixture
def settings(database_url: str, course: tuple[CoursePage, str], llm_providers: str) -> Settings:
    """A server on the test database that lets the course site's pages connect (with the
    fake LLM as the provider ``fake``, for a test that uses it)."""
    return Settings(
        llm_providers=llm_providers,
        database_url=database_url,
        secrets=("widget-secret-" + "w" * 64,),
        allowed_origins=(course[1],),
        heartbeat_interval=3600,
        shutdown_grace=0.2,
    )


@pytest.fixture
async def run(settings: Settings, course: tuple[CoursePage, str]) -> AsyncIterator[Running]:
    """The server, with the course site pointed at it."""
    async with running(settings) as server:
        course[0].server_url = server.base_url
        yield server


LTI_ADMIN_KEY = "browser-operator-key-" + "b" * 40


@pytest.fixture
async def tool(settings: Settings) -> AsyncIterator[Running]:
    """The server as an LTI tool: the admin API on, to register the platform."""
    async with running(dataclasses.replace(settings, admin_key=LTI_ADMIN_KEY)) as server:
        yield server


@pytest.fixture
async def platform(tool: Running) -> AsyncIterator[PeerPlatform]:
    """A real LTI platform (tests/lti/platform.py), running and registered with the tool."""
    async with registered(tool.base_url, LTI_ADMIN_KEY) as peer:
        yield peer
