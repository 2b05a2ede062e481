"""The LC-VaDE training objective (thesis eqs. 9.6-9.11 and 9.8).

Per curve, the evidence lower bound of eq. 9.9,

    ELBO = E_q(z|x)[log p(x|z,t)]                  reconstruction, eqs. 9.6-9.7
         + E_q(y|z,f)[E_q(z|x) log p(z|y)]         closed form
         + E_q(y|z,f)[log p(f|y)]                  closed form, q(f) a point mass
         + E_q(y|z,f)[log p(y)]                    = -log K
         + h_q(y|z,f) + h_q(z|x)                   closed form

where the reconstruction uses one reparameterised sample z and sums, over the unmasked
points, the expected log-density of the observation N(mu_j, sigma_j^2) under the decoder's
N(mu^_j, sigma^_j^2).  The supervised loss of eq. 9.8 adds the cross-entropy between the true
label and q(y|z,f):  L = -ELBO + h(y, y~).

A model may also weigh in the cross-entropy of the latent part's own classifier
q(y|z) = p(z|y) p(y) / sum_k p(z|y=k) p(y=k) (``LCVaDEConfig.latent_label_weight`` = w):

    L = -ELBO + h(y, y~) + w h(y, q(y|z)).

When the features f alone separate the training classes, h(y, y~) is small whatever z is,
and nothing asks z to carry the class; the second cross-entropy does.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from lcvade.gaussians import expected_log_normal


@dataclass
class LossTerms:
    """Every term of the objective, per curve (shape (N,))."""

    reconstruction: torch.Tensor
    expected_log_pz: torch.Tensor
    expected_log_pf: torch.Tensor
    expected_log_py: torch.Tensor
    entropy_y: torch.Tensor
    entropy_z: torch.Tensor
    label_cross_entropy: torch.Tensor
    latent_label_cross_entropy: torch.Tensor
    latent_label_weight: float = 0.0

    @property
    def elbo(self) -> torch.Tensor:
        return (
            self.reconstruction
            + self.expected_log_pz
            + self.expected_log_pf
            + self.expected_log_py
            + self.entropy_y
            + self.entropy_z
        )

    @property
    def total(self) -> torch.Tensor:
        """The per-curve loss of eq. 9.8, -ELBO + label cross-entropy, plus the weighted
        cross-entropy of q(y|z) (module docstring)."""
        total = -self.elbo + self.label_cross_entropy
        if self.latent_label_weight:
            total = total + self.latent_label_weight * self.latent_label_cross_entropy
        return total

    def summary(self) -> dict[str, float]:
        """Batch means of every term, the ELBO and the loss, as floats (for logging)."""
        out = {
            f.name: float(getattr(self, f.name).detach().mean())
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        out["elbo"] = float(self.elbo.detach().mean())
        out["loss"] = float(self.total.detach().mean())
        return out


def reconstruction_log_likelihood(
    value: torch.Tensor,
    error: torch.Tensor,
    mask: torch.Tensor,
    pred_mean: torch.Tensor,
    pred_var: torch.Tensor,
) -> torch.Tensor:
    """sum_j E_{N(mu_j, sigma_j^2)}[log N(.; mu^_j, sigma^_j^2)] over unmasked points (9.7)."""
    per_point = expected_log_normal(value, error.square(), pred_mean, pred_var)
    return torch.where(mask, per_point, torch.zeros_like(per_point)).sum(dim=-1)


def lcvade_terms(
    *,
    reconstruction: torch.Tensor,
    log_q_y: torch.Tensor,
    expected_log_pz: torch.Tensor,
    log_pf: torch.Tensor,
    log_py: float,
    entropy_z: torch.Tensor,
    labels: torch.Tensor | None,
    labelled_bound: bool = False,
    log_q_y_latent: torch.Tensor | None = None,
    latent_label_weight: float = 0.0,
) -> LossTerms:
    """Assemble the terms of eqs. 9.8-9.10 from per-class quantities, each (N, K).

    With ``labelled_bound`` and labels, the class of a labelled curve is observed rather than
    inferred, and the bound is the one of the joint (x, f, y) with q(y) a point mass on the
    label y*:

        ELBO_y* = E_q(z|x)[log p(x|z,t)] + E_q(z|x)[log p(z|y*)] + log p(f|y*) + log p(y*)
                  + h_q(z|x),

    so every code is pulled towards its own class's component, whatever q(y|z,f) says (the
    entropy h_q(y|z,f) is zero).  The label cross-entropy still trains q(y|z,f).
    """
    q_y = log_q_y.exp()
    if labels is None:
        label_ce = torch.zeros_like(entropy_z)
    else:
        label_ce = -log_q_y.gather(1, labels.long().unsqueeze(1)).squeeze(1)
    latent_ce = torch.zeros_like(entropy_z)
    if labels is not None and log_q_y_latent is not None:
        latent_ce = -log_q_y_latent.gather(1, labels.long().unsqueeze(1)).squeeze(1)
    weights = q_y
    entropy_y = -(q_y * log_q_y).sum(-1)
    if labelled_bound and labels is not None:
        weights = torch.nn.functional.one_hot(labels.long(), q_y.shape[-1]).to(q_y.dtype)
        entropy_y = torch.zeros_like(entropy_z)
    return LossTerms(
        reconstruction=reconstruction,
        expected_log_pz=(weights * expected_log_pz).sum(-1),
        expected_log_pf=(weights * log_pf).sum(-1),
        expected_log_py=torch.full_like(entropy_z, log_py),
        entropy_y=entropy_y,
        entropy_z=entropy_z,
        label_cross_entropy=label_ce,
        latent_label_cross_entropy=latent_ce,
        latent_label_weight=latent_label_weight,
    )
