"""Removing a document from the Library tab takes two steps: "Remove…" asks, naming the document and its
chunks; only "Confirm removal" removes, and "Cancel" leaves everything as it was."""

from __future__ import annotations

import gradio as gr
import pytest

from assistant.interfaces.web import handlers, ui
from assistant.service import Assistant
from assistant.settings import Settings
from tests.test_app import BRIEF, NOTES

pytestmark = pytest.mark.integration


@pytest.fixture
def library(tmp_path, embedder) -> Assistant:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fees-brief.txt").write_text(BRIEF, encoding="utf-8")
    (docs / "shelter notes.md").write_text(NOTES, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    assert assistant.ingest([docs]).ok
    return assistant


def sources(library: Assistant) -> list[str]:
    return [d.source for d in library.documents()]


def test_asking_names_the_document_and_its_chunks_and_removes_nothing(library):
    brief = library.find_document("fees-brief.txt")
    awaiting, question = handlers.removal_question(library, brief.doc_id)

    assert awaiting == brief.doc_id
    chunks = f"{brief.chunk_count} chunk" + ("" if brief.chunk_count == 1 else "s")
    assert question == f"Remove fees-brief.txt ({chunks}) from the library? This cannot be undone."
    assert sources(library) == ["fees-brief.txt", "shelter notes.md"]

    assert handlers.removal_question(library, None) == (None, "Choose a document to remove first.")
    assert handlers.removal_question(library, "gone") == (None, "That document is no longer in the library.")


# ----- the Library tab as built: its events called as Gradio calls them ----------------------------------
def component(demo: gr.Blocks, kind: type, name: str):
    """The one component of ``kind`` whose label (or, for a button, text) is ``name``."""
    [found] = [b for b in demo.blocks.values() if isinstance(b, kind) and name in (getattr(b, "label", None), b.value)]
    return found


def on(demo: gr.Blocks, block, event: str):
    """The function Gradio runs for ``event`` of ``block``."""
    [fn] = [f.fn for f in demo.fns.values() if (block._id, event) in f.targets and f.fn is not None]
    return fn


def hidden(update) -> bool:
    return update == {"__type__": "update", "visible": False}


def shown(update) -> bool:
    return update == {"__type__": "update", "visible": True}


def test_remove_asks_then_cancel_keeps_and_confirm_removes_and_refreshes_the_list(library):
    demo = ui.build_ui(library)
    remove = component(demo, gr.Button, "Remove…")
    confirm = component(demo, gr.Button, "Confirm removal")
    cancel = component(demo, gr.Button, "Cancel")
    chooser = component(demo, gr.Dropdown, "Document to remove")
    assert component(demo, gr.Textbox, "Removal").interactive is False
    assert confirm.parent is cancel.parent and confirm.parent.visible is False  # no question yet
    assert confirm.variant == "stop" and remove.variant != "stop"  # only the second step looks destructive
    brief = library.find_document("fees-brief.txt").doc_id

    status, awaiting, row = on(demo, remove, "click")(brief)
    assert status.startswith("Remove fees-brief.txt (") and status.endswith("This cannot be undone.")
    assert awaiting == brief and shown(row)

    status, awaiting, row = on(demo, cancel, "click")()
    assert (status, awaiting) == ("Nothing was removed.", None) and hidden(row)
    assert sources(library) == ["fees-brief.txt", "shelter notes.md"]

    on(demo, remove, "click")(brief)
    status, awaiting, row, rows, chat_filter, chooser_update, *_ = on(demo, confirm, "click")(brief, [brief], [], [])
    assert status.startswith("Removed fees-brief.txt (") and awaiting is None and hidden(row)
    assert sources(library) == ["shelter notes.md"]
    assert [r[1] for r in rows] == ["shelter notes.md"]  # the list is refreshed
    assert [label for label, _ in chooser_update["choices"]] == ["Field notes on shelters (shelter notes.md)"]
    assert chooser_update["value"] is None and chat_filter["value"] == []  # the removed one is unselected

    # Nothing chosen: no question, nothing to confirm.
    status, awaiting, row = on(demo, remove, "click")(None)
    assert status == "Choose a document to remove first." and awaiting is None and hidden(row)
    # Choosing another document while a question is open withdraws it.
    notes = library.find_document("shelter notes.md").doc_id
    on(demo, remove, "click")(notes)
    assert on(demo, chooser, "input")(notes)[1:] == (None, {"__type__": "update", "visible": False})
    assert sources(library) == ["shelter notes.md"]


def test_confirm_after_the_document_went_elsewhere_says_so(library):
    brief = library.find_document("fees-brief.txt").doc_id
    awaiting, _ = handlers.removal_question(library, brief)
    library.remove("fees-brief.txt")  # from another browser tab, or the command line
    assert handlers.remove_document(library, awaiting) == "That document is no longer in the library."
    assert sources(library) == ["shelter notes.md"]
