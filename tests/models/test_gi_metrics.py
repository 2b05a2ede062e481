"""Metrics of Table 6.4 and eq. 8.1 against brute force and independent references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy import stats

from models.metrics import (
    clustering_accuracy,
    frechet_distance,
    inception_score,
    latent_metrics,
    linear_probe_accuracy,
)
from models.priors import GaussianMixturePrior, StandardNormalPrior

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def brute_force_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    k = max(labels.max(), clusters.max()) + 1
    best = 0
    for perm in itertools.permutations(range(k)):
        best = max(best, int(np.sum(np.asarray(perm)[clusters] == labels)))
    return best / len(labels)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_clustering_accuracy_equals_brute_force(k: int) -> None:
    rng = np.random.default_rng(k)
    for _ in range(5):
        labels = rng.integers(0, k, size=60)
        # clusters: a relabelled, partly noisy copy of the labels
        clusters = rng.permutation(k)[labels]
        noise = rng.random(60) < 0.3
        clusters[noise] = rng.integers(0, k, size=int(noise.sum()))
        assert clustering_accuracy(labels, clusters) == pytest.approx(
            brute_force_accuracy(labels, clusters)
        )


def test_clustering_accuracy_handles_fewer_clusters_than_classes() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    clusters = np.array([1, 1, 0, 0, 0, 0])
    # one-to-one: cluster 1 -> class 0, cluster 0 -> class 1 (or 2): 4 of 6
    assert clustering_accuracy(labels, clusters) == pytest.approx(4 / 6)


def test_linear_probe_separates_linearly_separable_codes() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=6.0, size=(4, 5))
    labels = rng.integers(0, 4, size=400)
    codes = centres[labels] + rng.normal(size=(400, 5))
    acc = linear_probe_accuracy(codes[:300], labels[:300], codes[300:], labels[300:])
    assert acc > 0.95
    noise = rng.normal(size=(400, 5))
    chance = linear_probe_accuracy(noise[:300], labels[:300], noise[300:], labels[300:])
    assert chance < 0.5


def test_inception_score_reference_and_extremes() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(50, 6))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    marginal = probs.mean(0)
    ref = np.exp(np.mean([stats.entropy(p, marginal) for p in probs]))
    assert inception_score(torch.as_tensor(probs)) == pytest.approx(ref, rel=1e-9)
    confident = torch.eye(6).repeat(5, 1)  # every class predicted with certainty, evenly
    assert inception_score(confident) == pytest.approx(6.0, rel=1e-6)
    assert inception_score(torch.eye(6)[[2] * 30]) == pytest.approx(1.0, rel=1e-6)


def test_frechet_distance_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(200, 4))
    b = rng.normal(loc=0.7, scale=1.5, size=(150, 4))
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a.T), np.cov(b.T)
    ref = np.sum((ma - mb) ** 2) + np.trace(ca + cb - 2 * np.real(scipy.linalg.sqrtm(ca @ cb)))
    assert frechet_distance(torch.as_tensor(a), torch.as_tensor(b)) == pytest.approx(ref, rel=1e-7)


def test_mutual_information_of_a_gaussian_channel() -> None:
    # x ~ N(0, a^2) (one dimension), q(z|x) = N(x, s^2): I(x; z) = 1/2 log((a^2 + s^2) / s^2)
    a, s = 2.0, 0.5
    gen = torch.Generator().manual_seed(0)
    mu = a * torch.randn(200_000, 1, generator=gen, dtype=torch.float64)
    logvar = torch.full_like(mu, 2 * np.log(s))
    out = latent_metrics(mu, logvar, StandardNormalPrior(1))
    assert out["I_q(x,z)"] == pytest.approx(0.5 * np.log((a**2 + s**2) / s**2), abs=0.01)
    assert out["h_q(z|x)"] == pytest.approx(stats.norm(0, s).entropy(), rel=1e-9)
    # q(z) = N(0, a^2 + s^2): KL to N(0, 1) in closed form
    v = a**2 + s**2
    assert out["KL_z"] == pytest.approx(0.5 * (v - 1 - np.log(v)), rel=0.01)


def test_latent_metrics_satisfy_eq_5_11_and_numpy_reference() -> None:
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(size=(500, 3)), rng.normal(scale=0.5, size=(500, 3)) - 1.0
    out = latent_metrics(torch.as_tensor(mu), torch.as_tensor(logvar), StandardNormalPrior(3))
    cov = np.cov(mu.T) + np.diag(np.exp(logvar).mean(0))
    mean = mu.mean(0)
    kl_z = 0.5 * (np.trace(cov) + mean @ mean - 3 - np.linalg.slogdet(cov)[1])
    kl_vae = np.mean(0.5 * np.sum(mu**2 + np.exp(logvar) - logvar - 1, axis=1))
    h_cond = np.mean(np.sum(stats.norm(0, np.exp(0.5 * logvar)).entropy(), axis=1))
    h_marg = stats.multivariate_normal(mean, cov).entropy()
    assert out["KL_z"] == pytest.approx(kl_z, rel=1e-9)
    assert out["KL_vae"] == pytest.approx(kl_vae, rel=1e-9)
    assert out["I_q(x,z)"] == pytest.approx(h_marg - h_cond, rel=1e-9)
    # eq. 5.11 holds up to the N/(N-1) of the unbiased covariance (eq. 6.3)
    assert out["I_q(x,z)"] == pytest.approx(kl_vae - kl_z, rel=5e-3)


def test_latent_metrics_with_mixture_prior_monte_carlo() -> None:
    torch.manual_seed(0)
    prior = GaussianMixturePrior(3, 2)
    rng = np.random.default_rng(4)
    mu, logvar = rng.normal(size=(400, 2)), np.full((400, 2), -1.0)
    out = latent_metrics(torch.as_tensor(mu), torch.as_tensor(logvar), prior, mc_samples=50_000)
    weights = np.full(3, 1 / 3)
    means = prior.mu.detach().numpy()
    sds = np.exp(0.5 * prior.logvar.detach().numpy())

    def log_p(z: np.ndarray) -> np.ndarray:
        dens = sum(
            w * stats.multivariate_normal(m, np.diag(s**2)).pdf(z)
            for w, m, s in zip(weights, means, sds, strict=True)
        )
        return np.log(dens)

    idx = rng.integers(0, 400, size=100_000)
    z = mu[idx] + np.exp(0.5 * logvar[idx]) * rng.normal(size=(100_000, 2))
    h_cond = np.mean(np.sum(stats.norm(0, np.exp(0.5 * logvar)).entropy(), axis=1))
    ref_kl_vae = -h_cond - np.mean(log_p(z))
    assert out["KL_vae"] == pytest.approx(ref_kl_vae, abs=0.03)
