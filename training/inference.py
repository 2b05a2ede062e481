"""Batched evaluation of a trained LC-VaDE on prepared curves, for calibration and reports.

Everything is computed in eval mode with z at the mean of q(z|x,t): the IAS of eq. 9.12, the
classifier q(y|z,f), and -- for the combined score of section 9.5.4 -- the reconstruction
log-likelihood of eqs. 9.6-9.7 per observed point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils import parametrize

from lcvade.batching import CurveBatch
from lcvade.model import LCVaDE


@dataclass
class ModelOutputs:
    """Per-curve outputs of a model on a batch of curves."""

    ias: np.ndarray  # (N,)
    log_q_y: np.ndarray  # (N, K)
    reconstruction_per_point: np.ndarray | None = None  # (N,)

    @property
    def predicted(self) -> np.ndarray:
        return self.log_q_y.argmax(axis=1)


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def evaluate_model(
    model: LCVaDE,
    batch: CurveBatch,
    *,
    chunk: int = 512,
    reconstruction: bool = False,
) -> ModelOutputs:
    """IAS, log q(y|z,f) and optionally the mean reconstruction log-likelihood per point."""
    model.eval()
    device = model_device(model)
    ias, log_q_y, rec = [], [], []
    with parametrize.cached():
        for start in range(0, len(batch), chunk):
            part = batch.select(slice(start, start + chunk)).to(device)
            scores = model.score(part)
            ias.append(scores.ias.double().cpu())
            log_q_y.append(scores.log_q_y.double().cpu())
            if reconstruction:
                terms = model.loss(part, sample=False)
                points = part.mask.sum(-1).clamp_min(1)
                rec.append((terms.reconstruction / points).double().cpu())
    return ModelOutputs(
        ias=torch.cat(ias).numpy(),
        log_q_y=torch.cat(log_q_y).numpy(),
        reconstruction_per_point=torch.cat(rec).numpy() if reconstruction else None,
    )
