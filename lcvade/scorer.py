"""Scoring light curves with a trained model: ``lcvade.load(path).score(curves)``.

For every curve: take its period or search one (:mod:`lcvade.period`), fold and normalise
(:mod:`lcvade.batching`), encode, and return the IAS of eq. 9.12, ``anomaly_score = -IAS``,
the class posteriors q(y|z,f) and, for a calibrated model, the IAS percentile and p-value
against the training inliers (:mod:`lcvade.calibration`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from lcvade.batching import CurveBatch, collate, curve_features
from lcvade.batching import bands_read as batching_bands_read
from lcvade.calibration import DEFAULT_P_VALUE_THRESHOLD, AnomalyRule, IASCalibration
from lcvade.checkpoint import CheckpointError, Manifest, load_model
from lcvade.explanation import (
    LATENT_TERM,
    class_distances,
    deviations,
    feature_terms,
    latent_term,
)
from lcvade.features import feature_names
from lcvade.lightcurve import LightCurve, LightCurveError, check_foldable
from lcvade.model import LCVaDE
from lcvade.period import DEFAULT_SEARCH, FrequencyGrid, PeriodSearch, as_search
from lcvade.period_resolution import resolve_periods
from lcvade.row_invariance import with_row_invariant_layers
from lcvade.score_record import Explanation, ScoreResult
from models.backbone import frozen_weights

DEFAULT_BATCH_SIZE = 256


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
        """Each curve's period, whether it was given or estimated, and the search confidence.

        A curve that cannot be folded (:func:`lcvade.lightcurve.check_foldable`), or whose
        period search fails (:mod:`lcvade.period_resolution`), raises
        :class:`LightCurveError` naming its position and id.
        """
        for i, c in enumerate(curves):
            try:
                check_foldable(
                    c,
                    min_points=self.config.min_points,
                    min_baseline=self.period_search.grid.min_period,
                )
            except LightCurveError as exc:
                name = f"curves[{i}]" + ("" if c.id is None else f" (id {c.id!r})")
                raise LightCurveError(f"{name}: {exc}", field=exc.field, index=exc.index) from exc
        resolved = resolve_periods(curves, self.period_search)
        resolved.raise_failures(curves)
        return resolved.periods, resolved.sources, resolved.confidences

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
        self,
        curves: Sequence[LightCurve],
        batch_size: int | None = None,
        *,
        band_map: Mapping[str, str] | None = None,
    ) -> list[ScoreResult]:
        """Score ``curves``; results are in input order.

        ``band_map`` renames the curves' bands before scoring, e.g. ``{"V": "I"}`` to read
        V-band curves with an I-band model; each result's ``bands_read`` says which input band
        was read as which of the model's bands.
        """
        curves = list(curves)
        if not curves:
            return []
        read = [batching_bands_read(c.bands, self.config, band_map) for c in curves]
        curves = [c.with_bands(band_map) for c in curves]
        periods, sources, confidences = self.resolve_periods(curves)
        size = batch_size or self.batch_size
        ias = np.empty(len(curves))
        probs = np.empty((len(curves), self.config.n_classes))
        for start in range(0, len(curves), size):
            stop = start + size
            batch = collate(curves[start:stop], periods[start:stop], self.config)
            ias[start:stop], probs[start:stop] = self.score_batch(batch)
        return self.results(curves, ias, probs, periods, sources, confidences, bands_read=read)

    def results(
        self,
        curves: Sequence[LightCurve],
        ias: np.ndarray,
        probs: np.ndarray,
        periods: np.ndarray,
        sources: Sequence[str],
        confidences: Sequence[float | None],
        *,
        bands_read: Sequence[dict[str, str]] | None = None,
        explain: bool = True,
    ) -> list[ScoreResult]:
        """Assemble :class:`ScoreResult` objects from raw scores.

        ``bands_read`` (one per curve) says which input band each curve's points came from,
        when a band map renamed them; without it, the curves' own band names.  ``explain``
        adds the :class:`Explanation` of every score.
        """
        names = self.class_names
        if self.calibration is not None:
            percentile = self.calibration.percentile(ias)
            p_value = self.calibration.p_value(ias)
            flags = AnomalyRule(self.p_value_threshold).flags(p_value)
        explanations = self.explain(curves, ias, probs, periods) if explain and curves else None
        if bands_read is None:
            bands_read = [batching_bands_read(c.bands, self.config) for c in curves]
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
                    is_anomaly=None if p is None else bool(flags[i]),
                    explanation=None if explanations is None else explanations[i],
                    bands_read=dict(bands_read[i]),
                )
            )
        return out

    def term_names(self) -> list[str]:
        """The names of the terms of the score (:func:`term_names`)."""
        return term_names(self.config)

    def score_terms(
        self, curves: Sequence[LightCurve], ias: np.ndarray, probs: np.ndarray, periods
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The terms of each score (N, T) in :meth:`term_names` order, the standardised
        features f (N, F) of the curves and their raw features (NaN for a missing band)."""
        return score_terms(self.model, self.config, curves, ias, probs, periods)

    def explain(
        self,
        curves: Sequence[LightCurve],
        ias: np.ndarray,
        probs: np.ndarray,
        periods: np.ndarray,
    ) -> list[Explanation]:
        """The :class:`Explanation` of each score."""
        config = self.config
        term_names = self.term_names()
        terms, f, raw = self.score_terms(curves, ias, probs, periods)
        stats = self.manifest.term_statistics
        typical = spread = deviation = None
        if stats and all(n in stats for n in term_names):
            typical = np.array([stats[n]["median"] for n in term_names])
            spread = np.array([stats[n]["spread"] for n in term_names])
            deviation = deviations(terms, typical, spread)
        prior = self.model.prior
        mu = prior.f_mean.detach().double().cpu().numpy()
        var = prior.f_var().detach().double().cpu().numpy()
        f_mean = self.model.feature_mean.detach().double().cpu().numpy()
        f_std = self.model.feature_std.detach().double().cpu().numpy()
        closest = np.argmax(probs, axis=1)
        delta = class_distances(f, mu[closest], var[closest])
        class_raw = mu[closest] * f_std + f_mean
        features = feature_names(config)
        n_bands = config.n_bands
        first_amplitude = n_bands if config.feature_set == "thesis" else 0
        amplitude_columns = np.arange(first_amplitude, first_amplitude + n_bands)
        to_amplitude = (lambda v: v) if config.feature_set == "thesis" else (lambda v: 10.0**v)
        out = []
        for i in range(len(curves)):
            dominant = None if deviation is None else term_names[int(np.argmin(deviation[i]))]
            # the band furthest from the class, among the bands the curve has
            away = np.where(
                np.isnan(raw[i, amplitude_columns]), -1.0, np.abs(delta[i, amplitude_columns])
            )
            j = int(amplitude_columns[np.argmax(away)])
            k = int(closest[i])
            row = Explanation(
                terms=named(term_names, terms[i]),
                typical=None if typical is None else named(term_names, typical),
                spread=None if spread is None else named(term_names, spread),
                deviation=None if deviation is None else named(term_names, deviation[i]),
                dominant_term=dominant,
                closest_class=self.class_names[k],
                closest_class_probability=float(probs[i, k]),
                period=float(periods[i]),
                class_period=float(10.0 ** class_raw[i, -1]),
                period_deviation=float(delta[i, -1]),
                amplitude_feature=features[j],
                amplitude=float(to_amplitude(raw[i, j])),
                class_amplitude=float(to_amplitude(class_raw[i, j])),
                amplitude_deviation=float(delta[i, j]),
                summary="",
            )
            out.append(replace(row, summary=explanation_summary(row)))
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
        means = batch.band_mean[0].double().numpy()
        stds = batch.band_std[0].double().numpy()
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


def term_names(config) -> list[str]:
    """The names of the terms of a model's score: ``latent``, then each feature's when the
    model scores with the feature term."""
    names = [LATENT_TERM]
    return names + feature_names(config) if config.ias_with_features else names


def score_terms(
    model: LCVaDE,
    config,
    curves: Sequence[LightCurve],
    ias: np.ndarray,
    probs: np.ndarray,
    periods,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The terms of the scores ``ias`` with posteriors ``probs`` (:meth:`Scorer.score_terms`)."""
    raw = curve_features(curves, periods, config).astype(np.float32).astype(np.float64)
    f_mean = model.feature_mean.detach().double().cpu().numpy()
    f_std = model.feature_std.detach().double().cpu().numpy()
    f = np.nan_to_num((raw - f_mean) / f_std, nan=0.0)
    parts = None
    if config.ias_with_features:
        mu = model.prior.f_mean.detach().double().cpu().numpy()
        var = model.prior.f_var().detach().double().cpu().numpy()
        parts = feature_terms(probs, f, mu, var)
    latent = latent_term(ias, parts)[:, None]
    terms = latent if parts is None else np.concatenate([latent, parts], axis=1)
    return terms, f, raw


def named(names: Sequence[str], values) -> dict[str, float]:
    """``{name: float(value)}`` for names and values in step."""
    return {n: float(v) for n, v in zip(names, values, strict=True)}


def explanation_summary(e: Explanation) -> str:
    """One line: the dominant term, the closest class, and the period and amplitude against it."""
    head = (
        f"furthest below typical: {e.dominant_term} ({e.deviation[e.dominant_term]:+.1f} spreads)"
        if e.dominant_term is not None and e.deviation is not None
        else "no typical values stored: terms only"
    )
    return (
        f"{head}; closest class {e.closest_class} (q = {e.closest_class_probability:.2f}); "
        f"period {e.period:.4g} d vs {e.class_period:.4g} d typical "
        f"({e.period_deviation:+.1f} sd); amplitude {e.amplitude:.3g} mag vs "
        f"{e.class_amplitude:.3g} ({e.amplitude_deviation:+.1f} sd)"
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
