"""The encoder q(z|x,t) of LC-VaDE (thesis Table 9.2, Fig. 9.4).

Interpolation-prediction block (D -> 3D channels on R = 64 reference phases), then residual
down blocks of width 4C with average pooling of kernel 3 (the first without its leading ReLU
and pooling before its 1x1 convolution), ReLU, flatten, and two spectrally normalised linear
heads giving the mean and log-variance of the diagonal Gaussian q(z|x,t) over J dimensions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lcvade.batching import CurveBatch
from lcvade.config import LCVaDEConfig
from lcvade.interpolation import InterpolationPrediction
from models.backbone import ResBlockDown, sn_linear

LOGVAR_MIN = -14.0
LOGVAR_MAX = 6.0


class Encoder(nn.Module):
    """q(z|x,t) = N(mu~, diag(exp(log var~)))."""

    def __init__(self, config: LCVaDEConfig) -> None:
        super().__init__()
        self.interpolation = InterpolationPrediction(config.n_bands, config.n_reference)
        width = config.width
        blocks = []
        in_channels = self.interpolation.out_channels
        for i in range(config.n_down_blocks):
            blocks.append(
                ResBlockDown(
                    1,
                    in_channels,
                    width,
                    first=i == 0,
                    pool_kernel=config.pool_kernel,
                    spectral=config.encoder_spectral_norm,
                )
            )
            in_channels = width
        self.blocks = nn.Sequential(*blocks)
        flat = width * (config.n_reference // 2**config.n_down_blocks)
        head = sn_linear if config.encoder_spectral_norm else nn.Linear
        self.mean = head(flat, config.latent_dim)
        self.logvar = head(flat, config.latent_dim)

    def forward(self, batch: CurveBatch) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.interpolation(batch.phase, batch.value, batch.error, batch.band, batch.mask)
        h = F.relu(self.blocks(h)).flatten(1)
        logvar = self.logvar(h).clamp(LOGVAR_MIN, LOGVAR_MAX)
        return self.mean(h), logvar
