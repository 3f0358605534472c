"""Demo mode: one assessment of each type, so a fresh server has something to try."""

from __future__ import annotations

from typing import Any

from persistence.records import AssessmentConfig, Tenant
from persistence.store import Store

__all__ = ["DEMO_COURSE", "DEMO_PLATFORM", "seed_demo"]

DEMO_PLATFORM = "demo"
DEMO_COURSE = "demo-course"

DEMOS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "demo-fill-blank": (
        "fill_blank",
        "mastery",
        {
            "title": "World geography",
            "items": [
                {"id": "capital", "text": "The capital of France is ___.", "answers": ["Paris"]},
                {
                    "id": "ocean",
                    "text": "The largest ocean on Earth is the ___ Ocean.",
                    "answers": ["Pacific"],
                    "hint": "It lies between Asia and the Americas.",
                },
                {
                    "id": "river",
                    "text": "The longest river in Africa is the ___.",
                    "answers": ["Nile"],
                },
            ],
        },
    ),
    "demo-flashcards": (
        "flashcards",
        "percentage",
        {
            "title": "Chemical formulas",
            "cards": [
                {"id": "water", "front": "H₂O", "back": "water"},
                {"id": "salt", "front": "NaCl", "back": "salt", "accept": ["sodium chloride"]},
                {"id": "co2", "front": "CO₂", "back": "carbon dioxide"},
            ],
        },
    ),
    "demo-chat": (
        "chat",
        "mastery",
        {
            "title": "Photosynthesis",
            "objectives": [
                {
                    "id": "inputs",
                    "question": "What does a plant need for photosynthesis, and what does it make?",
                    "key_points": [
                        "uses light energy",
                        "takes in carbon dioxide",
                        {"text": "produces glucose", "accept": ["makes sugar"]},
                    ],
                    "hints": [
                        "Where does the energy come from?",
                        "Which gas do leaves take in from the air?",
                    ],
                },
                {
                    "id": "green",
                    "question": "Why are most leaves green?",
                    "key_points": ["chlorophyll reflects green light"],
                    "hints": ["Which pigment captures light in the leaf?"],
                },
            ],
        },
    ),
}


async def seed_demo(store: Store) -> list[AssessmentConfig]:
    """Create (or refresh) the demo assessments; returns them."""
    seeded = []
    for link, (kind, schema, ai_config) in DEMOS.items():
        seeded.append(
            await store.assessments.upsert(
                tenant=Tenant(DEMO_PLATFORM, DEMO_COURSE),
                resource_link_id=link,
                assessment_type=kind,
                grading_schema=schema,
                ai_config=ai_config,
                created_by="demo",
            )
        )
    return seeded
