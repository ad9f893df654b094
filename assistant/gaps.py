"""Questions about something the library never mentions.

"What does the chapter say about the kafala system?" retrieves passages about domestic work that look
close, yet no passage says "kafala": an extractive answer would be about something else. A question term
that is a rare word (several word pieces to the embedding model's tokenizer, so not everyday English) and
appears in no passage of the library marks a question the library cannot answer.
"""

from __future__ import annotations

from vectorstore.catalog import lexical_terms
from vectorstore.store import ChunkStore

# Everyday English words are one or two word pieces; names and technical terms the vocabulary lacks, more.
RARE_WORD_PIECES = 3


def unknown_rare_terms(question: str, store: ChunkStore) -> list[str]:
    rare = [t for t in lexical_terms(question) if t.isalpha() and store.embedder.count_tokens(t) >= RARE_WORD_PIECES]
    return store.unknown_terms(rare) if rare else []
