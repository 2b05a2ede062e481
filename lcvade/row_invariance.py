"""Layers whose result for one row does not depend on how many rows share the batch.

A linear map (the encoder's mean and log-variance heads, section 9.5.2) is one matrix
product over the whole batch, and oneDNN computes a 1-wide convolution (the skip path of the
residual blocks, Fig. 6.1b) the same way, with the batch folded into the product.  The
library's float32 kernels pick their blocking and vector paths from the size of that
product, so the same light curve encoded in batches of 2, 4 or 16 rows comes out different
in the last bits (up to a few 1e-5 of the IAS on this project's CPU).

The replacements here compute the same maps as batched matrix products, one product of a
fixed size per row: a row's result is then the same whatever the number of rows.  The
3-wide convolutions need no replacement on the CPU: oneDNN already computes them sample by
sample.  Whether a whole model is row invariant on a given machine is still an empirical
property of its kernels; :func:`service.passes.rows_change_scores` checks it before the
service relies on it.

The maps are the same functions as the modules they replace (equal up to float32 rounding);
they are for inference: they keep the trained weights and take no part in training.
"""

from __future__ import annotations

import torch
from torch import nn


class RowwiseLinear(nn.Module):
    """``nn.Linear`` as one matrix product per row of the leading (batch) axis."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.register_buffer("weight", linear.weight.detach().contiguous())
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.shape[0]
        flat = x.reshape(rows, -1, x.shape[-1])
        out = torch.bmm(flat, self.weight.t().expand(rows, -1, -1))
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], out.shape[-1])


class RowwisePointwiseConv1d(nn.Module):
    """A 1-wide ``nn.Conv1d`` (stride 1, no padding) as one matrix product per sample."""

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        if not is_pointwise_conv1d(conv):
            raise ValueError("only 1-wide, stride-1, unpadded, ungrouped convolutions")
        self.register_buffer("weight", conv.weight.detach()[:, :, 0].contiguous())
        bias = None if conv.bias is None else conv.bias.detach()[:, None].contiguous()
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.bmm(self.weight.expand(x.shape[0], -1, -1), x)
        return out if self.bias is None else out + self.bias


def is_pointwise_conv1d(module: nn.Module) -> bool:
    """A plain (not parametrised) 1-wide convolution: a matrix product along the length."""
    return (
        type(module) is nn.Conv1d
        and module.kernel_size == (1,)
        and module.stride == (1,)
        and module.dilation == (1,)
        and module.groups == 1
        and module.padding in ((0,), "valid")
    )


def with_row_invariant_layers(module: nn.Module) -> nn.Module:
    """``module`` with every linear map and 1-wide 1-D convolution replaced, in place.

    Meant for an evaluation copy whose weights are plain tensors
    (:func:`models.backbone.frozen_weights`); the new layers hold them as buffers on the same
    device.
    """
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Linear:
                setattr(parent, name, RowwiseLinear(child))
            elif is_pointwise_conv1d(child):
                setattr(parent, name, RowwisePointwiseConv1d(child))
    return module
