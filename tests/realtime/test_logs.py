"""Log records become logfmt lines carrying the conversation and connection."""

from __future__ import annotations

import logging

from realtime.logs import LogfmtFormatter


def test_a_record_becomes_one_logfmt_line_with_its_context() -> None:
    """Message, level and the extra context fields appear as keys, quoted when needed."""
    record = logging.LogRecord("realtime.x", logging.INFO, __file__, 1, 'left "now"', (), None)
    record.conversation = "c1"
    record.connection = "ws-7"
    line = LogfmtFormatter().format(record)
    assert line.startswith("ts=")
    expected = 'level=info logger=realtime.x msg="left \\"now\\"" conversation=c1 connection=ws-7'
    assert expected in line
