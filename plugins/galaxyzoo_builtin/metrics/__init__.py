"""Built-in metrics, registered through the `galaxyzoo` entry-point group."""
from __future__ import annotations

from galaxyzoo import MetricSpec, hookimpl

_FNS = "galaxyzoo_builtin.metrics.functions"


@hookimpl
def galaxyzoo_metrics():
    classification = ("classification",)
    votes = ("vote_fractions",)
    return [
        MetricSpec("accuracy", "Fraction of arg-max predictions equal to the label",
                   f"{_FNS}:accuracy", tasks=classification),
        MetricSpec("balanced_accuracy", "Mean per-class recall over the classes present",
                   f"{_FNS}:balanced_accuracy", tasks=classification),
        MetricSpec("roc_auc_ovr", "One-vs-rest ROC AUC, macro-averaged over classes",
                   f"{_FNS}:roc_auc_ovr", tasks=classification),
        MetricSpec("confusion_matrix", "Counts of true class (rows) vs predicted class (columns)",
                   f"{_FNS}:confusion_matrix", tasks=classification, scalar=False),
        MetricSpec("macro_f1", "F1 score per class, unweighted mean over the classes present",
                   "galaxyzoo_builtin.metrics.classwise:macro_f1", tasks=classification),
        MetricSpec("recall_per_class", "Recall of each class, in the task's class order",
                   "galaxyzoo_builtin.metrics.classwise:recall_per_class", tasks=classification, scalar=False),
        MetricSpec("rmse", "RMSE over all vote-fraction columns (the Kaggle Galaxy Zoo 2 score)",
                   f"{_FNS}:rmse", tasks=votes, higher_is_better=False,
                   reference="https://www.kaggle.com/c/galaxy-zoo-the-galaxy-challenge"),
        MetricSpec("rmse_per_question", "RMSE of each of the 11 GZ2 decision-tree questions",
                   f"{_FNS}:rmse_per_question", tasks=votes, higher_is_better=False, scalar=False),
    ]
