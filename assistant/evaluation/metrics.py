"""Ranking metrics with graded relevance, as BEIR and trec_eval define them. Pure functions, no I/O.

Conventions shared by every function here:

* ``ranked_ids`` is a ranking, best first. An id that repeats counts once, at its first position, and the
  later copies are dropped before the cut-off, so ``[a, a, b]`` is the ranking ``[a, b]``.
* ``relevance`` maps ids to graded judgements (qrels), e.g. ``{"a": 2, "b": 1, "c": 0}``. An id that is not
  in the mapping, or whose grade is 0 or less, is not relevant and has no gain.
* ``k`` is the cut-off: only the first ``k`` distinct ids are looked at. It must be at least 1.
* A query without any relevant id scores 0.0 on every metric (nothing can be found, nothing is credited).

nDCG@k (Järvelin & Kekäläinen, with the linear gain that BEIR's pytrec_eval uses):
``DCG@k = sum over ranks r = 1..k of rel(r) / log2(r + 1)`` and ``nDCG@k = DCG@k / IDCG@k``, where the ideal
DCG ranks the judged grades themselves from highest to lowest, so relevant ids that the ranking never
retrieved still count against it.

Recall@k: relevant ids among the top k over all relevant ids. Reciprocal rank@k: 1/rank of the first relevant
id within the top k, else 0; MRR@k is its mean over queries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence


def ndcg_at_k(ranked_ids: Sequence[str], relevance: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the top ``k`` with gain = grade, in [0, 1]."""
    top = _top_k(ranked_ids, k)
    ideal = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    ideal_dcg = _dcg(ideal)
    if ideal_dcg == 0.0:
        return 0.0
    return _dcg(max(relevance.get(i, 0), 0) for i in top) / ideal_dcg


def recall_at_k(ranked_ids: Sequence[str], relevance: Mapping[str, int], k: int = 10) -> float:
    """Share of the relevant ids (grade > 0) found among the top ``k``, in [0, 1]."""
    relevant = {i for i, g in relevance.items() if g > 0}
    if not relevant:
        return 0.0
    return sum(1 for i in _top_k(ranked_ids, k) if i in relevant) / len(relevant)


def reciprocal_rank(
    ranked_ids: Sequence[str],
    is_relevant: Callable[[str], bool] | Mapping[str, int],
    k: int = 10,
) -> float:
    """1/rank of the first relevant id among the top ``k`` (ranks from 1), 0.0 when there is none.

    ``is_relevant`` is either graded judgements (relevant means grade > 0) or a predicate, for relevance
    that is not a list of ids, e.g. "this chunk comes from the gold document".
    """
    if isinstance(is_relevant, Mapping):
        grades = is_relevant

        def relevant(i: str) -> bool:
            return grades.get(i, 0) > 0
    else:
        relevant = is_relevant
    return next((1.0 / rank for rank, i in enumerate(_top_k(ranked_ids, k), start=1) if relevant(i)), 0.0)


def _top_k(ranked_ids: Sequence[str], k: int) -> list[str]:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"the cut-off k must be a whole number of 1 or more, got {k!r}")
    if isinstance(ranked_ids, str):
        raise TypeError("ranked_ids must be a sequence of ids, not one string")
    return list(dict.fromkeys(ranked_ids))[:k]


def _dcg(gains: Iterable[int]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))
