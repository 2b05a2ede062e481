"""Closed forms between Gaussians, and the MMD estimator, used as losses and as metrics.

Conventions: a diagonal Gaussian is given by its mean and log-variance tensors of shape
``(..., J)``; a full Gaussian by its mean ``(J,)`` and covariance ``(J, J)``.  Every function
is differentiable, so the same code serves the training losses (WVAE, JS-VAE, InfoVAE) and
the metrics of Table 6.4.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

LOG_2PI = math.log(2.0 * math.pi)


def kl_diag_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """D_KL(N(mu, diag e^logvar) || N(0, I)) per sample, summed over the last axis (eq. 2.5).

    The thesis prints eq. 2.5 without the factor 1/2 and with the sign of the constant
    flipped; the correct closed form, implemented here, is
    ``1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)``.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(-1)


def gaussian_nll(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """-log N(z | mu, diag e^logvar) per sample (eqs. 6.1 and 7.13)."""
    return 0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def diag_entropy(logvar: torch.Tensor) -> torch.Tensor:
    """Differential entropy of N(., diag e^logvar) per sample: ``1/2 sum_j log(2 pi e s_j^2)``."""
    return 0.5 * (LOG_2PI + 1.0 + logvar).sum(-1)


def gaussian_entropy(cov: torch.Tensor) -> torch.Tensor:
    """Differential entropy of N(., cov): ``1/2 log det(2 pi e cov)``."""
    dim = cov.shape[-1]
    return 0.5 * (dim * (LOG_2PI + 1.0) + torch.logdet(cov))


def fit_gaussian(z: torch.Tensor, jitter: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance of a batch of codes ``(N, J)`` (eqs. 6.2 and 6.3)."""
    if z.shape[0] < 2:
        raise ValueError("fitting a Gaussian needs at least two codes")
    mean = z.mean(0)
    centred = z - mean
    cov = centred.T @ centred / (z.shape[0] - 1)
    if jitter:
        cov = cov + jitter * torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
    return mean, cov


def aggregate_posterior_gaussian(
    mu: torch.Tensor, logvar: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Moment-matched Gaussian fit of q(z) = (1/N) sum_i q(z|x_i) (section 6.3.2).

    Mean ``mean_i mu_i`` and covariance ``Cov(mu) + diag(mean_i sigma_i^2)``: the first two
    moments of the mixture of the encoder's Gaussians, which is what the I~_q(x, z) and
    D_KL(q(z)||p(z)) columns of Table 6.4 assume Gaussian.
    """
    mean, cov = fit_gaussian(mu)
    return mean, cov + torch.diag(logvar.exp().mean(0))


def gaussian_kl(
    mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor
) -> torch.Tensor:
    """D_KL(N(mean1, cov1) || N(mean2, cov2)) (eq. 6.4, derived in Appendix A)."""
    dim = mean1.shape[-1]
    chol2 = torch.linalg.cholesky(cov2)
    diff = (mean1 - mean2).unsqueeze(-1)
    maha = torch.cholesky_solve(diff, chol2).squeeze(-1) @ (mean1 - mean2)
    trace = torch.diagonal(torch.cholesky_solve(cov1, chol2)).sum()
    logdet2 = 2.0 * torch.log(torch.diagonal(chol2)).sum()
    return 0.5 * (logdet2 - torch.logdet(cov1) - dim + maha + trace)


def _sqrtm_psd(mat: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(mat)
    return (vecs * vals.clamp_min(0.0).sqrt()) @ vecs.T


def wasserstein2(
    mean1: torch.Tensor,
    cov1: torch.Tensor,
    mean2: torch.Tensor,
    cov2: torch.Tensor,
    eps: float = 1e-12,
) -> torch.Tensor:
    """Squared 2-Wasserstein distance between Gaussians (eq. 6.5; also the FID, eq. 2.8).

    ``||mean1 - mean2||^2 + Tr(cov1 + cov2 - 2 (cov1 cov2)^(1/2))``, with
    ``Tr (cov1 cov2)^(1/2) = sum sqrt(eig(cov2^(1/2) cov1 cov2^(1/2)))``: only eigenvalues of
    a symmetric matrix are differentiated, which is stable even when they repeat.
    """
    root2 = _sqrtm_psd(cov2)
    middle = root2 @ cov1 @ root2
    middle = 0.5 * (middle + middle.T)
    cross = torch.linalg.eigvalsh(middle).clamp_min(eps).sqrt().sum()
    return (mean1 - mean2).pow(2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2.0 * cross


def gaussian_js(
    mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor
) -> torch.Tensor:
    """The Jensen-Shannon restriction of JS-VAE (section 6.2) in closed form.

    D_JS = 1/2 D_KL(q || m) + 1/2 D_KL(p || m) with m the equal mixture of q and p.  A
    Gaussian mixture has no closed-form KL, so m is replaced by its moment-matched Gaussian
    ``N((mean1 + mean2)/2, (cov1 + cov2)/2 + d d^T / 4)``, ``d = mean1 - mean2``; the result
    is zero exactly when the two Gaussians agree, and it collects both the inverse and the
    forward KL directions, as the thesis intends JS-VAE to.
    """
    diff = (mean1 - mean2).unsqueeze(-1)
    mean_m = 0.5 * (mean1 + mean2)
    cov_m = 0.5 * (cov1 + cov2) + 0.25 * (diff @ diff.T)
    return 0.5 * gaussian_kl(mean1, cov1, mean_m, cov_m) + 0.5 * gaussian_kl(
        mean2, cov2, mean_m, cov_m
    )


Kernel = Literal["imq", "rbf"]


def _kernel(a: torch.Tensor, b: torch.Tensor, kernel: Kernel, scale: float) -> torch.Tensor:
    sq = (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2.0 * a @ b.T).clamp_min(0.0)
    if kernel == "imq":
        return scale / (scale + sq)
    if kernel == "rbf":
        return torch.exp(-sq / (2.0 * scale))
    raise ValueError(f"unknown kernel {kernel!r}; choose 'imq' or 'rbf'")


def mmd2(
    a: torch.Tensor, b: torch.Tensor, kernel: Kernel = "imq", scale: float | None = None
) -> torch.Tensor:
    """Unbiased estimator of MMD^2 between the samples ``a (N, J)`` and ``b (M, J)``.

    The InfoVAE/WAE restriction MMD(q(z), p(z)) (Table 5.1).  Kernels: the inverse
    multiquadratic ``s / (s + ||u - v||^2)`` with ``s = 2J`` by default (WAE), or the
    Gaussian ``exp(-||u - v||^2 / (2 s))`` with ``s = J`` by default.
    """
    n, m = a.shape[0], b.shape[0]
    if n < 2 or m < 2:
        raise ValueError("the unbiased MMD estimator needs at least two samples on each side")
    dim = a.shape[1]
    if scale is None:
        scale = 2.0 * dim if kernel == "imq" else float(dim)
    k_aa = _kernel(a, a, kernel, scale)
    k_bb = _kernel(b, b, kernel, scale)
    k_ab = _kernel(a, b, kernel, scale)
    sum_aa = (k_aa.sum() - torch.diagonal(k_aa).sum()) / (n * (n - 1))
    sum_bb = (k_bb.sum() - torch.diagonal(k_bb).sum()) / (m * (m - 1))
    return sum_aa + sum_bb - 2.0 * k_ab.mean()
