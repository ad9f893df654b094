"""The web UI: HTML rendering, the chat and upload handlers, and a real server driven by gradio_client."""

from __future__ import annotations

import json
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

import app
import assistant.service as assistant_service
from assistant.grounding.support import CheckedSentence
from assistant.interfaces import server
from assistant.interfaces.web import handlers, render, ui
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import REFUSAL_TEXT, Answer, AnswerSentence, Citation, SentenceSupport, SupportLabel
from tests.ports import free_port
from tests.shared_paths import SUBMISSION, require


def make_citation(
    n: int = 1,
    context: str = "Alpha beta gamma delta.",
    context_start: int = 100,
    quote: str = "gamma",
    **fields,
) -> Citation:
    start = context_start + context.index(quote)
    values = {
        "n": n,
        "doc_id": "d1",
        "source": "report.pdf",
        "title": "Annual report",
        "page": 3,
        "start": start,
        "end": start + len(quote),
        "quote": quote,
        "chunk_id": f"c{n}",
        "context": context,
        "context_start": context_start,
    }
    return Citation(**{**values, **fields})


def make_answer(citations: tuple[Citation, ...] = (), refused: bool = False, related=()) -> Answer:
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations) or "The library does not say."
    sentences = tuple(AnswerSentence(f"{c.quote} [{c.n}]", (c.n,)) for c in citations)
    return Answer("q?", text, sentences, citations, refused, "q", related=related)


# ----- rendering ----------------------------------------------------------------------------------------
def test_quoted_span_is_highlighted_at_its_offsets():
    citation = make_citation(context="Alpha gamma beta gamma delta.", quote="gamma delta", context_start=250)
    panel = render.render_sources(make_answer((citation,)))

    assert "Alpha gamma beta <mark>gamma delta</mark>." in panel
    assert panel.count("<mark>") == 1
    assert "[1]" in panel and "Annual report" in panel and "report.pdf" in panel and "page 3" in panel


def test_highlight_clamps_offsets_to_the_passage():
    assert render.highlight("abcdef", -5, 2) == "<mark>ab</mark>cdef"
    assert render.highlight("abcdef", 4, 99) == "abcd<mark>ef</mark>"


def test_document_text_is_escaped():
    context = 'Before <script>alert("x")</script> & after'
    citation = make_citation(
        context=context, quote='<script>alert("x")</script>', title="<b>Title</b>", source="a&b <i>.txt"
    )
    panel = render.render_sources(make_answer((citation,)))

    assert "<script>" not in panel and "<b>Title" not in panel and "<i>" not in panel
    assert "<mark>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</mark>" in panel
    assert "&lt;b&gt;Title&lt;/b&gt;" in panel and "a&amp;b &lt;i&gt;.txt" in panel
    assert "Before " in panel and " &amp; after" in panel


def test_citations_are_listed_in_answer_order():
    first = make_citation(1, context="One fact here.", quote="One fact")
    second = make_citation(2, context="Another fact there.", quote="fact there", page=7, source="other.txt")
    panel = render.render_sources(make_answer((first, second)))

    assert panel.index("[1]") < panel.index("[2]")
    assert 'other.txt · <span class="tip-where">page 7</span>' in panel  # never split at the space


def test_refused_answer_shows_related_passages_as_not_an_answer():
    passage = "A nearby <passage> about something else."
    related = make_citation(1, context=passage, quote=passage, context_start=0)
    panel = render.render_sources(make_answer(refused=True, related=(related,)))

    assert "possibly related" in panel and "Not an answer" in panel
    assert "tip-citations" not in panel and "[1]" not in panel
    assert "A nearby &lt;passage&gt; about something else." in panel


def test_refused_answer_without_related_passages_says_so():
    panel = render.render_sources(make_answer(refused=True))
    assert "No passage in the library comes close" in panel and "<mark>" not in panel


def make_support(
    label: SupportLabel, quote: str = "gamma", score: float = 0.6, reasons: tuple[str, ...] = (), **fields
) -> SentenceSupport:
    values = {"doc_id": "d1", "source": "report.pdf", "page": 3, "start": 100, "end": 100 + len(quote)}
    return SentenceSupport(
        title="Annual report", quote=quote, label=label, score=score, reasons=reasons, **{**values, **fields}
    )


def checked_answer(*sentences: tuple[str, SentenceSupport]) -> Answer:
    """An answer whose n-th sentence cites [n] and carries the given support."""
    citations = tuple(make_citation(n, context=f"{text} More.", quote=text) for n, (text, _) in enumerate(sentences, 1))
    parts = tuple(AnswerSentence(text, (n,), support) for n, (text, support) in enumerate(sentences, 1))
    return Answer("q?", " ".join(f"{s.text} [{s.citations[0]}]" for s in parts), parts, citations, False, "q")


class ChatMessage(HTMLParser):
    """A chat message's HTML read back as a browser shows it: ``text`` with each badge as its mark and the
    "Why" list left out, the ``badges`` as (mark, tooltip), the items of the ``why`` list, and every element
    as ``tags`` (tag, attributes)."""

    def __init__(self, message: str):
        super().__init__()
        self.text, self.badges, self.why, self.tags = "", [], [], []
        self._details, self._badge = 0, None
        self.feed(message)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        self._details += tag == "details"
        if tag == "li" and self._details:
            self.why.append("")
        if tag == "span" and "tip-badge" in attributes.get("class", ""):
            self._badge = attributes.get("title", "")

    def handle_endtag(self, tag):
        self._details -= tag == "details"
        if tag == "span":
            self._badge = None

    def handle_data(self, data):
        if self._details:
            if self.why:
                self.why[-1] += data
            return
        if self._badge is not None:
            self.badges.append((data, self._badge))
        self.text += data


def test_a_supported_answer_has_a_tick_after_each_sentence_and_the_same_panel():
    answer = checked_answer(
        ("One fact here.", make_support(SupportLabel.SUPPORTED, "One fact here.", 1.0)),
        ("Another fact.", make_support(SupportLabel.SUPPORTED, "Another fact.", 0.9)),
    )
    shown = ChatMessage(render.answer_html(answer))
    assert shown.text == "One fact here. [1]✅ Another fact. [2]✅"
    assert shown.badges == [
        ("✅", "Supported: the passage it cites says this. Source: Annual report, page 3 · cites [1] · score 1.00"),
        ("✅", "Supported: the passage it cites says this. Source: Annual report, page 3 · cites [2] · score 0.90"),
    ]
    assert shown.why == [] and "details" not in {tag for tag, _ in shown.tags}  # nothing to explain
    panel = render.render_sources(answer)
    assert "tip-flagged" not in panel and "supported" not in panel and "score" not in panel
    assert panel == render.render_sources(make_answer(answer.citations))  # the same panel as without a check


DOUBLED = ("numbers not in the passage: 2020",)  # as the support checker says it


def test_partial_and_unsupported_sentences_are_marked_in_the_chat_with_their_reason():
    answer = checked_answer(
        ("Fees rose.", make_support(SupportLabel.SUPPORTED, "Fees rose.", 1.0)),
        ("Fees rose by half.", make_support(SupportLabel.PARTIAL, "Fees rose somewhat.", 0.61)),
        ("Fees <b>doubled</b> in 2020.", make_support(SupportLabel.UNSUPPORTED, "Fees rose in 2019.", 0.4, DOUBLED)),
    )
    entry = render.answer_entry(answer)
    shown = ChatMessage(entry["shown"])

    assert shown.text == "Fees rose. [1]✅ Fees rose by half. [2]⚠️ Fees <b>doubled</b> in 2020. [3]❌"
    assert "&lt;b&gt;doubled&lt;/b&gt;" in entry["shown"] and "<b>" not in entry["shown"]
    partial, unsupported = shown.badges[1][1], shown.badges[2][1]
    assert partial == ("Partly supported: the closest span of the passage it cites carries only part of it. "
                       "Closest span: Annual report, page 3 · cites [2] · score 0.61")  # fmt: skip
    assert unsupported.startswith("Not supported by its source: numbers not in the passage: 2020. Closest span:")
    # the same reasons, a click away, for a screen without hover
    assert shown.why == [f"⚠️ “Fees rose by half.” {partial}", f"❌ “Fees <b>doubled</b> in 2020.” {unsupported}"]
    assert "Why these 2 sentences are marked" in entry["shown"]
    assert "\n" not in entry["shown"]  # the chat keeps line breaks: the message has none of its own
    # the marks are the UI's: the history handed back to the assistant holds the answer as composed
    assert render.plain_turns([entry]) == [{"role": "assistant", "content": answer.text}]
    assert entry["answer"] is answer
    assert render.chat_messages([entry]) == [{"role": "assistant", "content": entry["shown"]}]


def test_a_sentence_citing_nothing_says_so_in_its_tooltip():
    shown = ChatMessage(render.answer_html(checked_answer(("Fees doubled.", SentenceSupport.nothing()))))
    assert shown.badges == [("❌", "Not supported by its source: it cites no passage that could back it.")]


def test_a_flagged_sentence_missing_from_the_text_is_marked_at_the_end():
    answer = checked_answer(("Fees rose by half.", make_support(SupportLabel.PARTIAL, "Fees rose somewhat.")))
    reworded = replace(answer, text="Fees went up by half [1].")
    assert ChatMessage(render.answer_html(reworded)).text == "Fees went up by half [1].⚠️"


def test_a_repeated_wording_is_marked_where_the_flagged_sentence_is():
    answer = checked_answer(
        ("Fees rose.", make_support(SupportLabel.SUPPORTED, "Fees rose.", 1.0)),
        ("Fees rose.", make_support(SupportLabel.UNSUPPORTED, "Wages fell.", 0.2)),
    )
    assert ChatMessage(render.answer_html(answer)).text == "Fees rose. [1]✅ Fees rose. [2]❌"


def test_citation_markers_stay_with_their_sentence():
    answer = checked_answer(("Fees rose by half.", make_support(SupportLabel.PARTIAL, "Fees rose somewhat.")))
    answer = replace(answer, text="Fees rose by half. [1, 2][3] Then more.")
    assert ChatMessage(render.answer_html(answer)).text == "Fees rose by half. [1, 2][3]⚠️ Then more."


def test_an_unchecked_sentence_has_no_badge():
    answer = replace(make_answer(), sentences=(AnswerSentence("The library does not say.", ()),))
    message = render.answer_html(answer)
    assert ChatMessage(message).text == "The library does not say." and "tip-badge" not in message


def test_sources_panel_explains_flagged_sentences_with_the_closest_quote_escaped():
    answer = checked_answer(
        ("Fees rose.", make_support(SupportLabel.SUPPORTED, "Fees rose.", 1.0)),
        ("Fees rose by half.", make_support(SupportLabel.PARTIAL, "Fees rose <i>somewhat</i>.", 0.61)),
        ("Fees doubled in 2020.", make_support(SupportLabel.UNSUPPORTED, "Fees rose in 2019 & <script>.", 0.4,
                                               reasons=("numbers not in the passage: 2020",))),  # as the checker says
    )
    panel = render.render_sources(answer)
    flagged = panel[panel.index('<ul class="tip-flagged">') : panel.index('<ol class="tip-citations">')]

    assert "These 2 sentences are not fully supported" in panel
    assert "⚠️ partly supported" in flagged and "score 0.61 · cites [2]" in flagged
    assert 'Source: report.pdf · <span class="tip-where">page 3</span>' in flagged
    assert "Fees rose &lt;i&gt;somewhat&lt;/i&gt;." in flagged
    assert "❌ not supported by its source" in flagged and "Closest passage (does not support it)" in flagged
    assert "Fees rose in 2019 &amp; &lt;script&gt;." in flagged and "<script>" not in panel
    assert "Numbers not in the passage: 2020." in flagged
    assert "Fees rose.</div>" not in flagged  # the supported sentence is not listed
    assert panel.count('<li class="tip-source">') == 3  # every citation is still shown


def test_unsupported_sentence_citing_nothing_says_so():
    nothing = SentenceSupport.nothing()
    panel = render.render_sources(checked_answer(("Fees doubled.", nothing)))
    assert "It cites no passage that could back it." in panel and "page 0" not in panel


def test_check_result_lists_each_sentence_with_its_label_and_a_summary():
    checked = [
        CheckedSentence("Fees rose.", 0, 10, make_support(SupportLabel.SUPPORTED, "Fees rose.", 1.0, page=4)),
        CheckedSentence("Fees <rose> a bit.", 11, 29, make_support(SupportLabel.PARTIAL, "Fees & costs rose.")),
        CheckedSentence(
            "Penguins guard borders.", 30, 53, make_support(SupportLabel.UNSUPPORTED, "Staff trained.", 0.1)
        ),
        CheckedSentence("Nothing.", 54, 62, SentenceSupport.nothing()),
    ]
    result = render.render_checked(checked)
    cards = result.split('<li class="tip-source ')[1:]

    assert "4 sentences: 1 supported, 1 partial, 2 with no support in the library" in result
    assert "✅ supported" in cards[0] and "score 1.00" in cards[0]
    assert 'Source: report.pdf · <span class="tip-where">page 4</span>' in cards[0]
    assert "⚠️ partial" in cards[1] and "Fees &lt;rose&gt; a bit." in cards[1] and "Fees &amp; costs rose." in cards[1]
    assert "❌ unsupported" in cards[2]
    assert 'Closest passage (does not support it): report.pdf · <span class="tip-where">page 3</span>' in cards[2]
    assert "No passage in the library comes close." in cards[3]
    assert "<rose>" not in result
    # a card with a passage opens its page: the button says which, and gives the card's position
    assert '<button type="button" class="tip-open" data-n="0"' in cards[0] and ">Open page 4</button>" in cards[0]
    assert 'data-n="2"' in cards[2] and "tip-open" not in cards[3]


def test_support_summary_counts():
    one = CheckedSentence("Fees rose.", 0, 10, make_support(SupportLabel.SUPPORTED, "Fees rose.", 1.0))
    assert render.support_summary([one]) == "1 sentence: 1 supported, 0 partial, 0 with no support in the library"


def test_document_rows_and_choices():
    from vectorstore import DocumentRecord

    doc = DocumentRecord("d1", "report.pdf", "Annual report", "sha", "pdf", 12, 40, 2024, "2024-05-01T09:30:12+00:00",
                         "fr")  # fmt: skip
    assert render.document_rows([doc]) == [["Annual report", "report.pdf", "fr", 2024, 12, 40, "2024-05-01 09:30"]]
    assert render.document_choices([doc]) == [("Annual report (report.pdf)", "d1")]
    undated = DocumentRecord("d2", "notes.txt", "Notes", "sha2", "txt", 1, 3, None, "2024-05-02T10:00:00+00:00")
    assert render.document_rows([undated])[0][2:4] == ["", ""]  # no language or year known: blank, not "None"
    assert len(render.document_rows([doc])[0]) == len(render.TABLE_HEADERS)


# ----- chat ---------------------------------------------------------------------------------------------
class SpyAssistant:
    """The real assistant over a small library, with the arguments of each ``ask`` recorded."""

    def __init__(self, real: Assistant):
        self.real = real
        self.calls = []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def ask(self, question, history=(), doc_ids=None):
        self.calls.append((question, history, doc_ids))
        return self.real.ask(question, history, doc_ids)

    def ask_stream(self, question, history=(), doc_ids=None):
        self.calls.append((question, history, doc_ids))
        return self.real.ask_stream(question, history, doc_ids)


MARKUP = (
    "Shelter notes. The Blantyre shelter received 41 survivors in 2023 <img src=\"http://example.org/x.png\"> "
    "and referred them onwards.\n"
)


@pytest.fixture
def spy(tmp_path, embedder) -> SpyAssistant:
    real = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fees-brief.txt").write_text(BRIEF, encoding="utf-8")
    (docs / "shelter.txt").write_text(MARKUP, encoding="utf-8")
    real.ingest([docs])
    return SpyAssistant(real)


@pytest.mark.integration
def test_the_conversation_kept_by_the_ui_reaches_the_assistant_as_plain_turns(spy):
    brief = spy.real.find_document("fees-brief.txt").doc_id
    kept = [
        render.chat_entry("user", "First question?"),
        render.chat_entry("assistant", "First answer [1]", "First answer [1] (⚠️ partly supported)"),
    ]
    question = "What fees did recruitment agencies charge workers?"
    chat, panel, box, entries = handlers.chat_turn(spy, question, kept, [brief])

    _, history, doc_ids = spy.calls[0]
    assert doc_ids == [brief]
    assert history == [
        {"role": "user", "content": "First question?"},
        {"role": "assistant", "content": "First answer [1]"},  # as composed, without the UI's marks
    ]
    assert chat[1]["content"] == "First answer [1] (⚠️ partly supported)"  # an earlier answer keeps its mark
    assert chat[-2]["content"] == question and entries[-2]["content"] == question
    shown = ChatMessage(chat[-1]["content"])
    assert "three months' wages" in shown.text and "[1]✅" in shown.text
    assert "<mark>" in panel and "fees-brief.txt" in panel
    # the extractive answer quotes its sources: every sentence supported, none flagged
    assert {mark for mark, _ in shown.badges} == {"✅"} and shown.why == [] and "tip-flagged" not in panel
    assert entries[-1]["answer"].text == entries[-1]["content"]  # the answer itself is kept, for the export
    assert len(entries) == 4 and entries[:2] == kept
    assert box == ""  # answered: the question box is emptied for the next one


@pytest.mark.integration
def test_chat_shows_markup_in_documents_as_text_and_gets_it_back_as_written(spy):
    question = "How many survivors did the Blantyre shelter receive <b>in 2023</b>?"
    chat, panel, _, kept = handlers.chat_turn(spy, question, [], None)

    assert chat[0]["content"] == "How many survivors did the Blantyre shelter receive &lt;b&gt;in 2023&lt;/b&gt;?"
    assert "41 survivors" in chat[1]["content"]
    assert "<img" not in chat[1]["content"] and "&lt;img" in chat[1]["content"]
    assert "<img" not in panel and "&lt;img" in panel
    handlers.chat_turn(spy, "And then?", kept, None)
    assert spy.calls[1][1][0] == {
        "role": "user", "content": "How many survivors did the Blantyre shelter receive <b>in 2023</b>?"
    }
    assert "<img src=" in spy.calls[1][1][1]["content"]  # the history holds the text as the document has it


@pytest.mark.integration
def test_filters_restrict_the_search(spy):
    handlers.chat_turn(spy, "Anything?", [], [])
    assert spy.calls[0][2] is None  # no filter: the whole library
    shelter = spy.real.find_document("shelter.txt").doc_id
    panel = handlers.chat_turn(spy, "What did the ministry propose about fees?", [], [shelter]).sources
    assert "fees-brief.txt" not in panel
    panel = handlers.chat_turn(spy, "What did the ministry propose about fees?", [], None, [1999]).sources
    assert spy.calls[-1][2] == []  # no document of that year: nothing to search
    assert "No passage" in panel or "Not an answer" in panel


@pytest.mark.parametrize("empty", ["", "  ", "[]"])
def test_api_history_may_be_empty(empty):
    assert handlers.parse_history(empty) == []


@pytest.mark.parametrize(
    ("history_json", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"role": "user"}', "must be a JSON list"),
        ('[{"role": "robot", "content": "hi"}]', '"role" must be'),
        ('[{"role": "user", "content": 3}]', '"content" must be a string'),
    ],
)
def test_bad_api_history_is_explained(history_json, message):
    with pytest.raises(ValueError, match=message):
        handlers.parse_history(history_json)


def test_only_the_ask_endpoint_is_public(tmp_path):
    demo = ui.build_ui(Assistant(Settings(data_dir=tmp_path / "data")))
    info = demo.get_api_info()
    assert list(info["named_endpoints"]) == ["/ask"] and not info["unnamed_endpoints"]
    assert [p["parameter_name"] for p in info["named_endpoints"]["/ask"]["parameters"]] == ["question", "history_json"]


# ----- check text ---------------------------------------------------------------------------------------
@pytest.mark.integration
def test_check_text_finds_the_source_of_a_true_sentence_and_none_for_an_invented_one(spy):
    text = (
        "Recruitment agencies charged workers fees of up to three months' wages.\n\n"
        "Penguins in Antarctica were trained as <i>border guards</i> in 2019."
    )
    seen = []
    result, passages = handlers.check_text(spy, text, None, lambda step, **kwargs: seen.append(step))
    true, invented = result.split('<li class="tip-source ')[1:]

    assert "2 sentences: 1 supported, 0 partial, 1 with no support in the library" in result
    assert "✅ supported" in true and 'Source: fees-brief.txt · <span class="tip-where">page 1</span>' in true
    assert "fees of up to three months&#39; wages." in true
    assert "❌ unsupported" in invented and "Closest passage (does not support it)" in invented
    assert "&lt;i&gt;border guards&lt;/i&gt;" in invented and "<i>" not in result
    assert seen == [(0, 2), (1, 2)]  # one step per paragraph
    # each card's button opens its sentence's passage, by the sentence's position
    assert 'data-n="0"' in true and 'data-n="1"' in invented
    assert passages[0].source == "fees-brief.txt" and "three months" in passages[0].quote
    assert passages[1] is not None  # the closest passage, which does not support the sentence


@pytest.mark.integration
def test_check_text_paragraph_by_paragraph_finds_what_one_check_finds(spy):
    text = (
        "The ministry proposed a ban on fees. Agencies were licensed.\n  \n"
        "The Blantyre shelter received 41 survivors in 2023.\n\n\nIt referred them onwards."
    )
    by_paragraph = handlers.verify_text(spy, text)
    whole = spy.real.verify(text)

    def without_score(checked):  # under bf16 a vector moves in its 4th decimal with the other texts of its batch
        return replace(checked, support=replace(checked.support, score=None)) if checked.support else checked

    assert [without_score(c) for c in by_paragraph] == [without_score(c) for c in whole]
    for mine, theirs in zip(by_paragraph, whole, strict=True):
        if mine.support is not None:
            assert mine.support.score == pytest.approx(theirs.support.score, abs=2e-3)
    assert [text[c.start : c.end] for c in by_paragraph] == [c.text for c in by_paragraph]


@pytest.mark.integration
def test_check_text_honours_the_document_filter(spy):
    shelter = spy.real.find_document("shelter.txt").doc_id
    text = "Recruitment agencies charged workers fees of up to three months' wages."
    result = handlers.check_text(spy, text, [shelter]).shown
    assert "fees-brief.txt" not in result and "❌ unsupported" in result


@pytest.mark.parametrize("empty", [None, "", " \n\n "])
def test_check_text_asks_for_text_when_there_is_none(empty):
    assert "Paste some text to check first." in handlers.check_text(None, empty).shown


def test_check_text_on_an_empty_library_says_so(tmp_path):
    result = handlers.check_text(Assistant(Settings(data_dir=tmp_path / "data")), "Anything at all.")
    assert "The library is empty" in result.shown and result.passages == ()


@pytest.mark.integration
def test_check_text_with_a_document_removed_meanwhile(spy):
    assert "no longer in the library" in handlers.check_text(spy, "Fees were charged.", ["gone"]).shown


# ----- library ------------------------------------------------------------------------------------------
def gradio_upload(tmp_path: Path, random_dir: str, name: str, content: bytes) -> str:
    """A file where Gradio puts uploads: a random folder, the original name inside."""
    folder = tmp_path / "gradio" / random_dir
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(content)
    return str(path)


NOTES = (
    "# Field notes on shelters\n\n"
    "The shelter in the northern district hosted twelve survivors of labour exploitation during the year. "
    "Staff received training on trauma-informed interviewing from a local organisation.\n"
)
BRIEF = (
    "Policy brief on recruitment fees. Recruitment agencies charged workers fees of up to three months' wages. "
    "The ministry proposed a ban on fees charged to workers and a register of licensed agencies.\n"
)


@pytest.fixture
def library(tmp_path, embedder) -> Assistant:
    return Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)


@pytest.mark.integration
def test_upload_reports_each_file_and_keeps_original_names(tmp_path, library):
    uploads = [
        gradio_upload(tmp_path, "3f9a1c", "shelter notes.md", NOTES.encode()),
        gradio_upload(tmp_path, "b72e04", "fees-brief.txt", BRIEF.encode()),
        gradio_upload(tmp_path, "0d5e88", "scan.pdf", b""),
    ]
    seen = []
    report, taken = handlers.add_uploads(library, uploads, lambda step, **kwargs: seen.append(step))
    lines = report.splitlines()
    assert taken  # the UI empties the upload box

    assert lines[0].startswith("✅ shelter notes.md: added")
    assert lines[1].startswith("✅ fees-brief.txt: added")
    assert lines[2].startswith("❌ scan.pdf: failed (empty file")
    assert lines[-1] == "2 added, 1 failed; 2 documents in the library"
    assert seen[-1] == (3, 3)
    assert {d.source for d in library.documents()} == {"shelter notes.md", "fees-brief.txt"}

    again = handlers.add_uploads(library, [uploads[1]]).report
    assert again.splitlines()[0].startswith("· fees-brief.txt: unchanged")


@pytest.mark.integration
def test_two_uploads_with_one_name_are_not_merged(tmp_path, library):
    uploads = [
        gradio_upload(tmp_path, "aa", "notes.txt", NOTES.encode()),
        gradio_upload(tmp_path, "bb", "notes.txt", BRIEF.encode()),
    ]
    lines = handlers.add_uploads(library, uploads).report.splitlines()

    assert lines[0].startswith("✅ notes.txt: added")
    assert lines[1].startswith("❌ notes.txt: failed") and "same name" in lines[1]
    assert [d.source for d in library.documents()] == ["notes.txt"]


@pytest.mark.integration
def test_remove_document_and_library_state(tmp_path, library):
    handlers.add_uploads(library, [gradio_upload(tmp_path, "aa", "fees-brief.txt", BRIEF.encode())])
    rows, choices, kept, years = handlers.library_state(library, ["gone", library.documents()[0].doc_id])
    assert [row[1] for row in rows] == ["fees-brief.txt"] and len(kept) == 1

    assert handlers.remove_document(library, choices[0][1]).startswith("Removed fees-brief.txt")
    assert handlers.remove_document(library, choices[0][1]) == "That document is no longer in the library."
    assert handlers.remove_document(library, None) == "Choose a document to remove first."
    assert handlers.library_state(library, kept) == ([], [], [], [])


def test_nothing_chosen_to_upload():
    assert "Choose" in handlers.add_uploads(None, []).report


@pytest.mark.integration
def test_docs_given_at_start_are_handed_to_the_server_to_add_once_it_listens(tmp_path, monkeypatch, embedder):
    # What the server then does with them is tested on a real server process in tests/test_startup.py.
    monkeypatch.setattr(assistant_service, "Embedder", lambda *args, **kwargs: embedder)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text(NOTES, encoding="utf-8")
    served = {}

    def serve(assistant, documents=(), **_):
        served.update(before=len(assistant.documents()), documents=list(documents))

    monkeypatch.setattr(server, "serve", serve)
    with pytest.raises(SystemExit) as exited:
        app.main(["--docs", str(tmp_path / "docs"), "--data-dir", str(tmp_path / "data"), "--port", "7999"])
    assert exited.value.code == 0
    assert served == {"before": 0, "documents": [tmp_path / "docs"]}  # nothing is ingested before listening


def test_main_builds_settings_from_flags_and_serves(tmp_path, monkeypatch):
    monkeypatch.delenv("TIP_HOST", raising=False)
    served = {}
    monkeypatch.setattr(server, "serve", lambda assistant, **_: served.update(settings=assistant.settings))
    with pytest.raises(SystemExit) as exited:
        app.main(["--data-dir", str(tmp_path), "--port", "7999"])
    assert exited.value.code == 0

    settings = served["settings"]
    assert (settings.data_dir, settings.host, settings.port) == (tmp_path, "127.0.0.1", 7999)


def test_main_reports_a_bad_setting_as_one_line(monkeypatch, capsys):
    monkeypatch.setenv("TIP_PORT", "seventy")
    with pytest.raises(SystemExit) as exited:
        app.main([])
    assert exited.value.code == 2
    assert capsys.readouterr().err == "error: TIP_PORT='seventy' is not a whole number: use 1 to 65535\n"


# ----- a real server --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_ask_endpoint_over_http(tmp_path, monkeypatch, embedder):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    submission = require(SUBMISSION)
    monkeypatch.setenv("TIP_DATA_DIR", str(tmp_path / "data"))
    settings = Settings.from_env(port=free_port())
    assert settings.host == "127.0.0.1" and settings.data_dir == tmp_path / "data"
    assistant = Assistant(settings, embedder=embedder)

    assert assistant.ingest([submission]).ok
    running = server.serve(assistant, background=True)
    try:
        assert running.url == f"http://127.0.0.1:{settings.port}"
        client = Client(f"{running.url}/", verbose=False, analytics_enabled=False, download_files=False)

        answer = client.predict(
            "How many trafficking victims were identified at the Dzaleka Refugee Camp?", "", api_name="/ask"
        )
        assert answer["refused"] is False and "87" in answer["answer"]
        assert answer["citations"] and {c["source"] for c in answer["citations"]} == {submission.name}
        for c in answer["citations"]:
            assert assistant.page_text(c["doc_id"], c["page"])[c["start"] : c["end"]] == c["quote"]

        first_question = "What training did UNODC deliver to practitioners in Cox's Bazar, Bangladesh?"
        first = client.predict(first_question, "[]", api_name="/ask")
        history = [{"role": "user", "content": first_question}, {"role": "assistant", "content": first["answer"]}]
        followup = client.predict("How many of them were women?", json.dumps(history), api_name="/ask")
        assert followup["refused"] is False and "40" in followup["answer"]
        assert {c["source"] for c in followup["citations"]} == {submission.name}

        with pytest.raises(AppError, match='"role" must be'):
            client.predict("Anything?", '[{"role": "robot", "content": "hi"}]', api_name="/ask")
    finally:
        running.close()


def test_refusal_reason_is_shown_escaped():
    answer = replace(make_answer(refused=True), refusal_reason="the library never mentions “<kafala>”")
    panel = render.render_sources(answer)
    assert "the library never mentions “&lt;kafala&gt;”" in panel


@pytest.mark.integration
def test_generated_text_streams_into_the_chat_then_the_checked_answer_replaces_it(tmp_path, embedder):
    # A fake chat model stands in for a model server, which cannot run here.
    from tests.fake_models import ScriptedChatModel

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fees-brief.txt").write_text(BRIEF, encoding="utf-8")
    Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder).ingest([docs])
    reply = "Recruitment agencies charged workers fees of up to three months' wages [1]. Fees were banned in 1850 [1]."
    model = ScriptedChatModel(responses=[reply])
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder, model=model)
    steps = list(handlers.chat_turn_stream(assistant, "What fees were charged?", [], None))
    streamed, (final_chat, final_panel, _, kept) = steps[:-1], steps[-1]
    assert "fees-brief.txt" in final_panel
    assert len(streamed) > 3 and all(panel == render.CHECKING and entries == [] for _, panel, _, entries in streamed)
    assert kept[-1]["content"].startswith("Recruitment agencies") and "not supported" not in kept[-1]["content"]
    assert streamed[-1][0][-1]["content"].startswith("Recruitment agencies charged")
    shown = ChatMessage(final_chat[-1]["content"])
    assert "three months' wages. [1]✅" in shown.text
    assert shown.text.endswith("1850.❌")  # the invented sentence is flagged once checked (and cites nothing)


def test_notices_are_shown_escaped_above_the_sources():
    answer = Answer("q", REFUSAL_TEXT, (), (), True, "q", notices=("No generated answer: <b>HTTP 500</b>.",))
    panel = render.render_sources(answer)
    assert panel.startswith('<p class="tip-notice">') and "&lt;b&gt;HTTP 500&lt;/b&gt;" in panel


@pytest.mark.integration
def test_draft_tab_summarizes_and_cites_with_files_to_download(spy, tmp_path):
    import docx

    message, preview, files = handlers.summarize_tab(spy.real, "recruitment fees", "document", tmp_path / "summary")
    assert message == ""
    assert "<h1>What the library says on “recruitment fees”</h1>" in preview and "[^1]" not in preview
    assert '<a href="#tip-note-1" id="tip-cite-1" title="Note 1">1</a>' in preview and 'id="tip-note-1"' in preview
    md, word = (Path(f) for f in files)
    assert md.suffix == ".md" and md.read_text(encoding="utf-8").startswith("# What the library says on")
    assert "[^1]: " in md.read_text(encoding="utf-8")  # the download keeps its footnotes
    assert word.suffix == ".docx" and docx.Document(str(word)).core_properties.title.startswith("What the library")

    draft = "Agencies charged workers fees of up to three months' wages. The ministry banned all agencies in 1850."
    message, preview, files = handlers.cite_tab(spy.real, draft, tmp_path / "cited")
    assert 'three months&#39; wages.<sup class="tip-ref"><a href="#tip-note-1"' in preview
    assert '1850. <mark class="tip-needed">[citation needed]</mark>' in preview
    assert "1 marked [citation needed]" in preview and len(files) == 2
    assert "1850. **[citation needed]**" in Path(files[0]).read_text(encoding="utf-8")


def test_draft_tab_says_what_to_do_first(tmp_path, embedder):
    empty = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    message, preview, files = handlers.summarize_tab(empty, " ", "auto", tmp_path)
    assert "Type a topic to summarize first." in message and preview is None and files is None
    message, preview, files = handlers.cite_tab(empty, "", tmp_path)
    assert "Paste your draft into “Or cite your own draft” first." in message and (preview, files) == (None, None)
    assert "library is empty" in handlers.summarize_tab(empty, "fees", "auto", tmp_path).message


@pytest.mark.integration
def test_draft_tab_uses_only_the_chosen_documents(spy, tmp_path):
    shelter = spy.real.find_document("shelter.txt").doc_id
    topic = "survivors and fees"
    _, preview, _ = handlers.summarize_tab(spy.real, topic, "document", tmp_path / "s", doc_ids=[shelter])
    assert "shelter.txt" in preview and "fees-brief.txt" not in preview
    _, preview, files = handlers.cite_tab(spy.real, "Agencies charged fees of up to three months' wages.",
                                          tmp_path / "c", doc_ids=[shelter])  # fmt: skip
    assert '<mark class="tip-needed">[citation needed]</mark>' in preview  # the brief is not among the chosen
    spy.real.remove("shelter.txt")
    message = handlers.summarize_tab(spy.real, "fees", "auto", tmp_path, doc_ids=[shelter]).message
    assert "no longer in the library" in message


def test_a_refusal_in_the_chat_is_labelled_not_in_the_library_and_says_why():
    reason = "nothing in the library mentions “<Antarctica>”"
    related = make_citation(1, context="A nearby passage.", quote="A nearby passage.", context_start=0, page=7)
    refused = Answer("q", REFUSAL_TEXT, (), (), True, "q", related=(related,), refusal_reason=reason)
    message = render.answer_html(refused)
    shown = ChatMessage(message)

    assert shown.text == (
        f"Not in the library{REFUSAL_TEXT}Why: {reason}."
        "Possibly related, not an answer (see Sources): Annual report (report.pdf, p. 7)"
    )
    assert message.startswith('<div class="tip-refusal" style="border-left: 4px solid') and shown.badges == []
    assert "&lt;Antarctica&gt;" in message and "A nearby passage" not in message  # the passages are in Sources
    bare = ChatMessage(render.answer_html(Answer("q", REFUSAL_TEXT, (), (), True, "q")))
    assert bare.text == f"Not in the library{REFUSAL_TEXT}"
    # an answer is never framed as a refusal
    answer = checked_answer(("Fees rose.", make_support(SupportLabel.SUPPORTED, "Fees rose.", 1.0)))
    assert "tip-refusal" not in render.answer_html(answer) and "Not in the library" not in render.answer_html(answer)


def test_serving_off_loopback_without_a_token_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIP_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit) as exited:
        app.main(["--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "TIP_HOST=0.0.0.0" in err and "set TIP_API_TOKEN" in err
