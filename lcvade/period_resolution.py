"""Each curve's period: the one sent with it, one found before, or one searched now.

Folding (eq. 9.1) needs one period per curve.  The library's scorer, the service, batch
scoring and the training data all resolve it here, with one rule:

* a curve that carries a period keeps it (source ``given``);
* otherwise a stored search result for the same points and search settings is reused, when
  the caller keeps such a store (source ``cached``);
* otherwise the period search of :mod:`lcvade.period` runs (source ``estimated``) and its
  confidence is kept.

**A failed search.**  A search that raises one of :data:`SEARCH_ERRORS` (a numerically
degenerate curve) or returns a period that is not finite and positive is a failure of that
curve alone: its period stays NaN, and :attr:`ResolvedPeriods.failures` maps the curve's
position to the reason.  The other curves are resolved as usual.  No curve is folded without
a period, so every caller turns the failures into its own answer: the library raises
:class:`~lcvade.lightcurve.LightCurveError` naming the curve, the service answers 422 naming
the curves, a batch run writes a rejected row with the reason, and the training data rejects
the object with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from lcvade.lightcurve import LightCurve, LightCurveError
from lcvade.period import (
    DEFAULT_SEARCH,
    FrequencyGrid,
    PeriodResult,
    PeriodSearch,
    as_search,
    find_period,
    find_periods,
)

SEARCH_ERRORS = (ValueError, RuntimeError, FloatingPointError)
NO_USABLE_PERIOD = "the period search found no usable period; give the period"
SEARCH_CHUNK = 256


class PeriodStore(Protocol):
    """Search results kept between runs, keyed by the curve's points and the search settings."""

    def lookup(self, curve: LightCurve, method: str) -> tuple[float, float] | None: ...

    def add(self, curve: LightCurve, method: str, period: float, confidence: float) -> None: ...

    def save(self) -> None: ...


@dataclass
class ResolvedPeriods:
    """Periods (NaN where none), sources, search confidences and failures, by curve position."""

    periods: np.ndarray
    sources: list[str]
    confidences: list[float | None]
    failures: dict[int, str] = field(default_factory=dict)

    @classmethod
    def given(cls, curves: Sequence[LightCurve]) -> ResolvedPeriods:
        """The given periods; the others are NaN with source ``estimated`` until recorded."""
        return cls(
            periods=np.array([np.nan if c.period is None else c.period for c in curves], float),
            sources=["given" if c.period is not None else "estimated" for c in curves],
            confidences=[None] * len(curves),
        )

    def missing(self) -> list[int]:
        """Positions of the curves that have no period and no recorded failure."""
        return [
            i
            for i, source in enumerate(self.sources)
            if source != "given" and np.isnan(self.periods[i]) and i not in self.failures
        ]

    def record(self, i: int, outcome: PeriodResult | BaseException) -> PeriodResult | None:
        """Apply the rule to the search outcome of curve ``i``: the result, or a failure."""
        why = failure_reason(outcome)
        if why is not None:
            self.failures[i] = why
            return None
        assert isinstance(outcome, PeriodResult)
        self.periods[i] = outcome.period
        self.confidences[i] = outcome.confidence
        return outcome

    def raise_failures(self, curves: Sequence[LightCurve], name: str = "curves") -> None:
        """Raise :class:`LightCurveError` for the first failure, naming the curve."""
        if not self.failures:
            return
        i = min(self.failures)
        label = f"{name}[{i}]" + ("" if curves[i].id is None else f" (id {curves[i].id!r})")
        raise LightCurveError(f"{label}: {self.failures[i]}", field="period")


def failure_reason(outcome: PeriodResult | BaseException) -> str | None:
    """Why a search outcome gives no period (``None`` when it gives one): the rule above."""
    if isinstance(outcome, BaseException):
        return f"the period search failed: {outcome}"
    if not (np.isfinite(outcome.period) and outcome.period > 0):
        return NO_USABLE_PERIOD
    return None


def search_outcome(curve: LightCurve, search: PeriodSearch) -> PeriodResult | BaseException:
    """One curve's search: its result, or the :data:`SEARCH_ERRORS` it raised."""
    try:
        return find_period(curve, search)
    except SEARCH_ERRORS as exc:
        return exc


def search_outcomes(
    curves: Sequence[LightCurve], search: PeriodSearch, n_jobs: int | None = None
) -> list[PeriodResult | BaseException]:
    """The searches of many curves in parallel; when one raises, each is searched alone so
    that only the failing curves fail."""
    try:
        return list(find_periods(curves, search, n_jobs=n_jobs))
    except SEARCH_ERRORS:
        return [search_outcome(c, search) for c in curves]


def resolve_periods(
    curves: Sequence[LightCurve],
    search: PeriodSearch | FrequencyGrid = DEFAULT_SEARCH,
    *,
    n_jobs: int | None = None,
    store: PeriodStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> ResolvedPeriods:
    """Every curve's period by the rule of the module docstring.

    ``n_jobs`` is the number of search threads (default: all CPUs).  With a ``store``, stored
    results are reused (source ``cached``) and new ones are added and saved every
    :data:`SEARCH_CHUNK` curves, so an interrupted search keeps what it found.  ``progress``
    is called with the number of curves searched after each chunk.
    """
    search = as_search(search)
    resolved = ResolvedPeriods.given(curves)
    pending = resolved.missing()
    if store is not None:
        for i in list(pending):
            hit = store.lookup(curves[i], search.method)
            if hit is not None:
                resolved.periods[i], resolved.confidences[i] = hit
                resolved.sources[i] = "cached"
        pending = [i for i in pending if resolved.sources[i] != "cached"]
    chunk = SEARCH_CHUNK if store is not None or progress is not None else max(1, len(pending))
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        outcomes = search_outcomes([curves[i] for i in part], search, n_jobs)
        for i, outcome in zip(part, outcomes, strict=True):
            result = resolved.record(i, outcome)
            if result is not None and store is not None:
                store.add(curves[i], search.method, result.period, result.confidence)
        if store is not None:
            store.save()
        if progress is not None:
            progress(len(part))
    return resolved
