"""What a test needs from the machine: without it the test skips with the reason when
run by hand, and fails under CI (``CI=true``), where everything it needs is present."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["unavailable"]


def unavailable(problem: str) -> NoReturn:
    """Skip the test for ``problem``, or fail it under CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (CI=true: it is required)")
    pytest.skip(problem)
