"""Stand-ins for a remote chat model, which cannot run here: langchain-core's fake chat models, recording
the messages they were sent, and one that fails the way a real client fails."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field


class ScriptedChatModel(FakeListChatModel):
    """Replies with ``responses`` in turn (cycling, as ``FakeListChatModel`` does: give one per call);
    streams a reply one character at a time. ``sent`` holds the messages of each call."""

    sent: list[list[BaseMessage]] = Field(default_factory=list)

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.sent.append(messages)
        return super()._call(messages, *args, **kwargs)

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any):
        self.sent.append(messages)
        yield from super()._stream(messages, *args, **kwargs)


class FailingChatModel(BaseChatModel):
    """Raises ``error`` on every call, as a client does when its server fails."""

    error: Exception

    @property
    def _llm_type(self) -> str:
        return "failing"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        raise self.error

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any):
        raise self.error
        yield  # a generator, like a real client's stream
