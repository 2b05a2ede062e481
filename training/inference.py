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
    terms: dict[str, np.ndarray] | None = None  # the parts of the IAS, and E_q(y)[log p(f|y)]

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
    terms: bool = False,
) -> ModelOutputs:
    """IAS, log q(y|z,f) and optionally the mean reconstruction log-likelihood per point.

    ``terms=True`` also returns, per curve, the parts of the score (:mod:`lcvade.ias`):
    ``expected_log_pz`` = sum_k q(y=k|z,f) E_q(z|x)[log p(z|y=k)], ``entropy_z`` = h_q(z|x)
    (the two of eq. 9.12) and ``expected_log_pf`` = sum_k q(y=k|z,f) log p(f|y=k) (the
    feature term of IAS_f) -- to see which part separates the outliers.
    """
    model.eval()
    device = model_device(model)
    ias, log_q_y, rec = [], [], []
    parts: dict[str, list[torch.Tensor]] = {
        "expected_log_pz": [],
        "entropy_z": [],
        "expected_log_pf": [],
    }
    with parametrize.cached():
        for start in range(0, len(batch), chunk):
            part = batch.select(slice(start, start + chunk)).to(device)
            scores = model.score(part)
            ias.append(scores.ias.double().cpu())
            log_q_y.append(scores.log_q_y.double().cpu())
            if reconstruction or terms:
                loss = model.loss(part, sample=False)
                points = part.mask.sum(-1).clamp_min(1)
                rec.append((loss.reconstruction / points).double().cpu())
                for name in parts:
                    parts[name].append(getattr(loss, name).double().cpu())
    return ModelOutputs(
        ias=torch.cat(ias).numpy(),
        log_q_y=torch.cat(log_q_y).numpy(),
        reconstruction_per_point=torch.cat(rec).numpy() if reconstruction else None,
        terms={k: torch.cat(v).numpy() for k, v in parts.items()} if terms else None,
    )
