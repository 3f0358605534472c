"""The security tests drive the same running server as the end-to-end tests."""

from tests.realtime.conftest import run, settings

__all__ = ["run", "settings"]
