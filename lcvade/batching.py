"""From validated light curves to one padded, masked model input batch.

For every curve (thesis section 9.2 and docs/design.md, "The data flow of one score"):

1. map its band names to the model's band channels;
2. compute per band the mean m and standard deviation s of its magnitudes (all points);
3. keep at most ``max_points`` points, chosen deterministically: evenly spaced positions in
   the curve's canonical (band, time) order, so the same curve always gives the same subset
   and the band proportions are kept;
4. fold with its period (eq. 9.1) and, if the model anchors phases, move maximum light to
   ``anchor_phase``;
5. normalise magnitudes and errors by the band's m and s; features f of the model's feature
   set (:mod:`lcvade.features`), computed on all points.

Curves are padded to the longest one in the batch and a mask marks the real points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch

from lcvade.config import LCVaDEConfig
from lcvade.features import band_features, fold_significance
from lcvade.folding import anchor, band_statistics, fold, max_light_phase
from lcvade.lightcurve import LightCurve, LightCurveError


@dataclass
class CurveBatch:
    """A padded batch: ``(N, L)`` point tensors, a mask, ``(N, F)`` raw features, and the
    ``(N, B)`` mean m and standard deviation s that normalised each band."""

    phase: torch.Tensor
    value: torch.Tensor
    error: torch.Tensor
    band: torch.Tensor
    mask: torch.Tensor
    features: torch.Tensor
    band_mean: torch.Tensor
    band_std: torch.Tensor

    def __len__(self) -> int:
        return int(self.phase.shape[0])

    def to(self, device: torch.device | str) -> CurveBatch:
        return CurveBatch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def select(self, index: torch.Tensor | slice) -> CurveBatch:
        """The sub-batch of the given rows."""
        return CurveBatch(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def band_channels(curve: LightCurve, config: LCVaDEConfig) -> np.ndarray:
    """The model band channel (0..B-1) of every point of ``curve``."""
    n = len(curve)
    if config.bands is None:
        if curve.band is not None and len(curve.bands) > 1:
            raise LightCurveError(
                f"this model takes one band but the curve has bands {list(curve.bands)}; "
                "send the points of one band only",
                field="band",
            )
        return np.zeros(n, dtype=np.int64)
    if curve.band is None:
        if config.n_bands == 1:
            return np.zeros(n, dtype=np.int64)
        raise LightCurveError(
            f"this model takes bands {config.bands}: give a band name for every point",
            field="band",
        )
    lookup = {name: i for i, name in enumerate(config.bands)}
    channels = np.fromiter((lookup.get(b, -1) for b in curve.band), dtype=np.int64, count=n)
    unknown = channels < 0
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise LightCurveError(
            f"band[{i}] = {str(curve.band[i])!r} is not one of this model's bands {config.bands}",
            field="band",
            index=i,
        )
    return channels


UNLABELLED_BAND = "(unlabelled)"


def bands_read(
    names: Sequence[str], config: LCVaDEConfig, band_map: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Which of a curve's band ``names`` (as sent, before ``band_map``; empty for an
    unlabelled curve) the model reads, and as which of its bands: ``{"V": "I"}`` for V points
    read by an I-band model.

    Bands the model does not know are left out; an unlabelled curve is ``"(unlabelled)"``, and
    a model of one unnamed band reads a band under its own name.
    """
    if not names:
        return {UNLABELLED_BAND: config.bands[0] if config.bands else "mag"}
    mapping = band_map or {}
    out = {}
    for name in sorted(set(names)):
        target = mapping.get(name, name)
        if config.bands is None or target in config.bands:
            out[name] = target
    return out


def subsample_indices(n_points: int, max_points: int) -> np.ndarray:
    """Deterministic, evenly spaced positions of at most ``max_points`` out of ``n_points``."""
    if n_points <= max_points:
        return np.arange(n_points)
    return np.round(np.linspace(0, n_points - 1, max_points)).astype(np.int64)


def band_summary(
    curve: LightCurve, config: LCVaDEConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A curve's band channels, and per band its m, s and the two band parts of f.

    Raises :class:`LightCurveError` when a band present has fewer than ``min_points`` points.
    """
    channels = band_channels(curve, config)
    counts = np.bincount(channels, minlength=config.n_bands)
    present = counts > 0
    if (counts[present] < config.min_points).any():
        b = int(np.flatnonzero(present & (counts < config.min_points))[0])
        raise LightCurveError(
            f"band channel {b} has {counts[b]} points; the model needs at least "
            f"{config.min_points} per band",
            field="points",
        )
    per_band = np.zeros((config.n_bands, counts.max()))
    per_band_mask = np.arange(counts.max()) < counts[:, None]
    per_band[per_band_mask] = curve.mag[np.argsort(channels, kind="stable")]
    means, stds = band_statistics(per_band, per_band_mask, config.scale_floor)
    firsts, seconds = band_features(per_band, per_band_mask, means, stds, config)
    return channels, means, stds, firsts, seconds


def curve_features(
    curves: Sequence[LightCurve], periods: Sequence[float], config: LCVaDEConfig
) -> np.ndarray:
    """The raw features f (N, F) of ``curves`` with ``periods``, as :func:`collate` makes them
    (NaN for a band a curve lacks), without folding."""
    out = np.full((len(curves), config.feature_dim), np.nan)
    n_bands = config.n_bands
    for row, curve in enumerate(curves):
        channels, _, _, firsts, seconds = band_summary(curve, config)
        out[row, :n_bands], out[row, n_bands : 2 * n_bands] = firsts, seconds
        out[row, 2 * n_bands : -1] = fold_features(curve, channels, periods[row], config)
    out[:, -1] = np.log10(np.asarray(periods, dtype=np.float64))
    return out


def fold_features(
    curve: LightCurve, channels: np.ndarray, period: float, config: LCVaDEConfig
) -> np.ndarray:
    """The features between the band parts and log10 p: the fold's significance for
    ``shape_fold`` (:func:`lcvade.features.fold_significance`), else none."""
    if config.feature_set != "shape_fold":
        return np.empty(0)
    args = (curve.time, curve.mag, curve.mag_err, channels, config.n_bands, float(period))
    return np.array([fold_significance(*args)])


def collate(
    curves: Sequence[LightCurve], periods: Sequence[float], config: LCVaDEConfig
) -> CurveBatch:
    """Build the model input for ``curves`` folded with ``periods`` (see module docstring)."""
    if len(curves) != len(periods):
        raise ValueError("one period is needed per curve")
    if not curves:
        raise ValueError("an empty list of curves cannot be batched")
    period = np.asarray(periods, dtype=np.float64)
    if not np.all(np.isfinite(period) & (period > 0)):
        raise LightCurveError("every period must be a positive, finite number", field="period")
    n_bands = config.n_bands
    kept_lengths = [min(len(c), config.max_points) for c in curves]
    n, length = len(curves), max(kept_lengths)
    time = np.zeros((n, length))
    mag = np.zeros((n, length))
    err = np.ones((n, length))
    band = np.zeros((n, length), dtype=np.int64)
    mask = np.zeros((n, length), dtype=bool)
    means = np.full((n, n_bands), np.nan)
    stds = np.full((n, n_bands), np.nan)
    firsts = np.full((n, n_bands), np.nan)
    seconds = np.full((n, n_bands), np.nan)
    extras = np.full((n, config.feature_dim - 2 * n_bands - 1), np.nan)
    for row, curve in enumerate(curves):
        channels, means[row], stds[row], firsts[row], seconds[row] = band_summary(curve, config)
        extras[row] = fold_features(curve, channels, period[row], config)
        keep = subsample_indices(len(curve), config.max_points)
        k = keep.size
        time[row, :k] = curve.time[keep]
        mag[row, :k] = curve.mag[keep]
        err[row, :k] = curve.mag_err[keep]
        band[row, :k] = channels[keep]
        mask[row, :k] = True
    phase = fold(time, period[:, None])
    rows = np.arange(n)[:, None]
    scale = stds[rows, band]
    value = np.where(mask, (mag - means[rows, band]) / scale, 0.0)
    error = np.where(mask, err / scale, 1.0)
    if config.anchor_phase is not None:
        reference = max_light_phase(phase, value, error, mask, config.anchor_harmonics)
        phase = anchor(phase, reference, config.anchor_phase)
    phase = np.where(mask, phase, 0.0)
    features = np.concatenate([firsts, seconds, extras, np.log10(period)[:, None]], axis=1)
    return CurveBatch(
        phase=torch.from_numpy(phase.astype(np.float32)),
        value=torch.from_numpy(value.astype(np.float32)),
        error=torch.from_numpy(error.astype(np.float32)),
        band=torch.from_numpy(band),
        mask=torch.from_numpy(mask),
        features=torch.from_numpy(features.astype(np.float32)),
        band_mean=torch.from_numpy(means),
        band_std=torch.from_numpy(stds),
    )
