"""Cut a loaded document into passages sized for the embedding model, with exact positions.

Rules:

* A chunk lies within ONE page (``page_start == page_end``). A passage that runs over a page break is cut
  there, so every citation names exactly one page and its character span on that page is exact.
* Chunks are made of whole sentences (:func:`ingest.sentences.split_sentences`), about ``target_words``
  words, and never more than ``max_tokens`` word pieces of the embedding tokenizer. all-MiniLM-L6-v2 reads
  256 tokens including [CLS] and [SEP] and silently drops the rest, hence 254 by default.
* A chunk ends early at a paragraph break once it is near the target, so passages follow the text.
* The last ``overlap_sentences`` sentence(s) of a chunk open the next chunk of the same page, so a fact
  stated across a chunk boundary is found whole in one of them.
* A sentence longer than the token budget is cut at word boundaries into pieces within the budget.
* A short tail (fewer than ``min_words`` words) at the end of a page joins the chunk before it on the same
  page when the budget allows.
* ``page.text[chunk.char_start:chunk.char_end] == chunk.text`` always holds.

``Chunker.chunk`` lists a document's chunks; ``Chunker.chunk_lazily`` keeps only their positions and makes
each ``Chunk`` when it is read, so a large document's chunk texts are not all in memory at once.

Counting tokens is the costly part, so each sentence is counted once and chunk sizes are estimated as the
sum of their sentences' counts (exact for WordPiece, which splits at whitespace anyway); the real count is
taken only near the limit and once per finished chunk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from ingest.models import Chunk, LoadedDocument
from ingest.sentences import split_sentences

_WORD = re.compile(r"\S+")
# Chunks may pass the word target by this factor to end on a sentence boundary.
_SOFT_WORD_FACTOR = 4 / 3
# Past this share of the word target, a paragraph break is a good place to end a chunk.
_PARAGRAPH_END_SHARE = 0.8
# Below ``max_tokens - slack`` the summed estimate is trusted without counting the real text.
_SLACK_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class _Unit:
    """A sentence (or a piece of an over-long one): span in the page text and its size."""

    start: int
    end: int
    tokens: int
    words: int
    opens_paragraph: bool


class Chunker:
    """Sentence-aware, page-bounded chunking under a token budget."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        max_tokens: int = 254,
        target_words: int = 150,
        min_words: int = 40,
        overlap_sentences: int = 1,
    ) -> None:
        if not callable(count_tokens):
            raise TypeError("count_tokens must be a callable returning the number of word pieces of a text")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        if target_words < 1:
            raise ValueError(f"target_words must be at least 1, got {target_words}")
        if not 0 <= min_words <= target_words:
            raise ValueError(f"min_words must be between 0 and target_words ({target_words}), got {min_words}")
        if overlap_sentences < 0:
            raise ValueError(f"overlap_sentences must be 0 or more, got {overlap_sentences}")
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.target_words = target_words
        self.min_words = min_words
        self.overlap_sentences = overlap_sentences
        self._max_words = max(target_words, round(target_words * _SOFT_WORD_FACTOR))
        self._slack = max(2, round(max_tokens * _SLACK_SHARE))

    def chunk(self, document: LoadedDocument) -> list[Chunk]:
        """All chunks of ``document``, page by page, numbered from 0 across the document."""
        return list(self.chunk_lazily(document))

    def chunk_lazily(self, document: LoadedDocument) -> DocumentChunks:
        """The chunks of ``document`` as ``chunk`` gives them, each made when it is read (see ``DocumentChunks``)."""
        spans = [(n, start, end) for n, page in enumerate(document.pages) for start, end in self._page_spans(page.text)]
        return DocumentChunks(document, spans)

    # --- one page ---------------------------------------------------------------------------------------

    def _page_spans(self, text: str) -> list[tuple[int, int]]:
        units = self._units(text)
        spans: list[tuple[int, int]] = []
        current: list[_Unit] = []  # carried overlap first, then fresh units
        fresh = 0
        i = 0
        while i < len(units):
            unit = units[i]
            if current and self._should_close(text, current, unit):
                if fresh == 0:
                    current = []  # the carried overlap leaves no room: start clean
                    continue
                i -= self._close(text, current, fresh, spans)
                current, fresh = self._carry(current), 0
                continue
            current.append(unit)
            fresh += 1
            i += 1
            if sum(u.words for u in current) >= self.target_words:
                i -= self._close(text, current, fresh, spans)
                current, fresh = self._carry(current), 0
        if fresh:
            tail = current[-fresh:]
            if spans and sum(u.words for u in tail) < self.min_words and self._merge_tail(text, tail, spans):
                return spans
            self._close(text, current, fresh, spans)
        return spans

    def _should_close(self, text: str, current: list[_Unit], unit: _Unit) -> bool:
        words = sum(u.words for u in current)
        if words >= self.min_words and words + unit.words > self._max_words:
            return True
        if unit.opens_paragraph and words >= _PARAGRAPH_END_SHARE * self.target_words:
            return True
        return not self._fits(text, [*current, unit])

    def _close(self, text: str, current: list[_Unit], fresh: int, spans: list[tuple[int, int]]) -> int:
        """Append the span of ``current`` (trimmed until its real count fits); return units given back.

        ``current`` is trimmed in place: fresh units leave from the end (to be read again), carried ones from
        the front. A single unit always fits, because over-long sentences were cut to fit.
        """
        given_back = 0
        while len(current) > 1 and self.count_tokens(text[current[0].start : current[-1].end]) > self.max_tokens:
            if fresh - given_back > 1:
                current.pop()
                given_back += 1
            else:
                current.pop(0)
        spans.append((current[0].start, current[-1].end))
        return given_back

    def _carry(self, current: list[_Unit]) -> list[_Unit]:
        if self.overlap_sentences and len(current) > self.overlap_sentences:
            return current[-self.overlap_sentences :]
        return []

    def _merge_tail(self, text: str, tail: list[_Unit], spans: list[tuple[int, int]]) -> bool:
        start, _ = spans[-1]
        end = tail[-1].end
        if self.count_tokens(text[start:end]) > self.max_tokens:
            return False
        spans[-1] = (start, end)
        return True

    def _fits(self, text: str, units: list[_Unit]) -> bool:
        estimate = sum(u.tokens for u in units)
        if estimate <= self.max_tokens - self._slack:
            return True
        return self.count_tokens(text[units[0].start : units[-1].end]) <= self.max_tokens

    # --- sentences and pieces ---------------------------------------------------------------------------

    def _units(self, text: str) -> list[_Unit]:
        units: list[_Unit] = []
        previous_end = 0
        for start, end in split_sentences(text):
            opens_paragraph = not units or "\n\n" in text[previous_end:start]
            previous_end = end
            tokens = self.count_tokens(text[start:end])
            if tokens <= self.max_tokens:
                units.append(_Unit(start, end, tokens, len(text[start:end].split()), opens_paragraph))
                continue
            for n, (piece_start, piece_end, piece_tokens) in enumerate(self._pieces(text, start, end)):
                words = len(text[piece_start:piece_end].split())
                units.append(_Unit(piece_start, piece_end, piece_tokens, words, opens_paragraph and n == 0))
        return units

    def _pieces(self, text: str, start: int, end: int) -> list[tuple[int, int, int]]:
        """Cut ``text[start:end]`` at word boundaries into the fewest greedy pieces within the budget."""
        words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
        pieces: list[tuple[int, int, int]] = []
        first = 0
        while first < len(words):
            # Largest number of words from ``first`` that fits, by binary search on the real count.
            low, high = 0, len(words) - first
            best_tokens = 0
            while low < high:
                middle = (low + high + 1) // 2
                tokens = self.count_tokens(text[words[first][0] : words[first + middle - 1][1]])
                if tokens <= self.max_tokens:
                    low, best_tokens = middle, tokens
                else:
                    high = middle - 1
            if low == 0:  # one "word" over the budget (a URL, a run of symbols): cut it by characters
                pieces.extend(self._character_pieces(text, *words[first]))
                first += 1
                continue
            pieces.append((words[first][0], words[first + low - 1][1], best_tokens))
            first += low
        return pieces

    def _character_pieces(self, text: str, start: int, end: int) -> list[tuple[int, int, int]]:
        pieces: list[tuple[int, int, int]] = []
        while start < end:
            low, high = 1, end - start  # one character always fits a sane budget
            best_tokens = self.count_tokens(text[start : start + 1])
            while low < high:
                middle = (low + high + 1) // 2
                tokens = self.count_tokens(text[start : start + middle])
                if tokens <= self.max_tokens:
                    low, best_tokens = middle, tokens
                else:
                    high = middle - 1
            pieces.append((start, start + low, best_tokens))
            start += low
        return pieces


class DocumentChunks(Sequence[Chunk]):
    """The chunks of one document, kept as positions in its pages: each ``Chunk`` (with its text) is made when
    it is read, by index, slice or iteration, and equals the one ``Chunker.chunk`` lists. A 50 MB text file
    has some 70,000 chunks; their texts need not be in memory at once, beside the page they are cut from."""

    def __init__(self, document: LoadedDocument, spans: list[tuple[int, int, int]]):
        """``spans`` are ``(page index in document.pages, char_start, char_end)``, in chunk order."""
        self.document = document
        self._spans = spans
        self._doc_id = document.doc_id
        self._version = document.sha256[:8]

    def __len__(self) -> int:
        return len(self._spans)

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | list[Chunk]:
        if isinstance(index, slice):
            return [self._chunk(i) for i in range(*index.indices(len(self._spans)))]
        if index < 0:
            index += len(self._spans)
        if not 0 <= index < len(self._spans):
            raise IndexError("chunk index out of range")
        return self._chunk(index)

    def __iter__(self) -> Iterator[Chunk]:
        return (self._chunk(i) for i in range(len(self._spans)))

    def _chunk(self, index: int) -> Chunk:
        page_index, start, end = self._spans[index]
        page = self.document.pages[page_index]
        return Chunk(
            chunk_id=f"{self._doc_id}-{self._version}-{index:05d}",
            doc_id=self._doc_id,
            source=self.document.source,
            title=self.document.title,
            page_start=page.number,
            page_end=page.number,
            char_start=start,
            char_end=end,
            text=page.text[start:end],
            index=index,
        )
