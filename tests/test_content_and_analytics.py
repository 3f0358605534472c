"""Generated content cached by hash, approval, and analytics snapshots."""

from __future__ import annotations

import pytest

from persistence.errors import ConstraintViolation, NotFound, OtherTenant
from persistence.records import AssessmentConfig, Tenant
from persistence.store import Store


async def test_put_caches_by_hash_unapproved(store: Store, assessment: AssessmentConfig) -> None:
    """Content is stored unapproved; a second put of the hash returns the cached row."""
    items = [{"id": "g1", "text": "___ makes sugar", "answers": ["photosynthesis"]}]
    stored = await store.content.put(assessment.id, "h1", "fill_blank_items", items)
    assert not stored.approved and stored.content == items
    again = await store.content.put(assessment.id, "h1", "fill_blank_items", [{"other": 1}])
    assert again.id == stored.id and again.content == items
    assert await store.content.get(assessment.id, "missing") is None


async def test_only_approved_content_is_listed_for_students(
    store: Store, assessment: AssessmentConfig
) -> None:
    """Approval flips the flag; the approved listing shows only approved rows."""
    await store.content.put(assessment.id, "h1", "cards", [1])
    await store.content.put(assessment.id, "h2", "cards", [2])
    approved = await store.content.set_approved(assessment.id, "h2")
    assert approved.approved
    assert [c.content_hash for c in await store.content.list(assessment.id)] == ["h1", "h2"]
    listed = await store.content.list(assessment.id, approved_only=True)
    assert [c.content_hash for c in listed] == ["h2"]
    await store.content.set_approved(assessment.id, "h2", approved=False)
    assert await store.content.list(assessment.id, approved_only=True) == []


async def test_approving_unknown_content(store: Store, assessment: AssessmentConfig) -> None:
    """Approving a hash that is not cached raises NotFound."""
    with pytest.raises(NotFound, match="no generated content nope"):
        await store.content.set_approved(assessment.id, "nope")


async def test_content_of_an_unknown_assessment_is_refused(store: Store) -> None:
    """Content must belong to an existing assessment."""
    with pytest.raises(ConstraintViolation, match="refused by the database"):
        await store.content.put("missing", "h1", "cards", [])


async def test_assessment_upsert_keeps_id_and_creator(store: Store) -> None:
    """Upserting a resource link again replaces its settings but keeps id and creator."""
    tenant = Tenant("p", "k1")
    first = await store.assessments.upsert(
        tenant=tenant,
        resource_link_id="r",
        assessment_type="chat",
        grading_schema="mastery",
        ai_config={"objectives": []},
        created_by="alice",
    )
    second = await store.assessments.upsert(
        tenant=tenant,
        resource_link_id="r",
        assessment_type="flashcards",
        grading_schema="percentage",
        ai_config={"cards": []},
        created_by="bob",
        mastery_threshold=60,
    )
    assert second.id == first.id and second.created_by == "alice"
    assert (second.assessment_type, second.grading_schema) == ("flashcards", "percentage")
    assert second.mastery_threshold == 60 and second.ai_config == {"cards": []}
    assert await store.assessments.get(first.id, tenant=tenant) == second
    assert await store.assessments.get(first.id, tenant=None) == second
    assert await store.assessments.find("p", "r") == second
    assert await store.assessments.find("p", "other") is None
    with pytest.raises(NotFound):
        await store.assessments.get("nope", tenant=None)


async def test_an_assessment_belongs_to_its_course(store: Store) -> None:
    """Another course of the platform neither reads nor overwrites it; the same course id
    on another platform is another tenant."""
    owner = Tenant("p", "k1")
    config = await store.assessments.upsert(
        tenant=owner,
        resource_link_id="r",
        assessment_type="chat",
        grading_schema="mastery",
        ai_config={"objectives": []},
        created_by="alice",
    )
    assert config.tenant == owner
    for stranger in (Tenant("p", "k2"), Tenant("q", "k1")):
        with pytest.raises(NotFound):
            await store.assessments.get(config.id, tenant=stranger)
    with pytest.raises(OtherTenant):
        await store.assessments.upsert(
            tenant=Tenant("p", "k2"),
            resource_link_id="r",
            assessment_type="fill_blank",
            grading_schema="mastery",
            ai_config={"items": []},
            created_by="mallory",
        )
    assert await store.assessments.get(config.id, tenant=owner) == config


COURSE_1 = Tenant("lms", "course-1")


async def test_snapshots_are_kept_as_history_newest_first(store: Store) -> None:
    """Each snapshot is kept; listing filters by tenant and assignment and puts the newest
    first."""
    await store.analytics.write(COURSE_1, {"attempts": 1}, assignment_id="a")
    await store.analytics.write(COURSE_1, {"attempts": 2}, assignment_id="a")
    await store.analytics.write(COURSE_1, {"attempts": 9}, assignment_id="b")
    await store.analytics.write(Tenant("lms", "course-2"), {"attempts": 5})
    await store.analytics.write(Tenant("other-lms", "course-1"), {"attempts": 7})
    history = await store.analytics.list(COURSE_1, "a")
    assert [s.snapshot_data["attempts"] for s in history] == [2, 1]
    assert len(await store.analytics.list(COURSE_1)) == 3
    assert len(await store.analytics.list(COURSE_1, limit=1)) == 1
