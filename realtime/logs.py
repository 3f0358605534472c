"""Structured logs: one logfmt line per record, with the conversation and connection.

Code logs with ``extra={"conversation": ..., "connection": ...}``; those fields, when
present, appear as keys, so logs can be filtered per conversation.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

__all__ = ["LogfmtFormatter", "configure_logging"]

_FIELDS = ("conversation", "connection", "message_id", "status", "code")


class LogfmtFormatter(logging.Formatter):
    """``ts=... level=... logger=... msg="..." conversation=...``."""

    def format(self, record: logging.LogRecord) -> str:
        parts = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in _FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                parts[field] = str(value)
        line = " ".join(f"{key}={_quote(value)}" for key, value in parts.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: int = logging.INFO) -> None:
    """Send every log record to stderr as logfmt."""
    handler = logging.StreamHandler()
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _quote(value: str) -> str:
    if value and not any(char in value for char in ' "=\n'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
