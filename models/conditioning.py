"""How the latent code z (and the cluster y) reach the generator (sections 6.3.3 and 8.1.4).

The generator of :mod:`models.networks` takes one input code for its first linear layer and
one conditioning code per residual up block; the gain and bias of every batch norm are
linear in that code (Fig. 6.1a / 8.1).  This module builds those codes:

* ``"latent"`` (chapter 6): z goes to the input layer and the same z to every block.
* ``"split"`` (8.1.4, first method, hierarchical latent space): z is split into four equal
  chunks; the first feeds the input layer, chunk i+1 concatenated with a shared class
  embedding Embed(y) feeds block i.
* ``"shared"`` (8.1.4, second method): as ``"split"`` but every part receives a copy of the
  whole z instead of a chunk.
* ``"embed"`` (8.1.4, third method): z goes to the input layer only, and every batch norm
  learns its own class embedding: its linear gain/bias map applied to the one-hot y.

The backbone's :class:`~models.backbone.ConditionalBatchNorm` is reused unchanged: the
delivery only decides which vector each block receives.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Delivery = Literal["latent", "split", "shared", "embed"]
DELIVERIES: tuple[str, ...] = ("latent", "split", "shared", "embed")


class LatentDelivery(nn.Module):
    """Maps ``(z, y)`` to the generator's input code and its per-block conditioning codes."""

    def __init__(
        self,
        method: Delivery,
        latent_dim: int,
        n_blocks: int = 3,
        n_classes: int = 0,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        if method not in DELIVERIES:
            raise ValueError(f"unknown delivery {method!r}; choose one of {DELIVERIES}")
        if method != "latent" and n_classes < 1:
            raise ValueError(f"delivery {method!r} needs the number of clusters (n_classes)")
        self.method = method
        self.latent_dim = latent_dim
        self.n_blocks = n_blocks
        self.n_classes = n_classes
        embed_dim = latent_dim if embed_dim is None else embed_dim
        self.embed: nn.Embedding | None = None
        if method in ("split", "shared"):
            # Table 8.1: a shared Embed(y) in R^J
            self.embed = nn.Embedding(n_classes, embed_dim)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if method == "latent":
            self.input_dim, self.cond_dim = latent_dim, latent_dim
        elif method == "split":
            if latent_dim % (n_blocks + 1):
                raise ValueError(
                    f"the split delivery needs J divisible by {n_blocks + 1}, got J={latent_dim}"
                )
            chunk = latent_dim // (n_blocks + 1)
            self.input_dim, self.cond_dim = chunk, chunk + embed_dim
        elif method == "shared":
            self.input_dim, self.cond_dim = latent_dim, latent_dim + embed_dim
        else:
            self.input_dim, self.cond_dim = latent_dim, n_classes

    def forward(
        self, z: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if self.method == "latent":
            return z, [z] * self.n_blocks
        if y is None:
            raise ValueError(f"delivery {self.method!r} needs the cluster y of every code")
        if self.method == "embed":
            onehot = F.one_hot(y, self.n_classes).to(z.dtype)
            return z, [onehot] * self.n_blocks
        assert self.embed is not None
        e = self.embed(y)
        if self.method == "shared":
            cond = torch.cat([z, e], dim=1)
            return z, [cond] * self.n_blocks
        chunks = torch.chunk(z, self.n_blocks + 1, dim=1)
        return chunks[0], [torch.cat([c, e], dim=1) for c in chunks[1:]]
