"""All settings in one object, read from ``TIP_*`` environment variables and CLI flags, built once.

The fields, their types and their ranges are declared once, on a frozen pydantic model; ``from_env`` reads
``TIP_<FIELD>`` for each and turns a value pydantic rejects into a ``SettingsError`` that names the variable
and says what would do. ``Settings(...)`` alone reads no ``TIP_*`` variable (tests and embedding code build it
directly); only the cache folder's default follows ``XDG_CACHE_HOME``, as other tools' do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from assistant.errors import TipError

LLM_PROVIDERS = ("ollama", "openai")


class SettingsError(TipError, ValueError):
    """A setting has a value the tool cannot use; the message names the variable and a valid value."""


def _fix(text: str) -> dict:
    """What a user should set instead, shown after a rejected value."""
    return {"fix": text}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    data_dir: Path = Path("data")  # TIP_DATA_DIR: everything the tool stores lives here
    # TIP_CACHE_DIR: files made from the installed model and shared by every library (the model exported for
    # OpenVINO, ~45 MB); $XDG_CACHE_HOME/tip-assistant, or ~/.cache/tip-assistant, by default
    cache_dir: Path = Field(default_factory=lambda: default_cache_dir(os.environ))
    chroma_url: str | None = None  # TIP_CHROMA_URL: use a Chroma server instead of the embedded store
    embedding_model: Path | None = None  # TIP_EMBEDDING_MODEL: a local sentence-transformers folder
    reranker_model: Path | None = None  # TIP_RERANKER_MODEL: a local cross-encoder folder; off when unset
    # TIP_TOP_K: passages retrieved per question
    top_k: int = Field(8, ge=1, le=100, json_schema_extra=_fix("use a number from 1 to 100"))
    # TIP_MAX_SENTENCES: sentences in an extractive answer
    max_sentences: int = Field(5, ge=1, le=20, json_schema_extra=_fix("use 1 to 20"))
    host: str = "127.0.0.1"  # TIP_HOST: the web UI binds loopback unless told otherwise
    port: int = Field(7860, ge=1, le=65535, json_schema_extra=_fix("use 1 to 65535"))  # TIP_PORT
    # TIP_ANSWER_PROCESSES: worker processes a server answers questions in (each loads the model, ~700 MB);
    # 0 answers in the server's own process
    answer_processes: int = Field(0, ge=0, le=64, json_schema_extra=_fix("use 0 to 64 processes"))
    # TIP_MAX_UPLOAD_MB: the largest file any ingest reads (command line, web UI, API), in megabytes
    max_upload_mb: int = Field(100, ge=1, le=10_000, json_schema_extra=_fix("use 1 to 10000 megabytes"))
    # TIP_API_TOKEN: the bearer token the API asks of every request when set; required off loopback
    api_token: SecretStr | None = None
    # TIP_USERS: web UI logins, "name:password" pairs separated by commas (a password may hold ":" but not ",")
    users: SecretStr | None = None
    # Generative answers (optional; the extractive composer is the default and the fallback):
    llm: str | None = None  # TIP_LLM: "ollama:MODEL" or "openai:MODEL" (any OpenAI-compatible server)
    llm_base_url: str | None = None  # TIP_LLM_BASE_URL: e.g. http://127.0.0.1:11434 or http://host:8000/v1
    llm_api_key: SecretStr | None = None  # TIP_LLM_API_KEY (else OPENAI_API_KEY); never shown
    # TIP_LLM_TIMEOUT: seconds to wait for the model before answering extractively
    llm_timeout: float = Field(60.0, gt=0, le=3600, json_schema_extra=_fix("use 1 to 3600 seconds"))
    # TIP_UNSUPPORTED: "flag" or "drop" generated sentences no passage supports
    unsupported: Literal["flag", "drop"] = Field("flag", json_schema_extra=_fix("use flag or drop"))
    prompts_dir: Path | None = None  # TIP_PROMPTS_DIR: own copies of the prompt templates; the packaged ones if unset

    @field_validator("data_dir", "cache_dir", "embedding_model", "reranker_model", "prompts_dir")
    @classmethod
    def _home_expanded(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("llm")
    @classmethod
    def _provider_and_model(cls, value: str | None) -> str | None:
        if value is not None:
            provider, _, model = value.partition(":")
            if provider not in LLM_PROVIDERS or not model.strip():
                raise ValueError(
                    "is not a model: use ollama:MODEL (e.g. ollama:llama3.1) or openai:MODEL "
                    "(with TIP_LLM_BASE_URL for a local OpenAI-compatible server)"
                )
        return value

    @field_validator("users")
    @classmethod
    def _name_password_pairs(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            pairs = [pair.partition(":") for pair in value.get_secret_value().split(",")]
            if any(not name.strip() or not colon or not password for name, colon, password in pairs):
                raise ValueError("is not a list of logins: use name:password pairs separated by commas")
        return value

    def __init__(self, **values):
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_message(exc, values)) from None

    @property
    def llm_provider(self) -> str | None:
        return self.llm.split(":", 1)[0] if self.llm else None

    @property
    def llm_model(self) -> str | None:
        return self.llm.split(":", 1)[1] if self.llm else None

    @property
    def logins(self) -> dict[str, str]:
        """The web UI's logins from ``TIP_USERS``, name → password; empty when unset."""
        if self.users is None:
            return {}
        pairs = (pair.partition(":") for pair in self.users.get_secret_value().split(","))
        return {name.strip(): password for name, _, password in pairs}

    @property
    def api_key(self) -> str | None:
        """The model server's key, for the client only (``llm_api_key`` never shows it)."""
        return self.llm_api_key.get_secret_value() if self.llm_api_key else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then ``TIP_*`` variables, then ``overrides`` (CLI flags; None means "not given").
        Raises ``SettingsError`` naming the first variable whose value cannot be used."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = environ.get(f"TIP_{name.upper()}")
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        values.setdefault("cache_dir", default_cache_dir(environ))
        return cls(**values)


# Settings whose values an error message never shows.
_SECRETS = {"api_token", "users", "llm_api_key"}

# What pydantic's error types say about a value, in the words of a setting.
_PROBLEMS = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "literal_error": "",
    "value_error": "",
}


def _message(exc: ValidationError, values: Mapping[str, object]) -> str:
    """The first rejected setting, as "TIP_PORT='seventy' is not a whole number"."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "?"
    value = values.get(name, error.get("input"))
    numeric = isinstance(value, int | float) or (isinstance(value, str) and _is_number(value))
    shown = f"{value}" if numeric else f"{value!r}"
    variable = f"TIP_{name.upper()}" if name in _SECRETS else f"TIP_{name.upper()}={shown}"
    if error["type"] == "value_error":  # our own validators say what is wrong and what to do
        return f"{variable} {error['ctx']['error']}"
    if error["type"] == "extra_forbidden":
        return f"unknown setting {name!r}"
    problem = _PROBLEMS.get(error["type"])
    fix = (Settings.model_fields[name].json_schema_extra or {}).get("fix") if name in Settings.model_fields else None
    if problem is None:  # out of range, or of the wrong kind
        problem = "is not a port number" if name == "port" else "is out of range"
    if not fix:
        return f"{variable} {problem}"
    return f"{variable} {problem}: {fix}" if problem else f"{variable}: {fix}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/tip-assistant``, or ``~/.cache/tip-assistant`` (the XDG base directory convention)."""
    base = environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base).expanduser() / "tip-assistant"


def use_offline_mode() -> None:
    """Keep every library from reaching the network: no model downloads, no telemetry.

    Called by the entry points (CLI, app) before anything is loaded, never at import time.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["ANONYMIZED_TELEMETRY"] = "False"  # Chroma
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
