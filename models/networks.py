"""Generator, encoder and discriminators of the image family, built on the shared backbone.

The architectures are those of Tables 6.1-6.3 (chapter 6) and 8.1-8.3 (MPCC), for 32x32
images with ``D`` channels, width ``C`` and latent size ``J``:

* :class:`Generator` (Tables 6.1/8.1): ``Linear(J) -> 4x4x4C``, three "Resblock up" with
  batch norm conditioned on the latent code, then BN, ReLU, 3x3 conv ``4C -> D`` and tanh.
* :class:`Encoder` (Tables 6.2/8.3): down, down, plain, down, down blocks, flatten, and two
  heads (mean and log-variance of the Gaussian q(z|x)); with ``hidden_head`` each head has
  the extra ``Linear(16C -> 8C)`` layer of Table 8.3.
* :class:`Discriminator` (Tables 6.3/8.2): down, down, plain, plain blocks, ReLU, global sum
  pooling and a linear output.
* :class:`LatentDiscriminator` (D_z) and :class:`JointDiscriminator` (D_x, D_z, D_xz) of
  section 6.3.3 for the models that match joint distributions (ALI, ALICE, VEEGAN).

The first three residual blocks of the encoder and the discriminator can be one shared
:class:`Trunk` (section 8.1.4, Table 8.5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from models.backbone import ConditionalBatchNorm, ResBlockDown, ResBlockUp, sn_conv, sn_linear

IMAGE_SIZE = 32
BOTTOM_SIZE = 4  # the generator starts from 4x4
ENCODER_SIZE = 2  # the encoder flattens a 2x2 map (32 // 2**4)


class Generator(nn.Module):
    """p(x|z): the generator of Table 6.1 (and 8.1).

    ``input_dim`` is the size of the code fed to the first linear layer and ``cond_dim`` the
    size of the code that sets the gain and bias of every conditional batch norm (Fig. 6.1a);
    :mod:`models.conditioning` decides how the latent z (and the cluster y) become those codes.
    """

    def __init__(
        self, width: int, channels: int, input_dim: int, cond_dim: int, n_blocks: int = 3
    ) -> None:
        super().__init__()
        self.width = width
        wide = 4 * width
        self.n_blocks = n_blocks
        self.linear = sn_linear(input_dim, BOTTOM_SIZE * BOTTOM_SIZE * wide)
        self.blocks = nn.ModuleList([ResBlockUp(2, wide, wide, cond_dim) for _ in range(n_blocks)])
        self.out_norm = ConditionalBatchNorm(2, wide, 0)
        self.out_conv = sn_conv(2, wide, channels, 3)

    def forward(self, code: torch.Tensor, conds: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(conds) != self.n_blocks:
            raise ValueError(f"the generator needs {self.n_blocks} codes, got {len(conds)}")
        h = self.linear(code).view(code.shape[0], 4 * self.width, BOTTOM_SIZE, BOTTOM_SIZE)
        for block, cond in zip(self.blocks, conds, strict=True):
            h = block(h, cond)
        return torch.tanh(self.out_conv(F.relu(self.out_norm(h))))


class Trunk(nn.Module):
    """The first three residual blocks of Tables 6.2/6.3: down (first), down, plain.

    Maps ``D x 32 x 32`` to ``4C x 8 x 8``.  One instance may be shared between the encoder
    and the discriminator (section 8.1.4).
    """

    def __init__(self, width: int, channels: int) -> None:
        super().__init__()
        wide = 4 * width
        self.blocks = nn.Sequential(
            ResBlockDown(2, channels, wide, first=True),
            ResBlockDown(2, wide, wide),
            ResBlockDown(2, wide, wide, downsample=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class Encoder(nn.Module):
    """q(z|x) = N(mu(x), diag exp(logvar(x))): the encoder of Table 6.2 (and 8.3).

    With ``out_dim`` set the same network is the classifier used for IS/FID (section 6.3.3):
    one linear map to ``out_dim`` logits instead of the two Gaussian heads.
    """

    def __init__(
        self,
        width: int,
        channels: int,
        latent_dim: int,
        *,
        trunk: Trunk | None = None,
        hidden_head: bool = False,
    ) -> None:
        super().__init__()
        wide = 4 * width
        self.trunk = trunk if trunk is not None else Trunk(width, channels)
        self.tail = nn.Sequential(ResBlockDown(2, wide, wide), ResBlockDown(2, wide, wide))
        flat = ENCODER_SIZE * ENCODER_SIZE * wide
        self.feature_dim = flat
        self.mean_head = _head(flat, latent_dim, hidden_head)
        self.logvar_head = _head(flat, latent_dim, hidden_head)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened ``2 x 2 x 4C`` map before the heads."""
        return torch.flatten(self.tail(self.trunk(x)), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.mean_head(h), self.logvar_head(h)


def _head(in_dim: int, out_dim: int, hidden: bool) -> nn.Module:
    if not hidden:
        return sn_linear(in_dim, out_dim)
    return nn.Sequential(sn_linear(in_dim, in_dim // 2), nn.ReLU(), sn_linear(in_dim // 2, out_dim))


class Discriminator(nn.Module):
    """D_x: the discriminator of Table 6.3 (and 8.2).

    ``features`` returns the globally sum-pooled ``4C`` vector after the final ReLU;
    ``forward`` the scalar score (one per image).
    """

    def __init__(self, width: int, channels: int, *, trunk: Trunk | None = None) -> None:
        super().__init__()
        wide = 4 * width
        self.feature_dim = wide
        self.trunk = trunk if trunk is not None else Trunk(width, channels)
        self.tail = ResBlockDown(2, wide, wide, downsample=False)
        self.out = sn_linear(wide, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.tail(self.trunk(x))).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x)).squeeze(1)


class ResidualMLP(nn.Module):
    """One residual block of two linear layers with ``hidden`` units and a linear skip."""

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = sn_linear(in_dim, hidden)
        self.fc2 = sn_linear(hidden, hidden)
        self.skip = sn_linear(in_dim, hidden)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(v))) + self.skip(v)


class LatentDiscriminator(nn.Module):
    """D_z of section 6.3.3: a residual block of two layers with 8C units, then one output."""

    def __init__(self, width: int, latent_dim: int) -> None:
        super().__init__()
        self.feature_dim = 8 * width
        self.block = ResidualMLP(latent_dim, self.feature_dim)
        self.out = sn_linear(self.feature_dim, 1)

    def features(self, z: torch.Tensor) -> torch.Tensor:
        return F.relu(self.block(z))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(z)).squeeze(1)


class JointDiscriminator(nn.Module):
    """D_x, D_z and D_xz of section 6.3.3 for pairs (x, z).

    D_xz takes the concatenation of the last features of D_x and D_z, passes it through the
    same residual block with 8C units and outputs one score.  ``forward`` returns the three
    scores ``(s_x, s_z, s_xz)``; the adversarial losses sum their hinge terms.
    """

    def __init__(self, width: int, channels: int, latent_dim: int) -> None:
        super().__init__()
        self.d_x = Discriminator(width, channels)
        self.d_z = LatentDiscriminator(width, latent_dim)
        joint_in = self.d_x.feature_dim + self.d_z.feature_dim
        self.joint = ResidualMLP(joint_in, 8 * width)
        self.joint_out = sn_linear(8 * width, 1)

    def forward(
        self, x: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fx = self.d_x.features(x)
        fz = self.d_z.features(z)
        s_x = self.d_x.out(fx).squeeze(1)
        s_z = self.d_z.out(fz).squeeze(1)
        s_xz = self.joint_out(F.relu(self.joint(torch.cat([fx, fz], dim=1)))).squeeze(1)
        return s_x, s_z, s_xz


def encoder_and_discriminator(
    width: int, channels: int, latent_dim: int, *, share: bool, hidden_head: bool = False
) -> tuple[Encoder, Discriminator]:
    """An encoder and a discriminator, sharing their first three blocks when ``share``.

    Sharing is the "(S)" configuration of Table 8.5.
    """
    trunk = Trunk(width, channels) if share else None
    encoder = Encoder(width, channels, latent_dim, trunk=trunk, hidden_head=hidden_head)
    discriminator = Discriminator(width, channels, trunk=trunk)
    return encoder, discriminator


@torch.no_grad()
def standing_stats(module: nn.Module, forward: Callable[[], object], passes: int = 16) -> None:
    """Standing statistics (section 6.3.3, after BigGAN): re-estimate every batch norm's mean
    and variance as the average over ``passes`` forward passes, then leave ``module`` in
    evaluation mode.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: the plain mean over the passes
    module.train()
    for _ in range(passes):
        forward()
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    module.eval()
