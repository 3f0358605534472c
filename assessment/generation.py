"""Items and cards generated from an instructor's source text.

Two kinds: ``fill_blank`` items (a sentence with a key term blanked out) and
``flashcards`` (the front is a definition, the back the term it defines, so the
student types the term). The built-in generator works offline:

- cloze: each sentence's key term is the first of the instructor's ``terms`` it holds,
  else a term in ``**bold**``, else its rarest word of seven or more letters (proper
  nouns preferred): a subject's term ("photosynthesis"), not an everyday word
  ("material", "different"; none as common as ``GENERIC_ZIPF`` is ever chosen).
- cards: sentences of the form "X is/are (a|an|the) Y", "X means Y", "X refers to Y" or
  "X: Y", with X of at most four words.

An answer never starts with an article ("the nucleus" is asked as "nucleus").

With an LLM configured, the LLM writes them instead (as JSON, checked like a
configuration; unusable output falls back to the built-in generator). Results are
cached by a hash of the source and the parameters, and start unapproved: students only
ever see approved content (:func:`approved_items`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

from assessment.answers.lexicon import zipf
from assessment.keypoints import content_words
from assessment.llm import ChatClient, LLMError
from assessment.spec import AssessmentSpec, InvalidConfig

__all__ = [
    "FIELDS",
    "CachedContent",
    "ContentCache",
    "GeneratedKind",
    "approved_items",
    "builtin_cards",
    "builtin_cloze",
    "content_hash",
    "generate",
]

logger = logging.getLogger(__name__)

GeneratedKind = Literal["fill_blank", "flashcards"]
# Where each kind keeps what was generated: {"items": [...]} or {"cards": [...]}.
FIELDS: dict[str, str] = {"fill_blank": "items", "flashcards": "cards"}
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)
# Words at least this common in English (zipf) are everyday words, never a key term:
# "material" 4.9, "different" 5.8; "photosynthesis" is 3.0, "chlorophyll" 2.7.
GENERIC_ZIPF = 4.5
_DEFINITION = re.compile(
    r"^\s*(?P<term>[\w'\u2019\- ]{1,60}?)\s*"
    r"(?:\b(?:is|are)\s+(?:a|an|the)\b|\bmeans\b|\brefers to\b|:)"
    r"\s*(?P<definition>.+?)[.!?]?\s*$",
    re.IGNORECASE,
)


class CachedContent(Protocol):
    """A cached generation (``persistence.records.GeneratedContent`` is one)."""

    @property
    def content_hash(self) -> str: ...

    @property
    def content(self) -> Any: ...

    @property
    def approved(self) -> bool: ...

    @property
    def content_type(self) -> str | None: ...


class ContentCache(Protocol):
    """Where generations are cached (``persistence.content.ContentStore`` is one)."""

    async def get(self, assessment_config_id: str, content_hash: str) -> CachedContent | None: ...

    async def put(
        self, assessment_config_id: str, content_hash: str, content_type: str, content: Any
    ) -> CachedContent: ...


def content_hash(source: str, parameters: Mapping[str, Any]) -> str:
    """The cache key of content generated from ``source`` with ``parameters``."""
    canonical = json.dumps({"source": source, "parameters": parameters}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def generate(
    cache: ContentCache,
    assessment_config_id: str,
    source: str,
    kind: GeneratedKind,
    *,
    count: int = 10,
    terms: Sequence[str] = (),
    llm: ChatClient | None = None,
) -> CachedContent:
    """Generated content for ``source``, from the cache when it holds the same request.

    The stored content is ``{"items": [...]}`` or ``{"cards": [...]}`` with a
    ``"generator"`` of ``builtin`` or ``llm``; its content type is the kind.
    """
    parameters: dict[str, Any] = {"kind": kind, "count": count, "terms": list(terms)}
    if llm is not None:
        parameters["model"] = llm.settings.model
    key = content_hash(source, parameters)
    cached = await cache.get(assessment_config_id, key)
    if cached is not None:
        return cached
    generated = await _llm_generate(llm, source, kind, count) if llm is not None else None
    generator = "llm" if generated is not None else "builtin"
    if generated is None:
        # In a thread: the built-in generator is pure CPU, up to a second on the largest
        # source, and the loop serves every socket meanwhile.
        if kind == "fill_blank":
            generated = await asyncio.to_thread(builtin_cloze, source, count, terms)
        else:
            generated = await asyncio.to_thread(builtin_cards, source, count)
    content = {FIELDS[kind]: generated, "generator": generator}
    return await cache.put(assessment_config_id, key, kind, content)


def approved_items(
    contents: Iterable[CachedContent], assessment_type: str, *, taken: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The items of the approved contents that fit an assessment of this type, each id
    once, and none with an id in ``taken`` (the configured items'): the same sentence
    in two sources makes the same item, and one content must not stop the assessment."""
    field = FIELDS.get(assessment_type)
    seen: set[object] = set(taken)
    items: list[dict[str, Any]] = []
    for content in contents:
        if content.approved and content.content_type == assessment_type and field:
            for item in content.content.get(field, []):
                if isinstance(item, dict) and item.get("id") not in seen:
                    seen.add(item.get("id"))
                    items.append(item)
    return items


def builtin_cloze(source: str, count: int = 10, terms: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Fill-blank items: sentences of ``source`` with their key term blanked out."""
    items: list[dict[str, Any]] = []
    for sentence in _sentences(source):
        term = _key_term(sentence, terms)
        if term is None:
            continue
        plain = _BOLD.sub(r"\1", sentence)
        text = re.sub(rf"\b{re.escape(term)}\b", "___", plain, count=1)
        item_id = _item_id(text, term)
        if any(item["id"] == item_id for item in items):
            continue  # the same sentence twice
        items.append({"id": item_id, "text": text, "answers": [term]})
        if len(items) == count:
            break
    return items


def builtin_cards(source: str, count: int = 10) -> list[dict[str, Any]]:
    """Flashcards from the definitions in ``source``: front the definition, back the term."""
    cards: list[dict[str, Any]] = []
    for sentence in _sentences(_BOLD.sub(r"\1", source)):
        match = _DEFINITION.match(sentence)
        if match is None or len(match["term"].split()) > 4:
            continue
        term = _ARTICLE.sub("", match["term"].strip())
        definition = _ARTICLE.sub("", match["definition"].strip())
        if not content_words(definition):
            continue
        front = definition[0].upper() + definition[1:]
        card_id = _item_id(front, term)
        if any(card["id"] == card_id for card in cards):
            continue
        cards.append({"id": card_id, "front": front, "back": term})
        if len(cards) == count:
            break
    return cards


async def _llm_generate(
    llm: ChatClient, source: str, kind: GeneratedKind, count: int
) -> list[dict[str, Any]] | None:
    shape = (
        '{"items": [{"text": "a sentence with the key term replaced by ___", "answers": ["term"]}]}'
        if kind == "fill_blank"
        else '{"cards": [{"front": "a definition", "back": "the term it defines"}]}'
    )
    messages = [
        {
            "role": "system",
            "content": f"From the course material, write up to {count} study items. Reply with"
            f" only JSON shaped like {shape}.",
        },
        {"role": "user", "content": source},
    ]
    try:
        reply = json.loads(await llm.complete(messages, json_object=True))
        raw = [_without_articles(item) for item in reply[FIELDS[kind]]]
        items = [dict(item, id=_item_id(json.dumps(item, sort_keys=True), kind)) for item in raw]
        AssessmentSpec.from_config(
            assessment_type=kind,
            grading_schema="mastery",
            mastery_threshold=80,
            ai_config={FIELDS[kind]: items},
        )
    except (LLMError, ValueError, LookupError, TypeError, InvalidConfig) as error:
        logger.warning("LLM generation unusable (%s); using the built-in generator", error)
        return None
    return items[:count]


def _without_articles(item: Any) -> Any:
    """An LLM's item with no leading article on its answers."""
    if not isinstance(item, dict):
        return item
    fixed = dict(item)
    if isinstance(fixed.get("back"), str):
        fixed["back"] = _ARTICLE.sub("", fixed["back"].strip())
    if isinstance(fixed.get("answers"), list):
        fixed["answers"] = [
            _ARTICLE.sub("", a.strip()) if isinstance(a, str) else a for a in fixed["answers"]
        ]
    return fixed


def _sentences(source: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(source) if len(s.split()) >= 4]


def _key_term(sentence: str, terms: Sequence[str]) -> str | None:
    for term in terms:
        if found := re.search(rf"\b{re.escape(term)}\b", sentence, re.IGNORECASE):
            return found.group(0)
    if bold := _BOLD.search(sentence):
        return _ARTICLE.sub("", bold.group(1).strip()) or None
    words = re.findall(r"[A-Za-z][A-Za-z\-]+", sentence)
    candidates = [
        (word[0].isupper() and position > 0, -zipf(word.casefold()), len(word), word)
        for position, word in enumerate(words)
        if len(word) >= 7
        and content_words(word)
        and zipf(word.casefold()) < GENERIC_ZIPF
        and not word.endswith("ly")  # an adverb ("differently") is never the term
    ]
    return max(candidates)[3] if candidates else None


def _item_id(text: str, answer: str) -> str:
    return "gen-" + hashlib.sha256(f"{text}\0{answer}".encode()).hexdigest()[:12]
