"""Evaluation figures on a hand-computed example, gold-file validation, and ``tip-assistant eval`` end to end."""

from __future__ import annotations

import json

import pytest

import assistant.service
from assistant.evaluation.gold_set import (
    FIGURE_KEYS,
    QUESTION_TYPES,
    GoldFileError,
    GoldItem,
    ItemResult,
    evaluation_report,
    load_gold,
    missing_sources,
    summarize,
    summarize_by_kind,
    summarize_by_type,
)
from assistant.interfaces.cli import main
from assistant.types import Answer, Citation, PageSpan, RetrievedPassage
from tests.shared_paths import SUBMISSION, require


# ----- hand-made answers -----------------------------------------------------------------------------------
def passage(source: str, page: int, text: str) -> RetrievedPassage:
    return RetrievedPassage(
        source[:8], source, source, page, 0, len(text), text, chunk_id=f"{source}-{page}", score=0.5
    )


def cite(n: int, source: str, page: int) -> Citation:
    span = PageSpan(source[:8], source, source, page, 0, 10, "quote text")
    return Citation(**vars(span), n=n, chunk_id=f"{source}-{page}", context="quote text")


def answer(text: str, retrieved=(), citations=(), refused: bool = False) -> Answer:
    return Answer("q", text, (), tuple(citations), refused, "q", retrieved=tuple(retrieved))


def gold(item_id, qtype, must=(), sources=(), pages=(), history=(), kind=None) -> GoldItem:
    return GoldItem(
        item_id, qtype, f"question {item_id}?", tuple(history), tuple(must), tuple(sources), tuple(pages), kind
    )


K = 2
REFUSAL = "The library does not say."

# A: factoid over a .txt file (no pages). Top passage is gold and holds "87"; the answer has it and cites the
# file, which counts as a page hit because the gold has no pages.
A = ItemResult(
    gold("A", "factoid", ["87"], ["sub.txt"], [None]),
    answer(
        "87 victims were rescued.",
        [passage("sub.txt", 1, "... 87 victims ..."), passage("x.pdf", 3, "noise")],
        [cite(1, "sub.txt", 1)],
    ),
    100.0,
    K,
)
# B: list. "conflict" is in passage 1 (another file), "Climate   Change" in passage 2 (the gold file, rank 2),
# so retrieval hits (case and spaces do not matter) and RR = 1/2. The answer leaves out "climate change" and
# cites the gold file on page 5 while the evidence is on page 4: citation hit, no page hit.
B = ItemResult(
    gold("B", "list", ["conflict", "climate change"], ["report.pdf"], [(4,)]),
    answer(
        "Conflict drives it.",
        [passage("x.pdf", 2, "armed conflict"), passage("report.pdf", 4, "Climate   Change")],
        [cite(1, "report.pdf", 5)],
    ),
    200.0,
    K,
)
# C: multi, wrongly refused. Within k = 2 only "hotel" is found and no passage is from a.pdf or b.pdf
# (a.pdf at rank 3 is past the cut-off): retrieval miss, source miss, RR 0.
C = ItemResult(
    gold("C", "multi", ["hotel", "escort"], ["a.pdf", "b.pdf"], [(21,), (4,)]),
    answer(
        REFUSAL, [passage("c.pdf", 1, "hotel"), passage("d.pdf", 1, "x"), passage("a.pdf", 21, "escort")], refused=True
    ),
    300.0,
    K,
)
# D: unanswerable, refused (right). E: unanswerable, answered (wrong).
D = ItemResult(gold("D", "unanswerable"), answer(REFUSAL, [passage("x.pdf", 1, "x")], refused=True), 400.0, K)
E = ItemResult(
    gold("E", "unanswerable"), answer("Something.", [passage("x.pdf", 2, "x")], [cite(1, "x.pdf", 2)]), 500.0, K
)
RESULTS = [A, B, C, D, E]


def test_overall_figures_match_the_hand_computation():
    figures = summarize(RESULTS)
    # 3 answerable (A, B, C), 2 unanswerable (D, E), 2 refusals (C, D)
    assert (figures["items"], figures["answerable"], figures["unanswerable"], figures["refused"]) == (5, 3, 2, 2)
    assert figures["k"] == 2
    assert figures["retrieval_hit_at_k"] == pytest.approx(2 / 3)  # A, B
    assert figures["source_hit_at_k"] == pytest.approx(2 / 3)  # A, B
    assert figures["mrr"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert figures["answer_correct"] == pytest.approx(1 / 3)  # A only
    assert figures["citation_hit"] == pytest.approx(2 / 3)  # A, B
    assert figures["citation_page_hit"] == pytest.approx(1 / 3)  # A (.txt, pages null); B cited p. 5 not 4
    assert figures["refusal_recall"] == pytest.approx(1 / 2)  # D of D, E
    assert figures["refusal_precision"] == pytest.approx(1 / 2)  # D of the refusals C, D
    assert figures["false_refusal_rate"] == pytest.approx(1 / 3)  # C of A, B, C
    # nearest rank over [100, 200, 300, 400, 500]: p50 → rank ceil(2.5) = 3, p95 → rank ceil(4.75) = 5
    assert figures["latency_p50_ms"] == 300.0
    assert figures["latency_p95_ms"] == 500.0
    assert list(figures)[5:] == list(FIGURE_KEYS)


def test_by_type_figures_and_nulls():
    by_type = summarize_by_type(RESULTS)
    assert list(by_type) == list(QUESTION_TYPES)  # every type, always in the same order

    factoid = by_type["factoid"]  # A alone
    assert [factoid[key] for key in FIGURE_KEYS[:6]] == [1.0] * 6
    assert factoid["false_refusal_rate"] == 0.0
    assert factoid["refusal_recall"] is None and factoid["refusal_precision"] is None

    listed = by_type["list"]  # B alone
    assert (listed["retrieval_hit_at_k"], listed["mrr"], listed["answer_correct"]) == (1.0, 0.5, 0.0)
    assert (listed["citation_hit"], listed["citation_page_hit"]) == (1.0, 0.0)

    multi = by_type["multi"]  # C alone, refused
    assert [multi[key] for key in FIGURE_KEYS[:6]] == [0.0] * 6
    assert multi["false_refusal_rate"] == 1.0

    unanswerable = by_type["unanswerable"]  # D, E: only refusal recall applies
    assert unanswerable["refusal_recall"] == 0.5
    assert all(unanswerable[key] is None for key in FIGURE_KEYS[:6])
    assert unanswerable["false_refusal_rate"] is None and unanswerable["refusal_precision"] is None
    assert (unanswerable["latency_p50_ms"], unanswerable["latency_p95_ms"]) == (400.0, 500.0)

    followup = by_type["followup"]  # no items
    assert followup["items"] == 0 and followup["k"] == 2
    assert all(followup[key] is None for key in FIGURE_KEYS)


def test_refusal_precision_is_null_when_nothing_was_refused():
    figures = summarize([A, B])
    assert figures["refused"] == 0
    assert figures["refusal_precision"] is None
    assert figures["refusal_recall"] is None  # no unanswerable item either
    assert figures["false_refusal_rate"] == 0.0


def test_per_item_records_and_failure_reasons():
    report = evaluation_report(RESULTS, gold="tiny.jsonl")
    assert list(report)[:2] == ["gold", "k"]
    assert list(report)[-2:] == ["by_type", "per_item"]
    items = {i["id"]: i for i in report["per_item"]}
    assert [i["id"] for i in report["per_item"]] == ["A", "B", "C", "D", "E"]

    assert items["A"]["failure"] is None
    assert items["A"]["cited_pages"] == {"sub.txt": [1]} and items["A"]["rr"] == 1.0
    assert items["B"]["failure"] == "answer missed: 'climate change'; gold page not cited: p. 4 (cited p. 5)"
    assert items["B"]["rr"] == 0.5 and items["B"]["citation_page_hit"] is False
    assert items["C"]["failure"] == (
        "wrongly refused; retrieval missed: 'escort'; gold source not retrieved: a.pdf, b.pdf"
    )
    assert items["C"]["retrieved_sources"] == ["c.pdf", "d.pdf"]  # cut at k
    assert items["D"]["failure"] is None and items["D"]["refusal_correct"] is True
    assert items["E"]["failure"] == "answered an unanswerable question"
    assert items["E"]["retrieval_hit"] is None and items["E"]["rr"] is None and items["E"]["cited_sources"] == ["x.pdf"]
    assert report["mrr"] == 0.5 and report["retrieval_hit_at_k"] == 0.6667  # rounded for stable reports
    json.dumps(report)  # JSON-ready as it is


def test_a_file_without_kinds_has_no_by_kind_and_no_kind_per_item():
    assert summarize_by_kind(RESULTS) == {}
    report = evaluation_report(RESULTS, gold="tiny.jsonl")
    assert "by_kind" not in report
    assert all("kind" not in record for record in report["per_item"])


# ----- kinds ------------------------------------------------------------------------------------------------
def unanswerable(item_id: str, kind: str, refused: bool, latency: float = 10.0) -> ItemResult:
    reply = answer(REFUSAL, refused=True) if refused else answer("In 2021 it was 7%.", [], [cite(1, "x.pdf", 2)])
    return ItemResult(gold(item_id, "unanswerable", kind=kind), reply, latency, K)


def typo(item_id: str, correct: bool) -> ItemResult:
    text = "87 victims." if correct else "Some victims."
    reply = answer(text, [passage("sub.txt", 1, "87 victims")], [cite(1, "sub.txt", 1)])
    return ItemResult(gold(item_id, "factoid", ["87"], ["sub.txt"], [None], kind="typo"), reply, 10.0, K)


# Kinds first appear in the order typo, near-miss-year, out-of-library; item N has no kind.
KINDED = [
    typo("T1", correct=True),
    unanswerable("Y1", "near-miss-year", refused=True),
    unanswerable("Y2", "near-miss-year", refused=False),
    unanswerable("O1", "out-of-library", refused=True),
    typo("T2", correct=False),
    unanswerable("Y3", "near-miss-year", refused=True),
    ItemResult(gold("N", "unanswerable"), answer("Answered anyway."), 10.0, K),
]


def test_by_kind_figures_in_first_appearance_order():
    by_kind = summarize_by_kind(KINDED)
    assert list(by_kind) == ["typo", "near-miss-year", "out-of-library"]  # N (no kind) is in no entry
    assert [by_kind[kind]["items"] for kind in by_kind] == [2, 3, 1]

    year = by_kind["near-miss-year"]  # Y1, Y3 refused of Y1, Y2, Y3
    assert year["refusal_recall"] == pytest.approx(2 / 3)
    assert (year["answerable"], year["unanswerable"], year["refused"]) == (0, 3, 2)
    assert all(year[key] is None for key in FIGURE_KEYS[:6])  # answer, retrieval, citation: n/a
    assert year["false_refusal_rate"] is None and year["refusal_precision"] is None
    assert by_kind["out-of-library"]["refusal_recall"] == 1.0

    typos = by_kind["typo"]  # T1 correct, T2 not; both retrieved and cited
    assert typos["answer_correct"] == 0.5
    assert (typos["retrieval_hit_at_k"], typos["citation_hit"], typos["citation_page_hit"]) == (1.0, 1.0, 1.0)
    assert typos["false_refusal_rate"] == 0.0
    assert typos["refusal_recall"] is None and typos["refusal_precision"] is None
    assert all(list(figures)[5:] == list(FIGURE_KEYS) and figures["k"] == K for figures in by_kind.values())

    # the overall refusal recall counts N too: 3 refused of Y1, Y2, Y3, O1, N
    assert summarize(KINDED)["refusal_recall"] == pytest.approx(3 / 5)


def test_report_with_kinds_puts_by_kind_between_by_type_and_per_item():
    report = evaluation_report(KINDED, gold="kinds.jsonl")
    assert list(report)[-3:] == ["by_type", "by_kind", "per_item"]
    assert list(report["by_kind"]) == ["typo", "near-miss-year", "out-of-library"]
    assert report["by_kind"]["near-miss-year"]["refusal_recall"] == 0.6667  # rounded like the other figures
    records = {r["id"]: r for r in report["per_item"]}
    assert records["Y2"]["kind"] == "near-miss-year" and records["N"]["kind"] is None
    assert list(records["T1"])[:3] == ["id", "type", "kind"]
    json.dumps(report)


def test_a_string_lost_in_retrieval_is_not_blamed_on_the_answer():
    item = gold("F", "factoid", ["28.5", "arrest"], ["asu.pdf"], [(4,)])
    result = ItemResult(
        item, answer("The arrest age varied.", [passage("asu.pdf", 4, "arrest")], [cite(1, "asu.pdf", 4)]), 1.0, K
    )
    assert result.failure == "retrieval missed: '28.5'"
    assert result.answer_correct is False


def test_multi_source_citation_failures_name_the_document():
    item = gold("G", "multi", ["a", "b"], ["one.pdf", "two.pdf"], [(1,), None])
    retrieved = [passage("one.pdf", 1, "a"), passage("two.pdf", 1, "b")]
    only_one = ItemResult(item, answer("a b", retrieved, [cite(1, "one.pdf", 1)]), 1.0, K)
    assert only_one.failure == "gold source not cited: two.pdf"
    wrong_page = ItemResult(item, answer("a b", retrieved, [cite(1, "one.pdf", 3), cite(2, "two.pdf", 8)]), 1.0, K)
    assert wrong_page.citation_hit is True and wrong_page.citation_page_hit is False  # two.pdf has no gold pages
    assert wrong_page.failure == "gold page not cited: one.pdf p. 1 (cited p. 3)"


# ----- the gold file ---------------------------------------------------------------------------------------
def write_lines(path, *objects) -> None:
    path.write_text("\n".join(o if isinstance(o, str) else json.dumps(o) for o in objects) + "\n", encoding="utf-8")


def item(item_id="t-1", qtype="factoid", **fields) -> dict:
    base = {
        "id": item_id,
        "type": qtype,
        "question": "How many?",
        "history": [],
        "must_contain": ["87"],
        "source": "doc.txt",
        "pages": None,
    }
    return {**base, **fields}


def test_load_gold_reads_multi_pages_and_unanswerable(tmp_path):
    path = tmp_path / "gold.jsonl"
    write_lines(
        path,
        item("m", "multi", source=["a.txt", "b.pdf"], pages=[None, 12]),
        "",
        item("u", "unanswerable", must_contain=[], source=None),
    )
    multi, unanswerable = load_gold(path)
    assert multi.sources == ("a.txt", "b.pdf") and multi.pages == (None, (12,))
    assert unanswerable.sources == () and not unanswerable.answerable
    assert multi.kind is None


def test_load_gold_reads_kinds(tmp_path):
    path = tmp_path / "gold.jsonl"
    write_lines(
        path,
        item("a", kind="typo"),
        item("b", "unanswerable", must_contain=[], source=None, kind="near-miss-year"),
        item("c", kind=None),
        item("d"),
    )
    assert [i.kind for i in load_gold(path)] == ["typo", "near-miss-year", None, None]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ('{"id": "t-2", "type": "factoid"', "not valid JSON"),
        (item("t-2", "opinion"), "'type'"),
        (item("t-2", question="  "), "'question'"),
        (item("t-2", must_contain="87"), "'must_contain'"),
        (item("t-2", must_contain=[]), "'must_contain'"),
        (item("t-2", source=None), "'source'"),
        (item("t-2", pages=["seven"]), "'pages'"),
        (item("t-2", "multi", source=["a.pdf", "b.pdf"], pages=[1]), "'pages'"),
        (item("t-2", history=[{"role": "robot", "content": "hi"}]), "'history'"),
        (item("t-1"), "'id'"),
        (item("t-2", kind=""), "'kind'"),
        (item("t-2", kind="  "), "'kind'"),
        (item("t-2", kind=3), "'kind'"),
        (item("t-2", kind=["typo"]), "'kind'"),
    ],
)
def test_a_bad_gold_line_is_named_with_its_field(tmp_path, bad, field):
    path = tmp_path / "gold.jsonl"
    write_lines(path, item("t-1"), bad)
    with pytest.raises(GoldFileError) as caught:
        load_gold(path)
    assert f"{path}:2:" in str(caught.value) and field in str(caught.value)


def test_missing_sources_lists_gold_documents_not_in_the_library():
    items = [gold("a", "factoid", ["x"], ["one.pdf"], [None]), gold("b", "multi", ["x"], ["two.pdf", "one.pdf"])]
    assert missing_sources(items, ["one.pdf"]) == ["two.pdf"]


# ----- tip-assistant eval ----------------------------------------------------------------------------------
@pytest.fixture
def data_dir(tmp_path, monkeypatch, embedder):
    (tmp_path / "data").mkdir()  # an empty library
    monkeypatch.setenv("TIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(assistant.service, "Embedder", lambda *args, **kwargs: embedder)
    return tmp_path / "data"


@pytest.fixture
def gold_file(tmp_path):
    name = SUBMISSION.name
    path = tmp_path / "gold.jsonl"
    write_lines(
        path,
        item(
            "t-1", question="How many victims of trafficking were identified at the Dzaleka Refugee Camp?", source=name
        ),
        item(
            "t-2",
            "followup",
            question="How many of them were women?",
            must_contain=["40"],
            source=name,
            history=[
                {"role": "user", "content": "What did UNODC do for Rohingya refugees in Cox's Bazar?"},
                {"role": "assistant", "content": "It trained law enforcement officers."},
            ],
        ),
        item("t-3", "unanswerable", question="Who won the football world cup in 1998?", must_contain=[], source=None),
    )
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_json_and_report_on_a_small_library(capsys, data_dir, gold_file, tmp_path):
    run(capsys, "ingest", str(require(SUBMISSION)))
    report_dir = tmp_path / "report"
    code, out, err = run(capsys, "eval", str(gold_file), "--k", "5", "--json", "--report", str(report_dir))
    assert code == 0, err
    data = json.loads(out)
    assert {"k", "items", *FIGURE_KEYS, "by_type", "per_item"} <= data.keys()
    assert data["k"] == 5 and data["items"] == 3 and data["gold"] == "gold.jsonl"
    assert list(data["by_type"]) == list(QUESTION_TYPES)
    assert all({*FIGURE_KEYS} <= figures.keys() for figures in data["by_type"].values())
    assert [i["id"] for i in data["per_item"]] == ["t-1", "t-2", "t-3"]
    assert all(len(i["retrieved_sources"]) <= 5 for i in data["per_item"])
    assert data["by_type"]["list"]["items"] == 0 and data["by_type"]["list"]["answer_correct"] is None

    assert sorted(p.name for p in report_dir.iterdir()) == ["by_type.png", "report.md", "results.json"]
    assert json.loads((report_dir / "results.json").read_text(encoding="utf-8")) == data
    assert (report_dir / "by_type.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "| t-1 | factoid |" in markdown and "retrieval hit@5" in markdown


def test_eval_text_output_is_a_table(capsys, data_dir, gold_file):
    run(capsys, "ingest", str(require(SUBMISSION)))
    code, out, _ = run(capsys, "eval", str(gold_file))
    assert code == 0
    header = out.splitlines()[0].split()
    assert header == ["figure", "overall", *QUESTION_TYPES]
    assert "retrieval hit@8" in out and "refusal precision" in out


def test_eval_with_kinds_prints_and_stores_the_by_kind_figures(capsys, data_dir, gold_file, tmp_path):
    kinds = {"t-1": "typo", "t-3": "out-of-library"}  # t-2 has none
    lines = [json.loads(line) for line in gold_file.read_text(encoding="utf-8").splitlines()]
    write_lines(gold_file, *[{**line, "kind": kinds[line["id"]]} if line["id"] in kinds else line for line in lines])
    run(capsys, "ingest", str(require(SUBMISSION)))
    report_dir = tmp_path / "report"
    code, out, err = run(capsys, "eval", str(gold_file), "--report", str(report_dir))
    assert code == 0, err
    data = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    assert list(data)[-3:] == ["by_type", "by_kind", "per_item"]
    assert list(data["by_kind"]) == ["typo", "out-of-library"]
    assert [data["by_kind"][kind]["items"] for kind in data["by_kind"]] == [1, 1]
    refused = next(i["refused"] for i in data["per_item"] if i["id"] == "t-3")
    assert data["by_kind"]["out-of-library"]["refusal_recall"] == float(refused)
    assert [i["kind"] for i in data["per_item"]] == ["typo", None, "out-of-library"]

    headers = [line.split() for line in out.splitlines() if line.startswith("figure")]
    assert headers == [["figure", "overall", *QUESTION_TYPES], ["figure", "typo", "out-of-library"]]
    assert "## Figures by kind" in (report_dir / "report.md").read_text(encoding="utf-8")


def test_eval_bad_gold_line_is_one_error_line(capsys, data_dir, tmp_path):
    path = tmp_path / "gold.jsonl"
    write_lines(path, item("t-1"), item("t-2", must_contain="87"))
    code, out, err = run(capsys, "eval", str(path))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert f"{path}:2:" in err and "'must_contain'" in err


def test_eval_missing_gold_file(capsys, data_dir, tmp_path):
    code, _, err = run(capsys, "eval", str(tmp_path / "nope.jsonl"))
    assert code == 2 and "nope.jsonl" in err and "not found" in err


def test_eval_on_an_empty_library_says_to_ingest_first(capsys, data_dir, gold_file):
    code, out, err = run(capsys, "eval", str(gold_file))
    assert code == 2 and out == ""
    assert "library" in err and "empty" in err and "tip-assistant ingest" in err


# ----- tip-assistant eval-retrieval ------------------------------------------------------------------------
@pytest.fixture
def beir_dir(tmp_path):
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Dzaleka", "text": "Dzaleka is a refugee camp in Malawi."},
        {"_id": "d2", "title": "Cox's Bazar", "text": "Cox's Bazar hosts Rohingya refugees in Bangladesh."},
        {"_id": "d3", "title": "Football", "text": "The 1998 football world cup was played in France."},
    ]
    queries = [{"_id": "q1", "text": "refugee camp in Malawi"}, {"_id": "q2", "text": "world cup 1998"}]
    write_lines(folder / "corpus.jsonl", *corpus)
    write_lines(folder / "queries.jsonl", *queries)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t2\n", encoding="utf-8")
    return folder


def test_eval_retrieval_prints_the_figures(capsys, data_dir, beir_dir):
    code, out, err = run(capsys, "eval-retrieval", str(beir_dir), "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert {"ndcg@10", "recall@10", "mrr@10", "queries"} <= figures.keys()
    assert figures["queries"] == 2
    assert all(0.0 <= figures[key] <= 1.0 for key in ("ndcg@10", "recall@10", "mrr@10"))

    code, out, _ = run(capsys, "eval-retrieval", str(beir_dir))
    assert code == 0
    assert out.splitlines()[0] == "beir: 2 queries"
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["nDCG@10", "recall@10", "MRR@10"]


def test_eval_retrieval_bad_folder_is_one_error_line(capsys, data_dir, beir_dir, tmp_path):
    code, _, err = run(capsys, "eval-retrieval", str(tmp_path / "nowhere"))
    assert code == 2 and "is not a folder" in err
    (beir_dir / "queries.jsonl").unlink()
    code, _, err = run(capsys, "eval-retrieval", str(beir_dir))
    assert code == 2 and err.startswith("error: ") and "queries.jsonl" in err
