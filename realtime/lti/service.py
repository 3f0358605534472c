"""What the LTI side shares while the server runs: the platforms' keys and services, the
tool's signer, the gate on logins in flight, the tool's own addresses, and the grade
sender's task."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request

from persistence.store import Store
from realtime.lti.grades import GradeSender
from realtime.lti.platform_keys import PlatformKeys
from realtime.lti.services import PlatformServices
from realtime.lti.signing import ToolSigner
from realtime.metrics import Metrics
from realtime.settings import Settings

__all__ = ["LoginGate", "Lti", "open_lti", "origin_of"]

# Outbound requests to a platform (its key set): operator-registered URLs only, no
# redirects followed, a few seconds at most.
PLATFORM_TIMEOUT = httpx.Timeout(5.0)
SWEEP_SECONDS = 60.0


class LoginGate:
    """Bounds the logins in flight (each is a row kept until it is used or expires): an
    estimate of how many there are, set by a sweep of the expired ones every minute."""

    def __init__(self, store: Store, limit: int) -> None:
        self._store = store
        self._limit = limit
        self._pending = 0
        self._swept_at = float("-inf")
        self._sweeping = asyncio.Lock()

    async def admit(self) -> bool:
        """Whether one more login may start (counted if so)."""
        now = asyncio.get_running_loop().time()
        if now - self._swept_at >= SWEEP_SECONDS and not self._sweeping.locked():
            async with self._sweeping:
                await self._store.launch_states.sweep()
                self._pending = await self._store.launch_states.pending()
                self._swept_at = now
        if self._pending >= self._limit:
            return False
        self._pending += 1
        return True


@dataclasses.dataclass(slots=True)
class Lti:
    """The LTI side of a running server."""

    store: Store
    settings: Settings
    platform_keys: PlatformKeys
    signer: ToolSigner
    logins: LoginGate
    services: PlatformServices
    sender: GradeSender

    @property
    def login_lifetime(self) -> timedelta:
        return timedelta(seconds=self.settings.lti_login_seconds)

    def base_url(self, request: Request) -> str:
        """The server's address: ``TUTORCHAT_PUBLIC_URL``, else the request's."""
        return (self.settings.public_url or str(request.base_url)).rstrip("/")

    def launch_url(self, request: Request) -> str:
        return self.base_url(request) + "/lti/launch"


@contextlib.asynccontextmanager
async def open_lti(store: Store, settings: Settings, metrics: Metrics) -> AsyncIterator[Lti]:
    """The LTI side, its HTTP client open and its grade sender running until the block
    ends."""
    async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT, follow_redirects=False) as client:
        signer = ToolSigner(store.tool_keys)
        services = PlatformServices(signer, client)
        sender = GradeSender(
            store, services, metrics, lease=timedelta(seconds=settings.grade_lease_seconds)
        )
        sending = asyncio.create_task(sender.run(), name="grade-sender")
        try:
            yield Lti(
                store=store,
                settings=settings,
                platform_keys=PlatformKeys(client),
                signer=signer,
                logins=LoginGate(store, settings.lti_max_pending_logins),
                services=services,
                sender=sender,
            )
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL; None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"
