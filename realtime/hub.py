"""The hub: every live conversation of this process, and the tasks that serve them.

Conversation runtimes are loaded on demand (when a conversation is created, or a socket
joins it) and dropped when they have no socket, no job and no reply. The hub owns their
worker tasks, the idle sweeper, and the LLM HTTP client, and shuts them down in order.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import httpx

from assessment.generation import approved_items
from assessment.llm import ChatClient
from assessment.spec import AssessmentSpec
from assessment.tutor import Tutor
from persistence.records import AssessmentConfig, Conversation
from persistence.store import Store
from persistence.values import utcnow
from protocol.errors import CLOSE_SERVER_RESTART
from realtime.broker import Broker
from realtime.conversation import ConversationRuntime
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
    """

    def __init__(self, store: Store, broker: Broker, settings: Settings, metrics: Metrics) -> None:
        self.store = store
        self.broker = broker
        self.settings = settings
        self.metrics = metrics
        self._runtimes: dict[str, ConversationRuntime] = {}
        self._loading: dict[str, asyncio.Task[ConversationRuntime]] = {}
        self._http = httpx.AsyncClient()
        self._sweeper: asyncio.Task[None] | None = None
        self._draining = False
        self._tutors: dict[str, tuple[datetime, Tutor]] = {}
        self._configs: dict[str, AssessmentConfig] = {}

    async def start(self) -> None:
        """Recover from a crash and start the idle sweeper."""
        interrupted = await self.store.conversations.interrupt_streaming()
        if interrupted:
            logger.warning("marked %d replies interrupted by a previous stop", interrupted)
        self._sweeper = asyncio.create_task(self._sweep(), name="idle-sweeper")

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
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        workers = [rt.worker for rt in self._runtimes.values() if rt.worker is not None]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
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
        if (runtime := self._runtimes.get(conversation_id)) is not None:
            return runtime
        loading = self._loading.get(conversation_id)
        if loading is None:
            loading = asyncio.create_task(self._load(conversation_id))
            self._loading[conversation_id] = loading
            loading.add_done_callback(lambda _: self._loading.pop(conversation_id, None))
        return await asyncio.shield(loading)

    def release(self, runtime: ConversationRuntime) -> None:
        """Drop the runtime if nothing uses it any more."""
        if runtime.idle and self._runtimes.get(runtime.id) is runtime:
            del self._runtimes[runtime.id]
            runtime.close()

    async def _load(self, conversation_id: str) -> ConversationRuntime:
        conversation = await self.store.conversations.get(conversation_id)
        config = self._shared(await self.store.assessments.get(conversation.assessment_config_id))
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
            extra_items=approved_items(contents, config.assessment_type),
        )
        llm = None if spec.llm is None else ChatClient(spec.llm, http=self._http)
        return Tutor(spec, llm=llm)

    async def _sweep(self) -> None:
        """Abandon conversations idle for longer than the setting, every sweep period."""
        idle_for = timedelta(seconds=self.settings.idle_abandon_seconds)
        while True:
            await asyncio.sleep(self.settings.sweep_seconds)
            try:
                await self.sweep_once(idle_for)
            except Exception:
                logger.exception("idle sweep failed")

    async def sweep_once(self, idle_for: timedelta) -> list[Conversation]:
        """Abandon the conversations idle for ``idle_for``; returns them."""
        abandoned = await self.store.conversations.abandon_idle(utcnow() - idle_for)
        for conversation in abandoned:
            runtime = self._runtimes.get(conversation.id)
            if runtime is not None:
                await runtime.abandoned(conversation)
        return abandoned
