"""A client for OpenAI-compatible ``/chat/completions`` endpoints (hosted, vLLM, llama.cpp
server, Ollama, ...), streaming with server-sent events over httpx.

The stream yields the text of each ``choices[0].delta.content``. It ends at
``data: [DONE]`` (or when the server closes after a ``finish_reason``); a chunk with no
choices (the usage report) is skipped. Anything else ends it with an :class:`LLMError`:
an HTTP error status, an in-band ``{"error": ...}`` chunk, a chunk that is not JSON, a
stream cut short, or a timeout: to connect, to the first token, or between tokens.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

__all__ = ["ChatClient", "ChatMessage", "LLMError", "LLMProtocolError", "LLMSettings", "LLMTimeout"]

ChatMessage = dict[str, str]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LLMSettings:
    """One OpenAI-compatible chat completions endpoint and model, as the operator
    configured it (an assessment only names the provider).

    Attributes:
        base_url: e.g. ``https://api.example.com/v1`` or ``http://127.0.0.1:11434/v1``.
        model: the model name the endpoint expects.
        api_key: the key sent as a bearer token, if the endpoint needs one.
        temperature: sampling temperature of the tutor's replies.
        max_tokens: the longest reply.
        connect_timeout, first_token_timeout, idle_timeout: seconds to connect, to the
            first streamed token, and between tokens.
    """

    base_url: str
    model: str
    api_key: str | None = dataclasses.field(default=None, repr=False)
    temperature: float = 0.3
    max_tokens: int = 400
    connect_timeout: float = 5.0
    first_token_timeout: float = 20.0
    idle_timeout: float = 20.0


class LLMError(Exception):
    """The endpoint did not produce a complete answer; the message says why."""


class LLMTimeout(LLMError):
    """No connection, no first token, or too long a pause between tokens."""


class LLMProtocolError(LLMError):
    """The endpoint answered something that is not the streaming format."""


class ChatClient:
    """Talks to one endpoint with one model.

    Args:
        settings: the endpoint, model, key variable and timeouts.
        http: a client to share (it is not closed here); by default one of its own.
    """

    def __init__(self, settings: LLMSettings, *, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._owns_http:
            await self._http.aclose()

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        """Stream the reply to ``messages``, text chunk by text chunk.

        Raises:
            LLMError: the reply could not be completed; the chunks already yielded stand.
        """
        settings = self.settings
        body = self._body(messages) | {"stream": True, "stream_options": {"include_usage": True}}
        loop = asyncio.get_running_loop()
        first_deadline = loop.time() + settings.first_token_timeout
        got_text = False
        finished = False
        try:
            async with asyncio.timeout_at(first_deadline):
                response = await self._http.send(
                    self._http.build_request(
                        "POST", self._url, json=body, headers=self._headers, timeout=self._timeout
                    ),
                    stream=True,
                )
        except httpx.TimeoutException as error:
            raise LLMTimeout(f"could not connect to {settings.base_url}: {error!r}") from error
        except TimeoutError as error:
            raise LLMTimeout(f"no answer within {settings.first_token_timeout:g} s") from error
        except httpx.HTTPError as error:
            raise LLMError(f"request to {settings.base_url} failed: {error!r}") from error
        try:
            await _raise_for_status(response)
            lines = response.aiter_lines()
            while True:
                try:
                    if got_text:
                        async with asyncio.timeout(settings.idle_timeout):
                            line = await anext(lines)
                    else:
                        async with asyncio.timeout_at(first_deadline):
                            line = await anext(lines)
                except StopAsyncIteration:
                    break
                except TimeoutError as error:
                    wait = settings.idle_timeout if got_text else settings.first_token_timeout
                    which = "between tokens" if got_text else "before the first token"
                    raise LLMTimeout(f"no data for {wait:g} s {which}") from error
                except httpx.HTTPError as error:
                    raise LLMError(f"the stream broke: {error!r}") from error
                payload = _sse_data(line)
                if payload is None:
                    continue
                if payload == "[DONE]":
                    return
                for text, reason in _choices(payload):
                    finished = finished or reason is not None
                    if text:
                        got_text = True
                        yield text
        finally:
            await response.aclose()
        if not finished:
            raise LLMProtocolError("the stream ended before the reply was finished")

    async def complete(self, messages: Sequence[ChatMessage], *, json_object: bool = False) -> str:
        """The whole reply to ``messages``, not streamed.

        Args:
            json_object: ask for a JSON object (``response_format``); the caller still
                has to check that it is one.

        Raises:
            LLMError: no reply.
        """
        body = self._body(messages) | {"stream": False}
        if json_object:
            body["response_format"] = {"type": "json_object"}
        try:
            async with asyncio.timeout(self.settings.first_token_timeout):
                response = await self._http.post(
                    self._url, json=body, headers=self._headers, timeout=self._timeout
                )
        except (TimeoutError, httpx.TimeoutException) as error:
            raise LLMTimeout(f"no reply from {self.settings.base_url}: {error!r}") from error
        except httpx.HTTPError as error:
            raise LLMError(f"request to {self.settings.base_url} failed: {error!r}") from error
        await _raise_for_status(response)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, LookupError, TypeError) as error:
            raise LLMProtocolError("the reply is not a chat completion") from error
        if not isinstance(content, str):
            raise LLMProtocolError("the reply has no text")
        return content

    @property
    def _url(self) -> str:
        return f"{self.settings.base_url}/chat/completions"

    @property
    def _headers(self) -> dict[str, str]:
        key = self.settings.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    @property
    def _timeout(self) -> httpx.Timeout:
        # Reads are bounded by the first-token and idle timers above, not by httpx.
        return httpx.Timeout(None, connect=self.settings.connect_timeout)

    def _body(self, messages: Sequence[ChatMessage]) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "messages": list(messages),
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }


async def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code == 200:
        return
    detail = (await response.aread()).decode(errors="replace")[:300]
    raise LLMError(f"the endpoint answered HTTP {response.status_code}: {detail}")


def _sse_data(line: str) -> str | None:
    """The data of one server-sent event line, or None for blank lines and comments."""
    if not line.startswith("data:"):
        return None
    return line[5:].strip()


def _choices(payload: str) -> list[tuple[str | None, str | None]]:
    """(delta text, finish_reason) of each choice in a chunk; raises on errors."""
    try:
        chunk = json.loads(payload)
    except ValueError as error:
        raise LLMProtocolError(f"a chunk is not JSON: {payload[:80]!r}") from error
    if not isinstance(chunk, dict):
        raise LLMProtocolError(f"a chunk is not an object: {payload[:80]!r}")
    if "error" in chunk:
        reported = chunk["error"]
        message = reported.get("message") if isinstance(reported, dict) else reported
        raise LLMError(f"the endpoint reported an error: {message}")
    result = []
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        content = delta.get("content")
        result.append((content if isinstance(content, str) else None, choice.get("finish_reason")))
    return result
