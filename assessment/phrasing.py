"""What the built-in tutor says: the greeting, each question, feedback and the closing.

The tutor never states an answer before the student has tried it: answers and missing
key points are said only once the item's attempts are used up.
"""

from __future__ import annotations

from assessment.answers.numbers import parse_number
from assessment.evaluation import Evaluation
from assessment.grading import Score, percent
from assessment.session import Outcome, Session
from assessment.spec import FillBlankItem, Flashcard, Item, Objective

__all__ = ["BROKE_OFF", "ask", "closing", "feedback", "greeting"]

BROKE_OFF = "Sorry — my last reply broke off. Here is the question again:"

# One and many: "There is 1 card", "There are 3 cards".
_NOUNS = {
    "fill_blank": ("sentence to complete", "sentences to complete"),
    "flashcards": ("card", "cards"),
    "chat": ("question to talk through", "questions to talk through"),
}


def greeting(session: Session) -> str:
    """The tutor's first words, before the first item."""
    spec = session.spec
    title = f" on **{spec.title}**" if spec.title else ""
    count = len(session.plan)
    one, many = _NOUNS[spec.assessment_type]
    if count == 1:
        return f"Hi! Let's practise{title}. There is 1 {one}."
    return f"Hi! Let's practise{title}. There are {count} {many}."


# What to type, said with each prompt ("Fill in the blank" says it for a blank).
CARD_INSTRUCTION = "Type what is on the back of the card."
QUESTION_INSTRUCTION = "Answer in a sentence or two, in your own words."


def ask(session: Session, item: Item) -> str:
    """The prompt for ``item``: the blank, the card's front, or the question, with what
    to type."""
    record = session.record(item.id)
    again = record.round > 0
    position = f"{session.plan.index(item.id) + 1}/{len(session.plan)}"
    match item:
        case FillBlankItem():
            lead = "Let's try this one again" if again else f"**{position}** Fill in the blank"
            return f"{lead}:\n\n{item.text}"
        case Flashcard():
            lead = "This card again" if again else f"**Card {position}**"
            return f"{lead}: {item.front}\n\n{CARD_INSTRUCTION}"
        case Objective():
            lead = "Let's come back to this question" if again else f"**Question {position}**"
            return f"{lead}: {item.question}\n\n{QUESTION_INSTRUCTION}"


def feedback(session: Session, evaluation: Evaluation, outcome: Outcome) -> str:
    """What the tutor says about the answer it has just graded."""
    item = session.items[evaluation.item_id]
    match outcome:
        case Outcome.MASTERED:
            return _praise(item, evaluation)
        case Outcome.RETRY:
            hint = _hint(item, evaluation)
            return f"{_not_yet(evaluation)} Hint: {hint} Try again:\n\n{ask(session, item)}"
        case Outcome.REQUEUED:
            return f"{_explain(item, evaluation)} We'll come back to this one later."
        case Outcome.MISSED:
            return _explain(item, evaluation)


def closing(score: Score, *, engagement: bool) -> str:
    """The tutor's last words, with the result."""
    if engagement:
        return (
            f"That's everything — thanks for taking part! Participation: "
            f"{percent(score.mastery_score)}."
        )
    verdict = "You passed — well done!" if score.passed else "Keep practising; you can try again."
    return (
        f"That's the end of the assessment. Your score: {percent(score.mastery_score)}. {verdict}"
    )


def _praise(item: Item, evaluation: Evaluation) -> str:
    if isinstance(item, Objective):
        return "Well explained — you covered every key point."
    if evaluation.typo:
        return f"Correct — mind the spelling: **{_answer(item)}**."
    return "Correct!"


def _not_yet(evaluation: Evaluation) -> str:
    if evaluation.verdict == "partial":
        return "Good start — you're on the right track, but something is still missing."
    return "Not quite."


def _hint(item: Item, evaluation: Evaluation) -> str:
    level = evaluation.hint_level  # hints already given this round
    match item:
        case Objective():
            if level < len(item.hints):
                return item.hints[level]
            return "think about what else is involved, and explain it in your own words."
        case FillBlankItem() if item.hint and level == 0:
            return item.hint
        case _:
            answer = _answer(item)
            if parse_number(answer) is not None:
                return "the answer is a number: check your working."
            if len(answer) <= 3:  # its first letter would be most of it
                plural = "s" if len(answer) > 1 else ""
                return f"the answer is {len(answer)} character{plural} long."
            return f'it starts with "{answer[0]}" and has {len(answer)} letters.'


def _explain(item: Item, evaluation: Evaluation) -> str:
    match item:
        case Objective():
            if item.explanation:
                return item.explanation
            points = "; ".join(evaluation.missed)
            return f"Here is what was missing: {points}."
        case _:
            return f"Not quite — the answer is **{_answer(item)}**."


def _answer(item: FillBlankItem | Flashcard | Objective) -> str:
    match item:
        case FillBlankItem():
            return item.answers[0]
        case Flashcard():
            return item.back
        case Objective():
            return item.key_points[0].text
