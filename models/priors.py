"""Priors p(z): the standard normal of chapter 6 and the Gaussian mixture of chapters 7-8.

Both expose the same small interface: ``sample(n)`` returns codes and (for the mixture) their
clusters, ``log_prob(z)`` the log-density, and ``cluster(z)`` the most likely cluster.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from models.divergences import LOG_2PI

LOGVAR_MIN = -12.0


class StandardNormalPrior(nn.Module):
    """p(z) = N(0, I)."""

    is_mixture = False
    n_clusters = 0

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        return torch.randn(n, self.latent_dim, device=self._anchor.device), None

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)

    def cluster(self, z: torch.Tensor) -> torch.Tensor | None:
        return None


class GaussianMixturePrior(nn.Module):
    """p(z) = sum_k phi_k N(z | mu_k, diag sigma_k^2) (sections 7.1 and 7.2).

    The weights are fixed to ``phi_k = 1/K`` (as in the MPCC experiments, section 7.2.2); the
    means and variances are learnable.  ``sigma_floor`` is the minimum standard deviation of
    section 8.1.3 (0.5 for MPCC): :meth:`project` clamps the parameters after every update and
    the forward computations clamp as well.
    """

    is_mixture = True

    def __init__(
        self,
        n_clusters: int,
        latent_dim: int,
        *,
        sigma_floor: float = 0.0,
        init_scale: float = 1.0,
        init_sigma: float = 1.0,
    ) -> None:
        super().__init__()
        if n_clusters < 1:
            raise ValueError("a mixture prior needs at least one cluster")
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.sigma_floor = sigma_floor
        self.mu = nn.Parameter(init_scale * torch.randn(n_clusters, latent_dim))
        init_logvar = 2.0 * math.log(max(init_sigma, sigma_floor))
        self.logvar = nn.Parameter(torch.full((n_clusters, latent_dim), init_logvar))

    @property
    def min_logvar(self) -> float:
        return 2.0 * math.log(self.sigma_floor) if self.sigma_floor > 0 else LOGVAR_MIN

    def clamped_logvar(self) -> torch.Tensor:
        return self.logvar.clamp_min(self.min_logvar)

    @torch.no_grad()
    def project(self) -> None:
        """Enforce the sigma floor on the parameters themselves (section 8.1.3)."""
        self.logvar.clamp_(min=self.min_logvar)

    @torch.no_grad()
    def set_parameters(self, mu: torch.Tensor, var: torch.Tensor) -> None:
        """Initialise the components, e.g. from a GMM fitted on pretrained codes (VaDE)."""
        self.mu.copy_(mu)
        self.logvar.copy_(var.log())
        self.project()

    def log_weights(self) -> torch.Tensor:
        return torch.full((self.n_clusters,), -math.log(self.n_clusters), device=self.mu.device)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """y ~ Cat(phi), z = mu_y + sigma_y * eps (reparameterised, so gradients reach the
        mixture parameters)."""
        y = torch.randint(0, self.n_clusters, (n,), device=self.mu.device)
        std = torch.exp(0.5 * self.clamped_logvar())
        z = self.mu[y] + std[y] * torch.randn(n, self.latent_dim, device=self.mu.device)
        return z, y

    def component_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z | mu_k, sigma_k^2) for every component: ``(N, K)``."""
        logvar = self.clamped_logvar()
        diff = z.unsqueeze(1) - self.mu.unsqueeze(0)
        return -0.5 * (LOG_2PI + logvar + diff.pow(2) * torch.exp(-logvar)).sum(-1)

    def log_joint(self, z: torch.Tensor) -> torch.Tensor:
        """log phi_k + log N(z | mu_k, sigma_k^2): ``(N, K)``."""
        return self.log_weights() + self.component_log_prob(z)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(self.log_joint(z), dim=-1)

    def log_responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        """log q(y|z) (eq. 7.15), computed with the log-sum-exp trick."""
        joint = self.log_joint(z)
        return joint - torch.logsumexp(joint, dim=-1, keepdim=True)

    def cluster(self, z: torch.Tensor) -> torch.Tensor:
        """c = argmax_k q(y = k | z) (section 8.1.2)."""
        return self.log_joint(z).argmax(-1)

    def entropy_loss(self) -> torch.Tensor:
        """L_p(phi, sigma^2) of eq. 7.16, with its variance term scaled by 1/J (section 7.2.2).

        ``sum_k phi_k [log phi_k - (1/J) sum_j (1/2 + 1/2 log(2 pi sigma_kj^2))]``; minimising it
        maximises the entropy of the weights and of every component.
        """
        log_phi = self.log_weights()
        per_component = (0.5 + 0.5 * (LOG_2PI + self.clamped_logvar())).sum(-1)
        return (log_phi.exp() * (log_phi - per_component / self.latent_dim)).sum()
