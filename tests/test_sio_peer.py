"""The benchmark's python-socketio peer (bench/sio_peer.py) does the turn's work it is
measured for: a stranger is refused, a turn is acked and stored with its seq, and its
reply streams to the end and is stored."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from load_bench import SECRET  # noqa: E402 - after the path is set
from peer_bench import SocketIOStudent, Timings, seed, wait_tcp  # noqa: E402

from tests.limits import TIMEOUT  # noqa: E402
from tests.processes import free_port  # noqa: E402


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    database = tmp_path / "peer.db"
    seed(database, 2)
    port = free_port()
    command = [sys.executable, str(BENCH / "sio_peer.py"), str(port), str(database), SECRET]
    server = subprocess.Popen(command, cwd=tmp_path)
    try:
        wait_tcp(port)
        yield port, database
    finally:
        server.terminate()
        server.wait(TIMEOUT)


async def test_a_turn_is_acked_stored_and_answered_to_the_end(peer: tuple[int, Path]) -> None:
    port, database = peer
    student = SocketIOStudent(port, "u0", "c0")
    await student.connect()
    timings = Timings()
    try:
        await student.turn_once(timings)
    finally:
        await student.close()
    assert (timings.turns, len(timings.ack), len(timings.first_delta), timings.errors) == (
        1,
        1,
        1,
        0,
    )
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute(
            "SELECT seq, role, status, client_msg_id, length(content) FROM messages"
            " WHERE conversation_id = 'c0' ORDER BY seq"
        ).fetchall()
    assert rows[0] == (1, "user", "complete", "t1", 1)
    assert rows[1][:4] == (2, "assistant", "complete", None) and rows[1][4] > 0


async def test_a_stranger_is_refused(peer: tuple[int, Path]) -> None:
    port, _ = peer
    with pytest.raises(RuntimeError, match="join refused"):
        await SocketIOStudent(port, "u1", "c0").connect()
