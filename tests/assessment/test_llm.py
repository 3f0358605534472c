"""The LLM client and the LLM-backed chat tutor, against a real local HTTP server."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from assessment.llm import ChatClient, LLMError, LLMProtocolError, LLMSettings, LLMTimeout
from assessment.session import Turn
from assessment.spec import AssessmentSpec
from assessment.tutor import ReplyFailed, Tutor
from tests.assessment.fake_llm import FakeLLM, Script

MESSAGES = [{"role": "user", "content": "Hello"}]
CHAT = {
    "objectives": [
        {
            "id": "o1",
            "question": "What does photosynthesis make?",
            "key_points": ["produces glucose", "uses light energy"],
            "hints": ["Think about the sun."],
        }
    ]
}


def _client(
    llm: FakeLLM,
    *,
    idle_timeout: float = 20.0,
    first_token_timeout: float = 20.0,
    api_key: str | None = None,
) -> ChatClient:
    settings = LLMSettings(
        base_url=llm.base_url,
        model="tutor-1",
        api_key=api_key,
        idle_timeout=idle_timeout,
        first_token_timeout=first_token_timeout,
    )
    return ChatClient(settings)


async def _collect(client: ChatClient, into: list[str]) -> None:
    async for chunk in client.stream(MESSAGES):
        into.append(chunk)


async def test_stream_yields_deltas_and_skips_the_usage_chunk(llm: FakeLLM) -> None:
    """Each delta's text is yielded in order; the request is a streamed completion."""
    llm.will(Script(chunks=["Hel", "lo", ", world"]))
    client = _client(llm, api_key="sk-test")
    received: list[str] = []
    await _collect(client, received)
    await client.aclose()
    assert received == ["Hel", "lo", ", world"]
    (request,) = llm.requests
    assert request["stream"] is True and request["model"] == "tutor-1"
    assert request["messages"] == MESSAGES
    assert request["authorization"] == "Bearer sk-test"


async def test_no_key_sends_no_authorization(llm: FakeLLM) -> None:
    """The API key is optional: without it no Authorization header is sent."""
    llm.will(Script(chunks=["ok"]))
    client = _client(llm)
    await _collect(client, [])
    await client.aclose()
    assert llm.requests[0]["authorization"] is None


@pytest.mark.parametrize(
    ("then", "error", "message"),
    [
        ("error", LLMError, "the endpoint reported an error: model crashed"),
        ("malformed", LLMProtocolError, "a chunk is not JSON"),
        ("cut", LLMProtocolError, "the stream ended before the reply was finished"),
    ],
)
async def test_a_broken_stream_raises_after_the_text_it_gave(
    llm: FakeLLM, then: str, error: type[Exception], message: str
) -> None:
    """Mid-stream errors raise, and the text streamed before them was yielded."""
    llm.will(Script(chunks=["Partial ", "reply"], then=then))
    client = _client(llm)
    received: list[str] = []
    with pytest.raises(error, match=message):
        await _collect(client, received)
    await client.aclose()
    assert received == ["Partial ", "reply"]


async def test_a_stall_past_the_idle_timeout_raises(llm: FakeLLM) -> None:
    """A pause between tokens longer than the idle timeout ends the stream."""
    llm.will(Script(chunks=["Thinking"], then="stall"))
    client = _client(llm, idle_timeout=0.2)
    received: list[str] = []
    with pytest.raises(LLMTimeout, match="between tokens"):
        await _collect(client, received)
    await client.aclose()
    assert received == ["Thinking"]


async def test_no_first_token_in_time_raises(llm: FakeLLM) -> None:
    """A stream that never produces text fails at the first-token timeout."""
    llm.will(Script(chunks=[], then="stall"))
    client = _client(llm, first_token_timeout=0.2)
    with pytest.raises(LLMTimeout, match="before the first token"):
        await _collect(client, [])
    await client.aclose()


async def test_an_http_error_status_raises(llm: FakeLLM) -> None:
    """An error status is an LLMError naming the status."""
    llm.will(Script(status=503))
    client = _client(llm)
    with pytest.raises(LLMError, match="HTTP 503"):
        await _collect(client, [])
    await client.aclose()


async def test_an_unreachable_endpoint_raises() -> None:
    """Nothing listening: the request fails with an LLMError."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ChatClient(LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", model="m"))
    with pytest.raises(LLMError, match="failed"):
        async for _ in client.stream(MESSAGES):
            pass
    await client.aclose()


async def test_complete_returns_the_whole_reply(llm: FakeLLM) -> None:
    """A non-streamed completion returns the message content, asking for JSON if told."""
    llm.will(Script(json='{"covered": [0]}'))
    client = _client(llm)
    assert await client.complete(MESSAGES, json_object=True) == '{"covered": [0]}'
    await client.aclose()
    assert llm.requests[0]["response_format"] == {"type": "json_object"}
    assert llm.requests[0]["stream"] is False


def _tutor(llm: FakeLLM, client: ChatClient) -> Tutor:
    config = CHAT | {"llm": {"provider": "fake", "model": "tutor-1"}}
    spec = AssessmentSpec.from_config(
        assessment_type="chat", grading_schema="mastery", mastery_threshold=80, ai_config=config
    )
    assert spec.llm is not None
    return Tutor(spec, llm=client)


async def _opening(llm: FakeLLM, *chunks: str) -> tuple[str, dict[str, Any]]:
    """The LLM tutor's opening as streamed from ``chunks``: its text and metadata."""
    llm.will(Script(chunks=list(chunks)))
    client = _client(llm)
    reply = _tutor(llm, client).reply([])
    text = "".join([chunk async for chunk in reply.chunks])
    await client.aclose()
    return text, reply.metadata


async def test_the_llm_tutor_speaks_through_the_llm_socratically(llm: FakeLLM) -> None:
    """The opening streams from the LLM, prompted as a Socratic tutor with the question."""
    text, metadata = await _opening(llm, "Hi! ", "What does ", "photosynthesis make?")
    assert text == "Hi! What does photosynthesis make?"
    assert metadata["plan"] == ["o1"] and metadata["asks"] == "o1"
    messages = llm.requests[0]["messages"]
    assert (
        "Socratic" in messages[0]["content"] and "never state an answer" in messages[0]["content"]
    )
    assert "What does photosynthesis make?" in messages[-1]["content"]


@pytest.mark.parametrize(
    ("llm_json", "verdict", "graded_by"),
    [
        ('{"covered": [0, 1]}', "correct", "llm"),
        ('{"covered": [1]}', "partial", "llm"),
        ("not json at all", "partial", "builtin"),  # the built-in grader finds glucose
        ('{"covered": [7]}', "partial", "builtin"),
        ('{"covered": "all"}', "partial", "builtin"),
        ("[0, 1]", "partial", "builtin"),
    ],
)
async def test_llm_grading_falls_back_to_the_builtin_grader(
    llm: FakeLLM, llm_json: str, verdict: str, graded_by: str
) -> None:
    """Valid JSON from the grading call decides; anything else leaves it to the built-in."""
    llm.will(Script(json=llm_json))
    client = _client(llm)
    opening = Turn(role="assistant", content="Hi", metadata={"plan": ["o1"]})
    evaluation = await _tutor(llm, client).evaluate([opening], "It produces glucose.")
    await client.aclose()
    assert (evaluation.verdict, evaluation.graded_by) == (verdict, graded_by)


async def test_a_failed_llm_reply_raises_reply_failed_after_its_text(llm: FakeLLM) -> None:
    """When the LLM breaks off, the reply raises ReplyFailed; its text so far stands."""
    llm.will(Script(chunks=["Let's ", "think"], then="error"))
    client = _client(llm)
    reply = _tutor(llm, client).reply([])
    received: list[str] = []
    with pytest.raises(ReplyFailed, match="model crashed"):
        async for chunk in reply.chunks:
            received.append(chunk)
    await client.aclose()
    assert "".join(received) == "Let's think"


async def test_llm_grading_never_credits_a_denied_key_point(llm: FakeLLM) -> None:
    """The LLM says both key points are covered; the answer denies one: it is not."""
    llm.will(Script(json='{"covered": [0, 1]}'))
    client = _client(llm)
    opening = Turn(role="assistant", content="Hi", metadata={"plan": ["o1"]})
    answer = "It produces glucose, but it does not use light energy."
    evaluation = await _tutor(llm, client).evaluate([opening], answer)
    await client.aclose()
    assert (evaluation.verdict, evaluation.covered, evaluation.graded_by) == (
        "partial",
        (0,),
        "llm",
    )


async def test_the_llm_tutor_never_states_a_key_point_being_asked(llm: FakeLLM) -> None:
    """A key point of the question the LLM is asking is withheld before it is sent."""
    text, _ = await _opening(llm, "Hint: a plant ", "Produces ", "glucose. What else?")
    assert text == "Hint: a plant …. What else?"
