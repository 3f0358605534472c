"""The hub: every live conversation of this process, and the tasks that serve them.

Conversation runtimes are loaded on demand (when a conversation is created, a socket
joins it, or another process hands it work) and dropped when they have no socket, no
job, no reply and no lease. The hub owns the idle sweeper and the LLM HTTP client, and
with other processes (a :class:`Cluster`) the lease renewal, the watch for leases whose
holder died, and what the other processes send; it shuts them down in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from redis.exceptions import RedisError

from assessment.generation import approved_items
from assessment.llm import ChatClient
from assessment.spec import AssessmentSpec, InvalidConfig
from assessment.tutor import Tutor
from persistence.errors import NotFound
from persistence.records import AssessmentConfig, Conversation
from persistence.store import Store
from persistence.values import utcnow
from protocol.errors import CLOSE_SERVER_RESTART
from realtime.cluster import Cluster
from realtime.cluster.broker import Broker
from realtime.conversation import ConversationRuntime, Refused
from realtime.limits import UserLimits
from realtime.llm_providers import Providers
from realtime.metrics import Metrics
from realtime.settings import Settings

__all__ = ["Hub"]

logger = logging.getLogger(__name__)


class Hub:
    """Live conversations and their tasks.

    Args:
        store: the database.
        broker: fan-out of conversation events.
        settings: the server's settings.
        metrics: the process's metrics.
        cluster: the other processes of the deployment, if any (its broker is then
            the broker).
        providers: the LLM providers the operator configured.
    """

    def __init__(
        self,
        store: Store,
        broker: Broker,
        settings: Settings,
        metrics: Metrics,
        cluster: Cluster | None = None,
        *,
        providers: Providers | None = None,
    ) -> None:
        self.store = store
        self.providers = providers or Providers()
        self.users = UserLimits(
            max_sockets=settings.max_sockets_per_user,
            turns=settings.rate_limit_turns,
            window=settings.rate_limit_seconds,
        )
        self.broker = broker
        self.cluster = cluster
        self.settings = settings
        self.metrics = metrics
        self._runtimes: dict[str, ConversationRuntime] = {}
        self._loading: dict[str, asyncio.Task[ConversationRuntime]] = {}
        self._http = httpx.AsyncClient()
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._draining = False
        self._tutors: dict[str, tuple[datetime, Tutor]] = {}
        self._configs: dict[str, AssessmentConfig] = {}

    async def start(self) -> None:
        """Recover from a crash and start the idle sweeper (and the lease tasks)."""
        self._tasks.append(asyncio.create_task(self._sweep(), name="idle-sweeper"))
        if self.cluster is None:
            # Alone, this process owns every conversation: a streaming row is a crash's.
            interrupted = await self.store.conversations.interrupt_streaming()
            if interrupted:
                logger.warning("marked %d replies interrupted by a previous stop", len(interrupted))
            return
        # With others, a streaming row may be theirs; a dead one's lease expires instead.
        self.cluster.broker.on_control = self._on_control
        self.cluster.broker.on_reconnect = self._on_reconnect
        self._tasks.append(asyncio.create_task(self._renew(), name="lease-renewal"))
        self._tasks.append(asyncio.create_task(self._watch(), name="lease-watch"))

    async def drain(self) -> None:
        """Let replies finish for the grace period, interrupt the rest, close sockets 1012.

        Each socket gets everything queued for it (the replies' ends) before it closes.
        """
        if self._draining:
            return
        self._draining = True
        runtimes = list(self._runtimes.values())
        await asyncio.gather(*(rt.stop(self.settings.shutdown_grace) for rt in runtimes))
        workers = [rt.worker for rt in runtimes if rt.worker is not None]
        if workers:
            await asyncio.wait(workers, timeout=self.settings.shutdown_grace)
        for runtime in runtimes:
            for conn in tuple(runtime.members):
                conn.close(CLOSE_SERVER_RESTART, flush=True)

    async def shutdown(self) -> None:
        """Drain, then stop every task this hub owns."""
        await self.drain()
        tasks = [*self._tasks, *self._handlers]
        tasks += [rt.worker for rt in self._runtimes.values() if rt.worker is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.cluster is not None:
            # The replies were interrupted and stored: the next turn may go anywhere.
            for conversation_id in self.cluster.leases.held:
                with contextlib.suppress(RedisError):
                    await self.cluster.leases.release(conversation_id)
        await self._http.aclose()

    @property
    def draining(self) -> bool:
        """The server is stopping: new sockets are refused with 1012."""
        return self._draining

    async def runtime(self, conversation_id: str) -> ConversationRuntime:
        """The live conversation, loaded if need be (once, however many ask at once).

        Raises:
            NotFound: no such conversation.
        """
        # A loop, not one load: a runtime loaded for this caller may be dropped as idle
        # (the work it recovered done) before the caller resumes.
        while (runtime := self._runtimes.get(conversation_id)) is None:
            loading = self._loading.get(conversation_id)
            if loading is None:
                loading = asyncio.create_task(self._load(conversation_id))
                self._loading[conversation_id] = loading
                loading.add_done_callback(lambda _: self._loading.pop(conversation_id, None))
            await asyncio.shield(loading)
        return runtime

    def release(self, runtime: ConversationRuntime) -> None:
        """Drop the runtime if nothing uses it any more."""
        if runtime.idle and self._runtimes.get(runtime.id) is runtime:
            del self._runtimes[runtime.id]
            runtime.close()

    async def _load(self, conversation_id: str) -> ConversationRuntime:
        conversation = await self.store.conversations.get(conversation_id)
        config = self._shared(
            await self.store.assessments.get(conversation.assessment_config_id, tenant=None)
        )
        tutor = await self.tutor(config)
        messages = await self.store.conversations.messages_after(
            conversation_id, 0, limit=1_000_000
        )
        runtime = ConversationRuntime(
            conversation=conversation,
            config=config,
            tutor=tutor,
            messages=messages,
            store=self.store,
            broker=self.broker,
            settings=self.settings,
            metrics=self.metrics,
            on_idle=self.release,
            cluster=self.cluster,
        )
        self._runtimes[conversation_id] = runtime
        return runtime

    async def tutor(self, config: AssessmentConfig) -> Tutor:
        """The tutor of an assessment, with its approved generated content.

        One tutor (its parsed spec) serves every conversation of the assessment; it is
        made again when the configuration changes or content is reviewed.
        """
        cached = self._tutors.get(config.id)
        if cached is not None and cached[0] == config.updated_at:
            return cached[1]
        tutor = await self._make_tutor(config)
        self._tutors[config.id] = (config.updated_at, tutor)
        return tutor

    def _shared(self, config: AssessmentConfig) -> AssessmentConfig:
        """One instance per assessment version, held by all its conversations: each read
        parses ``ai_config`` afresh, and a large one costs every live conversation."""
        known = self._configs.get(config.id)
        if known is not None and known.updated_at == config.updated_at:
            return known
        self._configs[config.id] = config
        return config

    def forget_tutor(self, config_id: str) -> None:
        """Drop the cached tutor (its approved content changed)."""
        self._tutors.pop(config_id, None)

    async def _make_tutor(self, config: AssessmentConfig) -> Tutor:
        contents = await self.store.content.list(config.id, approved_only=True)
        spec = AssessmentSpec.from_config(
            assessment_type=config.assessment_type,
            grading_schema=config.grading_schema,
            mastery_threshold=config.mastery_threshold,
            ai_config=config.ai_config,
            extra_items=approved_items(
                contents, config.assessment_type, taken=_configured_ids(config)
            ),
        )
        return Tutor(spec, llm=self.chat_client(spec, config.id), pace=self.settings.tutor_pace)

    def chat_client(self, spec: AssessmentSpec, config_id: str) -> ChatClient | None:
        """The client of the provider the assessment chose, if it chose one the server
        has; else None, and the tutor is the built-in one (a provider removed since, or
        an assessment stored before providers were the operator's)."""
        if spec.llm is None:
            return None
        try:
            endpoint = self.providers.resolve(spec.llm)
        except InvalidConfig as missing:
            logger.warning("built-in tutor instead: %s", missing, extra={"assessment": config_id})
            return None
        return ChatClient(endpoint, http=self._http)

    async def _sweep(self) -> None:
        """Abandon conversations idle for longer than the setting, every sweep period."""
        idle_for = timedelta(seconds=self.settings.idle_abandon_seconds)
        while True:
            await asyncio.sleep(self.settings.sweep_seconds)
            try:
                await self.sweep_once(idle_for)
            except Exception:
                logger.exception("idle sweep failed")

    # With other processes

    def _on_control(self, message: Mapping[str, Any]) -> None:
        """Work, a completion or a cancel from another process, for a conversation
        leased here."""
        match message:
            case {"k": "work", "c": str(conversation_id)}:
                self._handle(self._work(conversation_id))
            case {"k": "complete", "c": str(conversation_id)}:
                self._handle(self._work(conversation_id, complete=True))
            case {"k": "cancel", "c": str(conversation_id), "m": str(message_id)}:
                self._handle(self._cancel(conversation_id, message_id))
            case _:
                logger.warning("unknown message from another process: %r", message)

    def _handle(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _work(self, conversation_id: str, *, complete: bool = False) -> None:
        """Answer what another process stored (and end the attempt, if its student
        asked there)."""
        with contextlib.suppress(NotFound):
            runtime = await self.runtime(conversation_id)
            if complete:
                with contextlib.suppress(Refused):  # it is over already
                    runtime.request_complete()
            runtime.wake()

    async def _cancel(self, conversation_id: str, message_id: str) -> None:
        runtime = self._runtimes.get(conversation_id)
        if runtime is not None:
            with contextlib.suppress(Refused):  # it ended meanwhile
                await runtime.cancel(message_id)

    def _on_reconnect(self) -> None:
        """Redis came back: events of the outage are lost here, work sent meanwhile too."""
        for runtime in tuple(self._runtimes.values()):
            runtime.resync_all()
            if runtime.leased or runtime.has_jobs:
                runtime.wake()

    async def _renew(self) -> None:
        """Renew this process's leases three times a lease period."""
        assert self.cluster is not None
        while True:
            await asyncio.sleep(self.cluster.leases.seconds / 3)
            try:
                lost = await self.cluster.leases.renew()
            except RedisError as error:
                logger.warning("lease renewal failed: %s", error)
                continue
            for conversation_id in lost:
                logger.warning("lease lost", extra={"conversation": conversation_id})
                if (runtime := self._runtimes.get(conversation_id)) is not None:
                    runtime.lease_lost()

    async def _watch(self) -> None:
        """Claim the leases whose holder died, twice a lease period: their replies end
        ``interrupted`` and their turns are answered here."""
        assert self.cluster is not None
        while True:
            await asyncio.sleep(self.cluster.leases.seconds / 2)
            try:
                await self.claim_expired()
            except (RedisError, OSError) as error:
                logger.warning("lease watch failed: %s", error)
            except Exception:
                logger.exception("lease watch failed")

    async def claim_expired(self) -> list[str]:
        """Take over the conversations whose lease expired unreleased; returns them."""
        assert self.cluster is not None
        claimed = []
        for conversation_id in await self.cluster.leases.expired():
            if conversation_id in self.cluster.leases.held:
                continue  # this process's own, its renewal late
            if not await self.cluster.leases.take(conversation_id):
                continue  # renewed meanwhile, or claimed by another process
            try:
                runtime = await self.runtime(conversation_id)
            except NotFound:
                await self.cluster.leases.release(conversation_id)
                continue
            logger.warning("took over after a lost process", extra={"conversation": runtime.id})
            await runtime.take_over()
            claimed.append(conversation_id)
        return claimed

    async def sweep_once(self, idle_for: timedelta) -> list[Conversation]:
        """Abandon the conversations idle for ``idle_for``; returns them."""
        abandoned = await self.store.conversations.abandon_idle(utcnow() - idle_for)
        for conversation in abandoned:
            runtime = self._runtimes.get(conversation.id)
            if runtime is not None:
                await runtime.abandoned(conversation)
        return abandoned


def _configured_ids(config: AssessmentConfig) -> set[str]:
    """The ids of the items the instructor configured (generated ones come after)."""
    ids = set()
    for field in ("items", "cards", "objectives"):
        listed = (config.ai_config or {}).get(field)
        for item in listed if isinstance(listed, list) else ():
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                ids.add(item["id"])
    return ids
