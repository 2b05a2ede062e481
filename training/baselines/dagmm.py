"""The Deep Autoencoding Gaussian Mixture Model (Zong et al. 2018) with LC-VaDE's networks.

This is the "Energy GMM (S)" baseline of thesis Table 9.4: the energy-based detector of
[123] built on the same architecture as LC-VaDE.

* Compression network: the LC-VaDE encoder's mean head gives a deterministic code z_c; the
  induction-point decoder and GP step (eqs. 9.2-9.5) reconstruct the curve at its observed
  phases.  Reconstruction features z_r: the relative Euclidean distance
  ||x - x'|| / ||x|| and the cosine similarity of x and x' over the observed points.
* Estimation network: an MLP (hidden width 10, tanh, dropout 0.5, as in the paper) maps
  z = [z_c, z_r] to soft memberships gamma over K components.  The variant ``dagmm_f``
  appends LC-VaDE's standardised features f = (m, s, log10 p) to z, so that the mixture
  also models what LC-VaDE's p(f|y) sees (not part of the paper).
* GMM parameters from the memberships of a batch (paper eq. 5):
  phi_k = mean_i gamma_ik, mu_k = sum_i gamma_ik z_i / sum_i gamma_ik,
  Sigma_k = sum_i gamma_ik (z_i - mu_k)(z_i - mu_k)^T / sum_i gamma_ik.
* Energy E(z) = -log sum_k phi_k N(z; mu_k, Sigma_k) (paper eq. 6), the anomaly score.
* Batches of at least 256 curves (the mixture is estimated per batch; the paper uses 1024).
* Objective (paper eq. 7): mean reconstruction error (squared error per observed point)
  + lambda_1 mean E(z) + lambda_2 sum_k sum_j 1 / Sigma_k,jj, with lambda_1 = 0.1 and
  lambda_2 = 0.005 -- the covariance penalty the paper uses against singular components.
  A jitter of 1e-4 on every covariance diagonal keeps the Cholesky factor defined.

After training, phi, mu and Sigma are estimated once more over the whole training set (in
eval mode) and kept for scoring.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from lcvade.batching import CurveBatch, collate
from lcvade.config import LCVaDEConfig
from lcvade.decoder import InductionDecoder, KernelHead
from lcvade.encoder import Encoder
from lcvade.gaussian_process import gp_predict
from training.baselines.protocol import MethodResult, MethodSettings, OutlierTask

# The mixture is re-estimated from every batch, so a batch must hold many curves per component
# (Zong et al. use 1024); smaller batches make the covariances singular.
BATCH_SIZE = 256
LAMBDA_ENERGY = 0.1
LAMBDA_COVARIANCE = 0.005
COVARIANCE_JITTER = 1e-4
EPS = 1e-8


class DAGMM(nn.Module):
    """Compression and estimation networks plus the fitted mixture; see module docstring."""

    def __init__(
        self, config: LCVaDEConfig, n_components: int, hidden: int = 10, features: bool = False
    ) -> None:
        super().__init__()
        self.config = config
        self.features = features
        self.encoder = Encoder(config)
        self.decoder = InductionDecoder(config)
        self.kernel = KernelHead(config)
        dim = config.latent_dim + 2 + (config.feature_dim if features else 0)
        self.estimation = nn.Sequential(
            nn.Linear(dim, hidden), nn.Tanh(), nn.Dropout(0.5), nn.Linear(hidden, n_components)
        )
        self.register_buffer("feature_mean", torch.zeros(config.feature_dim))
        self.register_buffer("feature_std", torch.ones(config.feature_dim))
        self.register_buffer("phi", torch.full((n_components,), 1.0 / n_components))
        self.register_buffer("mu", torch.zeros(n_components, dim))
        self.register_buffer("cov", torch.eye(dim).repeat(n_components, 1, 1))

    def forward(self, batch: CurveBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Code z (N, D), memberships gamma (N, K) and reconstruction error (N,)."""
        code, _ = self.encoder(batch)
        ind_mean, ind_std = self.decoder(code[:, : self.config.z_rep])
        amplitude, length = self.kernel(code[:, self.config.z_rep :])
        predicted, _ = gp_predict(
            batch.phase,
            batch.band,
            ind_mean,
            ind_std,
            amplitude,
            length,
            self.config.variance_floor,
        )
        mask = batch.mask.to(predicted.dtype)
        x, x_hat = batch.value * mask, predicted * mask
        error = (x - x_hat).square().sum(-1)
        norm_x, norm_hat = x.square().sum(-1).sqrt(), x_hat.square().sum(-1).sqrt()
        relative = error.sqrt() / (norm_x + EPS)
        cosine = (x * x_hat).sum(-1) / (norm_x * norm_hat + EPS)
        parts = [code, relative[:, None], cosine[:, None]]
        if self.features:
            f = (batch.features - self.feature_mean) / self.feature_std
            parts.append(f.nan_to_num(0.0))
        z = torch.cat(parts, 1)
        gamma = torch.softmax(self.estimation(z), dim=-1)
        return z, gamma, error / mask.sum(-1).clamp_min(1)


def mixture_parameters(
    z: torch.Tensor, gamma: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """phi (K,), mu (K, D), Sigma (K, D, D) from memberships (paper eq. 5), jittered."""
    weight = gamma.sum(0) + EPS
    phi = weight / z.shape[0]
    mu = gamma.T @ z / weight[:, None]
    centred = z.unsqueeze(1) - mu.unsqueeze(0)  # (N, K, D)
    cov = torch.einsum("nk,nkd,nke->kde", gamma, centred, centred) / weight[:, None, None]
    return phi, mu, cov + COVARIANCE_JITTER * torch.eye(z.shape[1], dtype=z.dtype, device=z.device)


def sample_energy(
    z: torch.Tensor, phi: torch.Tensor, mu: torch.Tensor, cov: torch.Tensor
) -> torch.Tensor:
    """E(z) = -log sum_k phi_k N(z; mu_k, Sigma_k) per sample (paper eq. 6)."""
    chol, _ = torch.linalg.cholesky_ex(cov)
    centred = (z.unsqueeze(1) - mu.unsqueeze(0)).unsqueeze(-1)  # (N, K, D, 1)
    solved = torch.linalg.solve_triangular(chol.unsqueeze(0), centred, upper=False)
    mahalanobis = solved.squeeze(-1).square().sum(-1)  # (N, K)
    log_det = 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # (K,)
    log_density = -0.5 * (mahalanobis + log_det + z.shape[1] * math.log(2.0 * math.pi))
    return -torch.logsumexp(torch.log(phi + EPS) + log_density, dim=-1)


def dagmm_loss(model: DAGMM, batch: CurveBatch) -> torch.Tensor:
    """Reconstruction + lambda_1 energy + lambda_2 covariance penalty (paper eq. 7)."""
    z, gamma, error = model(batch)
    phi, mu, cov = mixture_parameters(z, gamma)
    energy = sample_energy(z, phi, mu, cov)
    penalty = (1.0 / torch.diagonal(cov, dim1=-2, dim2=-1)).sum()
    return error.mean() + LAMBDA_ENERGY * energy.mean() + LAMBDA_COVARIANCE * penalty


def train_dagmm(
    batch: CurveBatch,
    n_components: int,
    config: LCVaDEConfig,
    settings: MethodSettings,
    features: bool = False,
) -> DAGMM:
    """Train on the (unlabelled) training curves and fit the final mixture."""
    torch.manual_seed(settings.seed)
    model = DAGMM(config, n_components, features=features)
    features = batch.features.double().numpy()
    model.feature_mean.copy_(torch.as_tensor(np.nanmean(features, axis=0)))
    model.feature_std.copy_(torch.as_tensor(np.nanstd(features, axis=0)).clamp_min(1e-6))
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    n = len(batch)
    size = min(max(settings.batch_size, BATCH_SIZE), n)
    for epoch in range(settings.epochs):
        model.train()
        order = np.random.default_rng([settings.seed, epoch]).permutation(n)
        for start in range(0, n - size + 1, size):
            loss = dagmm_loss(model, batch.select(torch.from_numpy(order[start : start + size])))
            if not torch.isfinite(loss):
                continue  # a singular batch mixture; the paper's instability, skip the step
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        z, gamma = embed(model, batch)
        phi, mu, cov = mixture_parameters(z, gamma)
        model.phi.copy_(phi)
        model.mu.copy_(mu)
        model.cov.copy_(cov)
    return model


@torch.no_grad()
def embed(model: DAGMM, batch: CurveBatch, chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    zs, gammas = [], []
    with parametrize.cached():
        for start in range(0, len(batch), chunk):
            z, gamma, _ = model(batch.select(slice(start, start + chunk)))
            zs.append(z)
            gammas.append(gamma)
    return torch.cat(zs), torch.cat(gammas)


@torch.no_grad()
def energy_scores(model: DAGMM, batch: CurveBatch) -> np.ndarray:
    z, _ = embed(model, batch)
    return sample_energy(z, model.phi, model.mu, model.cov).double().numpy()


def dagmm(task: OutlierTask, settings: MethodSettings, features: bool = False) -> MethodResult:
    """The DAGMM detector with K = number of inlier classes; anomaly score = energy."""
    started = time.perf_counter()
    config = settings.lcvade_config(len(task.class_names), task.bands)
    train_batch = collate(task.train.curves, task.train.periods, config)
    model = train_dagmm(train_batch, len(task.class_names), config, settings, features)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    score = energy_scores(model, collate(task.test.curves, task.test.periods, config))
    broken = ~np.isfinite(score)
    score = np.where(broken, np.finfo(np.float64).max, score)  # undefined energy: anomalous
    return MethodResult(
        "dagmm_f" if features else "dagmm",
        score,
        fit_s,
        time.perf_counter() - started,
        details={"non_finite_energies": int(broken.sum())},
    )
