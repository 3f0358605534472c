"""The Starlette application: the lifespan owns the store and the hub."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from assessment.answers.lexicon import warm
from persistence.store import open_store
from realtime.cluster import open_cluster
from realtime.cluster.broker import InProcessBroker
from realtime.demo import seed_demo
from realtime.gc_tuning import tune_garbage_collector
from realtime.hub import Hub
from realtime.keys import check_admin_key, check_secrets
from realtime.llm_providers import load_providers
from realtime.lti import routes as lti_routes
from realtime.lti.service import open_lti
from realtime.metrics import Metrics
from realtime.settings import Settings
from realtime.sockets.websocket import conversation_socket
from realtime.web import (
    api,
    authoring,
    console,
    content,
    grades,
    pages,
    preview,
    results,
    roster,
)
from realtime.web.application import Application
from realtime.web.middleware import DATA_HEADERS, BodyLimit, SecurityHeaders

__all__ = ["create_app"]

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Application:
    """Build the application; the database is migrated and opened at start-up.

    Raises:
        ConfigError: a setting it cannot run with (the secrets missing or too short, the
            LLM providers unreadable).
    """
    settings = settings or Settings.from_env()
    check_secrets(settings.secrets)
    check_admin_key(settings.admin_key)
    providers = load_providers(settings.llm_providers)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store(
            settings.database_url,
            pool_size=settings.database_pool_size,
            gather=settings.write_gather_seconds,
        ) as store:
            metrics.count_turn_writes(store.writer)
            app.state.demo_assessments = await seed_demo(store) if settings.demo else []
            for config in app.state.demo_assessments:
                logger.info("demo assessment %s: %s", config.assessment_type, config.id)
            async with contextlib.AsyncExitStack() as stack:
                cluster = None
                if settings.redis_url:
                    cluster = await stack.enter_async_context(
                        open_cluster(settings.redis_url, settings.lease_seconds)
                    )
                    logger.info("process %s, events through Redis", cluster.process_id)
                broker = InProcessBroker() if cluster is None else cluster.broker
                hub = Hub(store, broker, settings, metrics, cluster, providers=providers)
                await hub.start()
                app.state.hub = hub
                app.state.lti = await stack.enter_async_context(open_lti(store, settings, metrics))
                tune_garbage_collector()
                # In a thread of its own, so the first student's typo check does not stall
                # every socket while wordfreq reads its list; nothing waits on it.
                threading.Thread(target=warm, name="wordfreq", daemon=True).start()
                try:
                    yield
                finally:
                    await hub.shutdown()

    routes = [
        Route("/healthz", healthz),
        Route("/metrics", metrics_page),
        *api.routes,
        *authoring.routes,
        *content.routes,
        *results.routes,
        *preview.routes,
        *grades.routes,
        *roster.routes,
        *lti_routes.routes(),
        *pages.widget_routes(),
        *console.routes(),
        *(pages.demo_routes() if settings.demo else []),
    ]
    # Pages on the allowed origins (a course site embedding the widget) may call the API.
    cors = Middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST", "PUT"],
        allow_headers=["authorization", "content-type"],
    )
    app = Application(
        socket=WebSocketRoute("/ws/conversations/{conversation_id}", conversation_socket),
        routes=routes,
        lifespan=lifespan,
        # Made by the outermost error middleware, outside SecurityHeaders: its own headers.
        exception_handlers={500: server_error, HTTPException: http_error},
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            cors,
        ],
    )
    # A path that matches no route is 404 JSON, not a redirect to the same path with a
    # slash more or less (an id that decodes to "/" made one, with an empty body).
    app.router.redirect_slashes = False
    return app


async def http_error(request: Request, error: Exception) -> Response:
    """The router's own refusals (no such route, method not allowed) as JSON, like every
    other answer of the API."""
    assert isinstance(error, HTTPException)
    return JSONResponse(
        {"error": error.detail.lower()},
        status_code=error.status_code,
        headers=dict(error.headers or {}),
    )


async def server_error(request: Request, error: Exception) -> Response:
    """A 500 as JSON, with the headers every answer carries (the error is logged)."""
    return JSONResponse({"error": "server error"}, status_code=500, headers=DATA_HEADERS)


async def healthz(request: Request) -> JSONResponse:
    """200 while the database answers."""
    hub: Hub = request.app.state.hub
    async with hub.store.db.read() as conn:
        await conn.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


async def metrics_page(request: Request) -> Response:
    """Prometheus text format."""
    hub: Hub = request.app.state.hub
    return Response(hub.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
