"""Closed forms for diagonal Gaussians used throughout LC-VaDE.

The reconstruction likelihood (eqs. 9.6-9.7), the prior cross-entropy terms of the ELBO
(eqs. 9.9-9.10) and the IAS (eq. 9.12) all reduce to two integrals:

* ``expected_log_normal``: E_{x ~ N(m, v)}[log N(x; m', v')]
  = -1/2 log(2 pi v') - (v + (m - m')^2) / (2 v'), element-wise.  This is minus the
  Gaussian cross-entropy; the thesis' printed eq. 9.7 drops the two factors 1/2, this is the
  correct form.
* ``gaussian_entropy``: h(N(m, diag(v))) = 1/2 sum_j log(2 pi e v_j).
"""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2.0 * math.pi)


def expected_log_normal(
    mean: torch.Tensor, var: torch.Tensor, other_mean: torch.Tensor, other_var: torch.Tensor
) -> torch.Tensor:
    """E_{x ~ N(mean, var)}[log N(x; other_mean, other_var)], element-wise (eqs. 9.6-9.7)."""
    return -0.5 * (LOG_2PI + torch.log(other_var)) - (var + (mean - other_mean).square()) / (
        2.0 * other_var
    )


def log_normal(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, var), element-wise (the var -> 0 limit of ``expected_log_normal``)."""
    return expected_log_normal(x, torch.zeros_like(x), mean, var)


def gaussian_entropy(logvar: torch.Tensor) -> torch.Tensor:
    """Differential entropy of N(., diag(exp(logvar))), summed over the last axis."""
    return 0.5 * (LOG_2PI + 1.0 + logvar).sum(dim=-1)
