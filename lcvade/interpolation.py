"""The interpolation-prediction front end of the encoder (Shukla & Marlin 2019; Table 9.2).

It turns an irregular, variable-length folded light curve into a fixed grid of
``n_reference`` phases r_k = (k + 1/2) / R.  Each input channel d (a band's magnitudes or its
errors; D = 2B channels) is interpolated with learnable Gaussian kernels over the circular
phase distance (phases wrap around at 1):

    lambda_d(r) = sum_j w_dj(r),        w_dj(r) = exp(-alpha_d dist(r, t_j)^2)   (intensity)
    s_d(r)      = sum_j w_dj(r) x_j / lambda_d(r)                                (low pass)
    chi_d(r)    = sum_d' rho_dd' lambda_d'(r) s_d'(r) / sum_d' lambda_d'(r)      (cross-channel)
    g_d(r)      = the same smoother with the sharper kernel exp(-kappa alpha_d dist^2)
    tau_d(r)    = g_d(r) - chi_d(r)                                              (transient)

where the sums run over the unmasked points of the channel's band.  The output stacks
log(1 + lambda), chi and tau: 3D channels, one value per reference phase.
"""

from __future__ import annotations

import math

import torch
from torch import nn

EPS = 1e-6
# Added to the squared distance of points a channel must ignore, so that their kernel
# exponent reaches MIN_EXPONENT.
FAR = 1e6
# Kernel exponents are clamped here: exp(-60) ~ 1e-26 is nothing against EPS, and a float32
# exp whose result underflows runs on a scalar slow path, 10-30x slower than the rest.
MIN_EXPONENT = -60.0


class InterpolationPrediction(nn.Module):
    """Learnable kernel interpolation of D = 2B channels onto R reference phases."""

    def __init__(self, n_bands: int, n_reference: int, kappa: float = 10.0) -> None:
        super().__init__()
        self.n_bands = n_bands
        self.n_channels = 2 * n_bands
        self.kappa = kappa
        # Initial bandwidth: a kernel standard deviation of two reference spacings.
        bandwidth = 2.0 / n_reference
        init = math.log(1.0 / (2.0 * bandwidth**2))
        self.log_alpha = nn.Parameter(torch.full((self.n_channels,), init))
        self.cross = nn.Parameter(torch.eye(self.n_channels))
        reference = (torch.arange(n_reference, dtype=torch.float32) + 0.5) / n_reference
        self.register_buffer("reference", reference, persistent=False)

    @property
    def out_channels(self) -> int:
        return 3 * self.n_channels

    def forward(
        self,
        phase: torch.Tensor,
        value: torch.Tensor,
        error: torch.Tensor,
        band: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """(N, L) inputs -> (N, 3D, R) interpolated channels."""
        n = phase.shape[0]
        diff = phase.unsqueeze(1) - self.reference[None, :, None]  # (N, R, L)
        diff = diff - torch.round(diff)
        bands = torch.arange(self.n_bands, device=band.device)
        outside = ~((band.unsqueeze(1) == bands[None, :, None]) & mask.unsqueeze(1))  # (N, B, L)
        # Squared distances, pushed far away for points outside the channel's band or mask,
        # so their kernel weights vanish: (N, B, 1, R, L).
        dist2 = diff.square().unsqueeze(1) + outside.unsqueeze(2).to(diff.dtype) * FAR
        dist2 = dist2.unsqueeze(2)
        alpha = self.log_alpha.exp().view(1, self.n_bands, 2, 1, 1)
        shape = (n, self.n_channels, self.reference.numel(), phase.shape[1])
        x = torch.stack([value, error], dim=1).repeat(1, self.n_bands, 1)  # (N, D, L)

        low = torch.exp_((dist2 * -alpha).clamp_(min=MIN_EXPONENT)).view(shape)  # (N, D, R, L)
        intensity = low.sum(-1)  # (N, D, R)
        smooth = torch.einsum("ndrl,ndl->ndr", low, x) / (intensity + EPS)
        high = torch.exp_((dist2 * (-self.kappa * alpha)).clamp_(min=MIN_EXPONENT)).view(shape)
        sharp = torch.einsum("ndrl,ndl->ndr", high, x) / (high.sum(-1) + EPS)

        cross = torch.einsum("de,ner->ndr", self.cross, intensity * smooth)
        cross = cross / (intensity.sum(1, keepdim=True) + EPS)
        transient = sharp - cross
        return torch.cat([torch.log1p(intensity), cross, transient], dim=1)
