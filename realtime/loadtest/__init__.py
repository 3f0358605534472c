"""``tutorchat loadtest``: simulated students against a running server.

Scenarios:

- ``steady``: N students, each with its own conversation (created over the HTTP API),
  answer fill-blank items over the protocol: right or wrong by ``--correct``, with an
  exponentially distributed think time of mean ``--think`` seconds between turns. It
  measures ack latency (send to ack), time to first delta (send to the first delta of the
  reply) and full-reply time (send to ``assistant.end``).
- ``idle``: N authenticated sockets held open (answering heartbeats); reports the
  server's resident memory per socket.
- ``storm``: N students each send a turn, every socket is cut at once while the replies
  stream, and all reconnect with their ``last_seq``. It reports the time until every
  client has resumed, and checks each client's messages against the HTTP history: no
  seq or text missing or doubled.
- ``slow``: ``steady``, with ``--slow-fraction`` of the students never reading.

Results are printed as a table, and as JSON with ``--json``.
"""

from realtime.loadtest.config import LoadConfig
from realtime.loadtest.report import format_report, write_json
from realtime.loadtest.scenarios import run_loadtest

__all__ = ["LoadConfig", "format_report", "run_loadtest", "write_json"]
