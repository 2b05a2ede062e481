"""What every outlier detector of the benchmark receives and returns.

A detector gets one :class:`OutlierTask` -- the training inliers with their labels and the
test curves of one section 9.2 split -- and :class:`MethodSettings`, and returns a
:class:`MethodResult`: an anomaly score per test curve (higher = more anomalous), optionally
inlier class predictions, and how long fitting and scoring took.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lcvade.config import LCVaDEConfig
from training.augment import Augmentation
from training.data import LabelledCurves
from training.split import OutlierSplit


@dataclass
class OutlierTask:
    """One split: training inliers, test curves and which test curves are outliers."""

    train: LabelledCurves
    test: LabelledCurves
    test_is_outlier: np.ndarray
    class_names: list[str]
    outlier_class: str | None
    bands: list[str] | None

    @classmethod
    def from_split(cls, data: LabelledCurves, split: OutlierSplit) -> OutlierTask:
        return cls(
            train=data.subset(split.train),
            test=data.subset(split.test),
            test_is_outlier=split.test_is_outlier,
            class_names=list(split.inlier_classes),
            outlier_class=split.outlier_class,
            bands=data.bands(),
        )

    def train_label_index(self) -> np.ndarray:
        index = {name: k for k, name in enumerate(self.class_names)}
        return np.array([index[y] for y in self.train.labels], dtype=np.int64)

    def test_label_index(self) -> np.ndarray:
        """Class index of every test curve (-1 for outliers)."""
        index = {name: k for k, name in enumerate(self.class_names)}
        return np.array([index.get(y, -1) for y in self.test.labels], dtype=np.int64)


@dataclass(frozen=True)
class MethodSettings:
    """Training settings shared by the neural detectors of one benchmark run."""

    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 1e-3
    feature_prior_learning_rate: float = 1e-2
    seed: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    augmentation: Augmentation | None = None

    def lcvade_config(self, n_classes: int, bands: list[str] | None) -> LCVaDEConfig:
        options = dict(self.model)
        options.setdefault("bands", bands)
        return LCVaDEConfig(n_classes=n_classes, **options)


@dataclass
class MethodResult:
    """One detector's output on one split."""

    method: str
    anomaly_score: np.ndarray
    fit_s: float
    score_s: float
    predicted: np.ndarray | None = None  # class index per test curve, when it classifies
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def wall_s(self) -> float:
        return self.fit_s + self.score_s
