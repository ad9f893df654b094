from pathlib import Path

import pytest

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
