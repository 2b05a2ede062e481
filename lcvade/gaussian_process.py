"""The Gaussian-process step of the induction-point decoder (thesis eqs. 9.2-9.5).

Given, per curve, induction points with means mu_ind and standard deviations sigma_ind at
fixed phases t_k = k / (I + 1) (eq. 9.2) and a squared-exponential kernel with amplitude
sigma_theta and length scale l_theta (eq. 9.3), the decoder's prediction at observed phases
t is the GP posterior (eqs. 9.4-9.5):

    K_ii = k(t_ind, t_ind) + diag(sigma_ind^2)                     (9.4)
    mean = K_oi K_ii^-1 mu_ind
    var  = diag(k(t, t) - K_oi K_ii^-1 K_io) = sigma_theta^2 - ||L^-1 K_io||^2     (9.5)

computed for a whole batch with one Cholesky factorisation per curve and band.  The
computation runs in float64 (the matrices are tiny, and the kernel amplitude may exceed the
induction noise by many orders of magnitude), and the variance is floored.
"""

from __future__ import annotations

import torch


def induction_times(n_induction: int) -> torch.Tensor:
    """The fixed induction phases t_k = k / (I + 1), k = 1..I (eq. 9.2)."""
    return torch.arange(1, n_induction + 1, dtype=torch.float64) / (n_induction + 1)


def squared_exponential(
    a: torch.Tensor, b: torch.Tensor, amplitude: torch.Tensor, length: torch.Tensor
) -> torch.Tensor:
    """k(a, b) = sigma^2 exp(-|a - b|^2 / (2 l^2)) (eq. 9.3).

    ``a``: (N, P), ``b``: (N, Q) or (Q,), ``amplitude`` and ``length``: (N,); returns (N, P, Q).
    """
    if b.dim() == 1:
        b = b.unsqueeze(0)
    diff = a.unsqueeze(-1) - b.unsqueeze(-2)
    scaled = diff / length[:, None, None]
    return amplitude[:, None, None].square() * torch.exp(-0.5 * scaled.square())


def gp_predict(
    phase: torch.Tensor,
    band: torch.Tensor,
    ind_mean: torch.Tensor,
    ind_std: torch.Tensor,
    amplitude: torch.Tensor,
    length: torch.Tensor,
    variance_floor: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GP predictive mean and variance at the observed phases (eqs. 9.4-9.5).

    Parameters
    ----------
    phase, band:
        (N, L) observed phases and the band channel of each point.
    ind_mean, ind_std:
        (N, B, I) induction-point means and standard deviations.
    amplitude, length:
        (N,) kernel parameters sigma_theta and l_theta.

    Returns the mean and the floored variance, each (N, L), in the input dtype.
    """
    out_dtype = ind_mean.dtype
    n_ind = ind_mean.shape[-1]
    t_ind = induction_times(n_ind).to(ind_mean.device)
    amp = amplitude.double()
    ell = length.double()
    k_ii = squared_exponential(t_ind.expand(amp.shape[0], -1), t_ind, amp, ell)  # (N, I, I)
    k_ii = k_ii.unsqueeze(1) + torch.diag_embed(ind_std.double().square())  # (N, B, I, I)
    chol = torch.linalg.cholesky(k_ii)
    k_oi = squared_exponential(phase.double(), t_ind, amp, ell)  # (N, L, I)
    weights = torch.cholesky_solve(ind_mean.double().unsqueeze(-1), chol).squeeze(-1)
    mean_all = torch.einsum("nli,nbi->nbl", k_oi, weights)  # (N, B, L)
    rhs = k_oi.transpose(1, 2).unsqueeze(1).expand(-1, chol.shape[1], -1, -1)
    v = torch.linalg.solve_triangular(chol, rhs, upper=False)  # (N, B, I, L)
    explained = v.square().sum(dim=-2)  # (N, B, L)
    index = band.unsqueeze(1)
    mean = mean_all.gather(1, index).squeeze(1)
    var = amp[:, None].square() - explained.gather(1, index).squeeze(1)
    return mean.to(out_dtype), var.clamp_min(variance_floor).to(out_dtype)
