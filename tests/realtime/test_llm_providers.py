"""The operator's LLM providers: read from the setting, and the only endpoints used."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from assessment.spec import InvalidConfig, LLMChoice
from realtime.llm_providers import load_providers
from realtime.settings import ConfigError

LOCAL = {"base_url": "http://127.0.0.1:11434/v1/", "models": ["llama3.1", "qwen"]}


def test_providers_are_read_inline_or_from_a_file(tmp_path: Path) -> None:
    """Inline JSON, or a file named by the setting; the base URL loses its slash."""
    inline = load_providers(orjson.dumps({"local": LOCAL}).decode())
    path = tmp_path / "providers.json"
    path.write_bytes(orjson.dumps({"local": LOCAL}))
    for providers in (inline, load_providers(str(path))):
        endpoint = providers.resolve(LLMChoice(provider="local", model="qwen", max_tokens=50))
        assert (endpoint.base_url, endpoint.model, endpoint.max_tokens, endpoint.api_key) == (
            "http://127.0.0.1:11434/v1",
            "qwen",
            50,
            None,
        )
    assert load_providers("").names == []


def test_keys_come_from_a_variable_or_a_file_and_are_never_shown(tmp_path: Path) -> None:
    """The key is read once; it is not in the provider's or the endpoint's repr."""
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-file\n")
    raw = orjson.dumps(
        {
            "a": LOCAL | {"api_key_env": "PROVIDER_KEY"},
            "b": LOCAL | {"api_key_file": str(key_file), "first_token_timeout": 30},
        }
    ).decode()
    providers = load_providers(raw, env={"PROVIDER_KEY": "sk-from-env"})
    first = providers.resolve(LLMChoice(provider="a", model="qwen"))
    second = providers.resolve(LLMChoice(provider="b", model="qwen"))
    assert (first.api_key, second.api_key) == ("sk-from-env", "sk-from-file")
    assert second.first_token_timeout == 30
    assert "sk-" not in repr(first) + repr(second)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "TUTORCHAT_LLM_PROVIDERS: not a JSON object"),
        ("[]", "TUTORCHAT_LLM_PROVIDERS: cannot read []"),
        ('{"x": 1}', "TUTORCHAT_LLM_PROVIDERS.x: must be an object"),
        ('{"x": {"base_url": "file:///etc/passwd", "models": ["m"]}}', "x.base_url: must be an"),
        ('{"x": {"base_url": "http://h", "models": []}}', "x.models: must be a non-empty list"),
        ('{"x": {"base_url": "http://h", "models": ["m"], "key": "k"}}', "x.key: unknown field"),
        (
            '{"x": {"base_url": "http://h", "models": ["m"], "api_key_env": "NOT_SET_ANYWHERE"}}',
            "x.api_key_env: 'NOT_SET_ANYWHERE' is not set",
        ),
        (
            '{"x": {"base_url": "http://h", "models": ["m"], "idle_timeout": 0}}',
            "x.idle_timeout: must be a positive number",
        ),
    ],
)
def test_a_wrong_setting_names_the_provider_and_field(raw: str, message: str) -> None:
    """The server does not start on a provider it cannot use, and says why."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_providers(raw, env={})


def test_an_assessment_may_name_only_a_configured_provider_and_model() -> None:
    """Anything else is refused naming the field, with what the server has."""
    providers = load_providers(orjson.dumps({"local": LOCAL}).decode())
    with pytest.raises(InvalidConfig, match=r"provider: no provider 'other' \(the server's: local"):
        providers.resolve(LLMChoice(provider="other", model="qwen"))
    with pytest.raises(InvalidConfig, match=r"model: 'gpt' is not a model of local"):
        providers.resolve(LLMChoice(provider="local", model="gpt"))
    with pytest.raises(InvalidConfig, match="none are configured"):
        load_providers("").resolve(LLMChoice(provider="local", model="qwen"))
