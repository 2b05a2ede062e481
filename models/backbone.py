"""The residual backbone shared by every model of the project, in 1-D and 2-D.

These are the BigGAN-style blocks of the thesis (section 6.3.3, Fig. 6.1; reused for light
curves in section 9.5.2): spectral normalisation on every weight, N(0, 0.02) initialisation,
batch norm whose gain and bias are linear in a latent code, linear/bilinear up-sampling in the
generator (decoder) and average pooling in the encoder/discriminator.  One implementation
serves both signal kinds: ``dims=1`` for folded light curves (length axis only), ``dims=2``
for images.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

INIT_STD = 0.02


def _init_normal(module: nn.Module) -> nn.Module:
    nn.init.normal_(module.weight, 0.0, INIT_STD)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


def sn_conv(
    dims: int, in_channels: int, out_channels: int, kernel_size: int, spectral: bool = True
) -> nn.Module:
    """A spectrally normalised convolution; 3-wide kernels pad by one, 1-wide do not.

    ``spectral=False`` gives the plain convolution with PyTorch's default initialisation.
    """
    conv_cls = {1: nn.Conv1d, 2: nn.Conv2d}[dims]
    conv = conv_cls(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
    return spectral_norm(_init_normal(conv)) if spectral else conv


def sn_linear(in_features: int, out_features: int) -> nn.Module:
    """A spectrally normalised linear map."""
    return spectral_norm(_init_normal(nn.Linear(in_features, out_features)))


def frozen_weights(module: nn.Module) -> nn.Module:
    """An evaluation-mode copy of ``module`` whose spectrally normalised weights are stored.

    In evaluation mode spectral normalisation divides every weight by its stored sigma
    estimate on each access (W / sigma(W), section 6.3.3); for inference the quotients are
    computed once here, which takes that work out of every forward pass.  The values are the
    ones the parametrised module computes, so scores are unchanged bit for bit.  ``module``
    itself is left as it is (it can go on training).
    """
    frozen = copy.deepcopy(module).eval()
    for child in [m for m in frozen.modules() if parametrize.is_parametrized(m)]:
        with torch.no_grad():
            values = {name: getattr(child, name).clone() for name in child.parametrizations}
        # The copy shares its "Parametrized..." class with ``module``, so the class is not
        # edited (``remove_parametrizations`` would); the copy is given back its plain class.
        child.__class__ = type(child).__bases__[0]
        del child._modules["parametrizations"]
        for name, value in values.items():
            child.register_parameter(name, nn.Parameter(value))
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)
    return frozen


def _batch_norm(dims: int, channels: int, affine: bool) -> nn.Module:
    return {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims](channels, affine=affine)


def _broadcast(v: torch.Tensor, dims: int) -> torch.Tensor:
    return v.reshape(v.shape + (1,) * dims)


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain and bias are linear functions of a conditioning code (Fig. 6.1a).

    ``gain = 1 + W_g c`` and ``bias = W_b c``.  With ``cond_dim == 0`` it is an ordinary
    batch norm with learnable affine parameters.
    """

    def __init__(self, dims: int, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.dims = dims
        self.cond_dim = cond_dim
        self.norm = _batch_norm(dims, channels, affine=cond_dim == 0)
        if cond_dim > 0:
            self.gain = sn_linear(cond_dim, channels)
            self.bias = sn_linear(cond_dim, channels)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        out = self.norm(x)
        if self.cond_dim == 0:
            return out
        if cond is None:
            raise ValueError("this batch norm is conditional: pass the conditioning code")
        gain = 1.0 + _broadcast(self.gain(cond), self.dims)
        return out * gain + _broadcast(self.bias(cond), self.dims)


def upsample(x: torch.Tensor, dims: int) -> torch.Tensor:
    """Doubles every spatial axis by linear (1-D) or bilinear (2-D) interpolation."""
    mode = {1: "linear", 2: "bilinear"}[dims]
    return F.interpolate(x, scale_factor=2, mode=mode, align_corners=False)


SLICED_POOLING_MIN_ELEMENTS = 1 << 17
"""Inputs from this size on are pooled by :func:`avg_pool_1d` (the same bits either way).

Below it the slices' dozen extra tensor operations cost more than they save: each is a trip
through the dispatcher (and, when the service ran its passes on threads, a handover of the
interpreter lock), while torch's pooling kernel takes only tens of microseconds on such
inputs.
"""


def avg_pool(x: torch.Tensor, dims: int, kernel_size: int) -> torch.Tensor:
    """Halves every spatial axis with average pooling of the given kernel size.

    Kernel 2 (images, section 6.3.3) is the plain 2x2 mean; kernel 3 (light curves,
    section 9.5.2) is an overlapping window with stride 2 and one sample of padding.
    """
    if dims == 1 and x.numel() >= SLICED_POOLING_MIN_ELEMENTS:
        return avg_pool_1d(x, kernel_size)
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d}[dims]
    padding = (kernel_size - 1) // 2
    return pool(x, kernel_size, stride=2, padding=padding, count_include_pad=False)


def avg_pool_1d(x: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """``avg_pool1d(x, kernel_size, stride=2, padding=(kernel_size - 1) // 2,
    count_include_pad=False)`` as a sum of strided slices of the padded input.

    The sums are taken in the same order and divided by the same counts, so the result is
    the same bit for bit; the slices run three to five times faster than torch's pooling
    kernel on the short, wide inputs of the light-curve encoder.
    """
    pad = (kernel_size - 1) // 2
    length = x.shape[-1]
    stop = 2 * ((length + 2 * pad - kernel_size) // 2) + 1
    padded = F.pad(x, (pad, pad))
    inside = F.pad(x.new_ones(length), (pad, pad))
    total, count = padded[..., 0:stop:2], inside[0:stop:2]
    for offset in range(1, kernel_size):
        total = total + padded[..., offset : offset + stop : 2]
        count = count + inside[offset : offset + stop : 2]
    return total / count


class ResBlockUp(nn.Module):
    """Generator ("Resblock up") block of Fig. 6.1a.

    main: CBN -> ReLU -> upsample -> conv3 -> CBN -> ReLU -> conv3
    skip: upsample -> conv1
    """

    def __init__(self, dims: int, in_channels: int, out_channels: int, cond_dim: int) -> None:
        super().__init__()
        self.dims = dims
        self.bn1 = ConditionalBatchNorm(dims, in_channels, cond_dim)
        self.conv1 = sn_conv(dims, in_channels, out_channels, 3)
        self.bn2 = ConditionalBatchNorm(dims, out_channels, cond_dim)
        self.conv2 = sn_conv(dims, out_channels, out_channels, 3)
        self.skip = sn_conv(dims, in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = upsample(F.relu(self.bn1(x, cond)), self.dims)
        h = self.conv1(h)
        h = self.conv2(F.relu(self.bn2(h, cond)))
        return h + self.skip(upsample(x, self.dims))


class ResBlockDown(nn.Module):
    """Encoder/discriminator ("Resblock down") block of Fig. 6.1b.

    main: ReLU -> conv3 -> ReLU -> conv3 -> avgpool
    skip: conv1 -> avgpool

    ``first=True`` is the input block: it has no leading ReLU and its skip path pools
    before the 1x1 convolution.  ``downsample=False`` is the block marked with an asterisk
    in Tables 6.2/6.3: no pooling, and an identity skip when the widths agree.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        *,
        first: bool = False,
        downsample: bool = True,
        pool_kernel: int = 2,
        spectral: bool = True,
    ) -> None:
        super().__init__()
        self.dims = dims
        self.first = first
        self.downsample = downsample
        self.pool_kernel = pool_kernel
        self.conv1 = sn_conv(dims, in_channels, out_channels, 3, spectral)
        self.conv2 = sn_conv(dims, out_channels, out_channels, 3, spectral)
        needs_skip_conv = downsample or in_channels != out_channels
        self.skip = (
            sn_conv(dims, in_channels, out_channels, 1, spectral) if needs_skip_conv else None
        )

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return avg_pool(x, self.dims, self.pool_kernel) if self.downsample else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        h = self._pool(h)
        if self.skip is None:
            return h + x
        if self.first:
            return h + self.skip(self._pool(x))
        return h + self._pool(self.skip(x))
