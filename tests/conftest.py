"""Fixtures: every store test runs on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from persistence.database import Database
from persistence.records import AssessmentConfig, Conversation, Tenant
from persistence.store import Store, open_store
from tests.assessment.fake_llm import FakeLLM
from tests.databases import drop_run_database, fresh_postgres_url, require_postgres
from tests.realtime.harness import FAKE_MODEL, FAKE_PROVIDER
from tests.servers import serve


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the PostgreSQL database this run made."""
    drop_run_database()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each engine."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'tutorchat.db'}"
    await require_postgres()
    return await fresh_postgres_url()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A connection to the empty database, not migrated."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store with its turn writer running."""
    async with open_store(database_url) as opened:
        yield opened


TENANT = Tenant("https://lms.example.edu", "course-1")


@pytest.fixture
async def assessment(store: Store) -> AssessmentConfig:
    """A fill-blank assessment of course-1 on the LMS."""
    return await store.assessments.upsert(
        tenant=TENANT,
        resource_link_id="link-1",
        assessment_type="fill_blank",
        grading_schema="mastery",
        ai_config={"items": [{"id": "i1", "text": "2 + 2 = ___", "answers": ["4"]}]},
        created_by="instructor-1",
    )


@pytest.fixture
async def conversation(store: Store, assessment: AssessmentConfig) -> Conversation:
    """An active conversation of student-1 in course-1 (on the LMS)."""
    opened, _ = await store.conversations.open_attempt(assessment.id, "student-1", "course-1")
    return opened


@pytest.fixture
def llm_providers(request: pytest.FixtureRequest) -> str:
    """The LLM providers setting of a test's servers: the fake endpoint as the provider
    ``fake`` if the test uses it (``llm``), else none. A plain fixture, so that async
    ones that start servers can depend on it."""
    if "llm" not in request.fixturenames:
        return ""
    endpoint: FakeLLM = request.getfixturevalue("llm")
    provider = {"base_url": endpoint.base_url, "models": [FAKE_MODEL]}
    return orjson.dumps({FAKE_PROVIDER: provider}).decode()


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    """A scripted OpenAI-compatible endpoint on a free port (``llm.base_url``)."""
    endpoint = FakeLLM()
    async with serve(endpoint.app) as url:
        endpoint.base_url = f"{url}/v1"
        yield endpoint
        endpoint.release.set()  # let held streams end so the server can stop
