"""Calibrating the IAS against the training inliers: percentiles, p-values, FDR control.

The IAS (eq. 9.12) is on an arbitrary scale; what users act on is how unusual a score is
compared with the curves the model was trained on.  A model keeps the sorted IAS of its
training inliers; a new score s then gets

* ``percentile``: 100 * (fraction of inliers with IAS <= s);
* ``p_value``: (1 + #{inliers with IAS <= s}) / (n + 1), the one-sided conformal p-value of
  the null hypothesis "this curve is exchangeable with the inliers" (low IAS is anomalous);

and a set of p-values is turned into anomaly flags with the Benjamini-Hochberg procedure
when the false-discovery rate is to be controlled.

**The anomaly rule** (:class:`AnomalyRule`), the same in the library, the service and batch
scoring: ``is_anomaly = p_value < p_value_threshold`` (default
:data:`DEFAULT_P_VALUE_THRESHOLD`, 0.01), or, when a false-discovery rate ``q`` is given,
Benjamini-Hochberg at level ``q`` over the set scored together (a request, a run).  A model
without calibration has no p-values, and ``is_anomaly`` is then undefined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_P_VALUE_THRESHOLD = 0.01


class IASCalibration:
    """The empirical distribution of the training inliers' IAS."""

    def __init__(self, inlier_ias: np.ndarray) -> None:
        values = np.sort(np.asarray(inlier_ias, dtype=np.float64).ravel())
        if values.size == 0 or not np.all(np.isfinite(values)):
            raise ValueError("calibration needs at least one finite inlier IAS")
        self.values = values

    def __len__(self) -> int:
        return int(self.values.size)

    def _count_at_or_below(self, ias: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.values, np.asarray(ias, dtype=np.float64), side="right")

    def percentile(self, ias: np.ndarray | float) -> np.ndarray:
        """Percent of training inliers whose IAS is <= ``ias``."""
        return 100.0 * self._count_at_or_below(ias) / self.values.size

    def p_value(self, ias: np.ndarray | float) -> np.ndarray:
        """One-sided conformal p-value: small when ``ias`` is lower than most inliers."""
        return (1.0 + self._count_at_or_below(ias)) / (self.values.size + 1.0)


def benjamini_hochberg(p_values: np.ndarray, q: float) -> np.ndarray:
    """Boolean rejections controlling the false-discovery rate at level ``q``.

    Sort the m p-values, find the largest rank k with p_(k) <= k q / m, and reject the k
    smallest.
    """
    if not 0.0 < q < 1.0:
        raise ValueError("the false-discovery rate q must lie strictly between 0 and 1")
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(p, kind="stable")
    passed = p[order] <= q * np.arange(1, m + 1) / m
    reject = np.zeros(m, dtype=bool)
    if passed.any():
        k = int(np.flatnonzero(passed)[-1])
        reject[order[: k + 1]] = True
    return reject


@dataclass(frozen=True)
class AnomalyRule:
    """How ``is_anomaly`` is decided from p-values (see the module docstring)."""

    p_value_threshold: float = DEFAULT_P_VALUE_THRESHOLD
    fdr: float | None = None

    def flags(self, p_values: np.ndarray) -> np.ndarray:
        """``p < threshold`` for each p-value, or the Benjamini-Hochberg rejections at ``fdr``."""
        p = np.asarray(p_values, dtype=np.float64)
        if self.fdr is not None:
            return benjamini_hochberg(p, self.fdr)
        return p < self.p_value_threshold

    def record(self) -> dict[str, float]:
        """The rule as stored with batch results: ``{"fdr": q}`` or ``{"p_below": t}``."""
        return {"fdr": self.fdr} if self.fdr is not None else {"p_below": self.p_value_threshold}

    def describe(self, calibrated: bool, n: int) -> str:
        """The rule in words, for ``n`` curves scored together by a model."""
        if not calibrated:
            return "none: the model has no IAS calibration, so there are no p-values"
        if self.fdr is not None:
            return (
                f"Benjamini-Hochberg at false-discovery rate {self.fdr} over the request's "
                f"{n} curves"
            )
        return f"p_value < {self.p_value_threshold}"
