from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import Settings, SettingsError


def test_defaults_bind_loopback_and_store_under_data():
    settings = Settings.from_env({})
    assert settings.host == "127.0.0.1"
    assert settings.data_dir == Path("data")
    assert settings.chroma_url is None


def test_environment_then_flags():
    env = {"TIP_DATA_DIR": "/tmp/lib", "TIP_TOP_K": "12", "TIP_CHROMA_URL": "http://127.0.0.1:8000"}
    settings = Settings.from_env(env, top_k=3, data_dir=None)
    assert settings.data_dir == Path("/tmp/lib")  # a flag left out (None) does not override
    assert settings.top_k == 3
    assert settings.chroma_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("env", "named"),
    [({"TIP_TOP_K": "many"}, "TIP_TOP_K"), ({"TIP_TOP_K": "0"}, "TIP_TOP_K"), ({"TIP_PORT": "70000"}, "TIP_PORT")],
)
def test_bad_values_name_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TIP_LLM": "gpt-4"}, "TIP_LLM='gpt-4' is not a model: use ollama:MODEL"),
        ({"TIP_LLM": "ollama:"}, "TIP_LLM='ollama:' is not a model"),
        ({"TIP_UNSUPPORTED": "hide"}, "TIP_UNSUPPORTED='hide': use flag or drop"),
        ({"TIP_LLM_TIMEOUT": "0"}, "TIP_LLM_TIMEOUT=0 is out of range: use 1 to 3600 seconds"),
        ({"TIP_LLM_TIMEOUT": "soon"}, "TIP_LLM_TIMEOUT='soon' is not a number"),
        ({"TIP_MAX_SENTENCES": "50"}, "TIP_MAX_SENTENCES=50 is out of range: use 1 to 20"),
    ],
)
def test_each_rejected_value_says_what_would_do(env, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(message)


def test_paths_expand_home_and_the_key_is_kept_secret():
    settings = Settings.from_env({"TIP_DATA_DIR": "~/library", "TIP_LLM_API_KEY": "sk-secret", "TIP_LLM": "openai:m"})
    assert settings.data_dir == Path("~/library").expanduser()
    assert "sk-secret" not in repr(settings) and settings.api_key == "sk-secret"
    assert Settings().api_key is None


def test_settings_are_frozen_and_read_no_environment_when_built_directly(monkeypatch):
    monkeypatch.setenv("TIP_TOP_K", "3")
    settings = Settings()
    assert settings.top_k == 8  # only from_env reads TIP_*
    with pytest.raises(ValidationError, match="frozen"):
        settings.top_k = 4
