"""SHREC'17 shape-retrieval metrics, with the definitions of the official evaluator.

Every model of a split is a query; its retrieval list ranks models of the same split. The ground
truth maps each model id to ``(synset, subsynset)`` (the class id and the finer sub-class id; a
model may have ``subsynset == synset``). Ids are compared as given (``3`` and ``"000003"`` differ).

Definitions (per query ``q``, as the official evaluator scores a list):

* the list is cut at ``cutoff`` (1000) results, then duplicates are dropped (first occurrence
  kept), so a list with repeats among its first 1000 entries scores fewer than 1000 results;
* graded relevance of a result ``r`` (:func:`relevance`): 0 if ``synset(r) != synset(q)``, else
  3 if ``subsynset(r) == subsynset(q)``, 2 if ``subsynset(r) == synset(q)`` (the result sits at
  the query's synset level), 1 otherwise (sibling subsynset). A *hit* is relevance > 0 (same
  synset). Testing the synset first keeps "hit" and "relevance > 0" the same thing;
* the relevant set of ``q`` is every model of its synset in the ground truth, **the query itself
  included** (the SHREC'17 convention: the collection holds the query, and so does a list made by
  :func:`retrieval_lists`);
* with ``k`` the kept list length: ``P@N = hits / k``, ``R@N = hits / n_relevant``,
  ``F1@N = 2 P R / (P + R)`` (0 when both are 0); an empty list scores 0 everywhere;
* ``mAP``: the sum over the ranks ``i`` holding a hit of (hits in the first ``i``) / ``i``,
  divided by ``n_relevant`` of the ground truth (not the hits of the list);
* ``NDCG = DCG / IDCG``, ``DCG = sum_i rel_i / log2(i + 1)`` over ranks ``i = 1, 2, ...``; the
  ideal DCG orders ALL relevant models of the ground truth best-first (3s, then 2s, then 1s),
  cut at ``cutoff``.

Averages (:func:`retrieval_scores`): *micro* = mean over all queries (each query weighs the
same), *macro* = mean over synsets (of the query's true synset) of the per-synset mean over its
queries. F1 is averaged per query, not recomputed from the mean P and R. Beware: the DeepSphere
paper's SHREC'17 table swaps the two names: it labels micro as the "label average", whereas micro
here (as in SHREC'17) averages over queries (instances) and macro over labels (synsets).

:func:`retrieval_lists` builds the lists as the original experiments did (the objects of the
query's predicted class, by decreasing score of that class); :func:`write_retrieval_lists`
writes them as the official evaluator reads them; :func:`write_summary_csv` writes our scores
in the layout of its ``<split>.summary.csv`` so both can be compared.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np

from deepsphere.io.atomic import atomic_write_text

__all__ = [
    "CUTOFF",
    "MEASURES",
    "query_scores",
    "relevance",
    "retrieval_lists",
    "retrieval_scores",
    "write_retrieval_lists",
    "write_summary_csv",
]

CUTOFF = 1000
"""Results of a list that the official evaluator reads."""

MEASURES = ("P@N", "R@N", "F1@N", "mAP", "NDCG")
"""The five measures, in the order of the official summary."""


class _Truth:
    """The validated ground truth with the per-synset counts that the scores need."""

    def __init__(self, ground_truth: Mapping):
        if not isinstance(ground_truth, Mapping):
            raise ValueError("ground_truth must be a mapping id -> (synset, subsynset), got "
                             f"{type(ground_truth).__name__}")
        if not ground_truth:
            raise ValueError("ground_truth is empty: give id -> (synset, subsynset) for every "
                             "model of the split")
        self.labels: dict = {}
        for key, value in ground_truth.items():
            if (isinstance(value, str | bytes) or not isinstance(value, Sequence)
                    or len(value) != 2):
                raise ValueError(f"ground_truth[{key!r}] must be a pair (synset, subsynset), "
                                 f"got {value!r}")
            self.labels[key] = (value[0], value[1])
        self.synset_size = Counter(syn for syn, _ in self.labels.values())
        self.pair_count = Counter(self.labels.values())
        self._idcg: dict = {}

    def check_ids(self, ids, what: str) -> None:
        unknown = [i for i in ids if not isinstance(i, Hashable) or i not in self.labels]
        if unknown:
            raise ValueError(f"{what} holds {len(unknown)} id(s) not in the ground truth, e.g. "
                             f"{unknown[0]!r}: lists must rank models of the same split")

    def relevance(self, query, result) -> int:
        q_syn, q_sub = self.labels[query]
        r_syn, r_sub = self.labels[result]
        if r_syn != q_syn:
            return 0
        if r_sub == q_sub:
            return 3
        return 2 if r_sub == q_syn else 1

    def idcg(self, query, cutoff: int) -> float:
        syn, sub = self.labels[query]
        key = (syn, sub, cutoff)
        if key not in self._idcg:
            n3 = self.pair_count[(syn, sub)]
            n2 = 0 if sub == syn else self.pair_count[(syn, syn)]
            n1 = self.synset_size[syn] - n3 - n2
            ideal = np.array([3] * n3 + [2] * n2 + [1] * n1, dtype=np.float64)[:cutoff]
            self._idcg[key] = float(np.sum(ideal / np.log2(np.arange(2, len(ideal) + 2))))
        return self._idcg[key]


def _check_cutoff(cutoff) -> int:
    if isinstance(cutoff, bool) or not isinstance(cutoff, int | np.integer) or cutoff < 1:
        raise ValueError(f"cutoff must be a positive integer, got {cutoff!r}")
    return int(cutoff)


def _check_list(results, what: str) -> list:
    if isinstance(results, str | bytes) or not isinstance(results, Sequence | np.ndarray):
        raise ValueError(f"{what} must be a sequence of ids, got {type(results).__name__}")
    return list(results)


def _kept(results: list, cutoff: int) -> list:
    """The first ``cutoff`` results, duplicates dropped (first occurrence kept)."""
    return list(dict.fromkeys(results[:cutoff]))


def _scores(truth: _Truth, query, results: list, cutoff: int) -> dict[str, float]:
    kept = _kept(results, cutoff)
    rel = np.array([truth.relevance(query, r) for r in kept], dtype=np.float64)
    n_relevant = truth.synset_size[truth.labels[query][0]]
    hit = rel > 0
    n_hits = int(hit.sum())
    if n_hits == 0:
        return dict.fromkeys(MEASURES, 0.0)
    p = n_hits / len(kept)
    r = n_hits / n_relevant
    ranks = np.arange(1, len(kept) + 1)
    ap = float(np.sum(np.cumsum(hit)[hit] / ranks[hit])) / n_relevant
    dcg = float(np.sum(rel / np.log2(ranks + 1)))
    return {"P@N": p, "R@N": r, "F1@N": 2 * p * r / (p + r), "mAP": ap,
            "NDCG": dcg / truth.idcg(query, cutoff)}


def relevance(query, result, ground_truth: Mapping) -> int:
    """Graded relevance 3/2/1/0 of ``result`` for ``query`` (definitions in the module doc)."""
    truth = _Truth(ground_truth)
    truth.check_ids([query, result], "relevance(query, result)")
    return truth.relevance(query, result)


def query_scores(query, results: Sequence, ground_truth: Mapping, *,
                 cutoff: int = CUTOFF) -> dict[str, float]:
    """P@N, R@N, F1@N, AP (under the key ``"mAP"``) and NDCG of one query's ranked ``results``.

    ``ground_truth``: id -> ``(synset, subsynset)`` of every model of the split. Raises
    ValueError if the query or a result is not in the ground truth.
    """
    truth = _Truth(ground_truth)
    truth.check_ids([query], "the query")
    results = _check_list(results, f"the retrieval list of query {query!r}")
    truth.check_ids(results, f"the retrieval list of query {query!r}")
    return _scores(truth, query, results, _check_cutoff(cutoff))


def retrieval_scores(lists: Mapping, ground_truth: Mapping, *, cutoff: int = CUTOFF,
                     all_queries: bool = True) -> dict:
    """Micro and macro averages of the five measures over the queries of ``lists``.

    ``lists``: query id -> ranked result ids; ``ground_truth``: id -> ``(synset, subsynset)``
    for every model of the split. With ``all_queries`` (default) every ground-truth model must
    have a list, as in SHREC'17 where each model of the split is a query; pass False to score
    a subset. Returns a JSON-able dict ``{"micro": {measure: value}, "macro": {...},
    "n_queries", "n_synsets", "cutoff"}``. Raises ValueError on an empty ``lists``, a query or
    result not in the ground truth, or (``all_queries``) a model without a list.
    """
    truth = _Truth(ground_truth)
    cutoff = _check_cutoff(cutoff)
    if not isinstance(lists, Mapping):
        raise ValueError(f"lists must be a mapping query id -> ranked ids, got "
                         f"{type(lists).__name__}")
    if not lists:
        raise ValueError("lists is empty: give one ranked list per query")
    truth.check_ids(list(lists), "lists (its query ids)")
    if all_queries:
        missing = [i for i in truth.labels if i not in lists]
        if missing:
            raise ValueError(f"{len(missing)} model(s) of the ground truth have no retrieval "
                             f"list, e.g. {missing[0]!r}: every model of the split is a query "
                             "(pass all_queries=False to score a subset)")
    per_query = {}
    for query, results in lists.items():
        results = _check_list(results, f"the retrieval list of query {query!r}")
        truth.check_ids(results, f"the retrieval list of query {query!r}")
        per_query[query] = _scores(truth, query, results, cutoff)
    by_synset = defaultdict(list)
    for query, scores in per_query.items():
        by_synset[truth.labels[query][0]].append(scores)
    micro = {m: float(np.mean([s[m] for s in per_query.values()])) for m in MEASURES}
    macro = {m: float(np.mean([np.mean([s[m] for s in group]) for group in by_synset.values()]))
             for m in MEASURES}
    return {"micro": micro, "macro": macro, "n_queries": len(per_query),
            "n_synsets": len(by_synset), "cutoff": cutoff}


def retrieval_lists(ids: Sequence, predicted_scores) -> dict:
    """Retrieval lists as the original experiments built them from a classifier's output.

    ``ids``: ``(n,)`` unique model ids; ``predicted_scores``: ``(n, n_classes)`` class scores
    (probabilities or logits). The list of a query holds every object whose predicted class
    (argmax) equals the query's, the query itself included, sorted by decreasing score of that
    class (ties keep the order of ``ids``). Returns ``{query_id: tuple of ids}`` in the order of
    ``ids``; the queries of one predicted class share the same (immutable) tuple.
    """
    ids = _check_list(ids, "ids")
    scores = np.asarray(predicted_scores, dtype=np.float64)
    if not ids:
        raise ValueError("ids is empty: give at least one model")
    if scores.ndim != 2 or scores.shape[0] != len(ids) or scores.shape[1] == 0:
        raise ValueError(f"predicted_scores must have shape (len(ids), n_classes) = "
                         f"({len(ids)}, n_classes), got {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("predicted_scores holds NaN or infinite values")
    repeated = [i for i, count in Counter(ids).items() if count > 1]
    if repeated:
        raise ValueError(f"ids holds {len(repeated)} repeated id(s), e.g. {repeated[0]!r}: "
                         "each model must appear once")
    predicted = np.argmax(scores, axis=1)
    ranked = {}
    for c in np.unique(predicted):
        members = np.flatnonzero(predicted == c)
        order = members[np.argsort(-scores[members, c], kind="stable")]
        ranked[c] = tuple(ids[j] for j in order)
    return {query: ranked[c] for query, c in zip(ids, predicted, strict=True)}


def _file_name(query) -> str:
    name = str(query)
    if (not name or name.startswith(".") or any(ch in name for ch in "/\\\n\r\0")
            or name != name.strip()):
        raise ValueError(f"query id {query!r} cannot name a file: use ids without path "
                         "separators, newlines, surrounding spaces or a leading dot")
    return name


def write_retrieval_lists(folder: str | os.PathLike, lists: Mapping) -> Path:
    """Write the official evaluator's input: one file per query, named by its id (no
    extension), holding the ranked ids one per line; returns ``folder`` (created if needed).

    Every file is written atomically. The evaluator scores every file of the folder, so a
    folder holding other files (of another run) is refused with ValueError, as are ids that
    cannot be a file name or a line. The lists are written whole (the evaluator cuts them).
    """
    if not isinstance(lists, Mapping) or not lists:
        raise ValueError("lists must be a non-empty mapping query id -> ranked ids")
    names = {}
    for query, results in lists.items():
        name = _file_name(query)
        if name in names:
            raise ValueError(f"query ids {names[name][0]!r} and {query!r} give the same file "
                             f"name {name!r}")
        lines = [str(r) for r in _check_list(results, f"the retrieval list of query {query!r}")]
        bad = [line for line in lines if not line or line != line.strip() or "\n" in line]
        if bad:
            raise ValueError(f"the retrieval list of query {query!r} holds id {bad[0]!r} that "
                             "cannot be written as one line")
        names[name] = (query, lines)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stale = sorted(p.name for p in folder.iterdir()
                   if not p.name.startswith(".") and p.name not in names)
    if stale:
        raise ValueError(f"{folder} holds {len(stale)} file(s) that are not queries of these "
                         f"lists, e.g. {stale[0]!r}: the evaluator would score them too; write "
                         "into an empty folder")
    for name, (_, lines) in names.items():
        atomic_write_text(folder / name, "".join(line + "\n" for line in lines))
    return folder


def write_summary_csv(path: str | os.PathLike, scores: Mapping) -> Path:
    """Write the scores of :func:`retrieval_scores` as the official ``<split>.summary.csv``
    lays them out: a header row of the five measures, then a ``micro`` and a ``macro`` row
    (six decimals). Returns ``path``."""
    rows = []
    for average in ("micro", "macro"):
        values = scores.get(average) if isinstance(scores, Mapping) else None
        if not isinstance(values, Mapping) or any(m not in values for m in MEASURES):
            raise ValueError(f"scores must hold {average!r}: {{measure: value}} for "
                             f"{', '.join(MEASURES)} (the output of retrieval_scores)")
        cells = []
        for m in MEASURES:
            value = float(values[m])
            if not math.isfinite(value):
                raise ValueError(f"scores[{average!r}][{m!r}] is {value}, not a finite number")
            cells.append(f"{value:.6f}")
        rows.append(",".join([average, *cells]))
    text = ",".join(["average", *MEASURES]) + "\n" + "".join(row + "\n" for row in rows)
    return atomic_write_text(path, text)
