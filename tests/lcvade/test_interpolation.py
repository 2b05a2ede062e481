"""The interpolation-prediction front end: masking, bands and what it interpolates."""

from __future__ import annotations

import math

import torch

from lcvade import interpolation
from lcvade.interpolation import InterpolationPrediction


def test_masked_and_other_band_points_have_no_influence():
    torch.manual_seed(0)
    layer = InterpolationPrediction(n_bands=2, n_reference=32)
    n, length = 3, 40
    phase, value, error = torch.rand(n, length), torch.randn(n, length), torch.rand(n, length)
    band = torch.randint(0, 2, (n, length))
    mask = torch.ones(n, length, dtype=torch.bool)
    out = layer(phase, value, error, band, mask)
    # Padding with garbage masked points changes nothing.
    pad = 25
    out_padded = layer(
        torch.cat([phase, torch.rand(n, pad)], 1),
        torch.cat([value, 1e3 * torch.randn(n, pad)], 1),
        torch.cat([error, torch.rand(n, pad)], 1),
        torch.cat([band, torch.randint(0, 2, (n, pad))], 1),
        torch.cat([mask, torch.zeros(n, pad, dtype=torch.bool)], 1),
    )
    torch.testing.assert_close(out, out_padded)
    # With the initial (identity) cross-channel mixing, band-1 values do not reach band-0's
    # channels. Layout for B = 2: intensity 0-3, cross 4-7, transient 8-11; band 0 owns
    # channels 0-1 of each group.
    value2 = torch.where(band == 1, value + 5.0, value)
    out2 = layer(phase, value2, error, band, mask)
    band0 = [0, 1, 4, 5, 8, 9]
    band1_values = [6, 10]
    torch.testing.assert_close(out[:, band0], out2[:, band0])
    assert (out[:, band1_values] - out2[:, band1_values]).abs().max() > 1.0


def test_dense_samples_of_a_smooth_function_are_interpolated():
    layer = InterpolationPrediction(n_bands=1, n_reference=64)
    t = torch.linspace(0, 1, 2001)[:-1].unsqueeze(0)
    f = torch.sin(2 * math.pi * t)
    out = layer(
        t,
        f,
        torch.full_like(f, 0.1),
        torch.zeros_like(t, dtype=torch.long),
        torch.ones_like(t, dtype=torch.bool),
    )
    ref = layer.reference
    # Channel layout: [log-intensity (2), cross (2), transient (2)]; at initialisation the
    # cross-channel term of the magnitude channel is half its smoothed value.
    smooth = 2 * out[0, 2]
    expected = torch.sin(2 * math.pi * ref)
    # A Gaussian kernel of width sigma damps a sine of frequency 1 by exp(-(2 pi sigma)^2 / 2).
    sigma = 2.0 / 64
    damping = math.exp(-((2 * math.pi * sigma) ** 2) / 2)
    torch.testing.assert_close(smooth, damping * expected, atol=2e-3, rtol=0)
    assert out.shape == (1, 6, 64)


def test_clamping_the_kernel_exponent_changes_nothing(monkeypatch):
    torch.manual_seed(1)
    layer = InterpolationPrediction(n_bands=2, n_reference=64)
    n, length = 4, 150
    # Sparse, clumped phases leave reference phases far from every point, where most kernel
    # weights underflow.
    phase = (0.1 * torch.rand(n, length) + torch.randint(0, 3, (n, 1)) * 0.3) % 1.0
    inputs = (
        phase,
        torch.randn(n, length),
        torch.rand(n, length) + 0.01,
        torch.randint(0, 2, (n, length)),
        torch.rand(n, length) > 0.3,
    )
    clamped = layer(*inputs)
    monkeypatch.setattr(interpolation, "MIN_EXPONENT", -math.inf)
    exact = layer(*inputs)
    # Only weights below exp(-60) change: nothing a float32 output of order one can show.
    torch.testing.assert_close(clamped, exact, rtol=1e-6, atol=1e-12)
