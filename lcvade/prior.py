"""The mixture prior of LC-VaDE and the classifier it induces (thesis section 9.4.1).

p(y) is uniform over the K classes unless class weights pi_k are given (training batches are
class balanced, so the bound is always trained with the uniform p(y); weights such as the
training frequencies then correct the classifier for classes of unequal size), and
p(z|y=k) and p(f|y=k) are learnable diagonal Gaussians.  The classifier is the posterior of
the prior,

    q(y=k|z,f) = p(y=k) p(z|y=k) p(f|y=k) / sum_k' p(y=k') p(z|y=k') p(f|y=k'),

computed in log space with log-sum-exp.  Standard deviations are floored (the sigma floor of
section 8.1.3), so no component can collapse onto a point.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lcvade.gaussians import expected_log_normal, log_normal


class MixturePrior(nn.Module):
    """p(y) p(z|y) p(f|y) with K components over J latent and F feature dimensions."""

    def __init__(
        self,
        n_classes: int,
        latent_dim: int,
        feature_dim: int,
        std_floor: float,
        class_weights: list[float] | None = None,
    ):
        super().__init__()
        self.n_classes = n_classes
        self.var_floor = std_floor**2
        generator = torch.Generator().manual_seed(0)
        self.z_mean = nn.Parameter(torch.randn(n_classes, latent_dim, generator=generator))
        self.z_logvar = nn.Parameter(torch.zeros(n_classes, latent_dim))
        self.f_mean = nn.Parameter(torch.zeros(n_classes, feature_dim))
        self.f_logvar = nn.Parameter(torch.zeros(n_classes, feature_dim))
        # log p(y=k) of the classifier; derived from the config, so not stored with the weights
        self.register_buffer("log_weights", torch.zeros(n_classes), persistent=False)
        self.set_class_weights(class_weights)

    @torch.no_grad()
    def set_class_weights(self, weights: list[float] | None) -> None:
        """Set log p(y=k) = log pi_k (normalised), or -log K for ``None``."""
        if weights is None:
            self.log_weights.fill_(-math.log(self.n_classes))
            return
        w = torch.as_tensor(weights, dtype=torch.float64)
        self.log_weights.copy_((w / w.sum()).log().to(self.log_weights.dtype))

    @torch.no_grad()
    def initialize_features(self, f: torch.Tensor, labels: torch.Tensor) -> None:
        """Set every p(f|y=k) to the mean and variance of the (standardised) features of class k.

        A data-driven start in the spirit of VaDE's (section 7.1 initialises its mixture from
        the training set); classes with fewer than two examples keep their parameters.  The
        latent components p(z|y) keep their spread-out random start, so that the encoder is
        pulled towards separate clusters from the first step.
        """
        for k in range(self.n_classes):
            rows = f[labels == k]
            if rows.shape[0] < 2:
                continue
            self.f_mean[k] = rows.mean(0)
            self.f_logvar[k] = (rows.var(0) + self.var_floor).log()

    @property
    def log_py(self) -> float:
        """log p(y=k) = -log K of the bound (training batches are class balanced)."""
        return -math.log(self.n_classes)

    def z_var(self) -> torch.Tensor:
        return self.z_logvar.exp() + self.var_floor

    def f_var(self) -> torch.Tensor:
        return self.f_logvar.exp() + self.var_floor

    def log_pz(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z|y=k) for every curve and class: (N, J) -> (N, K)."""
        return log_normal(z.unsqueeze(1), self.z_mean, self.z_var()).sum(-1)

    def log_pf(self, f: torch.Tensor) -> torch.Tensor:
        """log p(f|y=k) for every curve and class: (N, F) -> (N, K)."""
        return log_normal(f.unsqueeze(1), self.f_mean, self.f_var()).sum(-1)

    def expected_log_pz(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """E_{q(z|x)}[log p(z|y=k)] in closed form: (N, J) x 2 -> (N, K)."""
        return expected_log_normal(
            mean.unsqueeze(1), logvar.exp().unsqueeze(1), self.z_mean, self.z_var()
        ).sum(-1)

    def log_posterior(self, z: torch.Tensor, f: torch.Tensor | None) -> torch.Tensor:
        """log q(y|z,f), normalised with log-sum-exp: (N, K).

        With ``f=None`` it is the posterior of the latent part alone,
        q(y=k|z) = p(y=k) p(z|y=k) / sum_k' p(y=k') p(z|y=k'),

        with p(y=k) the class weights (:meth:`set_class_weights`).
        """
        joint = self.log_pz(z) + self.log_weights
        if f is not None:
            joint = joint + self.log_pf(f)
        return joint - torch.logsumexp(joint, dim=-1, keepdim=True)

    @torch.no_grad()
    def start_at_standard_normal(self) -> None:
        """Set every p(z|y=k) to N(0, I): mean 0 and variance exp(log v) + floor = 1.

        The start of a unimodal prior (the VAE of the thesis' Table 9.4 baseline), instead of
        the spread-out random means a mixture starts from.
        """
        self.z_mean.zero_()
        self.z_logvar.fill_(math.log(1.0 - self.var_floor))
