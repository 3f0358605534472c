"""The LLM providers an operator configures, and the only places outbound requests go.

An assessment names a provider and one of its models (``ai_config.llm``); where the
request goes, with which key and with which timeouts, is the operator's setting
``TUTORCHAT_LLM_PROVIDERS``: a JSON object, inline or in a file it names::

    {"local": {"base_url": "http://127.0.0.1:11434/v1", "models": ["llama3.1"]},
     "hosted": {"base_url": "https://api.example.com/v1", "models": ["small", "large"],
                "api_key_file": "/run/secrets/hosted-key", "first_token_timeout": 30}}

A key comes from ``api_key_env`` (an environment variable) or ``api_key_file`` (a file,
read once at start); it is held in memory only, never stored or logged.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from assessment.llm import LLMSettings
from assessment.spec import InvalidConfig, LLMChoice
from realtime.settings import ConfigError

__all__ = ["Provider", "Providers", "load_providers"]

VARIABLE = "TUTORCHAT_LLM_PROVIDERS"
_TIMEOUTS = ("connect_timeout", "first_token_timeout", "idle_timeout")
_FIELDS = ("base_url", "models", "api_key_env", "api_key_file", *_TIMEOUTS)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    """One OpenAI-compatible endpoint the operator allows, with its models."""

    name: str
    base_url: str
    models: tuple[str, ...]
    api_key: str | None = dataclasses.field(default=None, repr=False)
    timeouts: Mapping[str, float] = dataclasses.field(default_factory=dict)


class Providers:
    """The configured providers, by name."""

    def __init__(self, providers: Mapping[str, Provider] | None = None) -> None:
        self._providers = dict(providers or {})

    @property
    def names(self) -> list[str]:
        """The providers' names, sorted."""
        return sorted(self._providers)

    def choices(self) -> list[dict[str, object]]:
        """What an instructor may choose: each provider's name and models, nothing else."""
        return [{"name": name, "models": list(self._providers[name].models)} for name in self.names]

    def resolve(self, choice: LLMChoice) -> LLMSettings:
        """The endpoint an assessment's choice stands for.

        Raises:
            InvalidConfig: no such provider, or not one of its models (naming the field).
        """
        provider = self._providers.get(choice.provider)
        if provider is None:
            known = ", ".join(self.names) or "none are configured"
            raise InvalidConfig(
                f"ai_config.llm.provider: no provider {choice.provider!r} (the server's: {known})"
            )
        if choice.model not in provider.models:
            raise InvalidConfig(
                f"ai_config.llm.model: {choice.model!r} is not a model of {provider.name} "
                f"({', '.join(provider.models)})"
            )
        return LLMSettings(
            base_url=provider.base_url,
            model=choice.model,
            api_key=provider.api_key,
            temperature=choice.temperature,
            max_tokens=choice.max_tokens,
            **provider.timeouts,
        )


def load_providers(raw: str, env: Mapping[str, str] | None = None) -> Providers:
    """The providers of the setting's value: inline JSON, or the path of a JSON file.

    Raises:
        ConfigError: naming the provider and field that is wrong.
    """
    env = os.environ if env is None else env
    if not raw.strip():
        return Providers()
    text = raw if raw.lstrip().startswith("{") else _read(Path(raw), VARIABLE)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ConfigError(f"{VARIABLE}: not a JSON object (nor a file holding one)") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{VARIABLE}: must be a JSON object of providers by name")
    return Providers({name: _provider(name, spec, env) for name, spec in value.items()})


def _provider(name: str, spec: Any, env: Mapping[str, str]) -> Provider:
    where = f"{VARIABLE}.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: must be an object")
    for key in spec:
        if key not in _FIELDS:
            raise ConfigError(f"{where}.{key}: unknown field (known: {', '.join(_FIELDS)})")
    base_url = spec.get("base_url")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.base_url: must be an http:// or https:// URL")
    models = spec.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        raise ConfigError(f"{where}.models: must be a non-empty list of model names")
    timeouts = {}
    for key in _TIMEOUTS:
        if key in spec:
            seconds = spec[key]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                raise ConfigError(f"{where}.{key}: must be a positive number of seconds")
            timeouts[key] = float(seconds)
    return Provider(
        name=name,
        base_url=base_url.rstrip("/"),
        models=tuple(models),
        api_key=_key(spec, env, where),
        timeouts=timeouts,
    )


def _key(spec: Mapping[str, Any], env: Mapping[str, str], where: str) -> str | None:
    if "api_key_env" in spec and "api_key_file" in spec:
        raise ConfigError(f"{where}: api_key_env or api_key_file, not both")
    if (variable := spec.get("api_key_env")) is not None:
        if not isinstance(variable, str) or variable not in env:
            raise ConfigError(f"{where}.api_key_env: {variable!r} is not set")
        return env[variable]
    if (path := spec.get("api_key_file")) is not None:
        if not isinstance(path, str):
            raise ConfigError(f"{where}.api_key_file: must be a path")
        return _read(Path(path), f"{where}.api_key_file").strip()
    return None


def _read(path: Path, where: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise ConfigError(f"{where}: cannot read {path} ({error.strerror})") from None
