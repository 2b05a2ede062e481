"""``lcvade evaluate``: the thesis' outlier-class evaluation of a trained model.

The split of section 9.2 is rebuilt from the seed, outlier class and classes recorded in the
model's manifest (and checked against the recorded digest of the test ids), the test curves
are scored, and the run reports

* AUROC and AUPR with the outlier class as positive and ``anomaly_score = -IAS``
  (section 9.5.1);
* the accuracy and confusion matrix of argmax q(y|z,f) on the test inliers;
* how many test curves the calibrated p-value flags at 0.01;
* the AUROC of each part of the score alone -- E_q[log p(z|y)] and h_q(z|x) of eq. 9.12
  and the feature term E_q(y)[log p(f|y)] of IAS_f -- a diagnostic of what separates the
  outliers;

as ``metrics.json`` and a self-contained ``report.html`` with Figs. 9.5-9.8
(:mod:`training.report`).  A model trained on every class can be evaluated against a class
it never saw (``--outlier-class``); the training and inlier test objects are unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lcvade.batching import collate
from lcvade.calibration import AnomalyRule
from lcvade.checkpoint import load_model
from lcvade.scorer import Scorer, resolve_model_path
from models.errors import LCVaDEError
from training.data import LabelledCurves, load_labelled
from training.inference import evaluate_model
from training.metrics import accuracy, aupr, auroc, confusion_matrix
from training.report import (
    ReportFigure,
    confusion_figure,
    ias_histograms,
    reconstruction_grid,
    render_html,
    roc_pr_curves,
    to_png,
)
from training.split import OutlierSplit, add_unseen_outliers, id_set_digest, outlier_split


class EvaluationError(LCVaDEError):
    """The model and data cannot be evaluated together; the message says why."""


@dataclass
class EvaluationReport:
    metrics: dict[str, Any]
    metrics_path: Path
    html_path: Path


def rebuild_split(
    data: LabelledCurves, class_names: list[str], record: dict, outlier_class: str | None
) -> tuple[LabelledCurves, OutlierSplit]:
    """The training run's split of ``data``, extended with an unseen outlier class if asked."""
    seed = int(record.get("seed", 0))
    recorded = record.get("outlier_class")
    if recorded is not None:
        return data, outlier_split(data.ids, data.labels, recorded, seed)
    known = np.isin(data.labels.astype(str), class_names)
    inliers = data.subset(np.flatnonzero(known))
    base = outlier_split(inliers.ids, inliers.labels, None, seed)
    if outlier_class is None:
        return inliers, base
    extra = data.subset(np.flatnonzero(data.labels.astype(str) == outlier_class))
    combined = LabelledCurves(
        curves=inliers.curves + extra.curves,
        labels=np.concatenate([inliers.labels, extra.labels]),
        period_sources=inliers.period_sources + extra.period_sources,
        digest=data.digest,
    )
    return combined, add_unseen_outliers(base, combined.ids, combined.labels, outlier_class, seed)


def load_for_model(
    data_path, objects_path, class_names: list[str], record: dict, outlier_class, **options
) -> LabelledCurves:
    """Read the evaluation data restricted to the classes the training run used."""
    recorded = record.get("outlier_class")
    if recorded is not None:
        if outlier_class is not None and outlier_class != recorded:
            raise EvaluationError(
                f"this model held out {recorded!r} during training; evaluating it against "
                f"{outlier_class!r} would put training curves in the test set. Omit "
                "--outlier-class or pass the recorded one"
            )
        return load_labelled(data_path, objects_path, classes=record.get("classes_used"), **options)
    wanted = list(class_names) + ([outlier_class] if outlier_class else [])
    return load_labelled(data_path, objects_path, classes=wanted, **options)


def run_evaluation(
    model: str | os.PathLike[str],
    data: str | os.PathLike[str],
    objects: str | os.PathLike[str],
    *,
    outlier_class: str | None = None,
    out: str | os.PathLike[str] | None = None,
    period_cache: str | os.PathLike[str] | None = None,
    examples: int = 4,
    progress: bool = False,
) -> EvaluationReport:
    """Evaluate ``model`` on the section 9.2 test split of the tables; see module docstring."""
    model_dir = resolve_model_path(model)
    network, manifest, calibration = load_model(model_dir)
    record = manifest.training
    if "seed" not in record:
        raise EvaluationError(
            f"{model_dir} has no training record (seed, split); only models written by "
            "`lcvade train` can be evaluated with the section 9.2 protocol"
        )
    class_names = list(manifest.class_names)
    labelled = load_for_model(
        data,
        objects,
        class_names,
        record,
        outlier_class,
        min_points=int(record.get("min_points", manifest.config.min_points)),
        period_cache=period_cache,
        progress=progress,
    )
    labelled, split = rebuild_split(labelled, class_names, record, outlier_class)
    recorded_digest = record.get("split", {}).get("test_ids_sha256")
    same_split = None
    if recorded_digest:  # the training run's test objects (inliers only for an unseen class)
        known = ~split.test_is_outlier | (record.get("outlier_class") is not None)
        test_ids = labelled.ids[split.test[known]]
        same_split = id_set_digest(test_ids) == recorded_digest

    test = labelled.subset(split.test)
    batch = collate(test.curves, test.periods, manifest.config)
    outputs = evaluate_model(network, batch, terms=True)
    anomaly = -outputs.ias
    flags = split.test_is_outlier
    index = {name: k for k, name in enumerate(class_names)}
    inlier_true = np.array([index[y] for y in test.labels[~flags]], dtype=int)
    inlier_pred = outputs.predicted[~flags]
    matrix = confusion_matrix(inlier_true, inlier_pred, len(class_names))
    metrics: dict[str, Any] = {
        "model": str(model_dir),
        "model_name": manifest.name,
        "outlier_class": split.outlier_class,
        "seed": int(record.get("seed", 0)),
        "auroc": auroc(flags, anomaly),
        "aupr": aupr(flags, anomaly),
        "accuracy": accuracy(inlier_true, inlier_pred),
        "n_anomaly": split.n_anomaly,
        "n_test_outliers": int(flags.sum()),
        "n_test_inliers": int((~flags).sum()),
        "n_train": int(len(split.train)),
        "split_matches_training": same_split,
        "data_digest_matches": labelled.digest == record.get("data_digest"),
        "class_names": class_names,
        "confusion_matrix": matrix.tolist(),
        # which part of the score separates the outliers (anomaly score = -term)
        "auroc_by_term": {
            name: auroc(flags, -values) for name, values in (outputs.terms or {}).items()
        },
    }
    if calibration is not None:
        p_values = calibration.p_value(outputs.ias)
        flagged = AnomalyRule().flags(p_values)
        metrics["flagged_outliers_at_p01"] = float(flagged[flags].mean()) if flags.any() else None
        metrics["flagged_inliers_at_p01"] = float(flagged[~flags].mean())

    target = Path(out) if out is not None else Path(f"{model_dir.name}-evaluation")
    target.mkdir(parents=True, exist_ok=True)
    metrics_path = target / "metrics.json"
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    scorer = Scorer(network, manifest, calibration, device="cpu")
    figures = report_figures(scorer, test, outputs.ias, flags, matrix, examples)
    html_path = target / "report.html"
    title = f"LC-VaDE evaluation: {manifest.name}, outlier class {split.outlier_class}"
    html_path.write_text(render_html(title, metrics, figures), encoding="utf-8")
    return EvaluationReport(metrics=metrics, metrics_path=metrics_path, html_path=html_path)


def report_figures(
    scorer: Scorer,
    test: LabelledCurves,
    ias: np.ndarray,
    is_outlier: np.ndarray,
    matrix: np.ndarray,
    examples: int,
) -> list[ReportFigure]:
    """Figs. 9.5-9.8 plus ROC/PR curves and the confusion matrix for one evaluation."""
    outlier = str(test.labels[is_outlier][0]) if is_outlier.any() else "outliers"
    figures = [
        ReportFigure(
            "ias-histogram",
            "Fig. 9.5 analog: IAS of test inliers and outliers",
            to_png(ias_histograms(ias[~is_outlier], ias[is_outlier], outlier)),
        )
    ]
    if is_outlier.any() and (~is_outlier).any():
        figures.append(
            ReportFigure(
                "roc-pr",
                "ROC and precision-recall curves (outlier = positive, score = -IAS)",
                to_png(roc_pr_curves(is_outlier, -ias)),
            )
        )
    per_class = []
    for name in sorted(set(test.labels.tolist())):
        members = np.flatnonzero(test.labels == name)
        for i in members[np.argsort(-ias[members])][:examples]:
            per_class.append((f"{name} ({test.curves[i].id}) IAS {ias[i]:.1f}", i))
    figures.append(
        ReportFigure(
            "reconstructions",
            "Figs. 9.6-9.7 analog: folded test curves per class (red: observed with errors; "
            "blue dots: induction points with sigma^ind; line and band: GP mean and 1 sigma)",
            to_png(reconstruction_grid(_panels(scorer, test, per_class), ncols=examples)),
        )
    )
    order = np.argsort(ias)
    extremes = [(f"lowest IAS {ias[i]:.1f}: {test.labels[i]}", i) for i in order[:examples]]
    extremes += [(f"highest IAS {ias[i]:.1f}: {test.labels[i]}", i) for i in order[-examples:]]
    figures.append(
        ReportFigure(
            "ias-extremes",
            "Fig. 9.8 analog: test curves of lowest (top row) and highest (bottom row) IAS",
            to_png(reconstruction_grid(_panels(scorer, test, extremes), ncols=examples)),
        )
    )
    names = scorer.class_names
    figures.append(
        ReportFigure(
            "confusion",
            "Confusion matrix of q(y|z,f) on the test inliers",
            to_png(confusion_figure(matrix, names)),
        )
    )
    return figures


def _panels(scorer: Scorer, test: LabelledCurves, chosen: list[tuple[str, int]]):
    return [(title, scorer.reconstruct(test.curves[i])) for title, i in chosen]
