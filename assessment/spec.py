"""An assessment's configuration, parsed and checked: what the engines work from.

``ai_config`` by assessment type (every field not marked optional is required):

- ``fill_blank``: ``items: [{id, text, answers: [str, ...], hint?, reject?: [str, ...]}]``.
  ``text`` holds the blank as ``___``. ``reject`` lists answers that are wrong even though
  they are a typo away from a right one.
- ``flashcards``: ``cards: [{id, front, back, accept?: [str, ...], reject?: [...]}]``. The
  student types the back; ``accept`` adds other right answers.
- ``chat``: ``objectives: [{id, question, key_points: [str | {text, accept?: [str]}],
  hints?: [str, ...], explanation?}]``. A key point's ``accept`` lists other phrasings.
  ``explanation`` is what the tutor says once the student has used their attempts
  (default: the key points they missed).

Common optional fields: ``title`` (used in the greeting); ``max_attempts`` (tries per
item before the tutor explains and moves on, default 2; for flashcards, how many times
a missed card is shown in a session); ``retry_rounds`` (under ``mastery``, how many
times an item missed that way comes back later, default 1); ``min_words`` (chat: fewer
words than this is not a substantive answer, default 3); ``llm`` (chat only: see
:class:`LLMChoice`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

__all__ = [
    "AssessmentSpec",
    "FillBlankItem",
    "Flashcard",
    "InvalidConfig",
    "Item",
    "KeyPoint",
    "LLMChoice",
    "Objective",
]

AssessmentType = Literal["chat", "flashcards", "fill_blank"]
GradingSchema = Literal["mastery", "percentage", "engagement"]


class InvalidConfig(ValueError):
    """The configuration is unusable; the message names the field, e.g. ``items[2].text``."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FillBlankItem:
    id: str
    text: str
    answers: tuple[str, ...]
    hint: str | None = None
    reject: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Flashcard:
    id: str
    front: str
    back: str
    accept: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()

    @property
    def answers(self) -> tuple[str, ...]:
        """Every answer that counts as right."""
        return (self.back, *self.accept)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyPoint:
    text: str
    accept: tuple[str, ...] = ()

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The key point and its other accepted phrasings."""
        return (self.text, *self.accept)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Objective:
    id: str
    question: str
    key_points: tuple[KeyPoint, ...]
    hints: tuple[str, ...] = ()
    explanation: str | None = None


Item = FillBlankItem | Flashcard | Objective


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LLMChoice:
    """Which of the operator's LLM providers a chat assessment speaks through
    (``ai_config.llm``): by name, never by an endpoint or a key, which are the
    operator's configuration.

    Attributes:
        provider: the provider's name in the server's settings.
        model: one of that provider's models.
        temperature: sampling temperature of the tutor's replies.
        max_tokens: the longest reply.
    """

    provider: str
    model: str
    temperature: float = 0.3
    max_tokens: int = 400


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentSpec:
    """Everything an engine needs to know about one assessment."""

    assessment_type: AssessmentType
    grading_schema: GradingSchema
    mastery_threshold: float
    items: tuple[Item, ...]
    title: str | None = None
    max_attempts: int = 2
    retry_rounds: int = 1
    min_words: int = 3
    llm: LLMChoice | None = None

    @classmethod
    def from_config(
        cls,
        *,
        assessment_type: str,
        grading_schema: str,
        mastery_threshold: float,
        ai_config: Mapping[str, Any],
        extra_items: Sequence[Mapping[str, Any]] = (),
    ) -> AssessmentSpec:
        """Parse and check a stored configuration.

        Args:
            extra_items: approved generated content to add after the configured items.

        Raises:
            InvalidConfig: naming the first field that is wrong.
        """
        kind = _one_of("assessment_type", assessment_type, ("chat", "flashcards", "fill_blank"))
        schema = _one_of("grading_schema", grading_schema, ("mastery", "percentage", "engagement"))
        if not isinstance(ai_config, Mapping):
            raise InvalidConfig("ai_config: must be an object")
        field, parse = _ITEM_PARSERS[kind]
        listed = _list(ai_config, field, required=True)
        raw_items = [*listed, *extra_items]
        items = tuple(
            parse(_object(raw, f"{field}[{i}]"), f"{field}[{i}]") for i, raw in enumerate(raw_items)
        )
        if not items:
            raise InvalidConfig(f"ai_config.{field}: must not be empty")
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise InvalidConfig(f"ai_config.{field}: ids must be unique")
        llm = ai_config.get("llm")
        if llm is not None and kind != "chat":
            raise InvalidConfig("ai_config.llm: only chat assessments speak through an LLM")
        return cls(
            assessment_type=kind,
            grading_schema=schema,
            mastery_threshold=_number("mastery_threshold", mastery_threshold, 0, 100),
            items=items,
            title=_optional_text(ai_config, "title", "ai_config"),
            max_attempts=_count(ai_config, "max_attempts", 2, low=1),
            retry_rounds=_count(ai_config, "retry_rounds", 1, low=0),
            min_words=_count(ai_config, "min_words", 3, low=1),
            llm=None if llm is None else _llm(_object(llm, "llm"), "ai_config.llm"),
        )


def _fill_blank(raw: Mapping[str, Any], where: str) -> FillBlankItem:
    text = _text(raw, "text", where)
    if "___" not in text:
        raise InvalidConfig(f"ai_config.{where}.text: must hold the blank as ___")
    return FillBlankItem(
        id=_text(raw, "id", where),
        text=text,
        answers=_texts(raw, "answers", where, required=True),
        hint=_optional_text(raw, "hint", where),
        reject=_texts(raw, "reject", where),
    )


def _flashcard(raw: Mapping[str, Any], where: str) -> Flashcard:
    return Flashcard(
        id=_text(raw, "id", where),
        front=_text(raw, "front", where),
        back=_text(raw, "back", where),
        accept=_texts(raw, "accept", where),
        reject=_texts(raw, "reject", where),
    )


def _objective(raw: Mapping[str, Any], where: str) -> Objective:
    points = _list(raw, "key_points", required=True, where=where)
    if not points:
        raise InvalidConfig(f"ai_config.{where}.key_points: must not be empty")
    return Objective(
        id=_text(raw, "id", where),
        question=_text(raw, "question", where),
        key_points=tuple(_key_point(p, f"{where}.key_points[{i}]") for i, p in enumerate(points)),
        hints=_texts(raw, "hints", where),
        explanation=_optional_text(raw, "explanation", where),
    )


def _key_point(raw: Any, where: str) -> KeyPoint:
    if isinstance(raw, str) and raw.strip():
        return KeyPoint(text=raw)
    point = _object(raw, where)
    return KeyPoint(text=_text(point, "text", where), accept=_texts(point, "accept", where))


# Fields an instructor may set in ``ai_config.llm``; where a request goes, with which key
# and for how long it may wait, are the operator's.
_LLM_FIELDS = ("provider", "model", "temperature", "max_tokens")
# A tutor's turn is a few sentences; every reply costs the operator's provider.
MAX_REPLY_TOKENS = 4096


def _llm(raw: Mapping[str, Any], where: str) -> LLMChoice:
    for key in raw:
        if key not in _LLM_FIELDS:
            raise InvalidConfig(
                f"{where}.{key}: not a field of an assessment; endpoints, keys and timeouts "
                "are the operator's provider settings (choose one by name with provider)"
            )
    defaults = LLMChoice(provider="", model="")
    choice = LLMChoice(
        provider=_text(raw, "provider", where),
        model=_text(raw, "model", where),
        temperature=_number(
            f"{where}.temperature", raw.get("temperature", defaults.temperature), 0, 2
        ),
        max_tokens=_count(raw, "max_tokens", defaults.max_tokens, low=1, where=where),
    )
    if choice.max_tokens > MAX_REPLY_TOKENS:
        raise InvalidConfig(f"{where}.max_tokens: must be at most {MAX_REPLY_TOKENS}")
    return choice


_ITEM_PARSERS: dict[str, tuple[str, Callable[[Mapping[str, Any], str], Item]]] = {
    "fill_blank": ("items", _fill_blank),
    "flashcards": ("cards", _flashcard),
    "chat": ("objectives", _objective),
}


def _one_of(field: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise InvalidConfig(f"{field}: must be one of {', '.join(allowed)}")
    return value


def _object(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidConfig(f"ai_config.{where}: must be an object")
    return raw


def _list(
    raw: Mapping[str, Any], key: str, *, required: bool = False, where: str | None = None
) -> list[Any]:
    name = f"ai_config.{where}.{key}" if where else f"ai_config.{key}"
    value = raw.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise InvalidConfig(f"{name}: must be a list")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidConfig(f"ai_config.{where}.{key}: must be a non-empty string")
    return value


def _optional_text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if raw.get(key) is None else _text(raw, key, where)


def _texts(
    raw: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> tuple[str, ...]:
    values = _list(raw, key, required=required, where=where)
    if required and not values:
        raise InvalidConfig(f"ai_config.{where}.{key}: must not be empty")
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise InvalidConfig(f"ai_config.{where}.{key}: must be a list of non-empty strings")
    return tuple(values)


def _number(field: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidConfig(f"{field}: must be a number from {low:g} to {high:g}")
    return float(value)


def _count(
    raw: Mapping[str, Any], key: str, default: int, *, low: int, where: str | None = None
) -> int:
    value = raw.get(key, default)
    name = f"ai_config.{where}.{key}" if where else f"ai_config.{key}"
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidConfig(f"{name}: must be a whole number of at least {low}")
    return value
