"""The common interface of every model of the image family (chapters 6-8).

Every model is an :class:`GIModel`: a generator p(x|z) (or p(x|z, y)) of Table 6.1/8.1, a
Gaussian encoder q(z|x) of Table 6.2/8.3, a prior p(z) and whatever discriminators its loss
needs.  Training is one call per iteration::

    losses = model.train_step(draw)   # draw() -> a batch of real images (N, D, 32, 32)

``train_step`` draws as many real batches as its algorithm needs (e.g. D_steps of them for
the adversarial models), updates its own optimizers and returns its losses as floats.
Models that pretrain (VaDE) run ``pretrain_step`` for their first ``pretrain_steps``
iterations, then ``finish_pretraining`` once with the whole training set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from models.conditioning import Delivery, LatentDelivery
from models.networks import IMAGE_SIZE, Generator, standing_stats
from models.priors import GaussianMixturePrior, StandardNormalPrior

Draw = Callable[[], torch.Tensor]


class GIConfig(BaseModel):
    """Hyper-parameters shared by all models (section 6.3.3).

    ``channels`` is D, ``width`` is C and ``latent_dim`` is J of Tables 6.1-6.3.  Adam uses
    ``beta1 = 0``, ``beta2 = 0.999`` and a learning rate of 2e-4 in the thesis.
    """

    model_config = ConfigDict(extra="forbid")

    channels: int = Field(1, ge=1)
    width: int = Field(8, ge=1)
    latent_dim: int = Field(10, ge=1)
    lr: float = Field(2e-4, gt=0)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)


class GIModel(nn.Module):
    """Base class: the generator, the prior, the latent delivery and the training interface."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[GIConfig]] = GIConfig
    pretrain_steps: int = 0
    delivery_method: Delivery = "latent"

    def __init__(self, config: GIConfig) -> None:
        super().__init__()
        self.config = config
        self.prior = self.build_prior()
        n_clusters = getattr(self.prior, "n_clusters", 0)
        self.delivery = LatentDelivery(self.delivery_method, config.latent_dim, 3, n_clusters)
        self.generator = Generator(
            config.width, config.channels, self.delivery.input_dim, self.delivery.cond_dim
        )
        self._optimizers: dict[str, torch.optim.Optimizer] = {}

    # -- construction -------------------------------------------------------------------------
    def build_prior(self) -> StandardNormalPrior | GaussianMixturePrior:
        return StandardNormalPrior(self.config.latent_dim)

    def adam(self, params, lr: float | None = None) -> torch.optim.Adam:
        cfg = self.config
        return torch.optim.Adam(
            list(params), lr=cfg.lr if lr is None else lr, betas=(cfg.beta1, cfg.beta2)
        )

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The model's optimizers by name (checkpointed with the weights)."""
        return self._optimizers

    @property
    def data_dim(self) -> int:
        """Dimensionality of x: channels x height x width."""
        return self.config.channels * IMAGE_SIZE * IMAGE_SIZE

    # -- the generative and inference models ----------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's mean image for codes z (and clusters y)."""
        code, conds = self.delivery(z, y)
        return self.generator(code, conds)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """x~ ~ p(x|z, y) with (z, y) ~ p(z, y); returns ``(x~, z, y)``."""
        z, y = self.prior.sample(n)
        return self.decode(z, y), z, y

    def cluster(self, z: torch.Tensor) -> torch.Tensor | None:
        """The cluster of each code under the prior (None without a mixture prior)."""
        return self.prior.cluster(z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the encoder's mean code of x (with its most likely cluster, if any)."""
        mu, _ = self.encode(x)
        return self.decode(mu, self.cluster(mu))

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    # -- training -----------------------------------------------------------------------------
    def train_step(self, draw: Draw) -> dict[str, float]:
        raise NotImplementedError

    def pretrain_step(self, draw: Draw) -> dict[str, float]:
        raise NotImplementedError(f"{self.name} does not pretrain")

    def finish_pretraining(self, images: torch.Tensor) -> None:
        """Called once after the last pretraining step, with the whole training set."""

    def step_optimizer(self, name: str, loss: torch.Tensor) -> None:
        """Zero every gradient of the model, back-propagate ``loss`` and step one optimizer.

        Zeroing all of them matters because parameters can be shared between optimizers
        (the encoder/discriminator trunk, the prior of MPCC).
        """
        self.zero_grad(set_to_none=True)
        loss.backward()
        self._optimizers[name].step()

    @torch.no_grad()
    def prepare_for_evaluation(self, batch_size: int = 64, passes: int = 16) -> None:
        """Standing statistics for the generator's batch norms, then evaluation mode."""
        standing_stats(self.generator, lambda: self.sample(batch_size), passes)
        self.eval()
