"""The grade of one student turn, as stored in the turn's metadata."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["Evaluation", "Verdict"]

Verdict = Literal["correct", "partial", "wrong"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """How a student turn answered the item it was given.

    Attributes:
        item_id: the item (fill-blank item, card or objective) being answered.
        verdict: correct, partial (some key points) or wrong.
        credit: 0-1, this attempt's share of the item; for chat, the share of key points
            covered so far on this item, this answer included.
        attempt: 1 for the first try at the item in this round, then 2, ...
        round: 0, then 1, ... each time the item comes back later in the session.
        hint_level: how many hints the student had been given on the item this round.
        missed: what is still missing: key points for chat, the item id otherwise.
        covered: chat: indexes of the key points covered so far on this item.
        substantive: the turn is a real attempt (not empty, repeated or trivially short);
            only substantive turns count under the engagement schema.
        typo: the answer was accepted with a forgiven typo.
        graded_by: ``builtin`` or ``llm``.
    """

    item_id: str
    verdict: Verdict
    credit: float
    attempt: int
    round: int
    hint_level: int
    missed: tuple[str, ...] = ()
    covered: tuple[int, ...] = ()
    substantive: bool = True
    typo: bool = False
    graded_by: str = "builtin"

    def to_metadata(self) -> dict[str, Any]:
        """The JSON object stored under the turn's ``metadata["evaluation"]``."""
        # Field by field: dataclasses.asdict deep-copies recursively, at several times
        # the cost, once per graded turn.
        value = {field: getattr(self, field) for field in _FIELDS}
        value["missed"] = list(self.missed)
        value["covered"] = list(self.covered)
        return value

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> Evaluation | None:
        """The evaluation stored in a turn's metadata, if it has one."""
        stored = (metadata or {}).get("evaluation")
        if not isinstance(stored, Mapping):
            return None
        values = {k: v for k, v in stored.items() if k in _FIELDS}
        values["missed"] = tuple(values.get("missed", ()))
        values["covered"] = tuple(values.get("covered", ()))
        return cls(**values)


_FIELDS = tuple(field.name for field in dataclasses.fields(Evaluation))
