"""LC-VaDE: the whole model of thesis chapter 9 as one ``nn.Module``.

Graphical model (section 9.4.1): p(x,z,y,f|t) = p(x|z,t) p(z|y) p(f|y) p(y) and
q(x,z,y,f,t) = q(x,f,t) q(z|x,t) q(y|z,f), with z = [z_rep, z_kernel] (section 9.3).
The encoder gives q(z|x,t); z_rep decodes to induction points and z_kernel to the kernel
of the Gaussian process that predicts the curve at its observed phases; the mixture prior
gives p(z|y), p(f|y) and the classifier q(y|z,f).  Features f are standardised with the
training set's statistics, kept in the model's buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lcvade.batching import CurveBatch
from lcvade.config import LCVaDEConfig
from lcvade.decoder import InductionDecoder, KernelHead
from lcvade.encoder import Encoder
from lcvade.gaussian_process import gp_predict, induction_times
from lcvade.gaussians import gaussian_entropy
from lcvade.ias import information_anomaly_score
from lcvade.loss import LossTerms, lcvade_terms, reconstruction_log_likelihood
from lcvade.prior import MixturePrior

# Rows per encoder pass when evaluating on the CPU: a batch of 64 curves keeps the
# interpolation's (rows, channels, R, L) kernel tensors in cache; larger batches are cut into
# such passes (about 1.2x the throughput at 256 rows, 1.5x at 1024, on a 2-core machine).
CPU_ENCODE_ROWS = 64


@dataclass
class Decoded:
    """The decoder's output for a batch: induction points and kernel parameters."""

    ind_mean: torch.Tensor  # (N, B, I)
    ind_std: torch.Tensor  # (N, B, I)
    amplitude: torch.Tensor  # (N,)
    length: torch.Tensor  # (N,)


@dataclass
class Scores:
    """IAS (eq. 9.12) and log q(y|z,f) for a batch."""

    ias: torch.Tensor  # (N,)
    log_q_y: torch.Tensor  # (N, K)


class LCVaDE(nn.Module):
    """The LC-VaDE model; see the module docstring."""

    def __init__(self, config: LCVaDEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = InductionDecoder(config)
        self.kernel = KernelHead(config)
        self.prior = MixturePrior(
            config.n_classes,
            config.latent_dim,
            config.feature_dim,
            config.prior_std_floor,
            config.class_weights,
        )
        self.register_buffer("feature_mean", torch.zeros(config.feature_dim))
        self.register_buffer("feature_std", torch.ones(config.feature_dim))

    # -- features ---------------------------------------------------------------------------
    def set_feature_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training set's feature mean and standard deviation."""
        self.feature_mean.copy_(torch.as_tensor(mean, dtype=self.feature_mean.dtype))
        self.feature_std.copy_(torch.as_tensor(std, dtype=self.feature_std.dtype).clamp_min(1e-6))

    def prepare_for_training(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Fit the feature statistics and start p(f|y) at the per-class feature moments.

        ``features`` are the raw features of the whole training set (``CurveBatch.features``)
        and ``labels`` their classes.
        """
        valid = ~torch.isnan(features)
        count = valid.sum(0).clamp_min(1)
        filled = torch.where(valid, features, torch.zeros_like(features))
        mean = filled.sum(0) / count
        centred = torch.where(valid, features - mean, torch.zeros_like(features))
        std = (centred.square().sum(0) / count).sqrt()
        self.set_feature_statistics(mean, std)
        self.prior.initialize_features(self.standardize(features), labels)

    def parameter_groups(self, lr: float, feature_prior_lr: float) -> list[dict]:
        """Optimizer parameter groups: p(f|y) at ``feature_prior_lr``, everything else at ``lr``.

        p(f|y) is a handful of Gaussian moments that may move fast (cf. the separate prior
        learning rate eta_p of Algorithm 1); p(z|y) moves with the encoder, so that its
        components do not drift together before the encoder has separated the classes.
        """
        feature_prior = [self.prior.f_mean, self.prior.f_logvar]
        ids = {id(p) for p in feature_prior}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return [{"params": rest, "lr": lr}, {"params": feature_prior, "lr": feature_prior_lr}]

    def standardize(self, features: torch.Tensor) -> torch.Tensor:
        """(f - mean) / std; a missing band's features (NaN) become the training mean (0)."""
        f = (features - self.feature_mean) / self.feature_std
        return torch.nan_to_num(f, nan=0.0)

    # -- the two halves ---------------------------------------------------------------------
    def encode(self, batch: CurveBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x,t): mean and log-variance, each (N, J).

        In evaluation mode on the CPU the rows go through the encoder in passes of
        ``CPU_ENCODE_ROWS`` (rows are independent there: batch norms use their standing
        statistics); in training mode, or on a GPU, in one pass.
        """
        n = len(batch)
        if self.training or batch.phase.device.type != "cpu" or n <= CPU_ENCODE_ROWS:
            return self.encoder(batch)
        parts = [
            self.encoder(batch.select(slice(start, start + CPU_ENCODE_ROWS)))
            for start in range(0, n, CPU_ENCODE_ROWS)
        ]
        return torch.cat([m for m, _ in parts]), torch.cat([v for _, v in parts])

    def decode(self, z: torch.Tensor) -> Decoded:
        """Induction points from z_rep and kernel parameters from z_kernel."""
        z_rep, z_kernel = z[:, : self.config.z_rep], z[:, self.config.z_rep :]
        ind_mean, ind_std = self.decoder(z_rep)
        amplitude, length = self.kernel(z_kernel)
        return Decoded(ind_mean, ind_std, amplitude, length)

    def predict(
        self, decoded: Decoded, phase: torch.Tensor, band: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """GP predictive mean and variance at the given phases and bands (eqs. 9.4-9.5)."""
        return gp_predict(
            phase,
            band,
            decoded.ind_mean,
            decoded.ind_std,
            decoded.amplitude,
            decoded.length,
            self.config.variance_floor,
        )

    # -- objective and score ----------------------------------------------------------------
    def loss(
        self,
        batch: CurveBatch,
        labels: torch.Tensor | None = None,
        *,
        sample: bool = True,
        generator: torch.Generator | None = None,
    ) -> LossTerms:
        """All terms of the LC-VaDE objective (eqs. 9.8-9.11) per curve.

        ``sample=True`` draws one reparameterised z ~ q(z|x,t) for the reconstruction and
        q(y|z,f); ``sample=False`` uses the mean of q(z|x,t) (deterministic evaluation).
        """
        mean, logvar = self.encode(batch)
        z = mean
        if sample:
            noise = torch.randn(
                mean.shape, generator=generator, device=mean.device, dtype=mean.dtype
            )
            z = mean + (0.5 * logvar).exp() * noise
        f = self.standardize(batch.features)
        decoded = self.decode(z)
        pred_mean, pred_var = self.predict(decoded, batch.phase, batch.band)
        reconstruction = reconstruction_log_likelihood(
            batch.value, batch.error, batch.mask, pred_mean, pred_var
        )
        return lcvade_terms(
            reconstruction=reconstruction,
            log_q_y=self.prior.log_posterior(z, f),
            expected_log_pz=self.prior.expected_log_pz(mean, logvar),
            log_pf=self.prior.log_pf(f),
            log_py=self.prior.log_py,
            entropy_z=gaussian_entropy(logvar),
            labels=labels,
            labelled_bound=self.config.supervision == "labelled_bound",
            log_q_y_latent=self.prior.log_posterior(z, None) if labels is not None else None,
            latent_label_weight=self.config.latent_label_weight,
        )

    def score(self, batch: CurveBatch) -> Scores:
        """IAS (eq. 9.12, or IAS_f with the feature term; see :mod:`lcvade.ias`).

        q(y|z,f) is evaluated at the mean of q(z|x,t).  Needs only the encoder and the prior;
        the decoder is not run.
        """
        mean, logvar = self.encode(batch)
        f = self.standardize(batch.features)
        log_pf = self.prior.log_pf(f)
        log_q_y = self.prior.log_posterior(mean, f)
        ias = information_anomaly_score(
            log_q_y.exp(),
            self.prior.expected_log_pz(mean, logvar),
            gaussian_entropy(logvar),
            log_pf if self.config.ias_with_features else None,
        )
        return Scores(ias=ias, log_q_y=log_q_y)

    def reconstruct(
        self, batch: CurveBatch, phases: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, Decoded]:
        """GP mean and standard deviation at ``phases`` (P,) for every curve and band.

        Uses the mean of q(z|x,t).  Returns mean and std of shape (N, B, P) and the decoded
        induction points (at phases ``induction_times(I)``).
        """
        mean, _ = self.encode(batch)
        decoded = self.decode(mean)
        n, n_bands, n_phase = len(batch), self.config.n_bands, phases.numel()
        grid = phases.to(mean.dtype).repeat(n_bands).expand(n, -1)
        band = torch.arange(n_bands, device=mean.device).repeat_interleave(n_phase)
        pred_mean, pred_var = self.predict(decoded, grid, band.expand(n, -1))
        shape = (n, n_bands, n_phase)
        return pred_mean.view(shape), pred_var.sqrt().view(shape), decoded

    def induction_phases(self) -> torch.Tensor:
        """The fixed induction phases t_k (eq. 9.2)."""
        return induction_times(self.config.n_induction)
