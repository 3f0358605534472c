"""One rounding rule for every score a reader sees."""

from __future__ import annotations

import pytest

from assessment.grading import percent


@pytest.mark.parametrize(
    ("stored", "shown"),
    [(66.67, "67%"), (62.5, "63%"), (33.33, "33%"), (0.0, "0%"), (99.5, "100%"), (100.0, "100%")],
)
def test_a_score_is_shown_as_a_whole_percent_halves_up(stored: float, shown: str) -> None:
    assert percent(stored) == shown
