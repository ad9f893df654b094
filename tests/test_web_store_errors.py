"""Errors the user can fix (``TipError``: the Chroma server is down, the library is empty) in the web UI's
tabs: one clear message where the result would be, and the user's input kept to send again.

The Chroma server that is down is real: ``TIP_CHROMA_URL`` names a free loopback port where nothing listens,
so opening the store raises ``StoreUnavailable`` as it does when a server has stopped."""

from __future__ import annotations

import pytest

from assistant.errors import StoreUnavailable
from assistant.interfaces.web import handlers, render
from assistant.service import Assistant
from assistant.settings import Settings
from tests.ports import free_port
from tests.test_app import BRIEF, gradio_upload

QUESTION = "What fees did recruitment agencies charge workers?"
DOWN = "no Chroma server answers there"


def server_down_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens on it


@pytest.fixture
def data_dir(tmp_path, embedder):
    """A library holding the fees brief, its vectors in the data folder."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fees-brief.txt").write_text(BRIEF, encoding="utf-8")
    assert Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder).ingest([docs]).ok
    return tmp_path / "data"


@pytest.fixture
def server_down(data_dir, embedder) -> Assistant:
    """That library configured with a Chroma server that does not answer: its catalogue still lists the
    documents, but nothing can be searched, added or removed."""
    return Assistant(Settings(data_dir=data_dir, chroma_url=server_down_url()), embedder=embedder)


# ----- chat ---------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_a_question_the_store_cannot_answer_is_kept_and_answered_once_fixed(server_down, data_dir, embedder):
    earlier = [
        render.chat_entry("user", "First question?"),
        render.chat_entry("assistant", "First answer [1]", "First answer [1] (⚠️ partly supported)"),
    ]
    failed = handlers.chat_turn(server_down, QUESTION, earlier, None)

    assert failed.question_box == QUESTION  # still in the box, to send again
    assert failed.chat[:2] == render.chat_messages(earlier)
    assert failed.chat[2] == {"role": "user", "content": QUESTION}
    reply = failed.chat[3]
    assert reply["role"] == "assistant" and len(failed.chat) == 4
    assert reply["content"].startswith("⚠️ This question was not answered. TIP_CHROMA_URL=http://127.0.0.1:")
    assert DOWN in reply["content"] and "unset TIP_CHROMA_URL" in reply["content"]
    assert reply["content"].endswith("Your question is still in the box below: send it again once this is fixed.")
    assert "Traceback" not in reply["content"] and "StoreUnavailable" not in reply["content"]
    assert failed.sources is None  # the Sources panel keeps the earlier answer's sources
    assert failed.conversation == earlier  # neither the failed question nor the message joins the history

    # Fixed as the message says (TIP_CHROMA_URL unset: the vectors are in the data folder): sent again.
    fixed = Assistant(Settings(data_dir=data_dir), embedder=embedder)
    again = handlers.chat_turn(fixed, failed.question_box, failed.conversation, None)
    assert [m["content"] for m in again.chat[:3]] == ["First question?", "First answer [1] (⚠️ partly supported)",
                                                      QUESTION]  # fmt: skip
    assert "three months&#39; wages" in again.chat[3]["content"] and len(again.chat) == 4
    assert again.question_box == "" and len(again.conversation) == 4 and "fees-brief.txt" in again.sources


def test_a_question_to_an_empty_library_says_so_and_is_kept(tmp_path, embedder):
    empty = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    step = handlers.chat_turn(empty, QUESTION, [], None)

    assert step.question_box == QUESTION and step.conversation == []
    assert step.chat[-1]["content"] == (
        "⚠️ This question was not answered. The library is empty: add files with `tip-assistant ingest PATH` or "
        "in the Library tab. Your question is still in the box below: send it again once this is fixed."
    )


@pytest.mark.integration
def test_a_filter_naming_a_removed_document_is_a_reply_not_an_error(data_dir, embedder):
    library = Assistant(Settings(data_dir=data_dir), embedder=embedder)
    step = handlers.chat_turn(library, QUESTION, [], ["no-such-document-id"])
    assert "A chosen document is no longer in the library: choose the documents again." in step.chat[-1]["content"]
    assert step.question_box == QUESTION and step.conversation == []


def test_a_store_failing_while_the_answer_streams_leaves_no_generating_panel(tmp_path, monkeypatch):
    # A server that stops answering between the first generated words and the check cannot be timed
    # here: the assistant's stream is replaced by one that yields text, then raises what the store raises.
    library = Assistant(Settings(data_dir=tmp_path / "data"))

    def ask_stream(question, history, doc_ids):
        yield "Recruitment agencies charged"
        raise StoreUnavailable("TIP_CHROMA_URL=http://127.0.0.1:9: no Chroma server answers there")

    monkeypatch.setattr(library, "ask_stream", ask_stream)
    steps = list(handlers.chat_turn_stream(library, QUESTION, [], None))

    assert steps[0].sources == render.CHECKING and steps[0].question_box == ""
    last = steps[-1]
    assert last.sources == render.EMPTY_SOURCES  # not "Generating…" for an answer that will never come
    assert last.question_box == QUESTION and last.conversation == []
    assert [m["role"] for m in last.chat] == ["user", "assistant"] and DOWN in last.chat[1]["content"]
    assert "Recruitment agencies charged" not in last.chat[1]["content"]


# ----- the other tabs -----------------------------------------------------------------------------------
@pytest.mark.integration
def test_check_text_with_the_store_down_shows_one_message(server_down):
    result, passages = handlers.check_text(server_down, "Recruitment agencies charged workers fees.")

    assert passages == () and result.count(DOWN) == 1 and '<li class="tip-source' not in result  # no sentence cards
    assert "The text was not checked. TIP_CHROMA_URL=" in result
    assert "Your text is kept: try again once this is fixed." in result


@pytest.mark.integration
def test_drafting_with_the_store_down_shows_one_message(server_down, tmp_path):
    for message, preview, files in (
        handlers.summarize_tab(server_down, "recruitment fees", "auto", tmp_path / "s"),
        handlers.cite_tab(server_down, "Agencies charged workers fees.", tmp_path / "c"),
    ):
        assert '<p class="tip-note">Nothing was drafted. TIP_CHROMA_URL=' in message and message.count(DOWN) == 1
        assert "Your text is kept: try again once this is fixed.</p>" in message
        assert preview is None and files is None  # an earlier draft and its files stay


@pytest.mark.integration
def test_uploading_with_the_store_down_adds_nothing_and_keeps_the_files(tmp_path, embedder):
    library = Assistant(Settings(data_dir=tmp_path / "data", chroma_url=server_down_url()), embedder=embedder)
    upload = gradio_upload(tmp_path, "c41d", "fees-brief.txt", BRIEF.encode())
    report, taken = handlers.add_uploads(library, [upload])

    assert not taken  # the UI leaves the file chosen, to add again
    assert report.startswith("Nothing was added. TIP_CHROMA_URL=") and report.count(DOWN) == 1
    assert report.endswith("The files are still chosen: add them again once this is fixed.")
    assert library.documents() == []


@pytest.mark.integration
def test_removing_with_the_store_down_removes_nothing(server_down):
    doc = server_down.documents()[0]
    awaiting, question = handlers.removal_question(server_down, doc.doc_id)  # read from the catalogue alone
    assert awaiting == doc.doc_id and question.startswith("Remove fees-brief.txt (")

    status = handlers.remove_document(server_down, awaiting)
    assert status.startswith("Nothing was removed. TIP_CHROMA_URL=") and status.count(DOWN) == 1
    assert [d.doc_id for d in server_down.documents()] == [doc.doc_id]
