"""LC-VaDE and the combined score, as benchmark detectors.

* ``lcvade``: the model of chapter 9 trained on the inlier classes; anomaly score -IAS
  (eq. 9.12).  Its unimodal version, the "VAE baseline (S)" of Table 9.4, is in
  :mod:`training.baselines.unimodal`.
* ``combined``: the score proposed as future work in section 9.5.4, the IAS plus the
  reconstruction log-likelihood in observed space (eqs. 9.6-9.7, per observed point, z at the
  mean of q(z|x)).  The weighting: each term is standardised robustly on the training
  inliers -- minus its median, divided by its interquartile range -- and the two are added
  with equal weight; anomaly score = -(IAS' + rec').  It reuses the ``lcvade`` model, so its
  time is the LC-VaDE training time plus one extra pass over the training set.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from lcvade.batching import collate
from lcvade.config import LCVaDEConfig
from lcvade.model import LCVaDE
from training.baselines.protocol import MethodResult, MethodSettings, OutlierTask
from training.data import LabelledCurves
from training.fitting import fit
from training.inference import evaluate_model
from training.trainer import TrainingSet, make_optimizer


def train_model(
    curves: LabelledCurves,
    labels: np.ndarray,
    config: LCVaDEConfig,
    settings: MethodSettings,
    model_class: type[LCVaDE] = LCVaDE,
) -> tuple[LCVaDE, TrainingSet]:
    """A seeded ``model_class`` (LC-VaDE or a variant) trained on ``curves`` with integer
    ``labels`` (no checkpoints)."""
    torch.manual_seed(settings.seed)
    model = model_class(config)
    data = TrainingSet.build(model, curves.curves, curves.periods, labels)
    model.prepare_for_training(data.batch.features, data.labels)
    optimizer = make_optimizer(model, settings.learning_rate, settings.feature_prior_learning_rate)
    fit(
        model,
        data,
        optimizer,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        seed=settings.seed,
        augmentation=settings.augmentation,
    )
    return model.eval(), data


def robust_standardise(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(values - median(reference)) / IQR(reference), the IQR floored at 1e-12."""
    q1, median, q3 = np.percentile(reference, [25, 50, 75])
    return (values - median) / max(q3 - q1, 1e-12)


def combined_anomaly_score(
    ias: np.ndarray,
    reconstruction: np.ndarray,
    train_ias: np.ndarray,
    train_reconstruction: np.ndarray,
) -> np.ndarray:
    """The section 9.5.4 score with the weighting of the module docstring."""
    typical = robust_standardise(ias, train_ias) + robust_standardise(
        reconstruction, train_reconstruction
    )
    return -typical


def score_parts(terms: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Anomaly scores (minus the value) of each part of IAS_f and of the two partial sums.

    IAS_f = E_q[log p(z|y)] + E_q(y)[log p(f|y)] + h_q(z|x) (:mod:`lcvade.ias`);
    ``without_entropy`` drops h_q(z|x), ``eq_9_12`` drops the feature term (the printed IAS).
    """
    parts = {name: -value for name, value in terms.items()}
    if {"expected_log_pz", "expected_log_pf", "entropy_z"} <= terms.keys():
        parts["without_entropy"] = -(terms["expected_log_pz"] + terms["expected_log_pf"])
        parts["eq_9_12"] = -(terms["expected_log_pz"] + terms["entropy_z"])
    return parts


def lcvade_and_combined(task: OutlierTask, settings: MethodSettings) -> list[MethodResult]:
    """Train LC-VaDE once; return its result and the combined score's."""
    started = time.perf_counter()
    config = settings.lcvade_config(len(task.class_names), task.bands)
    model, data = train_model(task.train, task.train_label_index(), config, settings)
    fit_s = time.perf_counter() - started

    started = time.perf_counter()
    batch = collate(task.test.curves, task.test.periods, config)
    test = evaluate_model(model, batch, reconstruction=True, terms=True)
    score_s = time.perf_counter() - started

    started = time.perf_counter()
    train = evaluate_model(model, data.batch, reconstruction=True)
    reference_s = time.perf_counter() - started
    combined = combined_anomaly_score(
        test.ias, test.reconstruction_per_point, train.ias, train.reconstruction_per_point
    )
    return [
        MethodResult(
            "lcvade",
            -test.ias,
            fit_s,
            score_s,
            predicted=test.predicted,
            details={"score_terms": score_parts(test.terms or {})},
        ),
        MethodResult("combined", combined, fit_s + reference_s, score_s, predicted=test.predicted),
    ]
