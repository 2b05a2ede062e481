"""Why a curve scored as it did: the IAS split into its terms (:mod:`lcvade.ias`).

With q_k = q(y=k|z,f) and the standardised features f_j, the score with the feature term is

    IAS_f(x) = L(x) + sum_j T_j(x),

    L(x)   = sum_k q_k E_{q(z|x)}[log p(z|y=k)] + h_q(z|x)          the latent part
    T_j(x) = sum_k q_k log N(f_j; mu_kj, sigma_kj^2)                 feature j's part

because p(f|y=k) is a diagonal Gaussian, log p(f|y=k) = sum_j log N(f_j; mu_kj, sigma_kj^2).
For a model scoring with eq. 9.12 exactly there is no feature part and L = IAS.  Given the
score, q and f, the feature parts are closed form and L = IAS_f - sum_j T_j.

Each term is compared with its typical value on the calibration inliers, in robust units:

    d_t = (t - median_t) / spread_t,     spread_t = 1.4826 MAD_t

(MAD the median absolute deviation; 1.4826 MAD is the standard deviation of a Gaussian).  The
dominant term is the one with the lowest d_t: the part of the score furthest below typical.

The closest class is k* = argmax_k q_k.  How far the curve's feature j lies from that class's
typical value is measured in the class's own standard deviations of p(f|y=k*),

    delta_j = (f_j - mu_k*j) / sigma_k*j,

the same number in standardised or raw units (both are one affine map of f_j); the class's
typical raw value is mu_k*j s_j + m_j with m_j, s_j the training set's feature statistics.
"""

from __future__ import annotations

import numpy as np

ROBUST_SPREAD = 1.4826  # sigma / MAD of a Gaussian
SPREAD_FLOOR = 1e-6
LATENT_TERM = "latent"


def feature_terms(q_y: np.ndarray, f: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """T_j = sum_k q_k log N(f_j; mu_kj, sigma_kj^2) per curve and feature: (N, F).

    ``q_y`` (N, K), standardised features ``f`` (N, F), class means and variances of p(f|y)
    ``mean``, ``var`` (K, F).
    """
    f = np.asarray(f, dtype=np.float64)[:, None, :]
    log_density = -0.5 * (np.log(2.0 * np.pi * var) + (f - mean) ** 2 / var)  # (N, K, F)
    return np.einsum("nk,nkf->nf", np.asarray(q_y, dtype=np.float64), log_density)


def latent_term(ias: np.ndarray, terms: np.ndarray | None) -> np.ndarray:
    """L = IAS_f - sum_j T_j (``terms`` None: L = IAS, eq. 9.12)."""
    ias = np.asarray(ias, dtype=np.float64)
    return ias if terms is None else ias - terms.sum(axis=-1)


def typical_values(values: np.ndarray) -> tuple[float, float]:
    """Median and robust spread 1.4826 MAD (floored) of one term over calibration curves."""
    values = np.asarray(values, dtype=np.float64)
    median = float(np.median(values))
    spread = ROBUST_SPREAD * float(np.median(np.abs(values - median)))
    return median, max(spread, SPREAD_FLOOR)


def deviations(terms: np.ndarray, median: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """d_t = (t - median_t) / spread_t, elementwise."""
    return (np.asarray(terms, np.float64) - median) / spread


def class_distances(f: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """delta_j = (f_j - mu_kj) / sigma_kj for each curve's features against class rows.

    ``f`` (N, F) standardised, ``mean``/``var`` (N, F): the rows of p(f|y) of each curve's
    closest class.
    """
    return (np.asarray(f, np.float64) - mean) / np.sqrt(var)
