"""Variational Deep Embedding (VaDE, section 7.1).

Generative model p(y) p(z|y) p(x|z), inference model q(y|z) q(z|x) q(x) with q(y|z) the
posterior responsibilities of the Gaussian mixture prior (eq. 7.15).  The loss is the
negative ELBO of eq. 7.1,

    E_q[-log p(x|z)] + sum_k gamma_k E_q(z|x)[-log p(z|y=k)] - sum_k gamma_k log phi_k
    + sum_k gamma_k log gamma_k - h_q(z|x),

with the reconstruction as the summed squared error (one reparameterised sample), the
expected log-density of eq. 7.20 in closed form, gamma = q(y|z~) and the Gaussian entropy
h_q(z|x) in closed form.

Like the original VaDE, the model pretrains: ``pretrain_steps`` iterations as a plain
autoencoder on the posterior means, then a diagonal Gaussian mixture fitted to the codes of
the training set initialises the prior.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from pydantic import Field
from sklearn.mixture import GaussianMixture

from models.autoencoders import reconstruction_error
from models.base import Draw, GIConfig, GIModel
from models.divergences import LOG_2PI, diag_entropy
from models.networks import Encoder
from models.priors import GaussianMixturePrior


class VaDEConfig(GIConfig):
    """``pretrain_steps``: autoencoder iterations before the GMM initialisation;
    ``prior_lr``: learning rate of the mixture parameters (``None``: the model's)."""

    n_clusters: int = Field(10, ge=1)
    pretrain_steps: int = Field(0, ge=0)
    prior_lr: float | None = Field(None, gt=0)
    sigma_floor: float = Field(0.0, ge=0)
    gmm_restarts: int = Field(5, ge=1)


def expected_component_log_prob(
    mu: torch.Tensor, logvar: torch.Tensor, prior: GaussianMixturePrior
) -> torch.Tensor:
    """E_{N(z|mu, e^logvar)}[log N(z | mu_k, sigma_k^2)] for every component: ``(N, K)``."""
    prior_logvar = prior.clamped_logvar()
    diff = mu.unsqueeze(1) - prior.mu.unsqueeze(0)
    ratio = (logvar.exp().unsqueeze(1) + diff.pow(2)) * torch.exp(-prior_logvar)
    return -0.5 * (LOG_2PI + prior_logvar + ratio).sum(-1)


class VaDE(GIModel):
    """VaDE with the shared generator and encoder (Tables 6.1, 6.2)."""

    name = "vade"
    config_class = VaDEConfig
    config: VaDEConfig

    def __init__(self, config: VaDEConfig) -> None:
        super().__init__(config)
        self.encoder = Encoder(config.width, config.channels, config.latent_dim)
        self.pretrain_steps = config.pretrain_steps
        network = [*self.encoder.parameters(), *self.generator.parameters()]
        prior = list(self.prior.parameters())
        prior_lr = config.lr if config.prior_lr is None else config.prior_lr
        model_opt = self.adam(network)
        model_opt.add_param_group({"params": prior, "lr": prior_lr})
        self._optimizers = {"model": model_opt, "pretrain": self.adam(network)}

    def build_prior(self) -> GaussianMixturePrior:
        cfg = self.config
        return GaussianMixturePrior(cfg.n_clusters, cfg.latent_dim, sigma_floor=cfg.sigma_floor)

    def loss_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        rec = reconstruction_error(self.decode(z), x)
        log_gamma = self.prior.log_responsibilities(z)
        gamma = log_gamma.exp()
        cross = -(gamma * expected_component_log_prob(mu, logvar, self.prior)).sum(-1)
        weights = -(gamma * self.prior.log_weights()).sum(-1)
        neg_entropy_y = (gamma * log_gamma).sum(-1)
        latent = cross + weights + neg_entropy_y - diag_entropy(logvar)
        return {"rec": rec, "latent": latent.mean()}

    def train_step(self, draw: Draw) -> dict[str, float]:
        terms = self.loss_terms(draw())
        loss = terms["rec"] + terms["latent"]
        self.step_optimizer("model", loss)
        self.prior.project()
        return {"loss": loss.item(), "rec": terms["rec"].item(), "latent": terms["latent"].item()}

    def pretrain_step(self, draw: Draw) -> dict[str, float]:
        """Autoencoder pretraining on the posterior means."""
        x = draw()
        mu, _ = self.encode(x)
        rec = reconstruction_error(self.decode(mu), x)
        self.step_optimizer("pretrain", rec)
        return {"pretrain_rec": rec.item()}

    @torch.no_grad()
    def finish_pretraining(self, images: torch.Tensor, batch_size: int = 256) -> None:
        """Initialise the mixture prior from a diagonal GMM fitted to the pretrained codes."""
        was_training = self.training
        self.eval()
        codes = torch.cat([self.encode(b)[0] for b in images.split(batch_size)])
        self.train(was_training)
        seed = int(torch.randint(0, 2**31 - 1, ()).item())
        gmm = GaussianMixture(
            self.config.n_clusters,
            covariance_type="diag",
            n_init=self.config.gmm_restarts,
            random_state=seed,
            reg_covar=1e-4,
        )
        gmm.fit(codes.double().cpu().numpy())
        var = np.maximum(gmm.covariances_, math.exp(self.prior.min_logvar))
        self.prior.set_parameters(
            torch.as_tensor(gmm.means_, dtype=torch.float32),
            torch.as_tensor(var, dtype=torch.float32),
        )
