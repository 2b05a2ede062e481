"""Folding, phase anchoring and per-curve normalisation (thesis section 9.2).

All functions work on padded batches: arrays of shape ``(N, L)`` with a boolean ``mask``
marking the real points, so a whole batch is processed in a few vectorised NumPy calls.
"""

from __future__ import annotations

import numpy as np


def fold(time: np.ndarray, period: np.ndarray, t0: np.ndarray | float = 0.0) -> np.ndarray:
    """Phase of every observation, ``mod(t - t0, p) / p`` in [0, 1) (eq. 9.1).

    ``period`` and ``t0`` broadcast against ``time`` (e.g. shape ``(N, 1)`` for a batch).
    """
    phase = np.mod(time - t0, period) / period
    return np.where(phase >= 1.0, 0.0, phase)


def _harmonic_design(phase: np.ndarray, harmonics: int) -> np.ndarray:
    """Columns 1, cos(2 pi k phi), sin(2 pi k phi) for k = 1..harmonics."""
    angle = 2.0 * np.pi * phase[..., None] * np.arange(1, harmonics + 1)
    ones = np.ones(phase.shape + (1,))
    return np.concatenate([ones, np.cos(angle), np.sin(angle)], axis=-1)


def max_light_phase(
    phase: np.ndarray,
    value: np.ndarray,
    error: np.ndarray,
    mask: np.ndarray,
    harmonics: int = 3,
    resolution: int = 256,
) -> np.ndarray:
    """Phase of maximum light (minimum magnitude) of each curve's harmonic fit.

    A weighted least-squares Fourier series with ``harmonics`` terms (weights 1/err^2, a
    small ridge keeps sparse curves well posed) is fitted to every folded curve, evaluated on
    ``resolution`` phases, and the phase of its minimum returned; shape ``(N,)``.
    """
    design = _harmonic_design(phase, harmonics)  # (N, L, P)
    weight = np.where(mask, 1.0 / np.square(error), 0.0)
    weight = weight / np.maximum(weight.sum(axis=1, keepdims=True), 1e-300)
    normal = np.einsum("nlp,nl,nlq->npq", design, weight, design)
    normal += 1e-6 * np.eye(design.shape[-1])
    rhs = np.einsum("nlp,nl,nl->np", design, weight, np.where(mask, value, 0.0))
    coef = np.linalg.solve(normal, rhs[..., None])[..., 0]
    grid = np.arange(resolution) / resolution
    model = _harmonic_design(grid, harmonics) @ coef.T  # (G, N)
    return grid[np.argmin(model, axis=0)]


def anchor(phase: np.ndarray, reference: np.ndarray, anchor_phase: float) -> np.ndarray:
    """Shift phases so that ``reference`` (shape ``(N,)``) lands on ``anchor_phase``.

    This is eq. 9.1 with the epoch t0 chosen at maximum light, so every curve of a class is
    presented to the encoder with the same phase alignment.
    """
    return fold(phase - reference[:, None] + anchor_phase, 1.0)


def band_statistics(
    mag: np.ndarray, mask: np.ndarray, scale_floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean m and standard deviation s of the magnitudes under ``mask`` along the last axis.

    ``s`` is floored at ``scale_floor`` so a constant curve does not divide by zero; entries
    with no points give NaN.
    """
    count = mask.sum(axis=-1)
    safe = np.maximum(count, 1)
    mean = np.where(mask, mag, 0.0).sum(axis=-1) / safe
    var = np.where(mask, np.square(mag - mean[..., None]), 0.0).sum(axis=-1) / safe
    std = np.maximum(np.sqrt(var), scale_floor)
    empty = count == 0
    return np.where(empty, np.nan, mean), np.where(empty, np.nan, std)
