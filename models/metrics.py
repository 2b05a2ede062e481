"""The metrics of Table 6.4 and section 8.1.2, as plain functions of tensors and arrays.

* :func:`latent_metrics`: D_KL(q(z) || p(z)) and E_q(x)[D_KL(q(z|x) || p(z))] with q(z)
  fitted as a Gaussian (eq. 6.4, Appendix A), the mutual information estimate I~_q(x, z)
  (eqs. 5.10/5.11) and the conditional entropy h_q(z|x);
* :func:`clustering_accuracy`: eq. 8.1 with the best cluster-to-class mapping found by the
  Hungarian algorithm;
* :func:`linear_probe_accuracy`: a linear classifier on frozen codes (section 6.3.2);
* :func:`inception_score` and :func:`frechet_distance`: eqs. 2.6 and 2.8, fed with the
  outputs of a classifier trained on the same data set (see :mod:`models.classifier`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models.divergences import (
    aggregate_posterior_gaussian,
    diag_entropy,
    gaussian_entropy,
    gaussian_kl,
    kl_diag_standard,
    wasserstein2,
)
from models.priors import GaussianMixturePrior, StandardNormalPrior

Prior = StandardNormalPrior | GaussianMixturePrior


@torch.no_grad()
def latent_metrics(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    prior: Prior,
    *,
    mc_samples: int = 4096,
    seed: int = 0,
) -> dict[str, float]:
    """The latent columns of Table 6.4 from the posteriors q(z|x_i) of a data set.

    * ``h_q(z|x)``: mean closed-form entropy of the Gaussian encoder;
    * ``I_q(x,z)``: I~_q = h(q~(z)) - h_q(z|x) with q~(z) the Gaussian moment-matched to the
      aggregate posterior (eq. 5.10).  With p(z) = N(0, I) it equals eq. 5.11,
      E_q(x)[D_KL(q(z|x)||p(z))] - D_KL(q~(z)||p(z)), up to the factor N/(N-1) of the
      unbiased covariance (eq. 6.3);
    * ``KL_z``: D_KL(q~(z) || p(z)), closed form for N(0, I) (eq. 6.4);
    * ``KL_vae``: E_q(x)[D_KL(q(z|x) || p(z))], closed form for N(0, I) (eq. 2.5).

    For a mixture prior the two KL columns have no closed form: their cross-entropy terms
    E[log p(z)] are Monte Carlo estimates with ``mc_samples`` draws (seeded).
    """
    mu = mu.double()
    logvar = logvar.double()
    mean, cov = aggregate_posterior_gaussian(mu, logvar)
    h_cond = diag_entropy(logvar).mean()
    h_marg = gaussian_entropy(cov)
    dim = mu.shape[1]
    if isinstance(prior, StandardNormalPrior):
        eye = torch.eye(dim, dtype=torch.float64)
        kl_z = gaussian_kl(mean, cov, torch.zeros(dim, dtype=torch.float64), eye)
        kl_vae = kl_diag_standard(mu, logvar).mean()
    else:
        gen = torch.Generator().manual_seed(seed)
        prior64 = _double_prior(prior)
        chol = torch.linalg.cholesky(cov)
        eps = torch.randn(mc_samples, dim, generator=gen, dtype=torch.float64)
        z_marg = mean + eps @ chol.T
        kl_z = -h_marg - prior64.log_prob(z_marg).mean()
        idx = torch.randint(0, mu.shape[0], (mc_samples,), generator=gen)
        eps = torch.randn(mc_samples, dim, generator=gen, dtype=torch.float64)
        z_cond = mu[idx] + torch.exp(0.5 * logvar[idx]) * eps
        kl_vae = -h_cond - prior64.log_prob(z_cond).mean()
    return {
        "KL_z": float(kl_z),
        "KL_vae": float(kl_vae),
        "I_q(x,z)": float(h_marg - h_cond),
        "h_q(z|x)": float(h_cond),
    }


def _double_prior(prior: GaussianMixturePrior) -> GaussianMixturePrior:
    copy = GaussianMixturePrior(
        prior.n_clusters, prior.latent_dim, sigma_floor=prior.sigma_floor
    ).double()
    copy.load_state_dict({k: v.double() for k, v in prior.state_dict().items()})
    return copy


def clustering_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """ACC of eq. 8.1: the best one-to-one mapping of clusters to classes (Hungarian)."""
    labels = np.asarray(labels, dtype=np.int64)
    clusters = np.asarray(clusters, dtype=np.int64)
    if labels.shape != clusters.shape or labels.ndim != 1 or labels.size == 0:
        raise ValueError("labels and clusters must be two non-empty vectors of equal length")
    n_clusters = int(clusters.max()) + 1
    n_classes = int(labels.max()) + 1
    counts = np.zeros((n_clusters, n_classes), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum()) / labels.size


def linear_probe_accuracy(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    seed: int = 0,
) -> float:
    """Accuracy of a linear classifier (multinomial logistic regression on standardised
    codes) trained on the frozen training codes and scored on the test codes."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, random_state=seed))
    probe.fit(np.asarray(train_codes, dtype=np.float64), np.asarray(train_labels))
    return float(probe.score(np.asarray(test_codes, dtype=np.float64), np.asarray(test_labels)))


def inception_score(probs: torch.Tensor, eps: float = 1e-12) -> float:
    """IS = exp(E_x[D_KL(p*(y|x) || p*(y))]) (eq. 2.6) for class probabilities ``(N, K)``."""
    probs = probs.double().clamp_min(eps)
    marginal = probs.mean(0, keepdim=True)
    kl = (probs * (probs.log() - marginal.log())).sum(1)
    return math.exp(float(kl.mean()))


def frechet_distance(feat_a: torch.Tensor, feat_b: torch.Tensor) -> float:
    """FID of eq. 2.8 between two sets of classifier features ``(N, F)``, ``(M, F)``."""
    a, b = feat_a.double(), feat_b.double()
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a = torch.cov(a.T).reshape(a.shape[1], a.shape[1])
    cov_b = torch.cov(b.T).reshape(b.shape[1], b.shape[1])
    return float(wasserstein2(mean_a, cov_a, mean_b, cov_b, eps=0.0))
