"""Evaluation metrics of the DeepSphere experiments (plain NumPy, no framework).

Fractions are returned in ``[0, 1]`` (not percent). Modules:

* :mod:`~deepsphere.metrics.classification`: :func:`accuracy`, :func:`per_class_recall`,
  :func:`mean_class_recall`, :func:`weighted_f1`, :func:`average_precision`,
  :func:`average_precision_per_class`, :func:`mean_average_precision`,
  :func:`classification_report`;
* :mod:`~deepsphere.metrics.regression`: :func:`mse`, :func:`mae`, :func:`r2`,
  :func:`explained_variance`, :func:`regression_report`;
* :mod:`~deepsphere.metrics.retrieval`: the SHREC'17 retrieval measures (P@N, R@N, F1@N, mAP,
  NDCG, micro and macro) with :func:`retrieval_scores`, :func:`query_scores`,
  :func:`relevance`, the lists of :func:`retrieval_lists` and the evaluator files of
  :func:`write_retrieval_lists` / :func:`write_summary_csv`.

Every public name of the three modules is available from ``deepsphere.metrics`` itself.
"""

from deepsphere.metrics.classification import (
    accuracy,
    average_precision,
    average_precision_per_class,
    classification_report,
    mean_average_precision,
    mean_class_recall,
    per_class_recall,
    weighted_f1,
)
from deepsphere.metrics.regression import (
    explained_variance,
    mae,
    mse,
    r2,
    regression_report,
)
from deepsphere.metrics.retrieval import (
    CUTOFF,
    MEASURES,
    query_scores,
    relevance,
    retrieval_lists,
    retrieval_scores,
    write_retrieval_lists,
    write_summary_csv,
)

__all__ = [
    # classification
    "accuracy",
    "average_precision",
    "average_precision_per_class",
    "classification_report",
    "mean_average_precision",
    "mean_class_recall",
    "per_class_recall",
    "weighted_f1",
    # regression
    "explained_variance",
    "mae",
    "mse",
    "r2",
    "regression_report",
    # retrieval (SHREC'17)
    "CUTOFF",
    "MEASURES",
    "query_scores",
    "relevance",
    "retrieval_lists",
    "retrieval_scores",
    "write_retrieval_lists",
    "write_summary_csv",
]
