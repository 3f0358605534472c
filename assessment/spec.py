"""An assessment's configuration, parsed and checked: what the engines work from.

``ai_config`` by assessment type (every field not marked optional is required):

- ``fill_blank``: ``items: [{id, text, answers: [str, ...], hint?, reject?: [str, ...],
  case_sensitive?, variants?}]``. ``text`` holds the blank as ``___``. ``reject`` lists
  answers that are wrong even though they are a typo away from a right one.
- ``flashcards``: ``cards: [{id, front, back, accept?: [str, ...], reject?: [...],
  case_sensitive?, variants?}]``. The student types the back; ``accept`` adds other right
  answers.
- ``chat``: ``objectives: [{id, question, key_points: [str | {text, accept?: [str]}],
  hints?: [str, ...], explanation?, variants?}]``. A key point's ``accept`` lists other
  phrasings. ``explanation`` is what the tutor says once the student has used their
  attempts (default: the key points they missed).

``case_sensitive`` (true or false) overrides the detection of answers whose case carries
meaning (formulas, element symbols, units: ``assessment.answers.formulas``).
``variants`` are other versions of the item that test the same skill (another sentence,
card or question, with its own answers or key points; every field of the item but
``id`` and ``variants``). Once the tutor has given an item's answer away, under
``mastery`` the item comes back only as its next variant, and without one it stays not
mastered: repeating what the tutor said earns nothing. Hints never hold an accepted
answer or a key point: such a configuration is refused.

Common optional fields: ``title`` (used in the greeting); ``max_attempts`` (tries per
item before the tutor explains and moves on, default 2; for flashcards, how many times
a missed card is shown in a session); ``retry_rounds`` (under ``mastery``, how many
times an item missed that way comes back later, default 1); ``min_words`` (chat: fewer
words than this is not a substantive answer, default 3); ``llm`` (chat only: see
:class:`LLMChoice`); ``grade_each_turn`` (placed from an LMS: send the score to the
gradebook after every graded turn, marked in progress, not only at completion).

The attempts policy (optional): ``attempts_allowed`` (how many attempts of the whole
assessment a student may make, default the server's limit) and ``new_attempt``
(``on_request``, the default: a finished attempt stays open to read, with its result,
until the student asks for a new one; ``automatic``: opening the assessment after a
finished attempt starts the next one while attempts remain).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from assessment.answers.text import normalize, words

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
NewAttempt = Literal["on_request", "automatic"]


class InvalidConfig(ValueError):
    """The configuration is unusable; the message names the field, e.g. ``items[2].text``."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FillBlankItem:
    id: str
    text: str
    answers: tuple[str, ...]
    hint: str | None = None
    reject: tuple[str, ...] = ()
    case_sensitive: bool | None = None
    variants: tuple[FillBlankItem, ...] = ()

    @property
    def prompt(self) -> str:
        """What the student is shown: the sentence with its blank."""
        return self.text


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Flashcard:
    id: str
    front: str
    back: str
    accept: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()
    case_sensitive: bool | None = None
    variants: tuple[Flashcard, ...] = ()

    @property
    def prompt(self) -> str:
        """What the student is shown: the card's front."""
        return self.front

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
    variants: tuple[Objective, ...] = ()

    @property
    def prompt(self) -> str:
        """What the student is shown: the question."""
        return self.question


Item = FillBlankItem | Flashcard | Objective
_Item = TypeVar("_Item", FillBlankItem, Flashcard, Objective)


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
    grade_each_turn: bool = False
    attempts_allowed: int | None = None
    new_attempt: NewAttempt = "on_request"

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
            grade_each_turn=_flag(ai_config, "grade_each_turn"),
            attempts_allowed=(
                None
                if ai_config.get("attempts_allowed") is None
                else _count(ai_config, "attempts_allowed", 1, low=1)
            ),
            new_attempt=_one_of(
                "ai_config.new_attempt",
                ai_config.get("new_attempt", "on_request"),
                ("on_request", "automatic"),
            ),
        )


def _fill_blank(raw: Mapping[str, Any], where: str) -> FillBlankItem:
    text = _text(raw, "text", where)
    if "___" not in text:
        raise InvalidConfig(f"ai_config.{where}.text: must hold the blank as ___")
    answers = _texts(raw, "answers", where, required=True)
    hint = _optional_text(raw, "hint", where)
    _no_answer_in(hint, answers, f"{where}.hint")
    return FillBlankItem(
        id=_text(raw, "id", where),
        text=text,
        answers=answers,
        hint=hint,
        reject=_texts(raw, "reject", where),
        case_sensitive=_optional_flag(raw, "case_sensitive", where),
        variants=_variants(raw, where, _fill_blank),
    )


def _flashcard(raw: Mapping[str, Any], where: str) -> Flashcard:
    return Flashcard(
        id=_text(raw, "id", where),
        front=_text(raw, "front", where),
        back=_text(raw, "back", where),
        accept=_texts(raw, "accept", where),
        reject=_texts(raw, "reject", where),
        case_sensitive=_optional_flag(raw, "case_sensitive", where),
        variants=_variants(raw, where, _flashcard),
    )


def _objective(raw: Mapping[str, Any], where: str) -> Objective:
    points = _list(raw, "key_points", required=True, where=where)
    if not points:
        raise InvalidConfig(f"ai_config.{where}.key_points: must not be empty")
    key_points = tuple(_key_point(p, f"{where}.key_points[{i}]") for i, p in enumerate(points))
    hints = _texts(raw, "hints", where)
    phrasings = [phrasing for point in key_points for phrasing in point.phrasings]
    for index, hint in enumerate(hints):
        _no_answer_in(hint, phrasings, f"{where}.hints[{index}]")
    return Objective(
        id=_text(raw, "id", where),
        question=_text(raw, "question", where),
        key_points=key_points,
        hints=hints,
        explanation=_optional_text(raw, "explanation", where),
        variants=_variants(raw, where, _objective),
    )


def _variants(
    raw: Mapping[str, Any], where: str, parse: Callable[[Mapping[str, Any], str], _Item]
) -> tuple[_Item, ...]:
    """The item's variants, each parsed as an item of its own with the item's id."""
    variants: list[_Item] = []
    for index, variant in enumerate(_list(raw, "variants", where=where)):
        place = f"{where}.variants[{index}]"
        fields = _object(variant, place)
        if "variants" in fields or "id" in fields:
            raise InvalidConfig(f"ai_config.{place}: a variant has no id or variants of its own")
        variants.append(parse({**fields, "id": raw.get("id")}, place))
    return tuple(variants)


def _no_answer_in(hint: str | None, answers: Sequence[str], where: str) -> None:
    """Refuse a hint that holds an answer: a hint must not give the answer away."""
    if hint is None:
        return
    said = f" {' '.join(words(normalize(hint)))} "
    for answer in answers:
        answer_words = " ".join(words(normalize(answer)))
        if answer_words and f" {answer_words} " in said:
            raise InvalidConfig(f"ai_config.{where}: must not hold the answer ({answer!r})")


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


def _flag(ai_config: Mapping[str, Any], key: str) -> bool:
    value = ai_config.get(key, False)
    if not isinstance(value, bool):
        raise InvalidConfig(f"ai_config.{key}: must be true or false")
    return value


def _optional_flag(raw: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, bool):
        raise InvalidConfig(f"ai_config.{where}.{key}: must be true or false")
    return value


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
