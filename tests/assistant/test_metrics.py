"""Ranking metrics on tiny rankings whose values are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from assistant.evaluation.metrics import ndcg_at_k, recall_at_k, reciprocal_rank

LOG2_3 = math.log2(3)  # 1.58496...: the discount at rank 2
LOG2_5 = math.log2(5)  # 2.32193...: the discount at rank 4
GRADES = {"a": 2, "b": 1}


# ----- nDCG ------------------------------------------------------------------------------------------------
def test_ndcg_of_a_graded_ranking():
    # ranking [b, a, x]:  DCG  = 1/log2(2) + 2/log2(3) + 0/log2(4) = 1 + 1.26186 = 2.26186
    # ideal   [a, b]:     IDCG = 2/log2(2) + 1/log2(3)             = 2 + 0.63093 = 2.63093
    # nDCG = 2.26186 / 2.63093 = 0.85972
    expected = (1 + 2 / LOG2_3) / (2 + 1 / LOG2_3)
    assert ndcg_at_k(["b", "a", "x"], GRADES) == pytest.approx(expected)
    assert ndcg_at_k(["b", "a", "x"], GRADES) == pytest.approx(0.85972, abs=1e-5)


def test_ndcg_of_the_ideal_ranking_is_one_and_of_no_hit_is_zero():
    assert ndcg_at_k(["a", "b", "x"], GRADES) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], GRADES) == 0.0
    assert ndcg_at_k([], GRADES) == 0.0


def test_ndcg_cut_off_smaller_than_the_ranking():
    # ranking [x, b, a] at k=2 sees [x, b]:  DCG@2 = 0 + 1/log2(3) = 0.63093
    # ideal at k=2 is [a, b]:                IDCG@2 = 2 + 1/log2(3) = 2.63093  -> nDCG@2 = 0.23981
    assert ndcg_at_k(["x", "b", "a"], GRADES, k=2) == pytest.approx((1 / LOG2_3) / (2 + 1 / LOG2_3))
    # at k=1 only x is seen, and the ideal is [a]: 0 / 2
    assert ndcg_at_k(["x", "b", "a"], GRADES, k=1) == 0.0


def test_ndcg_ideal_comes_from_the_judgements_not_from_the_ranking():
    # c (grade 2) is never retrieved, yet it is in the ideal ranking [a, c, b]:
    # DCG of [a]  = 2/1 = 2;  IDCG = 2/1 + 2/log2(3) + 1/log2(4) = 2 + 1.26186 + 0.5 = 3.76186  -> 0.53165
    grades = {"a": 2, "b": 1, "c": 2, "z": 0}
    assert ndcg_at_k(["a"], grades) == pytest.approx(2 / (2 + 2 / LOG2_3 + 1 / 2))


def test_ndcg_gain_is_linear_in_the_grade():
    # [x, x2, x3, a] with a of grade 3 only: DCG = 3/log2(5), IDCG = 3/log2(2) = 3  -> 1/log2(5) = 0.43068
    assert ndcg_at_k(["x", "x2", "x3", "a"], {"a": 3}) == pytest.approx(1 / LOG2_5)


def test_ndcg_ignores_repeated_ids():
    # [b, b, a] is the ranking [b, a]: the second b neither earns gain nor pushes a down to rank 3
    assert ndcg_at_k(["b", "b", "a"], GRADES) == pytest.approx(ndcg_at_k(["b", "a"], GRADES))
    # and the cut-off counts distinct ids: [b, b, a] at k=2 still reaches a
    assert ndcg_at_k(["b", "b", "a"], GRADES, k=2) == pytest.approx((1 + 2 / LOG2_3) / (2 + 1 / LOG2_3))


def test_ndcg_without_relevant_ids_is_zero():
    assert ndcg_at_k(["a", "b"], {}) == 0.0
    assert ndcg_at_k(["a", "b"], {"a": 0, "b": 0}) == 0.0


# ----- recall ----------------------------------------------------------------------------------------------
def test_recall_counts_relevant_ids_in_the_top_k():
    grades = {"a": 2, "b": 1, "c": 1, "z": 0}  # three relevant: a, b, c (z is judged not relevant)
    ranking = ["x", "a", "z", "b"]
    assert recall_at_k(ranking, grades, k=2) == pytest.approx(1 / 3)  # a
    assert recall_at_k(ranking, grades, k=4) == pytest.approx(2 / 3)  # a, b; z earns nothing
    assert recall_at_k(["a", "b", "c"], grades, k=10) == 1.0


def test_recall_ignores_repeated_ids_and_handles_no_relevant():
    # [a, a, a, b] is [a, b]: at k=2 both are in, 2 of 2
    assert recall_at_k(["a", "a", "a", "b"], GRADES, k=2) == 1.0
    assert recall_at_k(["a"], {}, k=10) == 0.0
    assert recall_at_k(["a"], {"a": 0}, k=10) == 0.0


# ----- reciprocal rank -------------------------------------------------------------------------------------
def test_reciprocal_rank_of_the_first_relevant_within_k():
    assert reciprocal_rank(["x", "y", "a", "b"], GRADES, k=10) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x", "y", "a", "b"], GRADES, k=2) == 0.0  # a is at rank 3, past the cut-off
    assert reciprocal_rank(["b", "a"], GRADES, k=1) == 1.0  # any grade > 0 counts, not only the best
    assert reciprocal_rank(["z", "a"], {"z": 0, "a": 1}, k=10) == 0.5  # grade 0 is not relevant


def test_reciprocal_rank_takes_a_predicate_and_ignores_repeats():
    in_gold_file = {"c1": "gold.pdf", "c2": "other.pdf", "c3": "gold.pdf"}.__getitem__
    assert reciprocal_rank(["c2", "c3", "c1"], lambda i: in_gold_file(i) == "gold.pdf") == 0.5
    assert reciprocal_rank(["x", "x", "a"], GRADES) == 0.5  # [x, x, a] is [x, a]
    assert reciprocal_rank([], GRADES) == 0.0


def test_mean_reciprocal_rank_is_the_mean():
    # ranks 1, 2 and none -> (1 + 1/2 + 0) / 3 = 0.5
    rankings = [["a"], ["x", "b"], ["x", "y"]]
    assert sum(reciprocal_rank(r, GRADES) for r in rankings) / len(rankings) == pytest.approx(0.5)


# ----- arguments -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_a_cut_off_below_one_or_not_whole_is_refused(k):
    for metric in (ndcg_at_k, recall_at_k, reciprocal_rank):
        with pytest.raises(ValueError, match="cut-off k"):
            metric(["a"], GRADES, k=k)


def test_one_string_is_not_mistaken_for_a_ranking_of_characters():
    with pytest.raises(TypeError, match="sequence of ids"):
        ndcg_at_k("ab", GRADES)
