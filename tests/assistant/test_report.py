"""Rendering an evaluation: the text table, the Markdown report and the report folder."""

from __future__ import annotations

import json
import re

from assistant.evaluation.gold_set import FIGURE_KEYS, QUESTION_TYPES
from assistant.evaluation.report import format_summary, md_cell, render_markdown, write_report


def figures(items: int, answerable: int, **values) -> dict:
    base = {"k": 4, "items": items, "answerable": answerable, "unanswerable": items - answerable, "refused": 0}
    return {**base, **{key: values.get(key) for key in FIGURE_KEYS}}


def record(item_id: str, qtype: str, question: str, ok: bool | None, failure: str | None) -> dict:
    flags = {key: ok for key in ("retrieval_hit", "source_hit", "answer_correct", "citation_hit", "citation_page_hit")}
    return {
        "id": item_id,
        "type": qtype,
        "question": question,
        **flags,
        "rr": None if ok is None else float(ok),
        "refused": ok is None,
        "refusal_correct": True,
        "latency_ms": 812.4,
        "cited_sources": [],
        "cited_pages": {},
        "retrieved_sources": [],
        "failure": failure,
        "answer": "",
    }


def evaluation() -> dict:
    overall = figures(
        3,
        2,
        retrieval_hit_at_k=0.5,
        mrr=0.75,
        answer_correct=0.5,
        refusal_recall=1.0,
        refusal_precision=None,
        latency_p50_ms=812.4,
        latency_p95_ms=1200.0,
    )
    by_type = {qtype: figures(0, 0) for qtype in QUESTION_TYPES}
    by_type["factoid"] = figures(2, 2, retrieval_hit_at_k=0.5, answer_correct=0.5)
    by_type["unanswerable"] = figures(1, 0, refusal_recall=1.0)
    return {
        "gold": "tiny.jsonl",
        **overall,
        "by_type": by_type,
        "per_item": [
            record("q-1", "factoid", "Which | column\nbreaks the table?", True, None),
            record("q-2", "factoid", "How many victims " * 10, False, "retrieval missed: '87'"),
            record("q-3", "unanswerable", "Who won in 1998?", None, None),
        ],
    }


def table_rows(markdown: str, first_cell: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith(f"| {first_cell}")]


def test_questions_are_escaped_and_shortened_in_the_item_table():
    markdown = render_markdown(evaluation())
    (row,) = table_rows(markdown, "q-1")
    assert "Which \\| column breaks the table?" in row
    (header,) = table_rows(markdown, "id ")
    unescaped = re.compile(r"(?<!\\)\|")
    assert len(unescaped.findall(row)) == len(unescaped.findall(header))  # the `|` did not add a column
    (long_row,) = table_rows(markdown, "q-2")
    assert "…" in long_row and "How many victims " * 10 not in long_row


def test_marks_and_failure_reasons():
    markdown = render_markdown(evaluation())
    (ok,) = table_rows(markdown, "q-1")
    (failed,) = table_rows(markdown, "q-2")
    (unanswerable,) = table_rows(markdown, "q-3")
    assert ok.count("✓") == 6 and "✗" not in ok
    assert failed.count("✗") == 5 and failed.rstrip().endswith("retrieval missed: '87' |")
    assert unanswerable.count("–") == 6 and unanswerable.count("✓") == 1  # only the refusal applies
    assert "- retrieval missed (1): q-2" in markdown


def test_figures_table_has_every_type_and_na_for_nulls():
    markdown = render_markdown(evaluation())
    (header,) = table_rows(markdown, "figure")
    assert header == "| figure | overall | " + " | ".join(QUESTION_TYPES) + " |"
    (precision,) = table_rows(markdown, "refusal precision")
    assert precision == "| refusal precision | n/a | n/a | n/a | n/a | n/a | n/a |"
    (hit,) = table_rows(markdown, "retrieval hit@4")
    assert hit.startswith("| retrieval hit@4 | 0.50 | 0.50 | n/a |")
    assert "gold set `tiny.jsonl`" in markdown


def test_text_summary_lines_up_and_lists_failures():
    text = format_summary(evaluation())
    lines = text.splitlines()
    assert lines[0].split() == ["figure", "overall", *QUESTION_TYPES]
    precision = next(line for line in lines if line.startswith("refusal precision"))
    assert precision.split()[2:] == ["n/a"] * 6
    latency = next(line for line in lines if line.startswith("latency p50"))
    assert latency.split()[3] == "812"
    assert "1 of 3 items with a failure:" in text and "q-2" in text and "retrieval missed: '87'" in text


def kinded_evaluation() -> dict:
    """``evaluation()`` with kinds on q-2 and q-3 (q-1 has none); by_kind in first-appearance order."""
    data = evaluation()
    by_kind = {
        "typo": figures(1, 1, retrieval_hit_at_k=0.0, answer_correct=0.0, false_refusal_rate=0.0),
        "near-miss-year": figures(1, 0, refusal_recall=1.0, latency_p50_ms=812.4),
    }
    kinds = {"q-1": None, "q-2": "typo", "q-3": "near-miss-year"}
    per_item = [{"id": r["id"], "type": r["type"], "kind": kinds[r["id"]], **r} for r in data.pop("per_item")]
    return {**data, "by_kind": by_kind, "per_item": per_item}


def test_text_summary_has_a_by_kind_table_after_the_by_type_one():
    lines = format_summary(kinded_evaluation()).splitlines()
    headers = [n for n, line in enumerate(lines) if line.startswith("figure")]
    assert len(headers) == 2
    by_type, by_kind = lines[headers[0] : headers[1]], lines[headers[1] :]
    assert by_type[0].split() == ["figure", "overall", *QUESTION_TYPES]
    assert by_kind[0].split() == ["figure", "typo", "near-miss-year"]
    recall = next(line for line in by_kind if line.startswith("refusal recall"))
    assert recall.split()[2:] == ["n/a", "1.00"]
    correct = next(line for line in by_kind if line.startswith("answer correct"))
    assert correct.split()[2:] == ["0.00", "n/a"]
    (failure,) = [line for line in lines if line.lstrip().startswith("q-2")]
    assert failure.split()[:3] == ["q-2", "factoid", "typo"] and failure.endswith("retrieval missed: '87'")


def test_markdown_has_a_by_kind_table_and_kinds_in_items_and_failures():
    markdown = render_markdown(kinded_evaluation())
    assert markdown.index("## Figures\n") < markdown.index("## Figures by kind") < markdown.index("## Items")
    headers = table_rows(markdown, "figure")
    assert headers[1] == "| figure | typo | near-miss-year |"
    (recall,) = [row for row in table_rows(markdown, "refusal recall") if row.count("|") == 4]
    assert recall == "| refusal recall | n/a | 1.00 |"
    (header,) = table_rows(markdown, "id ")
    assert header.startswith("| id | type | kind | question |")
    assert table_rows(markdown, "q-1")[0].startswith("| q-1 | factoid | – |")
    assert table_rows(markdown, "q-3")[0].startswith("| q-3 | unanswerable | near-miss-year |")
    assert "- retrieval missed (1): q-2 — by kind: typo 1" in markdown


def test_without_kinds_nothing_about_kinds_is_shown():
    data = evaluation()
    text, markdown = format_summary(data), render_markdown(data)
    assert sum(line.startswith("figure") for line in text.splitlines()) == 1
    assert "by kind" not in markdown.lower() and "| kind |" not in markdown
    assert table_rows(markdown, "q-1")[0].startswith("| q-1 | factoid | Which")


def test_rendering_is_stable():
    assert render_markdown(evaluation()) == render_markdown(evaluation())
    assert format_summary(evaluation()) == format_summary(evaluation())


def test_write_report_writes_the_three_files(tmp_path):
    data = evaluation()
    paths = write_report(data, tmp_path / "out")
    assert [p.name for p in paths] == ["report.md", "results.json", "by_type.png"]
    assert json.loads(paths[1].read_text(encoding="utf-8")) == data
    assert list(json.loads(paths[1].read_text(encoding="utf-8"))) == list(data)  # key order kept
    assert paths[2].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_md_cell():
    assert md_cell("a|b\n c") == "a\\|b c"
