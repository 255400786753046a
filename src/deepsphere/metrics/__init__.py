"""Evaluation metrics of the DeepSphere experiments (plain NumPy, no framework).

Fractions are returned in ``[0, 1]`` (not percent). Modules:

* :mod:`~deepsphere.metrics.classification`: :func:`accuracy`, :func:`per_class_recall`,
  :func:`mean_class_recall`, :func:`weighted_f1`, :func:`average_precision`,
  :func:`average_precision_per_class`, :func:`mean_average_precision`,
  :func:`classification_report`;
* :mod:`~deepsphere.metrics.regression`: :func:`mse`, :func:`mae`, :func:`r2`,
  :func:`explained_variance`, :func:`regression_report`, :func:`per_target_report`;
* :mod:`~deepsphere.metrics.retrieval`: the SHREC'17 retrieval measures (P@N, R@N, F1@N, mAP,
  NDCG, micro and macro) with :func:`retrieval_scores`, :func:`query_scores`,
  :func:`relevance`, the lists of :func:`retrieval_lists` and the evaluator files of
  :func:`write_retrieval_lists` / :func:`write_summary_csv`.

Every public name of the three modules is available from ``deepsphere.metrics`` itself.
"""

from deepsphere.metrics import classification, regression, retrieval
from deepsphere.metrics.classification import *  # noqa: F403 (the modules' __all__)
from deepsphere.metrics.regression import *  # noqa: F403
from deepsphere.metrics.retrieval import *  # noqa: F403

__all__ = [*classification.__all__, *regression.__all__, *retrieval.__all__]
