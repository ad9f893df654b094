"""The scripted model servers drive the real LangChain clients, and each failure mode surfaces as the
exception production code has to catch.

Exception types seen (langchain-openai 1.7.4 / openai 3.57, langchain-ollama 1.1.0 / ollama 0.6.3):
ChatOpenAI re-raises openai's errors as langchain_openai subclasses that also derive from
langchain_core.exceptions.Model*Error; ChatOllama lets ollama's and httpx's errors through unchanged.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import openai
import pytest
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI
from ollama import ResponseError

from tests.llm_servers import (
    GARBAGE,
    THREAD_PREFIX,
    Failure,
    ScriptedServer,
    refused_url,
    scripted_server,
    split_reply,
)

TEXT = "The Lilongwe shelter received 57 survivors in 2023."
CLIENT_TIMEOUT = 0.3
PROMPT = [SystemMessage("Answer only from the sources."), HumanMessage("How many survivors did the shelter receive?")]
SENT_MESSAGES = [
    {"role": "system", "content": "Answer only from the sources."},
    {"role": "user", "content": "How many survivors did the shelter receive?"},
]


def openai_llm(base_url: str, **kwargs) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=f"{base_url}/v1", api_key="test-key", model="m", max_retries=0, timeout=CLIENT_TIMEOUT, **kwargs
    )


def ollama_llm(base_url: str, **kwargs) -> ChatOllama:
    return ChatOllama(base_url=base_url, model="m", client_kwargs={"timeout": CLIENT_TIMEOUT}, **kwargs)


def _server_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(THREAD_PREFIX)]


@pytest.fixture(autouse=True)
def no_leftover_threads():
    yield
    assert _server_threads() == [], "a scripted server left a thread running"


# -- the module itself ---------------------------------------------------------------------------------


def test_split_reply_rejoins_to_the_text():
    assert split_reply(TEXT) == ["The ", "Lilongwe ", "shelter ", "received ", "57 ", "survivors ", "in ", "2023."]
    assert "".join(split_reply("  two  words \n")) == "  two  words \n"
    assert split_reply("") == []


def test_server_binds_loopback_and_frees_its_port_on_exit():
    with scripted_server("openai", TEXT) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        port = server.port
        assert port > 0
        assert _server_threads()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_refused_url_has_nothing_listening():
    url = refused_url()
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1).close()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        ScriptedServer("anthropic", TEXT)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ScriptedServer("openai", [])
    with pytest.raises(TypeError):
        ScriptedServer("openai", [42])  # type: ignore[list-item]


def test_unknown_paths_get_404_and_are_recorded():
    with scripted_server("ollama", TEXT) as server:
        response = httpx.post(f"{server.base_url}/api/generate", json={"model": "m", "prompt": "hi"})
        assert response.status_code == 404
        assert "error" in response.json()
        assert server.paths == ["POST /api/generate"]
        assert server.requests == []  # only chat requests take a reply


# -- ChatOpenAI: the happy path --------------------------------------------------------------------------


def test_openai_invoke_returns_the_scripted_text_and_records_the_request():
    with scripted_server("openai", [TEXT]) as server:
        message = openai_llm(server.base_url).invoke(PROMPT)
        assert message.content == TEXT
        assert message.response_metadata["finish_reason"] == "stop"
        assert message.usage_metadata["output_tokens"] == len(split_reply(TEXT))
        assert server.paths == ["POST /v1/chat/completions"]
        [body] = server.requests
        assert body["messages"] == SENT_MESSAGES
        assert body["model"] == "m"
        assert body.get("stream") in (None, False)
        assert server.headers[0]["authorization"] == "Bearer test-key"


def test_openai_stream_yields_the_text_in_several_chunks():
    with scripted_server("openai", [TEXT]) as server:
        chunks = list(openai_llm(server.base_url).stream(PROMPT))
        pieces = [chunk.content for chunk in chunks if chunk.content]
        assert pieces == split_reply(TEXT)
        assert len(pieces) >= 3
        assert "".join(chunk.content for chunk in chunks) == TEXT
        [body] = server.requests
        assert body["stream"] is True
        assert body["messages"] == SENT_MESSAGES
        assert server.headers[0]["authorization"] == "Bearer test-key"


def test_openai_stream_sends_usage_when_asked():
    with scripted_server("openai", [TEXT]) as server:
        chunks = list(openai_llm(server.base_url, stream_usage=True).stream(PROMPT))
        assert server.requests[0]["stream_options"] == {"include_usage": True}
        usage = [chunk.usage_metadata for chunk in chunks if chunk.usage_metadata]
        assert usage and usage[-1]["output_tokens"] == len(split_reply(TEXT))
        assert "".join(chunk.content for chunk in chunks) == TEXT


def test_openai_async_invoke_and_stream():
    async def run(llm: ChatOpenAI) -> tuple[str, list[str]]:
        message = await llm.ainvoke(PROMPT)
        pieces = [chunk.content async for chunk in llm.astream(PROMPT)]
        return message.content, pieces

    with scripted_server("openai", [TEXT]) as server:
        content, pieces = asyncio.run(run(openai_llm(server.base_url)))
        assert content == TEXT
        assert [piece for piece in pieces if piece] == split_reply(TEXT)


def test_replies_are_consumed_in_order_and_the_last_repeats():
    with scripted_server("openai", ["first answer", Failure.status(500), "last answer"]) as server:
        llm = openai_llm(server.base_url)
        assert llm.invoke("one").content == "first answer"
        with pytest.raises(openai.InternalServerError):
            llm.invoke("two")
        assert llm.invoke("three").content == "last answer"
        assert llm.invoke("four").content == "last answer"
        assert [body["messages"][-1]["content"] for body in server.requests] == ["one", "two", "three", "four"]
        assert server.served == 4


# -- ChatOllama: the happy path ------------------------------------------------------------------------------


def test_ollama_invoke_returns_the_scripted_text_and_records_the_request():
    with scripted_server("ollama", [TEXT]) as server:
        message = ollama_llm(server.base_url).invoke(PROMPT)
        assert message.content == TEXT
        assert message.response_metadata["done_reason"] == "stop"
        assert message.usage_metadata["output_tokens"] == len(split_reply(TEXT))
        # ChatOllama.invoke streams by default: one POST /api/chat with "stream": true, nothing else.
        assert server.paths == ["POST /api/chat"]
        [body] = server.requests
        assert body["stream"] is True
        assert body["model"] == "m"
        assert body["messages"] == SENT_MESSAGES


def test_ollama_stream_yields_the_text_in_several_chunks():
    with scripted_server("ollama", [TEXT]) as server:
        chunks = list(ollama_llm(server.base_url).stream(PROMPT))
        pieces = [chunk.content for chunk in chunks if chunk.content]
        assert pieces == split_reply(TEXT)
        assert len(pieces) >= 3
        assert "".join(chunk.content for chunk in chunks) == TEXT
        assert server.requests[0]["messages"] == SENT_MESSAGES


def test_ollama_non_streaming_request_gets_one_json_object():
    with scripted_server("ollama", [TEXT]) as server:
        message = ollama_llm(server.base_url).invoke(PROMPT, stream=False)
        assert message.content == TEXT
        assert server.requests[0]["stream"] is False


def test_ollama_async_invoke_and_stream():
    async def run(llm: ChatOllama) -> tuple[str, list[str]]:
        message = await llm.ainvoke(PROMPT)
        pieces = [chunk.content async for chunk in llm.astream(PROMPT)]
        return message.content, pieces

    with scripted_server("ollama", [TEXT]) as server:
        content, pieces = asyncio.run(run(ollama_llm(server.base_url)))
        assert content == TEXT
        assert [piece for piece in pieces if piece] == split_reply(TEXT)


def test_ollama_sends_authorization_only_when_given():
    with scripted_server("ollama", [TEXT]) as server:
        ollama_llm(server.base_url).invoke("hi")
        llm = ChatOllama(base_url=server.base_url, model="m", client_kwargs={"headers": {"Authorization": "Bearer k"}})
        llm.invoke("hi")
        assert "authorization" not in server.headers[0]
        assert server.headers[1]["authorization"] == "Bearer k"


def test_ollama_validate_model_on_init_lists_models():
    with scripted_server("ollama", [TEXT], model_names=("m",)) as server:
        ChatOllama(base_url=server.base_url, model="m", validate_model_on_init=True)
        with pytest.raises(ValueError, match="not found in Ollama"):
            ChatOllama(base_url=server.base_url, model="other", validate_model_on_init=True)
        assert server.paths == ["GET /api/tags", "GET /api/tags"]
        assert server.requests == []


# -- failure modes: ChatOpenAI -----------------------------------------------------------------------------

OPENAI_STATUS_ERRORS = {
    400: (openai.BadRequestError, ModelInvalidRequestError),
    401: (openai.AuthenticationError, ModelAuthenticationError),
    403: (openai.PermissionDeniedError, ModelPermissionDeniedError),
    404: (openai.NotFoundError, ModelNotFoundError),
    429: (openai.RateLimitError, ModelRateLimitError),
    500: (openai.InternalServerError, ModelAPIError),
    503: (openai.InternalServerError, ModelAPIError),
}
# Streaming meets the same status handling; two codes are enough to show it.
OPENAI_STATUS_CASES = [(code, "invoke") for code in OPENAI_STATUS_ERRORS] + [(401, "stream"), (500, "stream")]


@pytest.mark.parametrize(("code", "call"), OPENAI_STATUS_CASES)
def test_openai_http_status(code, call):
    openai_type, langchain_type = OPENAI_STATUS_ERRORS[code]
    with scripted_server("openai", [Failure.status(code, "scripted refusal")]) as server:
        llm = openai_llm(server.base_url)
        with pytest.raises(openai_type) as caught:
            llm.invoke("hi") if call == "invoke" else list(llm.stream("hi"))
        error = caught.value
        assert isinstance(error, openai.APIStatusError)
        assert isinstance(error, langchain_type)
        assert error.status_code == code
        assert "scripted refusal" in error.message
        assert len(server.requests) == 1  # max_retries=0: no second attempt


@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "stream"])
def test_openai_hang_times_out(streaming):
    with scripted_server("openai", [Failure.hang(30)]) as server:
        llm = openai_llm(server.base_url)
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError) as caught:
            llm.invoke("hi") if not streaming else list(llm.stream("hi"))
        assert time.monotonic() - started < 5
        assert isinstance(caught.value, openai.APIConnectionError)
        assert isinstance(caught.value, ModelTimeoutError)
        closing = time.monotonic()
    assert time.monotonic() - closing < 2  # leaving the server ends the hang at once


def test_openai_hang_shorter_than_the_timeout_still_answers():
    with scripted_server("openai", [Failure.hang(0.05, then="late but fine")]) as server:
        assert openai_llm(server.base_url).invoke("hi").content == "late but fine"


@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "stream"])
def test_openai_malformed_reply_raises_json_error(streaming):
    with scripted_server("openai", [Failure.malformed_stream(first="Partial ")]) as server:
        llm = openai_llm(server.base_url)
        received: list[str] = []
        with pytest.raises(json.JSONDecodeError):
            if streaming:
                for chunk in llm.stream("hi"):
                    received.append(chunk.content)
            else:
                llm.invoke("hi")
        # Not wrapped: json.JSONDecodeError is a ValueError, neither an openai nor a LangChain error.
        if streaming:
            assert "Partial " in received  # the valid first chunk arrived before the garbage


@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "stream"])
def test_openai_disconnect_is_a_connection_error(streaming):
    with scripted_server("openai", [Failure.disconnect()]) as server:
        llm = openai_llm(server.base_url)
        with pytest.raises(openai.APIConnectionError) as caught:
            llm.invoke("hi") if not streaming else list(llm.stream("hi"))
        assert not isinstance(caught.value, openai.APITimeoutError)
        assert isinstance(caught.value, ModelConnectionError)
        assert len(server.requests) == 1


@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "stream"])
def test_openai_refused_is_a_connection_error(streaming):
    llm = openai_llm(refused_url())
    with pytest.raises(openai.APIConnectionError) as caught:
        llm.invoke("hi") if not streaming else list(llm.stream("hi"))
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert isinstance(caught.value, ModelConnectionError)


# -- failure modes: ChatOllama -------------------------------------------------------------------------------
# ChatOllama.invoke streams (POST /api/chat, "stream": true) unless called with stream=False, so "invoke" and
# "stream" meet the same code path; "no-stream" is the non-streaming request.

OLLAMA_CALLS = {
    "invoke": lambda llm: llm.invoke("hi"),
    "stream": lambda llm: list(llm.stream("hi")),
    "no-stream": lambda llm: llm.invoke("hi", stream=False),
}


@pytest.mark.parametrize(
    ("code", "call"),
    [
        (400, "invoke"),
        (401, "invoke"),
        (404, "invoke"),
        (500, "invoke"),
        (500, "stream"),
        (500, "no-stream"),
        (401, "no-stream"),
    ],
)
def test_ollama_http_status(code, call):
    with scripted_server("ollama", [Failure.status(code, "scripted refusal")]) as server:
        with pytest.raises(ResponseError) as caught:
            OLLAMA_CALLS[call](ollama_llm(server.base_url))
        assert caught.value.status_code == code
        assert caught.value.error == "scripted refusal"
        assert not isinstance(caught.value, ModelError)  # langchain-ollama does not wrap
        assert len(server.requests) == 1


@pytest.mark.parametrize("call", OLLAMA_CALLS)
def test_ollama_hang_times_out(call):
    with scripted_server("ollama", [Failure.hang(30)]) as server:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout) as caught:
            OLLAMA_CALLS[call](ollama_llm(server.base_url))
        assert isinstance(caught.value, httpx.TimeoutException)
        assert time.monotonic() - started < 5
        closing = time.monotonic()
    assert time.monotonic() - closing < 2


@pytest.mark.parametrize("call", OLLAMA_CALLS)
def test_ollama_malformed_reply_raises_json_error(call):
    with scripted_server("ollama", [Failure.malformed_stream(first="Partial ")]) as server:
        with pytest.raises(json.JSONDecodeError):
            OLLAMA_CALLS[call](ollama_llm(server.base_url))


def test_ollama_malformed_stream_delivers_the_valid_first_chunk():
    with scripted_server("ollama", [Failure.malformed_stream(first="Partial ")]) as server:
        received: list[str] = []
        with pytest.raises(json.JSONDecodeError):
            for chunk in ollama_llm(server.base_url).stream("hi"):
                received.append(chunk.content)
        assert received == ["Partial "]


def test_malformed_garbage_is_really_invalid_json():
    with pytest.raises(json.JSONDecodeError):
        json.loads(GARBAGE)


@pytest.mark.parametrize("call", OLLAMA_CALLS)
def test_ollama_disconnect_is_a_remote_protocol_error(call):
    with scripted_server("ollama", [Failure.disconnect()]) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            OLLAMA_CALLS[call](ollama_llm(server.base_url))
        assert len(server.requests) == 1


@pytest.mark.parametrize("call", ["invoke", "stream"])
def test_ollama_refused_streaming_is_httpx_connect_error(call):
    with pytest.raises(httpx.ConnectError) as caught:
        OLLAMA_CALLS[call](ollama_llm(refused_url()))
    assert not isinstance(caught.value, ConnectionError)  # httpx's, not the builtin


def test_ollama_refused_non_streaming_is_builtin_connection_error():
    # ollama's non-streaming path turns httpx.ConnectError into the builtin ConnectionError.
    with pytest.raises(ConnectionError, match="Failed to connect to Ollama"):
        OLLAMA_CALLS["no-stream"](ollama_llm(refused_url()))


def test_ollama_validate_model_on_init_against_refused_url_is_builtin_connection_error():
    # langchain-ollama's validate_model catches httpx.ConnectError to raise ValueError, but ollama's client.list()
    # has already turned it into the builtin ConnectionError, which escapes from the constructor.
    with pytest.raises(ConnectionError, match="Failed to connect to Ollama"):
        ChatOllama(base_url=refused_url(), model="m", validate_model_on_init=True)
