"""A conversation's jobs: answered one at a time, in order, and made again after a restart."""

from __future__ import annotations

import asyncio
import logging

import pytest

from realtime.conversation.pipeline import Admission, Job, Pipeline, undone
from realtime.conversation.transcript import Transcript
from tests.limits import TIMEOUT
from tests.realtime.conversation.messages import message, reply


def test_a_new_conversation_is_opened() -> None:
    """No reply yet: the opening is the first job."""
    assert undone(Transcript(()), finished=False) == [Job("opening")]


def test_every_unanswered_turn_is_answered_in_order() -> None:
    """Turns with no reply naming them become answer jobs, oldest first."""
    transcript = Transcript([reply(1, None), message(2), reply(3, 2), message(4), message(5)])
    jobs = undone(transcript, finished=False)
    assert [(job.kind, job.turn.seq if job.turn else None) for job in jobs] == [
        ("answer", 4),
        ("answer", 5),
    ]


def test_a_finished_attempt_never_completed_is_completed() -> None:
    """Nothing to answer and the tutor done: the completion is left."""
    transcript = Transcript([reply(1, None), message(2), reply(3, 2)])
    assert undone(transcript, finished=True) == [Job("complete")]
    assert undone(transcript, finished=False) == []


class _Recorder:
    """Runs jobs (a completion fails), and tells when a number of them are done."""

    def __init__(self, expected: int) -> None:
        self.started: list[Job] = []
        self.running = 0
        self.most_at_once = 0
        self.finished = 0
        self.expected = expected
        self.all_done = asyncio.Event()

    async def run(self, job: Job) -> None:
        self.started.append(job)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(0)  # another job would start here if it could
            if job.kind == "complete":
                raise RuntimeError("boom")
        finally:
            self.running -= 1

    def done(self) -> None:
        self.finished += 1
        if self.finished == self.expected:
            self.all_done.set()


async def test_jobs_run_one_at_a_time_in_order_and_a_failure_stops_none() -> None:
    """Three jobs: never two at once, in the order enqueued, each followed by on_done."""
    recorder = _Recorder(expected=3)
    pipeline = Pipeline("c1", run=recorder.run, admit=None, on_done=recorder.done)
    jobs = [Job("opening"), Job("complete"), Job("answer", message(2))]
    for job in jobs:
        pipeline.enqueue(job)
    await asyncio.wait_for(recorder.all_done.wait(), TIMEOUT)
    assert recorder.started == jobs
    assert recorder.most_at_once == 1
    assert not pipeline.jobs
    pipeline.cancel()


async def test_a_stopping_pipeline_starts_no_job() -> None:
    """Once the server stops, the jobs wait (the database has them)."""
    recorder = _Recorder(expected=1)
    pipeline = Pipeline("c1", run=recorder.run, admit=None, on_done=recorder.done)
    pipeline.stopping = True
    pipeline.enqueue(Job("opening"))
    worker = pipeline.worker
    assert worker is not None
    await asyncio.wait_for(worker, TIMEOUT)
    assert recorder.started == []
    assert pipeline.pending("opening")


async def test_admission_is_asked_before_every_job() -> None:
    """A job held back ('stop') waits, and runs when retried and admitted."""
    recorder = _Recorder(expected=1)
    answers: list[Admission] = ["stop"]
    asked: list[bool] = []
    held_back = asyncio.Event()

    async def admit(final: bool) -> Admission:
        asked.append(final)
        if answers:
            held_back.set()
            return answers.pop(0)
        return "run"

    pipeline = Pipeline("c1", run=recorder.run, admit=admit, on_done=recorder.done)
    pipeline.enqueue(Job("opening"))
    await asyncio.wait_for(held_back.wait(), TIMEOUT)
    assert recorder.started == []
    pipeline.retry()
    await asyncio.wait_for(recorder.all_done.wait(), TIMEOUT)
    assert recorder.started == [Job("opening")]
    assert asked[:2] == [False, False]
    pipeline.cancel()


async def test_a_failed_job_is_logged_with_its_conversation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The log names the job's kind and the conversation."""
    recorder = _Recorder(expected=1)
    pipeline = Pipeline("c9", run=recorder.run, admit=None, on_done=recorder.done)
    with caplog.at_level(logging.ERROR):
        pipeline.enqueue(Job("complete"))
        await asyncio.wait_for(recorder.all_done.wait(), TIMEOUT)
    (record,) = [r for r in caplog.records if r.message == "complete job failed"]
    assert record.conversation == "c9"  # type: ignore[attr-defined]
    pipeline.cancel()
