"""Autoencoding models that bound I_q(x, z): VAE/beta-VAE, WVAE, JS-VAE and InfoVAE (MMD).

All of them minimise ``E_q(x,z)[-log p(x|z)] + beta * R_q`` (Table 5.1, section 6.2), where
the likelihood term is the squared error summed over the pixels (a Gaussian p(x|z) up to a
constant, section 6.1) and the restriction R_q is

* VAE / beta-VAE: E_q(x)[D_KL(q(z|x) || p(z))] (eqs. 2.4/2.5);
* WVAE: W_2(q(z), p(z)) with q(z) fitted as a Gaussian from the batch of posterior means
  (eqs. 6.2, 6.3 and 6.5);
* JS-VAE: D_JS(q(z) || p(z)) for the same Gaussian fit (section 6.2);
* InfoVAE: MMD(q(z), p(z)) between posterior samples and prior samples (Table 5.1).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from models.base import Draw, GIConfig, GIModel
from models.divergences import (
    fit_gaussian,
    gaussian_js,
    kl_diag_standard,
    mmd2,
    wasserstein2,
)
from models.networks import Encoder

# A batch of J-dimensional posterior means can be rank deficient; a small ridge keeps the
# fitted covariance positive definite for the log-determinants and the matrix square root.
COV_JITTER = 1e-4


class AutoencoderConfig(GIConfig):
    """``beta`` weights the restriction R_q (the beta of Tables 6.4/6.5)."""

    beta: float = Field(1.0, ge=0)


class MMDConfig(AutoencoderConfig):
    kernel: Literal["imq", "rbf"] = "imq"


def reconstruction_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error summed over the pixels, averaged over the batch: -log p(x|z) + const."""
    return (x_hat - x).pow(2).flatten(1).sum(1).mean()


class Autoencoder(GIModel):
    """Shared training step: encode, sample z~ ~ q(z|x), decode, add the restriction."""

    config_class = AutoencoderConfig
    config: AutoencoderConfig

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__(config)
        self.encoder = Encoder(config.width, config.channels, config.latent_dim)
        self._optimizers = {"model": self.adam(self.parameters())}

    def restriction(self, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def train_step(self, draw: Draw) -> dict[str, float]:
        x = draw()
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        rec = reconstruction_error(self.decode(z), x)
        restriction = self.restriction(mu, logvar, z)
        loss = rec + self.config.beta * restriction
        self.step_optimizer("model", loss)
        return {"loss": loss.item(), "rec": rec.item(), "restriction": restriction.item()}

    def _standard_normal(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dim = like.shape[1]
        return torch.zeros(dim, dtype=like.dtype), torch.eye(dim, dtype=like.dtype)


class VAE(Autoencoder):
    """VAE (beta = 1) and beta-VAE: R_q = E_q(x)[D_KL(q(z|x) || N(0, I))] (eqs. 2.4, 2.5)."""

    name = "vae"

    def restriction(self, mu, logvar, z):
        return kl_diag_standard(mu, logvar).mean()


class WVAE(Autoencoder):
    """Wasserstein VAE: R_q = W_2(N(mu(z), Cov(z)), N(0, I)) (eqs. 6.2, 6.3, 6.5)."""

    name = "wvae"

    def restriction(self, mu, logvar, z):
        mean, cov = fit_gaussian(mu, jitter=COV_JITTER)
        return wasserstein2(mean, cov, *self._standard_normal(mu))


class JSVAE(Autoencoder):
    """JS-VAE: R_q = D_JS(N(mu(z), Cov(z)) || N(0, I)) (section 6.2)."""

    name = "jsvae"

    def restriction(self, mu, logvar, z):
        mean, cov = fit_gaussian(mu, jitter=COV_JITTER)
        return gaussian_js(mean, cov, *self._standard_normal(mu))


class InfoVAE(Autoencoder):
    """InfoVAE / WAE-MMD: R_q = MMD^2(q(z), p(z)) between z~ ~ q(z|x) and z ~ N(0, I)."""

    name = "mmd"
    config_class = MMDConfig
    config: MMDConfig

    def restriction(self, mu, logvar, z):
        prior_z, _ = self.prior.sample(z.shape[0])
        return mmd2(z, prior_z, kernel=self.config.kernel)
