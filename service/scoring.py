"""From request curves to results: validate, resolve periods, score in micro-batches, calibrate.

The data flow of docs/design.md, "The data flow of one score": every curve becomes a validated
:class:`lcvade.LightCurve` (checked against the model: enough points per band, known bands),
curves without a period get a Lomb-Scargle estimate on the period-search threads, the micro-
batcher scores them (IAS of eq. 9.12 and q(y|z,f)), and :meth:`lcvade.Scorer.results` adds
the calibrated percentile and p-value.  ``is_anomaly`` is ``p_value < threshold``, or with
``fdr=q`` the Benjamini-Hochberg rejections at level q over the request's curves.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from lcvade.batching import band_channels, bands_read
from lcvade.calibration import AnomalyRule
from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurve, LightCurveError, check_foldable
from lcvade.period import PeriodSearch
from lcvade.period_resolution import ResolvedPeriods, search_outcome
from lcvade.scorer import resolve_device
from service.batcher import MicroBatcher
from service.errors import (
    ErrorDetail,
    ServiceError,
    curve_error_detail,
    invalid_curves,
    too_many_curves,
    too_many_points,
)
from service.metrics import ServiceMetrics
from service.model_workers import ModelWorkers
from service.registry import ModelHandle, ModelRegistry
from service.schemas import (
    BandCurve,
    CurveScore,
    FoldedPoints,
    LightCurveIn,
    ReconstructResponse,
    ScoreResponse,
)
from service.settings import ServiceSettings


def check_fits_model(curve: LightCurve, config: LCVaDEConfig) -> None:
    """Raise :class:`LightCurveError` if ``curve``'s bands do not fit the model's, or if it
    cannot be folded (:func:`lcvade.lightcurve.check_foldable`)."""
    band_channels(curve, config)
    check_foldable(curve, min_points=config.min_points)


def to_light_curve(
    item: LightCurveIn, config: LCVaDEConfig, band_map: Mapping[str, str] | None = None
) -> LightCurve:
    """Validate one request curve for ``config``, its bands renamed by ``band_map`` (raises
    :class:`LightCurveError`)."""
    curve = LightCurve(
        item.time,
        item.mag,
        item.mag_err,
        band=item.band,
        period=item.period,
        id=item.id,
        min_points=config.min_points,
    ).with_bands(band_map)
    check_fits_model(curve, config)
    return curve


def to_light_curves(
    items: Sequence[LightCurveIn],
    config: LCVaDEConfig,
    band_map: Mapping[str, str] | None = None,
) -> list[LightCurve]:
    """Validate every curve; one 422 lists the problems of all bad curves."""
    curves: list[LightCurve] = []
    problems: list[ErrorDetail] = []
    for index, item in enumerate(items):
        try:
            curves.append(to_light_curve(item, config, band_map))
        except LightCurveError as exc:
            problems.append(curve_error_detail(exc, index, item.id))
    if problems:
        raise invalid_curves(problems)
    return curves


def request_bands_read(
    items: Sequence[LightCurveIn], config: LCVaDEConfig, band_map: Mapping[str, str] | None
) -> list[dict[str, str]]:
    """Per request curve, its bands the model reads and as which model band."""
    return [bands_read(item.band or (), config, band_map) for item in items]


def check_sizes(items: Sequence[LightCurveIn], settings: ServiceSettings) -> None:
    """413 when a request has too many curves or a curve too many points."""
    if len(items) > settings.max_curves_per_request:
        raise too_many_curves(
            len(items), settings.max_curves_per_request, "light_curves", "the request"
        )
    limit = settings.max_points_per_curve
    for index, item in enumerate(items):
        n = max(len(item.time), len(item.mag), len(item.mag_err))
        if n > limit:
            raise too_many_points(n, limit, index, item.id)


class ScoringPipeline:
    """The work behind the scoring endpoints, shared by every request."""

    def __init__(
        self,
        settings: ServiceSettings,
        registry: ModelRegistry,
        metrics: ServiceMetrics,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.metrics = metrics
        on_gpu = resolve_device(settings.device).type == "cuda"
        self.model_workers = ModelWorkers(
            settings.model_workers or (1 if on_gpu else os.cpu_count() or 1),
            settings.model_threads,
        )
        self.cpu_pool = ThreadPoolExecutor(
            max_workers=settings.period_workers, thread_name_prefix="lcvade-cpu"
        )
        self.batcher = MicroBatcher(
            self.model_workers,
            metrics,
            max_wait_ms=settings.max_wait_ms,
        )

    # -- thread helpers ---------------------------------------------------------------------
    async def in_thread(self, fn, *args: Any):
        return await asyncio.get_running_loop().run_in_executor(self.cpu_pool, fn, *args)

    async def start(self) -> None:
        self.batcher.start()
        await self.registry.load_initial(self.in_thread, self.model_workers)

    async def stop(self) -> None:
        await self.batcher.stop()
        self.cpu_pool.shutdown(wait=True)
        self.model_workers.shutdown()

    # -- steps --------------------------------------------------------------------------------
    def reject(self, details: Sequence[ErrorDetail]) -> None:
        for detail in details:
            self.metrics.curve_rejected(detail.field)

    async def validate(
        self,
        items: Sequence[LightCurveIn],
        handle: ModelHandle,
        band_map: Mapping[str, str] | None = None,
    ) -> list[LightCurve]:
        try:
            check_sizes(items, self.settings)
            if len(items) <= 4:
                return to_light_curves(items, handle.scorer.config, band_map)
            return await self.in_thread(to_light_curves, items, handle.scorer.config, band_map)
        except ServiceError as exc:
            self.reject(exc.details)
            raise

    async def resolve_periods(
        self, curves: Sequence[LightCurve], search: PeriodSearch
    ) -> tuple[np.ndarray, list[str], list[float | None]]:
        """Given periods, or the model's period search (``search``) run on the CPU threads.

        The rule of :mod:`lcvade.period_resolution`; curves whose search fails are answered
        with 422, each named with its index.
        """
        resolved = ResolvedPeriods.given(curves)
        missing = resolved.missing()
        outcomes = await asyncio.gather(
            *(self.in_thread(search_outcome, curves[i], search) for i in missing),
            return_exceptions=True,
        )
        for i, outcome in zip(missing, outcomes, strict=True):
            resolved.record(i, outcome)
        problems = [
            ErrorDetail(
                curve_index=i,
                curve_id=curves[i].id,
                field="period",
                message=f"light_curves[{i}]: no period could be estimated from the points; "
                "send the period",
            )
            for i in sorted(resolved.failures)
        ]
        if problems:
            self.reject(problems)
            raise invalid_curves(problems)
        return resolved.periods, resolved.sources, resolved.confidences

    def check_finite(self, curves: Sequence[LightCurve], *arrays: np.ndarray) -> None:
        if not curves:
            return
        bad = np.zeros(len(curves), dtype=bool)
        for array in arrays:
            bad |= ~np.isfinite(array.reshape(len(curves), -1)).all(axis=1)
        if bad.any():
            problems = [
                ErrorDetail(
                    curve_index=int(i),
                    curve_id=curves[i].id,
                    field="mag",
                    message=f"light_curves[{i}]: the model gives no finite score for this "
                    "curve; check that mag and mag_err are magnitudes of a plausible size",
                )
                for i in np.flatnonzero(bad)
            ]
            self.reject(problems)
            raise invalid_curves(problems)

    # -- endpoints' work ----------------------------------------------------------------------
    async def score_curves(
        self,
        handle: ModelHandle,
        curves: Sequence[LightCurve],
        fdr: float | None,
        bands_read: Sequence[dict[str, str]] | None = None,
    ) -> ScoreResponse:
        """Score validated curves with ``handle``'s model (``bands_read``: see
        :meth:`lcvade.Scorer.results`)."""
        scorer = handle.scorer
        if fdr is not None and scorer.calibration is None:
            raise ServiceError(
                422,
                "uncalibrated_model",
                "fdr needs p-values but the model being served has no IAS calibration",
                [ErrorDetail(field="fdr", message="the model is not calibrated")],
            )
        periods, sources, confidences = await self.resolve_periods(curves, scorer.period_search)
        ias, probs = await self.batcher.score(handle, curves, periods)
        self.check_finite(curves, ias, probs)
        results = await self.in_thread(
            partial(
                scorer.results,
                curves,
                ias,
                probs,
                periods,
                sources,
                confidences,
                bands_read=bands_read,
            )
        )
        scores = [CurveScore(**r.to_dict()) for r in results]
        rule = AnomalyRule(scorer.p_value_threshold, fdr)
        if fdr is not None and scores:
            flags = rule.flags(np.array([s.p_value for s in scores]))
            for score, flag in zip(scores, flags, strict=True):
                score.is_anomaly = bool(flag)
        self.metrics.curves_scored.inc(len(scores))
        return ScoreResponse(
            model=handle.ref,
            anomaly_rule=rule.describe(scorer.calibration is not None, len(scores)),
            results=scores,
        )

    async def score(
        self,
        items: Sequence[LightCurveIn],
        fdr: float | None,
        band_map: Mapping[str, str] | None = None,
    ) -> ScoreResponse:
        handle = self.registry.current
        curves = await self.validate(items, handle, band_map)
        read = request_bands_read(items, handle.scorer.config, band_map)
        return await self.score_curves(handle, curves, fdr, read)

    async def reconstruct(
        self,
        item: LightCurveIn,
        phases: Sequence[float] | None,
        band_map: Mapping[str, str] | None = None,
    ) -> ReconstructResponse:
        handle = self.registry.current
        if phases is not None:
            check_phases(phases, self.settings.max_reconstruct_phases)
        curve = (await self.validate([item], handle, band_map))[0]
        periods, sources, _ = await self.resolve_periods([curve], handle.scorer.period_search)
        rec = await self.in_thread(
            handle.scorer.reconstruct, curve.with_period(float(periods[0])), phases
        )
        self.check_finite([curve], rec.mean, rec.std, rec.induction_mean, rec.induction_std)
        names = rec.bands if handle.scorer.config.bands else list(curve.bands or ("mag",))
        return ReconstructResponse(
            model=handle.ref,
            id=curve.id,
            period=float(periods[0]),
            period_source=sources[0],  # type: ignore[arg-type]
            observed=FoldedPoints(
                phase=rec.observed_phase.tolist(),
                mag=rec.observed_mag.tolist(),
                mag_err=rec.observed_err.tolist(),
                band=[names[b] for b in rec.observed_band],
            ),
            phases=rec.phases.tolist(),
            induction_phases=rec.induction_phases.tolist(),
            bands=[
                BandCurve(
                    band=names[b],
                    mean=rec.mean[b].tolist(),
                    std=rec.std[b].tolist(),
                    induction_mean=rec.induction_mean[b].tolist(),
                    induction_std=rec.induction_std[b].tolist(),
                )
                for b in range(len(names))
            ],
        )


def check_phases(phases: Sequence[float], limit: int) -> None:
    if len(phases) > limit:
        raise ServiceError(
            413,
            "too_many_phases",
            f"{len(phases)} phases requested; at most {limit} are accepted",
            [ErrorDetail(field="phases", message="too many phases")],
        )
    if not phases:
        raise ServiceError(
            422,
            "invalid_phases",
            "phases is empty: give at least one phase in [0, 1], or omit it",
            [ErrorDetail(field="phases", message="empty")],
        )
    values = np.asarray(phases, dtype=float)
    bad = ~(np.isfinite(values) & (values >= 0.0) & (values <= 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ServiceError(
            422,
            "invalid_phases",
            f"phases[{i}] = {values[i]} is not a phase: give numbers in [0, 1]",
            [ErrorDetail(field="phases", point_index=i, message="not in [0, 1]")],
        )
