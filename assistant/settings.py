"""All settings in one object, read from ``TIP_*`` environment variables and CLI flags, built once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from assistant.errors import TipError


class SettingsError(TipError, ValueError):
    """A setting has a value the tool cannot use; the message names the variable and a valid value."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")  # TIP_DATA_DIR: everything the tool stores lives here
    chroma_url: str | None = None  # TIP_CHROMA_URL: use a Chroma server instead of the embedded store
    embedding_model: Path | None = None  # TIP_EMBEDDING_MODEL: a local sentence-transformers folder
    reranker_model: Path | None = None  # TIP_RERANKER_MODEL: a local cross-encoder folder; off when unset
    top_k: int = 8  # TIP_TOP_K: passages retrieved per question
    max_sentences: int = 5  # TIP_MAX_SENTENCES: sentences in an extractive answer
    host: str = "127.0.0.1"  # TIP_HOST: the web UI binds loopback unless told otherwise
    port: int = 7860  # TIP_PORT
    # Generative answers (optional; the extractive composer is the default and the fallback):
    llm: str | None = None  # TIP_LLM: "ollama:MODEL" or "openai:MODEL" (any OpenAI-compatible server)
    llm_base_url: str | None = None  # TIP_LLM_BASE_URL: e.g. http://127.0.0.1:11434 or http://host:8000/v1
    llm_api_key: str | None = field(default=None, repr=False)  # TIP_LLM_API_KEY (else OPENAI_API_KEY); never shown
    llm_timeout: float = 60.0  # TIP_LLM_TIMEOUT: seconds to wait for the model before answering extractively
    unsupported: str = "flag"  # TIP_UNSUPPORTED: "flag" or "drop" generated sentences no passage supports
    prompts_dir: Path | None = None  # TIP_PROMPTS_DIR: own copies of the prompt templates; the packaged ones if unset

    @property
    def llm_provider(self) -> str | None:
        return self.llm.split(":", 1)[0] if self.llm else None

    @property
    def llm_model(self) -> str | None:
        return self.llm.split(":", 1)[1] if self.llm else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then ``TIP_*`` variables, then ``overrides`` (CLI flags; None means "not given")."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(f"TIP_{f.name.upper()}")
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f.name, raw.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = replace(cls(), **values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.top_k < 1 or self.top_k > 100:
            raise SettingsError(f"TIP_TOP_K={self.top_k} is out of range: use a number from 1 to 100")
        if self.max_sentences < 1 or self.max_sentences > 20:
            raise SettingsError(f"TIP_MAX_SENTENCES={self.max_sentences} is out of range: use 1 to 20")
        if not 0 < self.port < 65536:
            raise SettingsError(f"TIP_PORT={self.port} is not a port number: use 1 to 65535")
        if self.llm is not None:
            provider, _, model = self.llm.partition(":")
            if provider not in LLM_PROVIDERS or not model.strip():
                raise SettingsError(
                    f"TIP_LLM={self.llm!r} is not a model: use ollama:MODEL (e.g. ollama:llama3.1) or openai:MODEL "
                    "(with TIP_LLM_BASE_URL for a local OpenAI-compatible server)"
                )
        if not 0 < self.llm_timeout <= 3600:
            raise SettingsError(f"TIP_LLM_TIMEOUT={self.llm_timeout} is out of range: use 1 to 3600 seconds")
        if self.unsupported not in UNSUPPORTED_POLICIES:
            raise SettingsError(f"TIP_UNSUPPORTED={self.unsupported!r}: use flag or drop")


LLM_PROVIDERS = ("ollama", "openai")
UNSUPPORTED_POLICIES = ("flag", "drop")
_INT_FIELDS = {"top_k", "max_sentences", "port"}
_FLOAT_FIELDS = {"llm_timeout"}
_PATH_FIELDS = {"data_dir", "embedding_model", "reranker_model", "prompts_dir"}


def _parse(name: str, raw: str) -> object:
    if name in _INT_FIELDS:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"TIP_{name.upper()}={raw!r} is not a whole number") from None
    if name in _FLOAT_FIELDS:
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"TIP_{name.upper()}={raw!r} is not a number") from None
    if name in _PATH_FIELDS:
        return Path(raw).expanduser()
    return raw


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
