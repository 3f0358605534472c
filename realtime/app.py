"""The Starlette application: its lifespan owns the store; routes serve the API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from persistence.store import Store, open_store
from realtime.runtime import tune_garbage_collector
from realtime.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the application; the database is migrated and opened at start-up."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store(
            settings.database_url, pool_size=settings.database_pool_size
        ) as store:
            app.state.store = store
            tune_garbage_collector()
            yield

    return Starlette(routes=[Route("/healthz", healthz)], lifespan=lifespan)


async def healthz(request: Request) -> JSONResponse:
    """200 while the database answers."""
    store: Store = request.app.state.store
    async with store.db.read() as conn:
        await conn.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})
