"""The CLI through ``main(argv)``: exit codes and messages, on a library in a temp folder."""

from __future__ import annotations

import json

import pytest

import assistant.service
from assistant.interfaces.cli import main
from tests.shared_paths import SUBMISSION, require


@pytest.fixture(autouse=True)
def library(tmp_path, monkeypatch, embedder):
    (tmp_path / "data").mkdir()  # an empty library (no folder at all is another case, tested below)
    monkeypatch.setenv("TIP_DATA_DIR", str(tmp_path / "data"))
    # every CLI call builds an Assistant; let them share the model already loaded for this run
    monkeypatch.setattr(assistant.service, "Embedder", lambda *args, **kwargs: embedder)
    return tmp_path / "data"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_ask_docs_remove_round_trip(capsys):
    submission = require(SUBMISSION)
    code, out, _ = run(capsys, "ingest", str(submission))
    assert code == 0
    assert f"✅ {submission.name}: added" in out
    assert "1 added" in out

    code, out, _ = run(capsys, "ingest", str(submission))
    assert code == 0 and f"{submission.name}: unchanged" in out

    code, out, _ = run(capsys, "ask", "How many victims of trafficking were identified at the Dzaleka Refugee Camp?",
                       "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["refused"] is False and "87" in answer["answer"]
    citation = answer["citations"][0]
    assert {"n", "doc_id", "source", "title", "page", "start", "end", "quote"} <= citation.keys()
    assert citation["source"] == submission.name
    assert all(set(s["citations"]) <= {c["n"] for c in answer["citations"]} for s in answer["sentences"])

    code, out, _ = run(capsys, "docs")
    assert code == 0 and submission.name in out

    code, out, _ = run(capsys, "remove", submission.name)
    assert code == 0 and "removed" in out
    code, out, _ = run(capsys, "docs")
    assert "library is empty" in out


def test_ingest_of_a_folder_names_files_by_path_and_lists_what_it_skips(capsys, tmp_path):
    docs = tmp_path / "submission"
    (docs / "2023").mkdir(parents=True)
    (docs / "2023" / "brief.txt").write_text("In 2023 the Mwanza office received 96 referrals.", encoding="utf-8")
    (docs / "slides.pptx").write_bytes(b"PK not really slides")
    code, out, _ = run(capsys, "ingest", str(docs))
    assert code == 0  # a skipped file is not a failure
    assert "✅ 2023/brief.txt: added (1 page, 1 chunk)" in out
    assert "– slides.pptx: skipped (slides are not supported: save them as PDF)" in out
    assert "1 added, 1 skipped" in out
    page = "<h1>Note</h1><p>In 2023 the Dodoma office received 12 referrals of trafficking victims from farms.</p>"
    (docs / "note.html").write_text(f"<html><body><main>{page}</main></body></html>")
    code, out, _ = run(capsys, "ingest", str(docs))
    assert "✅ note.html: added (1 section, 1 chunk)" in out  # a web page has sections, not pages
    code, out, _ = run(capsys, "remove", "2023/brief.txt")
    assert code == 0 and "removed" in out


def test_followup_with_history_file(capsys, tmp_path):
    require(SUBMISSION)
    run(capsys, "ingest", str(SUBMISSION))
    history = tmp_path / "turns.json"
    history.write_text(json.dumps([
        {"role": "user", "content": "What did UNODC do for Rohingya refugees in Cox's Bazar, Bangladesh?"},
        {"role": "assistant", "content": "It ran capacity-building workshops for law enforcement officers."},
    ]), encoding="utf-8")
    code, out, _ = run(capsys, "ask", "How many of them were women?", "--history", str(history), "--json")
    assert code == 0
    assert "40" in json.loads(out)["answer"]


def test_remove_unknown_document_is_a_clean_error(capsys):
    code, _, err = run(capsys, "remove", "nothing-here.pdf")
    assert code == 2
    assert "no document 'nothing-here.pdf'" in err and "tip-assistant docs" in err


def test_bad_history_file_is_named(capsys, tmp_path):
    bad = tmp_path / "turns.json"
    bad.write_text('[{"role": "robot", "content": "hi"}]', encoding="utf-8")
    code, _, err = run(capsys, "ask", "anything?", "--history", str(bad))
    assert code == 2
    assert "turns.json" in err and '"role"' in err


def test_failed_file_makes_ingest_exit_non_zero(capsys, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, out, _ = run(capsys, "ingest", str(empty))
    assert code == 1
    assert "❌ empty.txt: failed" in out


def test_ask_filters_by_document_and_year(capsys):
    require(SUBMISSION)
    run(capsys, "ingest", str(SUBMISSION))
    question = "How many victims of trafficking were identified at the Dzaleka Refugee Camp?"

    code, out, _ = run(capsys, "ask", question, "--doc", "unodc-SUBMISSION", "--year", "2023-2024", "--json")
    assert code == 0 and "87" in json.loads(out)["answer"]  # part of the file name, any case; dated June 2024

    code, out, _ = run(capsys, "ask", question, "--year", "2019", "--json")
    assert json.loads(out)["refused"] is True

    code, out, _ = run(capsys, "ask", "What does the submission say about trafficking in Antarctica?")
    assert code == 0 and "Why: nothing in the library mentions “Antarctica”." in out  # the reason, not just "no"

    code, _, err = run(capsys, "ask", question, "--doc", "annual-report")
    assert code == 2 and "no document 'annual-report'" in err


def test_bad_year_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ask", "anything?", "--year", "last year"])
    assert exit_info.value.code == 2
    assert "not a year or a range" in capsys.readouterr().err


def test_verify_labels_each_sentence_with_its_source(capsys, tmp_path, monkeypatch):
    submission = require(SUBMISSION)
    assert run(capsys, "ingest", str(submission))[0] == 0
    draft = tmp_path / "draft.txt"
    draft.write_text(
        "UNODC identified 87 victims of trafficking at the Dzaleka Refugee Camp in Malawi in 2024. "
        "UNODC trained 900 judges in Brazil in 2023.",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "verify", str(draft), "--json")
    assert code == 0
    sentences = json.loads(out)["sentences"]
    assert [s["label"] for s in sentences] == ["supported", "unsupported"]
    first = sentences[0]
    assert set(first) == {"text", "label", "score", "source", "page", "start", "end", "quote"}
    assert first["source"] == submission.name and first["page"] == 1
    assert "87 victims" in first["quote"] and first["end"] - first["start"] == len(first["quote"])

    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("UNODC trained 900 judges in Brazil in 2023."))
    code, out, _ = run(capsys, "verify", "-")
    assert code == 0 and out.startswith("❌ unsupported")
    assert out.rstrip().endswith("1 sentence: 0 supported, 0 partial, 1 with no support in the library")  # as the UI


@pytest.mark.parametrize(("content", "message"), [(None, "does not exist"), ("", "empty"), (b"\xff\xfe\x00", "UTF-8")])
def test_verify_bad_input_is_named(capsys, tmp_path, content, message):
    path = tmp_path / "draft.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "verify", str(path))
    assert code == 2 and message in err


def test_ask_with_an_unreachable_model_answers_extractively_and_says_why(capsys, monkeypatch):
    from tests.llm_servers import refused_url

    assert run(capsys, "ingest", str(require(SUBMISSION)))[0] == 0
    monkeypatch.setenv("TIP_LLM", "ollama:llama3.1")
    monkeypatch.setenv("TIP_LLM_BASE_URL", refused_url())
    code, out, _ = run(capsys, "ask", "How many victims of trafficking were identified at the Dzaleka Refugee Camp?")
    assert code == 0
    assert out.startswith("note: No generated answer: could not connect to the model server at")
    assert "87" in out and "Sources:" in out


def test_a_bad_model_setting_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("TIP_LLM", "gpt4")
    code, _, err = run(capsys, "ask", "Anything?")
    assert code == 2 and "TIP_LLM='gpt4'" in err and "ollama:MODEL" in err


def test_summarize_and_cite_print_markdown_or_write_word(capsys, tmp_path):
    import docx

    assert run(capsys, "ingest", str(require(SUBMISSION)))[0] == 0
    code, out, err = run(capsys, "summarize", "UNODC support in refugee settings", "--group", "country")
    assert code == 0 and out.startswith("# What the library says on") and "[^1]" in out and "## References" in out
    assert "1 document cited" in err  # the one document in the library

    target = tmp_path / "summary.docx"
    code, _, err = run(capsys, "summarize", "UNODC support in refugee settings", "-o", str(target))
    assert code == 0 and f"written: {target}" in err
    document = docx.Document(str(target))
    assert document.core_properties.title.startswith("What the library says on")
    assert any(p.style.name == "Heading 1" and p.text == "References" for p in document.paragraphs)

    draft = tmp_path / "draft.txt"
    draft.write_text("UNODC trained 2,500 judges in Bangladesh in 2022.", encoding="utf-8")
    code, out, err = run(capsys, "cite", str(draft))
    assert code == 0 and "**[citation needed]**" in out and "1 marked [citation needed]" in err


def test_export_format_problems_are_one_line(capsys, tmp_path):
    assert run(capsys, "ingest", str(require(SUBMISSION)))[0] == 0
    code, _, err = run(capsys, "summarize", "refugees", "--format", "docx")
    assert code == 2 and "add -o FILE.docx" in err
    code, _, err = run(capsys, "summarize", "refugees", "-o", str(tmp_path / "summary.pdf"))
    assert code == 2 and "name it .md or .docx" in err


@pytest.mark.parametrize(
    "argv", [("ask", "How many victims were identified?"), ("verify", "-"), ("summarize", "forced labour")]
)
def test_an_empty_library_says_so_in_one_line(capsys, monkeypatch, argv):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("87 victims were identified at the camp."))
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: the library is empty: add files with `tip-assistant ingest PATH` or in the Library tab"
    )


@pytest.mark.parametrize("argv", [("ask", "How many victims were identified?"), ("docs",), ("remove", "a.pdf")])
def test_a_command_run_where_there_is_no_library_names_the_folder_and_creates_nothing(
    capsys, tmp_path, monkeypatch, argv
):
    elsewhere = tmp_path / "another-folder"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("TIP_DATA_DIR")
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"error: there is no library at {elsewhere / 'data'}: ") and "--data-dir" in err
    assert list(elsewhere.iterdir()) == []  # no empty ./data left behind


def test_the_choices_the_parser_offers_are_the_ones_drafting_knows():
    # The parser names them itself so that a client call does not load the drafting code.
    from assistant.drafting.drafts import Grouping
    from assistant.drafting.export import FORMATS
    from assistant.interfaces import cli

    assert cli.GROUPINGS == tuple(g.value for g in Grouping)
    assert cli.FORMATS == FORMATS
