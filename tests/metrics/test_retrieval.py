"""SHREC'17 retrieval metrics against hand-worked values (the arithmetic is in the comments)."""

import math

import numpy as np
import pytest

from deepsphere import metrics
from deepsphere.metrics import retrieval

L2_3, L2_5, L2_7 = math.log2(3), math.log2(5), math.log2(7)

# A toy split: id -> (synset, subsynset). Synset A has 4 models (a1 at the synset level, two in
# subsynset A1, one in A2), synset B has 2 (b1 at the synset level, b2 in B1), synset C has one.
TOY = {
    "a1": ("A", "A"),
    "a2": ("A", "A1"),
    "a3": ("A", "A1"),
    "a4": ("A", "A2"),
    "b1": ("B", "B"),
    "b2": ("B", "B1"),
    "c1": ("C", "C"),
}


def scores_of(query, results, **kwargs):
    return metrics.query_scores(query, results, TOY, **kwargs)


def assert_scores(got, **expected):
    assert set(got) == set(metrics.MEASURES)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name


def test_graded_relevance_3_2_1_0():
    # query a2 = (A, A1)
    assert metrics.relevance("a2", "a3", TOY) == 3  # same subsynset A1
    assert metrics.relevance("a2", "a2", TOY) == 3  # the query itself
    assert metrics.relevance("a2", "a1", TOY) == 2  # result's subsynset A = query's synset
    assert metrics.relevance("a2", "a4", TOY) == 1  # same synset, sibling subsynset A2
    assert metrics.relevance("a2", "b1", TOY) == 0  # other synset
    # query a1 = (A, A) sits at the synset level: a2's subsynset A1 is not A, a sibling -> 1
    assert metrics.relevance("a1", "a2", TOY) == 1
    assert metrics.relevance("b2", "b1", TOY) == 2  # b1's subsynset B = b2's synset
    assert metrics.relevance("b1", "b2", TOY) == 1


def test_a_subsynset_named_like_the_synset_of_another_class_is_no_hit():
    # x is in synset B but its subsynset id is "A": not the query's synset, so 0 (not 2)
    truth = {**TOY, "x": ("B", "A")}
    assert metrics.relevance("a2", "x", truth) == 0


def test_list_longer_than_the_relevant_set():
    # query a2 = (A, A1); synset A has 4 models (a2 included): n_relevant = 4
    got = scores_of("a2", ["a3", "b1", "a1", "a4", "b2", "a2", "c1"])
    # relevances 3, 0, 2, 1, 0, 3, 0: hits at ranks 1, 3, 4, 6; k = 7
    # P = 4/7, R = 4/4 = 1, F1 = 2 (4/7)(1) / (4/7 + 1) = (8/7) / (11/7) = 8/11
    # AP = (1/1 + 2/3 + 3/4 + 4/6) / 4 = (12 + 8 + 9 + 8)/12 / 4 = 37/48
    # DCG = 3/log2(2) + 2/log2(4) + 1/log2(5) + 3/log2(7) = 3 + 1 + 1/log2 5 + 3/log2 7
    # ideal: a2, a3 (3, 3), a1 (2), a4 (1): IDCG = 3 + 3/log2 3 + 2/2 + 1/log2 5
    dcg = 3 + 1 + 1 / L2_5 + 3 / L2_7
    idcg = 3 + 3 / L2_3 + 1 + 1 / L2_5
    assert_scores(got, **{"P@N": 4 / 7, "R@N": 1.0, "F1@N": 8 / 11, "mAP": 37 / 48,
                          "NDCG": dcg / idcg})


def test_list_missing_relevant_models_is_normalised_by_the_ground_truth():
    # query a4 = (A, A2), n_relevant = 4; list a4 (3), b1 (0), a2 (1: sibling A1)
    got = scores_of("a4", ["a4", "b1", "a2"])
    # hits at ranks 1 and 3 of k = 3: P = 2/3, R = 2/4 = 1/2
    # F1 = 2 (2/3)(1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    # AP = (1/1 + 2/3) / 4 (ground truth, not the 2 hits of the list) = (5/3)/4 = 5/12
    # DCG = 3 + 0 + 1/log2(4) = 3.5
    # ideal: a4 (3), a1 (2: subsynset A = synset), a2, a3 (1, 1):
    # IDCG = 3 + 2/log2 3 + 1/2 + 1/log2 5 (from the ground truth, not the list)
    idcg = 3 + 2 / L2_3 + 0.5 + 1 / L2_5
    assert_scores(got, **{"P@N": 2 / 3, "R@N": 0.5, "F1@N": 4 / 7, "mAP": 5 / 12,
                          "NDCG": 3.5 / idcg})


def test_a_query_whose_synset_has_one_model():
    # c1 is alone in C: n_relevant = 1 (the query itself counts)
    got = scores_of("c1", ["c1", "a1", "b1"])
    # hit at rank 1 of 3: P = 1/3, R = 1/1, F1 = 2 (1/3) / (4/3) = 1/2, AP = 1/1 / 1 = 1
    # DCG = 3 = IDCG: NDCG = 1
    assert_scores(got, **{"P@N": 1 / 3, "R@N": 1.0, "F1@N": 0.5, "mAP": 1.0, "NDCG": 1.0})
    got = scores_of("c1", ["a1", "c1"])
    # hit at rank 2 of 2: P = 1/2, R = 1, F1 = 2/3, AP = (1/2) / 1, NDCG = (3/log2 3) / 3
    assert_scores(got, **{"P@N": 0.5, "R@N": 1.0, "F1@N": 2 / 3, "mAP": 0.5,
                          "NDCG": 1 / L2_3})


def test_duplicates_are_dropped_keeping_the_first():
    # query b1 = (B, B), n_relevant = 2; kept list: b1 (3), a1 (0), b2 (1: sibling B1)
    got = scores_of("b1", ["b1", "b1", "a1", "b2", "b2"])
    # hits at ranks 1 and 3 of k = 3: P = 2/3, R = 2/2 = 1, F1 = 2 (2/3) / (5/3) = 4/5
    # AP = (1/1 + 2/3) / 2 = 5/6; DCG = 3 + 1/log2(4) = 3.5; ideal b1 (3), b2 (1):
    # IDCG = 3 + 1/log2 3
    assert_scores(got, **{"P@N": 2 / 3, "R@N": 1.0, "F1@N": 0.8, "mAP": 5 / 6,
                          "NDCG": 3.5 / (3 + 1 / L2_3)})


def test_an_empty_or_hitless_list_scores_zero():
    assert_scores(scores_of("a1", []), **dict.fromkeys(metrics.MEASURES, 0.0))
    assert_scores(scores_of("a1", ["b1", "c1"]), **dict.fromkeys(metrics.MEASURES, 0.0))


def test_the_1000_cutoff_on_a_long_list():
    # q and r in synset S (n_relevant = 2), 1200 fillers in synset Z
    truth = {"q": ("S", "S"), "r": ("S", "S"), **{f"z{i}": ("Z", "Z") for i in range(1200)}}
    ranked = ["q"] + [f"z{i}" for i in range(999)] + ["r"]  # r is result 1001: cut
    got = metrics.query_scores("q", ranked, truth)
    # kept k = 1000 with one hit (rank 1): P = 1/1000, R = 1/2
    # F1 = 2 (1/1000)(1/2) / (1/1000 + 1/2) = (1/1000) / (501/1000) = 1/501
    # AP = (1/1) / 2 = 1/2; DCG = 3; IDCG = 3 + 3/log2 3 -> NDCG = log2 3 / (log2 3 + 1)
    assert_scores(got, **{"P@N": 1 / 1000, "R@N": 0.5, "F1@N": 1 / 501, "mAP": 0.5,
                          "NDCG": L2_3 / (L2_3 + 1)})
    assert metrics.CUTOFF == 1000


def test_a_small_cutoff_also_cuts_the_ideal_list():
    # query a2 with cutoff 2: kept a3 (3), b1 (0)
    got = scores_of("a2", ["a3", "b1", "a1", "a4"], cutoff=2)
    # P = 1/2, R = 1/4, F1 = 2 (1/2)(1/4) / (3/4) = 1/3, AP = (1/1) / 4 = 1/4
    # DCG = 3; ideal cut at 2 results: 3, 3 -> IDCG = 3 + 3/log2 3, NDCG = log2 3/(log2 3 + 1)
    assert_scores(got, **{"P@N": 0.5, "R@N": 0.25, "F1@N": 1 / 3, "mAP": 0.25,
                          "NDCG": L2_3 / (L2_3 + 1)})


def test_the_cutoff_comes_before_dropping_duplicates():
    # cutoff 3 keeps b1, b1, a1 -> b1, a1 (b2 at rank 4 is cut): one hit of k = 2
    got = scores_of("b1", ["b1", "b1", "a1", "b2"], cutoff=3)
    # P = 1/2, R = 1/2, F1 = 1/2, AP = 1/2, NDCG = 3 / (3 + 1/log2 3)
    assert_scores(got, **{"P@N": 0.5, "R@N": 0.5, "F1@N": 0.5, "mAP": 0.5,
                          "NDCG": 3 / (3 + 1 / L2_3)})


def test_micro_and_macro_averages_differ():
    perfect = {  # ideal orderings: every measure is 1
        "a1": ["a1", "a2", "a3", "a4"],  # relevances 3, 1, 1, 1
        "a2": ["a2", "a3", "a1", "a4"],  # 3, 3, 2, 1
        "b1": ["b1", "b2"],
        "c1": ["c1"],
    }
    hitless = {"a3": ["b1"], "a4": ["c1", "b2"], "b2": ["a1"]}  # every measure is 0
    got = metrics.retrieval_scores({**perfect, **hitless}, TOY)
    # micro: 4 perfect queries of 7 -> 4/7
    # macro: A (a1, a2 of 4) 1/2, B (b1 of 2) 1/2, C 1 -> (1/2 + 1/2 + 1) / 3 = 2/3
    for name in metrics.MEASURES:
        assert got["micro"][name] == pytest.approx(4 / 7), name
        assert got["macro"][name] == pytest.approx(2 / 3), name
    assert (got["n_queries"], got["n_synsets"], got["cutoff"]) == (7, 3, 1000)


def test_macro_averages_the_per_synset_means_of_non_trivial_scores():
    lists = {
        "a1": ["a1", "a2", "a3", "a4"],  # P = 1
        "a2": ["a3", "b1", "a1", "a4", "b2", "a2", "c1"],  # P = 4/7
        "a3": ["b1"],  # P = 0
        "a4": ["a4", "b1", "a2"],  # P = 2/3
        "b1": ["b1", "b1", "a1", "b2", "b2"],  # P = 2/3 (duplicates dropped)
        "b2": ["a1", "b2"],  # P = 1/2
        "c1": ["c1", "a1", "b1"],  # P = 1/3
    }
    got = metrics.retrieval_scores(lists, TOY)
    # micro P = (1 + 4/7 + 0 + 2/3 + 2/3 + 1/2 + 1/3) / 7 = ((42 + 24 + 28 + 28 + 21 + 14)/42) / 7
    #         = (157/42) / 7 = 157/294
    assert got["micro"]["P@N"] == pytest.approx(157 / 294)
    # macro P: A (1 + 4/7 + 0 + 2/3)/4 = (47/21)/4 = 47/84, B (2/3 + 1/2)/2 = 7/12, C 1/3
    # -> (47/84 + 49/84 + 28/84) / 3 = (124/84) / 3 = 31/63
    assert got["macro"]["P@N"] == pytest.approx(31 / 63)


def test_all_queries_need_a_list_unless_told():
    with pytest.raises(ValueError, match=r"1 model\(s\) of the ground truth have no retrieval"):
        metrics.retrieval_scores({q: [q] for q in TOY if q != "c1"}, TOY)
    got = metrics.retrieval_scores({"c1": ["c1"], "b2": ["a1"]}, TOY, all_queries=False)
    # micro (1 + 0) / 2; macro over synsets C and B: same here
    assert got["micro"]["mAP"] == pytest.approx(0.5) and got["n_synsets"] == 2


@pytest.mark.parametrize(("call", "message"), [
    (lambda: metrics.query_scores("a1", ["a1", "zz"], TOY), "1 id.* not in the ground truth.*'zz'"),
    (lambda: metrics.query_scores("zz", ["a1"], TOY), "the query holds 1 id.*'zz'"),
    (lambda: metrics.query_scores("a1", "a1", TOY), "must be a sequence of ids"),
    (lambda: metrics.query_scores("a1", ["a1"], TOY, cutoff=0), "cutoff must be a positive"),
    (lambda: metrics.query_scores("a1", ["a1"], {}), "ground_truth is empty"),
    (lambda: metrics.query_scores("a1", ["a1"], {"a1": "A"}), r"must be a pair \(synset"),
    (lambda: metrics.retrieval_scores({}, TOY), "lists is empty"),
    (lambda: metrics.retrieval_scores({"zz": ["a1"]}, TOY, all_queries=False),
     r"lists \(its query ids\) holds 1 id"),
    (lambda: metrics.relevance("a1", "zz", TOY), "not in the ground truth"),
    (lambda: metrics.retrieval_scores({"a1": ["a1", "zz"]}, TOY, all_queries=False),
     "the retrieval list of query 'a1' holds 1 id.* not in the ground truth"),
    (lambda: metrics.retrieval_scores([["a1"]], TOY), "lists must be a mapping"),
])
def test_invalid_input_is_a_value_error_naming_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_retrieval_lists_rank_the_predicted_class_by_its_score():
    ids = ["m0", "m1", "m2", "m3", "m4"]
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3], [0.7, 0.3]])
    lists = metrics.retrieval_lists(ids, scores)
    # predicted classes 0, 1, 0, 0, 0; class 0 by decreasing score 0: m0 (0.9), m3 and m4 (0.7,
    # tie kept in input order), m2 (0.6); class 1: m1 alone
    assert list(lists) == ids
    for query in ["m0", "m2", "m3", "m4"]:
        assert list(lists[query]) == ["m0", "m3", "m4", "m2"]
    assert list(lists["m1"]) == ["m1"]


@pytest.mark.parametrize(("ids", "scores", "message"), [
    ([], np.zeros((0, 2)), "ids is empty"),
    (["a", "b"], np.zeros((3, 2)), r"shape \(len\(ids\), n_classes\)"),
    (["a", "a"], np.eye(2), "1 repeated id"),
    (["a", "b"], [[0.5, np.nan], [1, 0]], "NaN"),
])
def test_retrieval_lists_refuse_bad_input(ids, scores, message):
    with pytest.raises(ValueError, match=message):
        metrics.retrieval_lists(ids, scores)


def test_write_retrieval_lists_one_file_per_query(tmp_path):
    folder = tmp_path / "test_perturbed"
    out = metrics.write_retrieval_lists(folder, {"000003": ["000003", "000010"], 7: [7], "x": []})
    assert out == folder
    assert sorted(p.name for p in folder.iterdir()) == ["000003", "7", "x"]
    assert (folder / "000003").read_text() == "000003\n000010\n"
    assert (folder / "7").read_text() == "7\n"
    assert (folder / "x").read_text() == ""
    # rewriting the same queries is fine; a file of another run is refused
    metrics.write_retrieval_lists(folder, {"000003": ["000010"], 7: [7], "x": []})
    assert (folder / "000003").read_text() == "000010\n"
    with pytest.raises(ValueError, match="1 file.*not queries of these lists.*'x'"):
        metrics.write_retrieval_lists(folder, {"000003": ["000010"], 7: [7]})


@pytest.mark.parametrize(("lists", "message"), [
    ({"a/b": ["a"]}, "cannot name a file"),
    ({".hidden": ["a"]}, "cannot name a file"),
    ({1: ["a"], "1": ["b"]}, "give the same file name '1'"),
    ({"a": ["b\nc"]}, "cannot be written as one line"),
    ({}, "non-empty mapping"),
])
def test_write_retrieval_lists_refuse_bad_ids(tmp_path, lists, message):
    with pytest.raises(ValueError, match=message):
        metrics.write_retrieval_lists(tmp_path, lists)


def test_summary_csv(tmp_path):
    scores = metrics.retrieval_scores({q: [q] for q in TOY}, TOY)
    # list [q]: P = 1, R = 1/n_synset: A 1/4 (x4), B 1/2 (x2), C 1
    # micro R = (4/4 + 2/2 + 1) / 7 = 3/7; macro R = (1/4 + 1/2 + 1) / 3 = 7/12
    path = metrics.write_summary_csv(tmp_path / "test_perturbed.summary.csv", scores)
    lines = path.read_text().splitlines()
    assert lines[0] == "average,P@N,R@N,F1@N,mAP,NDCG"
    assert lines[1].split(",")[:3] == ["micro", "1.000000", f"{3 / 7:.6f}"]
    assert lines[2].split(",")[:3] == ["macro", "1.000000", f"{7 / 12:.6f}"]
    with pytest.raises(ValueError, match="scores must hold 'micro'"):
        metrics.write_summary_csv(tmp_path / "bad.csv", {"macro": scores["macro"]})


def test_the_module_stays_small():
    with open(retrieval.__file__) as f:
        assert sum(1 for _ in f) < 400
