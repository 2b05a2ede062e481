"""Forward passes of a fixed shape, so that a curve's score never depends on its batch-mates.

Float32 kernels (matrix products, convolutions, vectorised ``exp``) choose their blocking and
their vector/scalar code paths from the shapes of their operands, so the same curve scored in
batches of different sizes or padded lengths can differ in the last bits (about 1e-5 in the
IAS).  The service coalesces requests from many clients, and a client must get the same
answer whoever else is asking at the time.  So every pass has the shape
``(rows, length_bucket(curve))``:

* curves are grouped by the length bucket of their kept points: the smallest power of two
  >= the number of points (at least 16), capped at the model's ``max_points``;
* each group is cut into chunks of ``rows`` curves; a short chunk is filled up with copies of
  its first curve (their results are dropped);
* the chunk is collated (:func:`lcvade.batching.collate`), padded to the bucket length with
  masked points and scored.

A curve is therefore always computed in a pass of the same shape; which row it occupies and
what the other rows hold do not change its result (the test suite checks this bit for bit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from lcvade.batching import CurveBatch, collate
from lcvade.lightcurve import LightCurve
from lcvade.scorer import Scorer

SHORTEST_BUCKET = 16


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
    return CurveBatch(
        phase=F.pad(batch.phase, pad, value=0.0),
        value=F.pad(batch.value, pad, value=0.0),
        error=F.pad(batch.error, pad, value=1.0),
        band=F.pad(batch.band, pad, value=0),
        mask=F.pad(batch.mask, pad, value=False),
        features=batch.features,
    )


def fixed_shape_batch(
    curves: Sequence[LightCurve], periods: Sequence[float], scorer: Scorer, rows: int, length: int
) -> CurveBatch:
    """The ``(rows, length)`` model input of one pass (see the module docstring)."""
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
    pass_ias, pass_probs = scorer.score_batch(
        fixed_shape_batch(curves, periods, scorer, rows, length)
    )
    return pass_ias[: len(curves)], pass_probs[: len(curves)]


def score_in_fixed_passes(
    scorer: Scorer, curves: Sequence[LightCurve], periods: Sequence[float], rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """IAS (N,) and q(y|z,f) (N, K) of ``curves``, every curve scored in a fixed-shape pass."""
    n = len(curves)
    ias = np.empty(n)
    probs = np.empty((n, scorer.config.n_classes))
    max_points = scorer.config.max_points
    for length, members in plan_passes([len(c) for c in curves], rows, max_points):
        ias[members], probs[members] = score_pass(
            scorer, [curves[i] for i in members], [periods[i] for i in members], rows, length
        )
    return ias, probs


def configure_determinism(device: torch.device) -> None:
    """On CUDA, make cuDNN pick the same deterministic algorithm for the same shape."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
