"""The induction-point decoder p(x^ind|z) and the kernel head p(theta^kernel|z) (Table 9.1).

z_rep -> linear to BW x 4C -> residual up blocks (batch norm conditioned on z_rep) -> two
output heads (BN, ReLU, 3-wide conv): the means and the positive standard deviations of the
I = BW * 2^3 induction points of every band.  z_kernel -> two small MLPs (hidden width
BW x 4C) -> the squared-exponential kernel's amplitude sigma_theta = 10 sigmoid(.) and
length scale l_theta = (1/I) sigmoid(.) (section 9.5.2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lcvade.config import LCVaDEConfig
from models.backbone import ResBlockUp, sn_conv, sn_linear

AMPLITUDE_SCALE = 10.0
KERNEL_FLOOR = 1e-4


class _OutputHead(nn.Sequential):
    def __init__(self, width: int, out_channels: int) -> None:
        super().__init__(nn.BatchNorm1d(width), nn.ReLU(), sn_conv(1, width, out_channels, 3))


class InductionDecoder(nn.Module):
    """z_rep -> (mu_ind, sigma_ind), each (N, B, I)."""

    def __init__(self, config: LCVaDEConfig) -> None:
        super().__init__()
        self.bottom_width = config.bottom_width
        self.width = config.width
        self.std_floor = config.induction_std_floor
        self.project = sn_linear(config.z_rep, config.bottom_width * config.width)
        self.blocks = nn.ModuleList(
            ResBlockUp(1, config.width, config.width, cond_dim=config.z_rep)
            for _ in range(config.n_up_blocks)
        )
        self.mean_head = _OutputHead(config.width, config.n_bands)
        self.std_head = _OutputHead(config.width, config.n_bands)

    def forward(self, z_rep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.project(z_rep).view(-1, self.width, self.bottom_width)
        for block in self.blocks:
            h = block(h, z_rep)
        mean = self.mean_head(h)
        std = F.softplus(self.std_head(h)) + self.std_floor
        return mean, std


class KernelHead(nn.Module):
    """z_kernel -> (sigma_theta, l_theta), each (N,)."""

    def __init__(self, config: LCVaDEConfig) -> None:
        super().__init__()
        hidden = config.bottom_width * config.width
        self.inverse_induction = 1.0 / config.n_induction

        def mlp() -> nn.Sequential:
            return nn.Sequential(
                sn_linear(config.z_kernel, hidden),
                nn.ReLU(),
                sn_linear(hidden, hidden),
                nn.ReLU(),
                sn_linear(hidden, 1),
            )

        self.amplitude = mlp()
        self.length = mlp()

    def forward(self, z_kernel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        amplitude = AMPLITUDE_SCALE * torch.sigmoid(self.amplitude(z_kernel)).squeeze(-1)
        length = self.inverse_induction * torch.sigmoid(self.length(z_kernel)).squeeze(-1)
        # Tiny floors keep the kernel finite where the sigmoid underflows to zero.
        return amplitude.clamp_min(KERNEL_FLOOR), length.clamp_min(KERNEL_FLOOR)
