"""ChunkStore through its public API, on the real embedded Chroma and SQLite in a temp folder."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ingest.models import Chunk, LoadedDocument, Page, doc_id_for
from vectorstore import open_store


def make_document(source: str, pages: list[str], version: str = "v1") -> tuple[LoadedDocument, list[Chunk]]:
    doc = LoadedDocument(
        source=source,
        title=source.rsplit(".", 1)[0],
        sha256=(version * 64)[:64],
        pages=tuple(Page(i, text) for i, text in enumerate(pages, start=1)),
        file_type="txt",
    )
    chunks = [
        Chunk(
            chunk_id=f"{doc.doc_id}-{doc.sha256[:8]}-{i:05d}",
            doc_id=doc.doc_id,
            source=source,
            title=doc.title,
            page_start=page.number,
            page_end=page.number,
            char_start=0,
            char_end=len(page.text),
            text=page.text,
            index=i,
        )
        for i, page in enumerate(doc.pages)
    ]
    return doc, chunks


@pytest.fixture
def store(tmp_path, embedder):
    return open_store(tmp_path / "data", embedder)


MALAWI = "UNODC mentored police at the Dzaleka Refugee Camp in Malawi; 87 victims of trafficking were identified."
BANGLADESH = "In Cox's Bazar, Bangladesh, 160 practitioners including 40 women were trained on trafficking cases."
MINING = "Children work in artisanal gold mines in the Sahel, where armed groups control many sites."


def vector_count(store) -> int:
    return store.collection.count()


def test_added_document_is_found_by_meaning_and_by_words(store):
    doc, chunks = make_document("camps.txt", [MALAWI, BANGLADESH])
    store.add_document(doc, chunks)
    store.add_document(*make_document("mines.txt", [MINING]))

    semantic = store.search("refugee camp in southern Africa where victims were rescued", k=1)
    assert semantic[0].chunk.text == MALAWI
    exact = store.search("Cox's Bazar practitioners", k=1)
    assert exact[0].chunk.text == BANGLADESH
    assert exact[0].lexical > 0


def test_adding_same_document_twice_does_not_duplicate(store):
    store.add_document(*make_document("camps.txt", [MALAWI, BANGLADESH]))
    store.add_document(*make_document("camps.txt", [MALAWI, BANGLADESH]))
    assert len(store.documents()) == 1
    assert vector_count(store) == 2
    assert len(store.search("Dzaleka", k=10)) == 2


def test_new_version_replaces_old_chunks_everywhere(store):
    store.add_document(*make_document("camps.txt", [MALAWI, BANGLADESH], version="a"))
    store.add_document(*make_document("camps.txt", [MINING], version="b"))

    assert [d.sha256[:1] for d in store.documents()] == ["b"]
    assert vector_count(store) == 1
    # the lexical index forgot the old text too
    assert store.search("Dzaleka Bazar practitioners", k=5)[0].chunk.text == MINING
    assert all(r.lexical == 0 for r in store.search("Dzaleka", k=5))


def test_remove_deletes_vectors_text_and_lexical_entries(store):
    doc, chunks = make_document("camps.txt", [MALAWI, BANGLADESH])
    store.add_document(doc, chunks)
    store.add_document(*make_document("mines.txt", [MINING]))

    assert store.remove_document(doc.doc_id) is True
    assert [d.source for d in store.documents()] == ["mines.txt"]
    assert store.page_text(doc.doc_id, 1) is None
    assert vector_count(store) == 1
    assert all(r.chunk.source == "mines.txt" for r in store.search("Dzaleka refugee camp victims", k=5))
    assert store.remove_document(doc.doc_id) is False  # removing twice is not an error


def test_failed_catalogue_write_keeps_previous_version(store, monkeypatch):
    old_doc, old_chunks = make_document("camps.txt", [MALAWI], version="a")
    store.add_document(old_doc, old_chunks)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.catalog, "replace_document", broken)
    with pytest.raises(OSError):
        store.add_document(*make_document("camps.txt", [MINING], version="b"))

    assert [d.sha256[:1] for d in store.documents()] == ["a"]
    assert vector_count(store) == 1
    assert store.search("gold mines", k=1)[0].chunk.text == MALAWI


def test_orphan_vectors_are_ignored_and_reconciled(store, embedder):
    doc, chunks = make_document("camps.txt", [MALAWI])
    store.add_document(doc, chunks)
    store.collection.upsert(ids=["orphan"], embeddings=embedder.encode([MALAWI]), metadatas=[{"doc_id": "x"}])

    assert [r.chunk.chunk_id for r in store.search("Dzaleka", k=5)] == [chunks[0].chunk_id]
    assert store.reconcile() == 1
    assert vector_count(store) == 1


def test_search_restricted_to_documents(store):
    camps, camp_chunks = make_document("camps.txt", [MALAWI, BANGLADESH])
    store.add_document(camps, camp_chunks)
    mines, _ = make_document("mines.txt", [MINING])
    store.add_document(*make_document("mines.txt", [MINING]))

    results = store.search("trafficking victims identified", k=5, doc_ids=[mines.doc_id])
    assert {r.chunk.doc_id for r in results} == {mines.doc_id}
    assert store.search("anything", k=5, doc_ids=[]) == []


def test_library_survives_reopening(tmp_path, embedder):
    first = open_store(tmp_path / "data", embedder)
    first.add_document(*make_document("camps.txt", [MALAWI]))
    first.catalog.close()

    again = open_store(tmp_path / "data", embedder)
    assert [d.source for d in again.documents()] == ["camps.txt"]
    assert again.search("Dzaleka", k=1)[0].chunk.text == MALAWI


def test_query_with_fts_syntax_characters_does_not_fail(store):
    store.add_document(*make_document("camps.txt", [MALAWI]))
    assert store.search('"87" OR (victims* AND NOT) -:^', k=1)


def test_question_naming_a_document_title_finds_its_passages(store):
    camps, camp_chunks = make_document("unodc-submission.txt", [MALAWI])
    store.add_document(
        LoadedDocument("asu-study.txt", "Arizona State University sex trafficking study", "c" * 64,
                       (Page(1, MINING),), "txt"),
        [Chunk("asu-1", doc_id_for("asu-study.txt"), "asu-study.txt", "Arizona State University sex trafficking study",
               1, 1, 0, len(MINING), MINING, 0)],
    )
    store.add_document(camps, camp_chunks)
    store.add_document(*make_document("bazar.txt", [BANGLADESH]))
    hits = {h.chunk.source: h for h in store.search("what does the Arizona State University report say", k=3)}
    # none of the passages' text has these words: only the title of the ASU study matches
    assert hits["asu-study.txt"].lexical == 1.0
    assert hits["unodc-submission.txt"].lexical == hits["bazar.txt"].lexical == 0.0


def test_library_from_before_the_title_index_is_reindexed_on_open(tmp_path, embedder):
    first = open_store(tmp_path / "data", embedder)
    first.add_document(*make_document("camps.txt", [MALAWI]))
    db = first.catalog._db
    db.executescript("DROP TABLE chunks_fts; PRAGMA user_version = 1;")
    first.catalog.close()

    again = open_store(tmp_path / "data", embedder)
    assert again.search("Dzaleka", k=1)[0].lexical > 0


def test_a_passage_repeated_on_every_page_is_returned_once(store):
    disclaimer = "This report was funded by a grant; the views expressed are those of the authors on trafficking."
    store.add_document(*make_document("report.txt", [disclaimer, disclaimer, disclaimer, MALAWI]))
    results = store.search("views expressed in this trafficking report funded by a grant", k=3)
    assert [r.chunk.text for r in results].count(disclaimer) == 1
    assert MALAWI in [r.chunk.text for r in results]


def test_fusion_keeps_what_only_one_side_finds(store):
    coded = "Case file TX-4471 was closed after review by the prosecutor in March."
    paraphrase = "Girls lured abroad with promises of modelling jobs were forced into prostitution."
    filler = [
        "The annual budget of the ministry rose by four per cent.",
        "Weather stations recorded heavy rainfall across the northern districts.",
        "The football league announced a new schedule for the season.",
    ]
    store.add_document(*make_document("mixed.txt", [coded, paraphrase, *filler]))

    # "TX-4471" means nothing to the embedding model, and "sex trafficking of young women recruited with
    # fake employment offers" shares no word with the paraphrase: each passage is found by one side only.
    results = store.search("TX-4471: sex trafficking of young women recruited with fake employment offers", k=2)
    assert {r.chunk.text for r in results} == {coded, paraphrase}
    by_text = {r.chunk.text: r for r in results}
    assert by_text[coded].lexical == 1.0
    assert by_text[paraphrase].lexical == 0.0 and by_text[paraphrase].dense > by_text[coded].dense


def test_a_passage_cut_inside_a_paragraph_is_read_on_into_the_next(store):
    page = "First half of a paragraph about Cox's Bazar. A total of 160 practitioners were trained.\n\nAnother topic."
    doc, _ = make_document("report.txt", [page])
    cut, end = page.index(" A total"), page.index("\n\n")
    spans = [(0, cut), (cut + 1, end), (page.index("Another"), len(page))]
    chunks = [
        Chunk(f"p-{i}", doc.doc_id, doc.source, doc.title, 1, 1, start, end, page[start:end], i)
        for i, (start, end) in enumerate(spans)
    ]
    store.add_document(doc, chunks)
    first = store.search("Cox's Bazar paragraph", k=3)[0]
    assert first.chunk.chunk_id == "p-0"
    read = store.with_following_passages([first], first=1)
    assert [r.chunk.chunk_id for r in read] == ["p-0", "p-1"] and read[1].score < first.score
    # a passage that ends its paragraph is not read on
    ends = next(r for r in store.search("practitioners trained", k=3) if r.chunk.chunk_id == "p-1")
    assert [r.chunk.chunk_id for r in store.with_following_passages([ends], first=1)] == ["p-1"]


def test_the_top_of_a_search_does_not_depend_on_how_many_are_asked_for(store):
    for i, text in enumerate([MALAWI, BANGLADESH, MINING]):
        store.add_document(*make_document(f"doc{i}.txt", [text, f"{text} Follow-up note {i}."]))
    few = [r.chunk.chunk_id for r in store.search("refugees trafficking training", k=3)]
    many = [r.chunk.chunk_id for r in store.search("refugees trafficking training", k=6)]
    assert many[:3] == few


def test_lexical_weight_follows_how_decisive_bm25_is():
    from vectorstore.store import LEXICAL_WEIGHT_MAX, _lexical_weight

    steep = np.array([9.0, 2.0, *[1.0] * 20])  # one passage holds the query's rare words
    flat = np.array([3.0, 2.9, 2.9, 2.8, 2.8, 2.8, 2.7, 2.7, 2.7, 2.6, *[2.5] * 10])  # common words everywhere
    assert _lexical_weight(steep) == LEXICAL_WEIGHT_MAX
    assert _lexical_weight(flat) == 0.0
    assert _lexical_weight(np.zeros(20)) == 0.0  # no passage has any of the words
    assert 0.0 < _lexical_weight(np.array([4.0, *[2.5] * 9, 1.0])) < LEXICAL_WEIGHT_MAX


def test_a_rare_word_lifts_its_passage_and_common_words_do_not_outvote_meaning(store):
    texts = [
        "Case TX-4471 concerned a shipping company.",
        *[
            f"The report on {topic} mentions trafficking once."
            for topic in ("fisheries", "road repairs", "school meals", "tax collection", "rainfall", "elections",
                          "hospital beds", "railway tickets", "postal services", "forestry", "football", "tourism")
        ],
        "Girls lured abroad with promises of modelling jobs were forced into prostitution.",
    ]
    store.add_document(*make_document("mixed.txt", texts))
    # the code is rare, so bm25 is decisive and its passage comes first
    assert store.search("What happened in case TX-4471?", k=1)[0].chunk.text == texts[0]
    # "trafficking" is the only shared word and it is everywhere, so bm25 is flat and meaning decides
    # (with the lexical side always at half weight, a filler passage came first)
    top = store.search("How were young women tricked into sexual exploitation overseas through trafficking?", k=1)
    assert top[0].chunk.text == texts[-1]


def test_vocabulary_counts_words_of_passages_and_titles(store):
    assert store.vocabulary() == {}
    store.add_document(*make_document("camps.txt", [MALAWI, "Victims’ shelters: victims' needs, L’exploitation."]))
    vocabulary = store.vocabulary()
    assert vocabulary["victims"] == 3  # "victims", "Victims’" and "victims'" (no possessive, no capitals)
    assert vocabulary["camps"] == 1  # the title "camps"
    assert vocabulary["exploitation"] == 1  # the French elided article is not part of the word
    assert vocabulary["dzaleka"] == 1 and "87" not in vocabulary  # words only, lower case


def test_vocabulary_follows_added_replaced_and_removed_documents(store):
    camps, camp_chunks = make_document("camps.txt", [MALAWI, BANGLADESH], version="a")
    store.add_document(camps, camp_chunks)
    store.add_document(*make_document("mines.txt", [MINING]))
    before = store.vocabulary_version()
    assert store.vocabulary()["trafficking"] == 2 and store.vocabulary()["dzaleka"] == 1

    store.add_document(*make_document("camps.txt", [MINING], version="b"))  # a new version of camps.txt
    assert store.vocabulary_version() != before
    vocabulary = store.vocabulary()
    assert "dzaleka" not in vocabulary and "bazar" not in vocabulary  # gone with the old version
    assert vocabulary["mines"] == 2 + 1  # in both passages, and the title "mines"
    assert "trafficking" not in vocabulary

    version = store.vocabulary_version()
    assert store.remove_document(camps.doc_id) is True
    assert store.vocabulary_version() != version
    assert store.vocabulary()["sahel"] == 1 and "camps" not in store.vocabulary()
    version = store.vocabulary_version()
    assert store.remove_document(camps.doc_id) is False
    assert store.vocabulary_version() == version  # nothing changed, nothing to rebuild

    # the table always equals a count over what is stored
    from collections import Counter

    from assistant.text.terms import surface_words

    stored = store.catalog.chunks(store.catalog.chunk_ids())
    expected = Counter(w for c in stored.values() for w in surface_words(c.text))
    expected.update(w for d in store.documents() for w in surface_words(d.title))
    assert store.vocabulary() == dict(expected)


def test_failed_write_leaves_the_vocabulary_as_it_was(store, monkeypatch):
    store.add_document(*make_document("camps.txt", [MALAWI], version="a"))
    vocabulary, version = store.vocabulary(), store.vocabulary_version()

    def broken(old, new):
        raise OSError("disk full")

    monkeypatch.setattr(store.catalog, "_update_vocabulary", broken)
    with pytest.raises(OSError):
        store.add_document(*make_document("camps.txt", [MINING], version="b"))
    assert store.vocabulary() == vocabulary and store.vocabulary_version() == version
    assert [d.sha256[:1] for d in store.documents()] == ["a"]  # the document write was rolled back with it


def test_library_from_before_the_vocabulary_gets_it_on_open(tmp_path, embedder):
    first = open_store(tmp_path / "data", embedder)
    first.add_document(*make_document("camps.txt", [MALAWI, BANGLADESH]))
    expected = first.vocabulary()
    first.catalog._db.executescript("DROP TABLE vocabulary; DROP TABLE library_state;")
    first.catalog.close()

    again = open_store(tmp_path / "data", embedder)
    assert again.vocabulary() == expected
    assert again.vocabulary()["practitioners"] == 1
    version = again.vocabulary_version()
    again.add_document(*make_document("mines.txt", [MINING]))
    assert again.vocabulary_version() != version and again.vocabulary()["sahel"] == 1


# ----- documents in French and Spanish --------------------------------------------------------------------
FRENCH = "La police de Lyon a constaté l'exploitation de travailleuses agricoles recrutées par des intermédiaires."


def test_a_french_passage_is_found_by_another_inflection_of_its_words(store):
    doc, chunks = make_document("note.txt", [FRENCH])
    store.add_document(replace(doc, language="fr"), chunks)
    store.add_document(*make_document("camps.txt", [MALAWI]))
    # "exploitées"/"recrutés": Porter (English) stems them apart from "exploitation"/"recrutées"; French
    # Snowball stems meet ("exploit", "recrut")
    hits = store.catalog.lexical_search(["exploitées", "recrutés"], limit=5)
    assert [chunk_id for chunk_id, _ in hits] == [chunks[0].chunk_id]
    assert store.catalog.document(doc.doc_id).language == "fr"


def test_an_english_library_scores_as_without_the_stems_column(store):
    store.add_document(*make_document("camps.txt", [MALAWI]))
    store.add_document(*make_document("bazar.txt", [BANGLADESH]))
    terms = ["trafficking", "victims", "identified"]
    plain = " OR ".join(f'"{t}"' for t in terms)
    rows = store.catalog._db.execute(
        "SELECT rowid, bm25(chunks_fts, 2.0, 1.0, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid", [plain]
    ).fetchall()
    with_stems = dict(store.catalog.lexical_search(terms, limit=5))
    assert len(with_stems) == len(rows) == 2  # the French stems of English words add no match and no score
    assert sorted(-score for _, score in rows) == sorted(with_stems.values())


def test_a_term_in_too_many_passages_of_a_large_library_is_left_out_of_the_lexical_query(store, monkeypatch):
    import vectorstore.catalog as catalog_module

    pages = [f"Shelter report {n}: trafficking cases were recorded in district {n}." for n in range(8)]
    pages.append("Only this page names the Dzaleka camp.")
    doc, chunks = make_document("districts.txt", pages)
    store.add_document(doc, chunks)
    both = dict(store.catalog.lexical_search(["trafficking", "dzaleka"], limit=20))
    assert len(both) == 9  # a small library: every term is searched

    # as a large library would have it: "trafficking" is in 8 of 9 passages, above a cap of 5
    monkeypatch.setattr(catalog_module, "COMMON_TERM_PASSAGES", 5)
    telling = dict(store.catalog.lexical_search(["trafficking", "dzaleka"], limit=20))
    assert list(telling) == [chunks[-1].chunk_id]
    only_common = dict(store.catalog.lexical_search(["trafficking"], limit=20))
    assert len(only_common) == 8  # nothing rarer to search with: the common term is kept


def test_an_older_library_gets_languages_and_the_stems_column_on_open(tmp_path, embedder):
    first = open_store(tmp_path / "data", embedder)
    first.add_document(*make_document("note.txt", [FRENCH]))
    first.add_document(*make_document("camps.txt", [MALAWI]))
    db = first.catalog._db
    # as a library written before: no language column, a two-column lexical index
    db.executescript(
        "DROP TRIGGER chunks_ad; DROP TABLE chunks_fts; ALTER TABLE documents DROP COLUMN language; "
        "ALTER TABLE documents DROP COLUMN ocr_pages; PRAGMA user_version = 2;"
    )
    first.catalog.close()

    again = open_store(tmp_path / "data", embedder)
    languages = {d.source: d.language for d in again.catalog.documents()}
    assert languages == {"note.txt": "fr", "camps.txt": "en"}
    assert again.catalog.lexical_search(["exploitées"], limit=5)  # found through the French stems
    assert again.search("Dzaleka", k=1)[0].lexical > 0  # and nothing already stored was lost


def site_pages(count: int) -> list[str]:
    return [f"Site {n} in the Sahel held {13 * n + 7} children in gold mines in {2000 + n}." for n in range(count)]


def stored_state(store, doc_id: str) -> tuple:
    """A document as the library holds it, its date of addition aside: record, pages, chunks, vectors."""
    record = replace(store.document(doc_id), ingested_at="")
    ids = store.catalog.chunk_ids(doc_id)
    pages = [store.page_text(doc_id, n) for n in range(1, record.page_count + 1)]
    got = store.collection.get(ids=ids, include=["embeddings", "metadatas"])
    vectors = dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))
    metadata = dict(zip(got["ids"], got["metadatas"], strict=True))
    return record, pages, store.catalog.chunks(ids), np.stack([vectors[i] for i in ids]), [metadata[i] for i in ids]


def test_a_document_written_in_batches_is_stored_as_one_pass_stores_it(tmp_path, embedder):
    doc, chunks = make_document("sites.txt", site_pages(8))
    whole = open_store(tmp_path / "whole", embedder)
    batched = open_store(tmp_path / "batched", embedder)
    batched.batch_size = 3
    calls: list[tuple[int, int]] = []

    whole.add_document(doc, chunks)
    batched.add_document(doc, chunks, progress=lambda done, total: calls.append((done, total)))

    assert 2 * batched.batch_size < len(chunks) <= whole.batch_size  # three batches against one
    assert calls == [(min(start + 3, len(chunks)), len(chunks)) for start in range(0, len(chunks), 3)]
    record, pages, stored_chunks, vectors, metadata = stored_state(batched, doc.doc_id)
    record_1, pages_1, stored_chunks_1, vectors_1, metadata_1 = stored_state(whole, doc.doc_id)
    assert (record, pages, stored_chunks, metadata) == (record_1, pages_1, stored_chunks_1, metadata_1)
    assert np.allclose(vectors, vectors_1, atol=1e-5)
    query = "children in gold mines in 2003"
    assert [r.chunk.chunk_id for r in batched.search(query)] == [r.chunk.chunk_id for r in whole.search(query)]


class FailingEmbedder:
    """The real embedder, failing on its ``fail_on``-th call to ``encode``."""

    def __init__(self, real, fail_on: int):
        self.real, self.fail_on, self.calls = real, fail_on, 0

    def encode(self, texts):
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("out of memory")
        return self.real.encode(texts)


@pytest.mark.parametrize("failing", ["embedder", "progress"])
def test_a_failure_between_batches_keeps_the_previous_version_and_no_new_vector(store, embedder, monkeypatch, failing):
    old_doc, old_chunks = make_document("sites.txt", [MALAWI], version="a")
    store.add_document(old_doc, old_chunks)
    store.batch_size = 3
    vectors_seen: list[int] = []

    def progress(done: int, total: int) -> None:
        vectors_seen.append(vector_count(store))
        if failing == "progress" and done == 6:
            raise KeyboardInterrupt  # the user stopped it

    if failing == "embedder":
        monkeypatch.setattr(store, "embedder", FailingEmbedder(embedder, fail_on=3))
    with pytest.raises(RuntimeError if failing == "embedder" else KeyboardInterrupt):
        store.add_document(*make_document("sites.txt", site_pages(8), version="b"), progress=progress)

    assert vectors_seen[-1] == 1 + 6  # two batches of the new version had been written
    assert [d.sha256[:1] for d in store.documents()] == ["a"]
    assert set(store.collection.get(include=[])["ids"]) == {c.chunk_id for c in old_chunks}
    monkeypatch.undo()
    assert store.search("gold mines", k=1)[0].chunk.text == MALAWI


def test_many_small_documents_share_embedding_passes_no_larger_than_a_batch(store, embedder, monkeypatch):
    sizes = [1, 1, 1, 5, 2, 2, 1]
    items = [make_document(f"doc-{n}.txt", site_pages(size), version=str(n)) for n, size in enumerate(sizes)]
    passes: list[int] = []

    class Recording:
        def encode(self, texts):
            passes.append(len(texts))
            return embedder.encode(texts)

    store.batch_size = 3
    monkeypatch.setattr(store, "embedder", Recording())
    store.add_documents(items)

    assert sum(passes) == sum(sizes) and max(passes) <= store.batch_size
    assert len(passes) < len(sizes)  # small documents were embedded together
    assert {d.source: d.chunk_count for d in store.documents()} == {d.source: len(c) for d, c in items}
    assert set(store.collection.get(include=[])["ids"]) == set(store.catalog.chunk_ids())


def test_a_search_within_named_documents_scores_their_passages_exactly_and_follows_new_versions(store, monkeypatch):
    import vectorstore.store as store_module

    camps, _ = make_document("camps.txt", [MALAWI, BANGLADESH, MINING], version="a")
    store.add_document(*make_document("camps.txt", [MALAWI, BANGLADESH, MINING], version="a"))
    store.add_document(*make_document("other.txt", [BANGLADESH + " Elsewhere."]))
    question = "How many victims were identified in the refugee camp?"

    filtered = store.search(question, k=3, doc_ids=[camps.doc_id])  # exact: no filtered Chroma query
    monkeypatch.setattr(store_module, "EXACT_SEARCH_MAX", 0)  # now through Chroma's filtered query
    through_chroma = store.search(question, k=3, doc_ids=[camps.doc_id])
    monkeypatch.undo()
    assert [(r.chunk.chunk_id, round(r.score, 5)) for r in filtered] == [
        (r.chunk.chunk_id, round(r.score, 5)) for r in through_chroma
    ]
    assert filtered[0].chunk.text == MALAWI and {r.chunk.doc_id for r in filtered} == {camps.doc_id}

    def no_filtered_query(*args, **kwargs):
        raise AssertionError("the named document's passages are scored from the vectors kept")

    monkeypatch.setattr(store.collection, "query", no_filtered_query)
    assert store.search(question, k=3, doc_ids=[camps.doc_id])[0].chunk.text == MALAWI
    store.add_document(*make_document("camps.txt", [MINING], version="b"))  # a new version: new ids, new vectors
    assert [r.chunk.text for r in store.search(question, k=3, doc_ids=[camps.doc_id])] == [MINING]


def test_a_term_is_held_by_a_text_exactly_when_the_lexical_index_matches_it(store):
    import re

    from vectorstore.catalog import holds_term, index_text

    text = (
        "L'exploitation des enfants en Côte d'Ivoire: 1,416 persons don't re-traffic COVID-19 victims_list; "
        "Niños explotados — naïve coöperation, 3rd-party recruiters’ fees (US$ 4.5m) in Dzaleka; happiness."
    )
    store.add_document(*make_document("x.txt", [text]))
    words = set(re.findall(r"\w+", text.lower()))
    others = {"trafficked", "cote", "nino", "recruit", "happy", "happi", "us", "u", "explotado", "dzalek", "xx"}
    for term in words | others:
        matched = bool(store.catalog.lexical_search([term], limit=1))
        assert holds_term(index_text(text), term) == matched, term


def test_words_most_dense_candidates_hold_name_the_topic_and_are_not_searched():
    from vectorstore.store import _without_topic_terms

    _, passages = make_document("africa.txt", [
        "Conflict and climate change make countries in Africa vulnerable to trafficking.",
        "Trafficking flows from Africa reach every region.",
        "Victims of trafficking detected in Africa are mostly children.",
        "Poverty is one driver among others.",
    ])  # fmt: skip
    terms = ["drivers", "africa", "trafficking", "poverty", "conflict"]
    # in 3 of 4 passages of the report: its subject, which dense retrieval already found; the words that tell
    # its passages apart stay
    assert _without_topic_terms(terms, passages) == ["drivers", "poverty", "conflict"]
    assert _without_topic_terms(["africa", "trafficking"], passages) == ["africa", "trafficking"]  # nothing else
    assert _without_topic_terms(terms, []) == terms
    # the same passages as entries of their own (an encyclopedia): a word they share is the entity asked about
    entries = [make_document(f"entry{n}.txt", [p.text])[1][0] for n, p in enumerate(passages)]
    assert _without_topic_terms(terms, entries) == terms
