"""Matching Priors and Conditionals for Clustering (MPCC, section 7.2, Algorithm 1).

Generative model p(y) p(z|y) p(x|z, y) with a learnable Gaussian mixture p(z) and inference
model q(y|z) q(z|x) q(x).  The loss (eq. 7.11) has three parts:

* Loss I: a hinge GAN between the conditional generator and the data (eq. 7.12);
* Loss II: the encoder likelihood L_q (eq. 7.13, scaled by 1/dim x) and the cluster
  cross-entropy L_c between the sampled y and q(y|z) (eqs. 7.14, 7.15);
* Loss III: the mixture regulariser L_p (eq. 7.16, variance term scaled by 1/J), weighted by
  lambda_p.

Algorithm 1: per iteration, ``d_steps`` discriminator updates, one generator update that
also moves the prior parameters theta_c (learning rate eta), and ``e_steps`` encoder updates;
after the first encoder update the prior takes one step on ``L_c + lambda_p L_p`` with its
own learning rate eta_p.  The prior's standard deviations never go below ``sigma_floor``
(section 8.1.3).  The defaults are those of the thesis for MNIST (sections 8.1.3, 8.1.4,
8.2.1): D_steps = 4, E_steps = 4, eta_p = 1.6e-3, lambda_p = 0.01, sigma floor 0.5, J = 24,
C = 12, shared encoder/discriminator trunk and the class-embedding delivery ("embed").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from models.adversarial import AIM, AIMConfig
from models.base import Draw
from models.conditioning import DELIVERIES, Delivery
from models.priors import GaussianMixturePrior


class MPCCConfig(AIMConfig):
    width: int = Field(12, ge=1)
    latent_dim: int = Field(24, ge=1)
    n_clusters: int = Field(10, ge=1)
    d_steps: int = Field(4, ge=1)
    e_steps: int = Field(4, ge=1)
    prior_lr: float = Field(1.6e-3, gt=0)
    lambda_p: float = Field(0.01, ge=0)
    sigma_floor: float = Field(0.5, ge=0)
    prior_init_scale: float = Field(1.0, gt=0)
    delivery: Delivery = "embed"
    share: bool = True
    hidden_head: bool = True


class MPCC(AIM):
    """MPCC (Algorithm 1)."""

    name = "mpcc"
    config_class = MPCCConfig
    config: MPCCConfig

    def __init__(self, config: MPCCConfig) -> None:
        if config.delivery not in DELIVERIES:
            raise ValueError(f"unknown delivery {config.delivery!r}")
        self.delivery_method = config.delivery
        super().__init__(config)
        prior_params = list(self.prior.parameters())
        # line 17 of Algorithm 1 moves (theta_g, theta_c) with eta; line 26 moves theta_c
        # with eta_p: two optimizers hold the prior parameters.
        self._optimizers["generator"] = self.adam([*self.generator_parameters(), *prior_params])
        self._optimizers["prior"] = self.adam(prior_params, lr=config.prior_lr)

    def build_prior(self) -> GaussianMixturePrior:
        cfg = self.config
        return GaussianMixturePrior(
            cfg.n_clusters,
            cfg.latent_dim,
            sigma_floor=cfg.sigma_floor,
            init_scale=cfg.prior_init_scale,
            init_sigma=1.0,
        )

    def generator_step(self, n: int) -> torch.Tensor:
        loss = super().generator_step(n)
        self.prior.project()
        return loss

    def prior_step(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Lines 25-26 of Algorithm 1: ``L_c + lambda_p L_p`` with learning rate eta_p."""
        z, y = self.prior.sample(n)
        l_c = F.nll_loss(self.prior.log_responsibilities(z), y)
        l_p = self.prior.entropy_loss()
        self.step_optimizer("prior", l_c + self.config.lambda_p * l_p)
        self.prior.project()
        return l_c.detach(), l_p.detach()

    def train_step(self, draw: Draw) -> dict[str, float]:
        d_steps = [self.discriminator_step(draw) for _ in range(self.config.d_steps)]
        n = d_steps[-1][1]
        loss_g = self.generator_step(n)
        enc = []
        l_c = l_p = torch.zeros(())
        for i in range(self.config.e_steps):
            enc.append(self.encoder_step(n)[0])
            if i == 0:
                l_c, l_p = self.prior_step(n)
        return {
            "d": float(torch.stack([loss for loss, _ in d_steps]).mean()),
            "g": loss_g.item(),
            "e": float(torch.stack(enc).mean()),
            "c": l_c.item(),
            "p": l_p.item(),
        }
