"""Closed-form terms of the loss and the IAS against Monte-Carlo estimates (1e5+ samples)."""

from __future__ import annotations

import pytest
import torch

from lcvade.gaussians import expected_log_normal, gaussian_entropy, log_normal
from lcvade.ias import information_anomaly_score
from lcvade.loss import reconstruction_log_likelihood
from lcvade.prior import MixturePrior

SAMPLES = 200_000


def close(a: torch.Tensor, b: torch.Tensor, rel: float = 0.01) -> bool:
    return bool(torch.all((a - b).abs() <= rel * b.abs()))


def posterior(seed: int, n: int, dim: int):
    gen = torch.Generator().manual_seed(seed)
    mean = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    logvar = torch.empty(n, dim, dtype=torch.float64).uniform_(-2.0, 1.0, generator=gen)
    z = mean + (0.5 * logvar).exp() * torch.randn(
        SAMPLES, n, dim, generator=gen, dtype=torch.float64
    )
    return mean, logvar, z


def test_gaussian_cross_entropy_matches_monte_carlo():
    gen = torch.Generator().manual_seed(1)
    mu = torch.randn(50, generator=gen, dtype=torch.float64)
    sigma = torch.empty(50, dtype=torch.float64).uniform_(0.05, 1.0, generator=gen)
    mu_hat = mu + 0.5 * torch.randn(50, generator=gen, dtype=torch.float64)
    var_hat = torch.empty(50, dtype=torch.float64).uniform_(0.05, 2.0, generator=gen)
    x = mu + sigma * torch.randn(SAMPLES, 50, generator=gen, dtype=torch.float64)
    mc = log_normal(x, mu_hat, var_hat).mean(0)
    exact = expected_log_normal(mu, sigma.square(), mu_hat, var_hat)
    assert close(exact, mc)
    # The thesis' printed eq. 9.7 (no 1/2 factors) is not the expectation:
    printed = (
        -torch.log(2 * torch.pi * var_hat) - sigma**2 / (2 * var_hat) - (mu - mu_hat) ** 2 / var_hat
    )
    assert not close(printed, mc)


def test_reconstruction_term_matches_monte_carlo_over_unmasked_points():
    gen = torch.Generator().manual_seed(2)
    n, length = 4, 30
    value = torch.randn(n, length, generator=gen, dtype=torch.float64)
    error = torch.empty(n, length, dtype=torch.float64).uniform_(0.05, 0.5, generator=gen)
    pred_mean = value + 0.3 * torch.randn(n, length, generator=gen, dtype=torch.float64)
    pred_var = torch.empty(n, length, dtype=torch.float64).uniform_(0.05, 1.0, generator=gen)
    mask = torch.rand(n, length, generator=gen) < 0.7
    exact = reconstruction_log_likelihood(value, error, mask, pred_mean, pred_var)
    x = value + error * torch.randn(SAMPLES, n, length, generator=gen, dtype=torch.float64)
    per_point = log_normal(x, pred_mean, pred_var)
    mc = torch.where(mask, per_point, torch.zeros_like(per_point)).sum(-1).mean(0)
    assert close(exact, mc)


def test_expected_log_prior_and_entropy_match_monte_carlo():
    prior = MixturePrior(n_classes=4, latent_dim=12, feature_dim=3, std_floor=1e-2).double()
    with torch.no_grad():
        prior.z_logvar.uniform_(-1.0, 1.0)
    mean, logvar, z = posterior(3, n=5, dim=12)
    exact = prior.expected_log_pz(mean, logvar)  # (N, K)
    # Vectorised MC: log p(z_s|y=k) for all samples at once.
    mc = log_normal(z.unsqueeze(2), prior.z_mean, prior.z_var()).sum(-1).mean(0)
    assert close(exact.detach(), mc.detach())
    entropy = gaussian_entropy(logvar)
    q = log_normal(z, mean, logvar.exp()).sum(-1)
    assert close(entropy, -q.mean(0))


@pytest.mark.parametrize("with_features", [False, True])
def test_ias_matches_monte_carlo(with_features):
    prior = MixturePrior(n_classes=3, latent_dim=12, feature_dim=3, std_floor=1e-2).double()
    mean, logvar, z = posterior(4, n=6, dim=12)
    features = torch.randn(6, 3, dtype=torch.float64)
    with torch.no_grad():
        q_y = prior.log_posterior(mean, features).exp()
        log_pf = prior.log_pf(features) if with_features else None
        exact = information_anomaly_score(
            q_y, prior.expected_log_pz(mean, logvar), gaussian_entropy(logvar), log_pf
        )
        log_pz = log_normal(z.unsqueeze(2), prior.z_mean, prior.z_var()).sum(-1)  # (S, N, K)
        if with_features:
            log_pz = log_pz + log_pf
        log_q = log_normal(z, mean, logvar.exp()).sum(-1)  # (S, N)
        mc = (q_y * log_pz).sum(-1).mean(0) - log_q.mean(0)
    assert close(exact, mc)
