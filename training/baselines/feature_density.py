"""A supervised feature-density detector: one Gaussian mixture per inlier class.

The strong baseline a user would try first with labelled data: describe every curve by the
``light-curve`` features of :mod:`training.baselines.feature_forest` (the same extractor,
missing values filled with the training medians), standardise them with the training
inliers' mean and standard deviation,

    u = (x - mean_train) / std_train          (a constant column keeps std = 1),

fit on the training curves of every inlier class k a Gaussian mixture with diagonal
covariances,

    p_k(u) = sum_{c=1}^{C_k} w_kc N(u; mu_kc, diag(v_kc + r)),    r = 1e-3,

by EM (scikit-learn, seeded, k-means start), and score a curve by its best class
log-density; the anomaly score is its negative,

    anomaly(x) = -max_k log p_k(u).

The number of components C_k is chosen per class by the Bayesian information criterion,
BIC(C) = -2 log L_k(C) + n_par(C) log n_k with n_par(C) = C (2 d + 1) - 1 for d features,
over C = 1, 2, 3, keeping at least ``MIN_PER_COMPONENT`` training curves per component (so a
class of fewer than 20 curves gets one component).  Diagonal covariances, because the
features (34 for one band, 67 for two) outnumber the curves of a small class and a full
covariance would be singular; the floor r keeps a feature that is constant within a class
from making its density infinite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.mixture import GaussianMixture

from training.baselines.feature_forest import (
    curve_features,
    feature_extractor,
    fill_missing,
    missing_fill,
)
from training.baselines.protocol import MethodResult, MethodSettings, OutlierTask

COMPONENT_RANGE = (1, 2, 3)
MIN_PER_COMPONENT = 10
VARIANCE_FLOOR = 1e-3


@dataclass
class ClassDensities:
    """The standardisation and the fitted mixture of every class."""

    mean: np.ndarray
    std: np.ndarray
    mixtures: list[GaussianMixture]

    @property
    def n_components(self) -> list[int]:
        return [m.n_components for m in self.mixtures]

    def standardise(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / self.std

    def class_log_densities(self, features: np.ndarray) -> np.ndarray:
        """log p_k(u) of every curve and class, (N, K)."""
        u = self.standardise(features)
        return np.stack([m.score_samples(u) for m in self.mixtures], axis=1)

    def best_log_density(self, features: np.ndarray) -> np.ndarray:
        """max_k log p_k(u) per curve (higher = more typical)."""
        return self.class_log_densities(features).max(axis=1)


def fit_class_mixture(u: np.ndarray, seed: int) -> GaussianMixture:
    """The diagonal mixture of lowest BIC over ``COMPONENT_RANGE`` for one class's rows."""
    candidates = [c for c in COMPONENT_RANGE if c == 1 or u.shape[0] >= c * MIN_PER_COMPONENT]
    best, best_bic = None, np.inf
    for c in candidates:
        mixture = GaussianMixture(
            n_components=c, covariance_type="diag", reg_covar=VARIANCE_FLOOR, random_state=seed
        ).fit(u)
        bic = mixture.bic(u)
        if bic < best_bic:
            best, best_bic = mixture, bic
    return best


def fit_class_densities(
    features: np.ndarray, labels: np.ndarray, n_classes: int, seed: int = 0
) -> ClassDensities:
    """Standardise ``features`` (N, d, no NaN) and fit one mixture per class 0..n_classes-1."""
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    u = (features - mean) / std
    mixtures = [fit_class_mixture(u[labels == k], seed) for k in range(n_classes)]
    return ClassDensities(mean, std, mixtures)


def feature_density(task: OutlierTask, settings: MethodSettings) -> MethodResult:
    """Per-class Gaussian mixtures on light-curve features; anomaly = -best log-density."""
    started = time.perf_counter()
    extractor = feature_extractor()
    train = curve_features(task.train.curves, task.bands, extractor)
    fill = missing_fill(train)
    densities = fit_class_densities(
        fill_missing(train, fill), task.train_label_index(), len(task.class_names), settings.seed
    )
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    test = fill_missing(curve_features(task.test.curves, task.bands, extractor), fill)
    log_density = densities.class_log_densities(test)
    return MethodResult(
        "gmm_features",
        -log_density.max(axis=1),
        fit_s,
        time.perf_counter() - started,
        predicted=log_density.argmax(axis=1),
        details={"components": densities.n_components},
    )
