"""Scoring light curves with a trained model: ``lcvade.load(path).score(curves)``.

For every curve: take its period or search one (:mod:`lcvade.period`), fold and normalise
(:mod:`lcvade.batching`), encode, and return the IAS of eq. 9.12, ``anomaly_score = -IAS``,
the class posteriors q(y|z,f) and, for a calibrated model, the IAS percentile and p-value
against the training inliers (:mod:`lcvade.calibration`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from lcvade.batching import CurveBatch, collate
from lcvade.calibration import IASCalibration
from lcvade.checkpoint import CheckpointError, Manifest, load_model
from lcvade.lightcurve import LightCurve
from lcvade.model import LCVaDE
from lcvade.period import DEFAULT_SEARCH, FrequencyGrid, PeriodSearch, as_search, find_periods
from lcvade.row_invariance import with_row_invariant_layers
from models.backbone import frozen_weights

DEFAULT_BATCH_SIZE = 256
DEFAULT_P_VALUE_THRESHOLD = 0.01


@dataclass(frozen=True)
class ScoreResult:
    """The score of one light curve."""

    id: str | None
    ias: float
    anomaly_score: float
    class_probabilities: dict[str, float]
    predicted_class: str
    period: float
    period_source: Literal["given", "estimated"]
    period_method: str
    period_confidence: float | None
    percentile: float | None
    p_value: float | None
    is_anomaly: bool | None

    def to_dict(self) -> dict:
        """The fields as a plain dict (the class probabilities copied)."""
        out = {f.name: getattr(self, f.name) for f in SCORE_RESULT_FIELDS}
        out["class_probabilities"] = dict(self.class_probabilities)
        return out


SCORE_RESULT_FIELDS = fields(ScoreResult)


@dataclass(frozen=True)
class Reconstruction:
    """The decoder's view of one folded curve, in magnitudes (for plots).

    ``mean``/``std`` are (B, P) at ``phases``; ``induction_mean``/``induction_std`` are
    (B, I) at ``induction_phases``; the observed points are given folded, in the same phase
    convention, with their model band channel.
    """

    bands: list[str]
    period: float
    period_source: Literal["given", "estimated"]
    phases: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    induction_phases: np.ndarray
    induction_mean: np.ndarray
    induction_std: np.ndarray
    observed_phase: np.ndarray
    observed_mag: np.ndarray
    observed_err: np.ndarray
    observed_band: np.ndarray


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is the first CUDA device when one is available, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available here")
    return resolved


class Scorer:
    """A loaded model ready to score light curves.

    ``row_invariant=True`` computes the layers that fold the batch into one matrix product
    row by row (:mod:`lcvade.row_invariance`), so that on the CPU a curve's scores in a
    batch of a given padded length do not depend on how many rows the batch has; it costs
    a few per cent of throughput.
    """

    def __init__(
        self,
        model: LCVaDE,
        manifest: Manifest,
        calibration: IASCalibration | None = None,
        *,
        device: str | torch.device = "auto",
        p_value_threshold: float = DEFAULT_P_VALUE_THRESHOLD,
        batch_size: int = DEFAULT_BATCH_SIZE,
        period_search: PeriodSearch | FrequencyGrid = DEFAULT_SEARCH,
        row_invariant: bool = False,
    ) -> None:
        self.device = resolve_device(device)
        self.model = frozen_weights(model.to(self.device))
        if row_invariant:
            with_row_invariant_layers(self.model)
        self.row_invariant = row_invariant
        self.manifest = manifest
        self.calibration = calibration
        self.p_value_threshold = p_value_threshold
        self.batch_size = batch_size
        self.period_search = as_search(period_search)

    # -- description --------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest.class_names)

    @property
    def config(self):
        return self.manifest.config

    # -- periods --------------------------------------------------------------------------
    def resolve_periods(
        self, curves: Sequence[LightCurve]
    ) -> tuple[np.ndarray, list[str], list[float | None]]:
        """Each curve's period, whether it was given or estimated, and the search confidence."""
        periods = np.empty(len(curves))
        sources: list[str] = ["given"] * len(curves)
        confidences: list[float | None] = [None] * len(curves)
        missing = [i for i, c in enumerate(curves) if c.period is None]
        for i, c in enumerate(curves):
            if c.period is not None:
                periods[i] = c.period
        if missing:
            found = find_periods([curves[i] for i in missing], self.period_search)
            for i, result in zip(missing, found, strict=True):
                periods[i] = result.period
                sources[i] = "estimated"
                confidences[i] = result.confidence
        return periods, sources, confidences

    def period_method(self, source: str) -> str:
        """``period_method`` of a result: the search's settings, or ``given``."""
        return self.period_search.method if source == "estimated" else "given"

    # -- scoring --------------------------------------------------------------------------
    @torch.inference_mode()
    def score_batch(self, batch: CurveBatch) -> tuple[np.ndarray, np.ndarray]:
        """IAS (N,) and q(y|z,f) (N, K) for a prepared batch, as float64 arrays."""
        scores = self.model.score(batch.to(self.device))
        return (
            scores.ias.double().cpu().numpy(),
            scores.log_q_y.double().exp().cpu().numpy(),
        )

    def score(
        self, curves: Sequence[LightCurve], batch_size: int | None = None
    ) -> list[ScoreResult]:
        """Score ``curves``; results are in input order."""
        curves = list(curves)
        if not curves:
            return []
        periods, sources, confidences = self.resolve_periods(curves)
        size = batch_size or self.batch_size
        ias = np.empty(len(curves))
        probs = np.empty((len(curves), self.config.n_classes))
        for start in range(0, len(curves), size):
            stop = start + size
            batch = collate(curves[start:stop], periods[start:stop], self.config)
            ias[start:stop], probs[start:stop] = self.score_batch(batch)
        return self.results(curves, ias, probs, periods, sources, confidences)

    def results(
        self,
        curves: Sequence[LightCurve],
        ias: np.ndarray,
        probs: np.ndarray,
        periods: np.ndarray,
        sources: Sequence[str],
        confidences: Sequence[float | None],
    ) -> list[ScoreResult]:
        """Assemble :class:`ScoreResult` objects from raw scores."""
        names = self.class_names
        if self.calibration is not None:
            percentile = self.calibration.percentile(ias)
            p_value = self.calibration.p_value(ias)
        out = []
        for i, curve in enumerate(curves):
            p = None if self.calibration is None else float(p_value[i])
            out.append(
                ScoreResult(
                    id=curve.id,
                    ias=float(ias[i]),
                    anomaly_score=float(-ias[i]),
                    class_probabilities={n: float(v) for n, v in zip(names, probs[i], strict=True)},
                    predicted_class=names[int(np.argmax(probs[i]))],
                    period=float(periods[i]),
                    period_source=sources[i],  # type: ignore[arg-type]
                    period_method=self.period_method(sources[i]),
                    period_confidence=confidences[i],
                    percentile=None if self.calibration is None else float(percentile[i]),
                    p_value=p,
                    is_anomaly=None if p is None else bool(p < self.p_value_threshold),
                )
            )
        return out

    # -- reconstruction -------------------------------------------------------------------
    @torch.inference_mode()
    def reconstruct(
        self, curve: LightCurve, phases: Sequence[float] | np.ndarray | None = None
    ) -> Reconstruction:
        """GP mean and std of the decoder at ``phases`` (default 200 evenly spaced phases)."""
        grid = np.linspace(0.0, 1.0, 200) if phases is None else np.asarray(phases, float)
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
            raise ValueError("phases must be a non-empty list of finite numbers")
        periods, sources, _ = self.resolve_periods([curve])
        batch = collate([curve], periods, self.config)
        n_bands = self.config.n_bands
        means = batch.features[0, :n_bands].double().numpy()
        stds = batch.features[0, n_bands : 2 * n_bands].double().numpy()
        mean, std, decoded = self.model.reconstruct(
            batch.to(self.device), torch.as_tensor(grid, dtype=torch.float32)
        )
        mask = batch.mask[0].numpy()
        band = batch.band[0].numpy()[mask]
        scale = stds[band]
        return Reconstruction(
            bands=list(self.config.bands or ["mag"]),
            period=float(periods[0]),
            period_source=sources[0],  # type: ignore[arg-type]
            phases=grid,
            mean=mean[0].double().cpu().numpy() * stds[:, None] + means[:, None],
            std=std[0].double().cpu().numpy() * stds[:, None],
            induction_phases=self.model.induction_phases().numpy(),
            induction_mean=decoded.ind_mean[0].double().cpu().numpy() * stds[:, None]
            + means[:, None],
            induction_std=decoded.ind_std[0].double().cpu().numpy() * stds[:, None],
            observed_phase=batch.phase[0].double().numpy()[mask],
            observed_mag=batch.value[0].double().numpy()[mask] * scale + means[band],
            observed_err=batch.error[0].double().numpy()[mask] * scale,
            observed_band=band,
        )


BUNDLED_MODELS = Path(__file__).parent / "data" / "models"


def bundled_models() -> list[str]:
    """Names of the models shipped inside the package."""
    if not BUNDLED_MODELS.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_MODELS.iterdir() if (p / "manifest.json").is_file())


def resolve_model_path(path_or_name: str | os.PathLike[str]) -> Path:
    """A model directory: ``path_or_name`` itself if it exists, else a bundled model's name."""
    path = Path(path_or_name)
    if path.is_dir():
        return path
    bundled = BUNDLED_MODELS / str(path_or_name)
    if bundled.is_dir():
        return bundled
    raise CheckpointError(
        f"no model directory at {str(path_or_name)!r} and no bundled model of that name "
        f"(bundled: {', '.join(bundled_models()) or 'none'})"
    )


def load(
    path: str | os.PathLike[str] = "default",
    device: str | torch.device = "auto",
    **options,
) -> Scorer:
    """Load a model directory or a bundled model by name and return a :class:`Scorer`.

    ``device="auto"`` picks CUDA when available; ``options`` go to :class:`Scorer`.
    """
    model, manifest, calibration = load_model(resolve_model_path(path))
    return Scorer(model, manifest, calibration, device=device, **options)
