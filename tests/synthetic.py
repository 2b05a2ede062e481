"""Synthetic light curves and small models shared by the tests."""

from __future__ import annotations

import numpy as np
import torch

from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurve
from lcvade.model import LCVaDE


def periodic_curve(
    rng: np.random.Generator,
    n: int,
    period: float,
    *,
    amplitude: float = 0.4,
    noise: float = 0.03,
    baseline: float = 600.0,
    bands: tuple[str, ...] | None = None,
    with_period: bool = True,
    curve_id: str | None = None,
) -> LightCurve:
    """A noisy two-harmonic periodic curve observed at random times."""
    t = rng.uniform(0.0, baseline, n)
    phase = t / period + rng.uniform()
    mag = (
        15.0
        + amplitude * np.sin(2 * np.pi * phase)
        + 0.3 * amplitude * np.sin(4 * np.pi * phase + 1.0)
    )
    err = rng.uniform(0.5, 1.5, n) * noise
    mag = mag + rng.normal(0.0, err)
    band = None if bands is None else rng.choice(np.asarray(bands), n)
    return LightCurve(t, mag, err, band=band, period=period if with_period else None, id=curve_id)


def randomised_model(config: LCVaDEConfig, seed: int = 0) -> LCVaDE:
    """A model in eval mode with non-trivial prior parameters and feature statistics."""
    torch.manual_seed(seed)
    model = LCVaDE(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.prior.z_mean.normal_(0.0, 1.0, generator=gen)
        model.prior.z_logvar.uniform_(-1.0, 1.0, generator=gen)
        model.prior.f_mean.normal_(0.0, 1.0, generator=gen)
        model.prior.f_logvar.uniform_(-1.0, 1.0, generator=gen)
        f = config.feature_dim
        model.set_feature_statistics(torch.linspace(14.0, 0.5, f), torch.linspace(1.0, 0.2, f))
    return model.eval()
