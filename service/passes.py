"""Forward passes whose results never depend on a curve's batch-mates.

Float32 kernels (matrix products, convolutions, vectorised ``exp``) choose their blocking and
their vector/scalar code paths from the shapes of their operands, so the same curve scored in
batches of different sizes or padded lengths can differ in the last bits (up to a few 1e-5
of the IAS).  The service coalesces requests from many clients, and a client must get the same
answer whoever else is asking at the time.  So a pass is cut to a fixed form:

* curves are grouped by the length bucket of their kept points: the smallest power of two
  >= the number of points (at least 16), capped at the model's ``max_points``, and every
  pass is padded to its bucket length with masked points;
* each group is cut into chunks of at most ``rows`` curves and each chunk is one pass (the
  service's batcher forms its passes from its queues the same way, one at a time).

The number of rows is the other shape that matters.  With a row-invariant model (see
:mod:`lcvade.row_invariance`; :func:`rows_change_scores` checks it on the machine at hand) a
pass has as many rows as it has curves, at least :data:`MIN_PASS_ROWS`: a lone curve costs a
two-row pass, a crowd shares passes of up to ``rows`` rows.  Otherwise (``fill_rows``) every
pass has exactly ``rows`` rows, a short chunk filled up with copies of its first curve whose
results are dropped.

Either way a curve is computed the same way in every pass it can land in: which row it
occupies, what the other rows hold and (without ``fill_rows``) how many there are do not
change its result (the test suite checks this bit for bit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from lcvade.batching import CurveBatch, collate
from lcvade.lightcurve import LightCurve
from lcvade.scorer import Scorer

SHORTEST_BUCKET = 16
MIN_PASS_ROWS = 2
"""Fewest rows of a pass whose row count may vary: batched matrix products of a single entry
are computed as plain matrix products, by other kernels, so a lone curve is scored in a
two-row pass (filled with a copy of itself)."""


def length_bucket(n_points: int, max_points: int) -> int:
    """The padded length of the pass that scores a curve of ``n_points`` points."""
    kept = min(n_points, max_points)
    bucket = max(SHORTEST_BUCKET, 1 << max(kept - 1, 0).bit_length())
    return min(bucket, max_points)


def plan_passes(lengths: Sequence[int], rows: int, max_points: int) -> list[tuple[int, list[int]]]:
    """``(bucket length, curve indices)`` of every pass, at most ``rows`` curves each."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(lengths):
        groups[length_bucket(n, max_points)].append(i)
    plan = []
    for bucket in sorted(groups):
        members = groups[bucket]
        for start in range(0, len(members), rows):
            plan.append((bucket, members[start : start + rows]))
    return plan


def pad_batch(batch: CurveBatch, length: int) -> CurveBatch:
    """Extend the point axis to ``length`` with masked points (as ``collate`` pads)."""
    extra = length - batch.phase.shape[1]
    if extra <= 0:
        return batch
    pad = (0, extra)
    return replace(
        batch,
        phase=F.pad(batch.phase, pad, value=0.0),
        value=F.pad(batch.value, pad, value=0.0),
        error=F.pad(batch.error, pad, value=1.0),
        band=F.pad(batch.band, pad, value=0),
        mask=F.pad(batch.mask, pad, value=False),
    )


def pass_batch(
    curves: Sequence[LightCurve], periods: Sequence[float], scorer: Scorer, rows: int, length: int
) -> CurveBatch:
    """The ``(rows, length)`` model input of one pass of at most ``rows`` curves."""
    fill = rows - len(curves)
    chunk = list(curves) + [curves[0]] * fill
    chunk_periods = list(periods) + [periods[0]] * fill
    return pad_batch(collate(chunk, chunk_periods, scorer.config), length)


def score_pass(
    scorer: Scorer,
    curves: Sequence[LightCurve],
    periods: Sequence[float],
    rows: int,
    length: int,
) -> tuple[np.ndarray, np.ndarray]:
    """IAS and q(y|z,f) of at most ``rows`` curves scored in one ``(rows, length)`` pass."""
    pass_ias, pass_probs = scorer.score_batch(pass_batch(curves, periods, scorer, rows, length))
    return pass_ias[: len(curves)], pass_probs[: len(curves)]


def rows_of_pass(n_curves: int, rows: int, fill_rows: bool) -> int:
    """Rows of the pass that scores ``n_curves`` curves (see the module docstring)."""
    return rows if fill_rows else max(n_curves, MIN_PASS_ROWS)


def score_in_passes(
    scorer: Scorer,
    curves: Sequence[LightCurve],
    periods: Sequence[float],
    rows: int,
    *,
    fill_rows: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """IAS (N,) and q(y|z,f) (N, K) of ``curves`` scored in the passes the service runs."""
    n = len(curves)
    ias = np.empty(n)
    probs = np.empty((n, scorer.config.n_classes))
    max_points = scorer.config.max_points
    for length, members in plan_passes([len(c) for c in curves], rows, max_points):
        ias[members], probs[members] = score_pass(
            scorer,
            [curves[i] for i in members],
            [periods[i] for i in members],
            rows_of_pass(len(members), rows, fill_rows),
            length,
        )
    return ias, probs


PROBED_ROWS = (2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64)
"""Row counts compared by :func:`rows_change_scores`: the small ones, where matrix kernels
switch between code paths, and both sides of the powers of two where they change blocking."""


def rows_change_scores(scorer: Scorer, curves_by_length: dict[int, Sequence[LightCurve]]) -> bool:
    """Whether a curve's scores change with the number of rows of its pass.

    For every bucket length, the curves given for it (as many as the largest pass to check)
    are scored in one pass, and the first ``k`` of them in passes of ``k`` rows for every
    ``k`` of :data:`PROBED_ROWS` below that; any difference in any bit is a change.
    """
    for length, curves in curves_by_length.items():
        periods = [c.period for c in curves]
        full_ias, full_probs = score_pass(scorer, curves, periods, len(curves), length)
        for k in (k for k in PROBED_ROWS if k < len(curves)):
            ias, probs = score_pass(scorer, curves[:k], periods[:k], k, length)
            if not (np.array_equal(ias, full_ias[:k]) and np.array_equal(probs, full_probs[:k])):
                return True
    return False


def configure_determinism(device: torch.device) -> None:
    """On CUDA, make cuDNN pick the same deterministic algorithm for the same shape."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
