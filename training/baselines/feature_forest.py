"""An Isolation Forest on ``light-curve`` package features (the Fink / SNAD approach).

The anomaly modules of the Fink and SNAD brokers describe every light curve by a vector of
magnitude-distribution, variability and periodogram features computed by the ``light-curve``
package and rank curves with scikit-learn's :class:`~sklearn.ensemble.IsolationForest`.  Here
the features of each band (below) plus log10 of the object's period are computed, missing
values are filled with the training medians, the forest is fitted on the training inliers
(200 trees, seeded) and the anomaly score is ``-score_samples`` (higher = more anomalous).
"""

from __future__ import annotations

import time
import warnings

import light_curve as lc
import numpy as np
from sklearn.ensemble import IsolationForest

from lcvade.lightcurve import LightCurve
from training.baselines.protocol import MethodResult, MethodSettings, OutlierTask

N_TREES = 200


def feature_extractor() -> lc.Extractor:
    """Magnitude, variability and periodic features of one band."""
    return lc.Extractor(
        lc.Amplitude(),
        lc.AndersonDarlingNormal(),
        lc.BeyondNStd(1.0),
        lc.Cusum(),
        lc.Eta(),
        lc.EtaE(),
        lc.InterPercentileRange(0.1),
        lc.Kurtosis(),
        lc.LinearFit(),
        lc.LinearTrend(),
        lc.MagnitudePercentageRatio(0.4, 0.05),
        lc.MagnitudePercentageRatio(0.2, 0.1),
        lc.MaximumSlope(),
        lc.Mean(),
        lc.MedianAbsoluteDeviation(),
        lc.MedianBufferRangePercentage(0.1),
        lc.PercentAmplitude(),
        lc.ReducedChi2(),
        lc.Skew(),
        lc.StandardDeviation(),
        lc.StetsonK(),
        lc.WeightedMean(),
        lc.Periodogram(peaks=2, phase_features=[lc.Amplitude(), lc.Skew(), lc.Kurtosis()]),
    )


def curve_features(
    curves: list[LightCurve], bands: list[str] | None, extractor: lc.Extractor
) -> np.ndarray:
    """(N, F) features: the extractor's per band (NaN where a band is absent) + log10 p."""
    names = bands or [None]
    blocks = []
    for band in names:
        rows, present = [], []
        for i, curve in enumerate(curves):
            select = np.ones(len(curve), bool) if band is None else curve.band == band
            if select.sum() >= 3:
                rows.append((curve.time[select], curve.mag[select], curve.mag_err[select]))
                present.append(i)
        block = np.full((len(curves), len(extractor.names)), np.nan)
        if rows:
            values = extractor.many(rows, fill_value=np.nan, sorted=True, n_jobs=1)
            block[present] = values
        blocks.append(block)
    periods = np.log10([c.period for c in curves])[:, None]
    features = np.concatenate([*blocks, periods], axis=1)
    return np.where(np.isfinite(features), features, np.nan)


def missing_fill(train: np.ndarray) -> np.ndarray:
    """The value that replaces a missing feature: its training median (0 if all missing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: filled with 0
        fill = np.nanmedian(train, axis=0)
    return np.where(np.isfinite(fill), fill, 0.0)


def fill_missing(features: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """``features`` with every NaN replaced by the column's ``fill`` value."""
    return np.where(np.isnan(features), fill, features)


def feature_forest(task: OutlierTask, settings: MethodSettings) -> MethodResult:
    """Isolation Forest on light-curve features, fitted on the training inliers."""
    started = time.perf_counter()
    extractor = feature_extractor()
    train = curve_features(task.train.curves, task.bands, extractor)
    fill = missing_fill(train)
    forest = IsolationForest(n_estimators=N_TREES, random_state=settings.seed)
    forest.fit(fill_missing(train, fill))
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    test = curve_features(task.test.curves, task.bands, extractor)
    score = -forest.score_samples(fill_missing(test, fill))
    return MethodResult("iforest", score, fit_s, time.perf_counter() - started)
