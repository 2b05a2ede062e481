"""The unimodal "VAE baseline (S)" of thesis Table 9.4: one Gaussian prior, supervised codes.

Section 9.5.3 describes it as "an unimodal version of LC-VaDE using the same architecture
... a VAE model with the addition supervision in the latent space", scored by "the
likelihood of the encoded data into the prior N(0, I)".  Here:

* the encoder, induction-point decoder and GP step are LC-VaDE's (same config);
* the prior is one component, p(z) = N(mu, diag(v)), started at N(0, I)
  (:meth:`lcvade.prior.MixturePrior.start_at_standard_normal`) and learned like LC-VaDE's
  p(z|y); p(f) is one Gaussian over the standardised features, started at their moments;
* the supervision in the latent space is a linear softmax classifier on the code,
  q(y=k|x) = softmax_k(W mu(x) + b) at the mean mu(x) of q(z|x) of the same pass, and the
  loss is the K = 1 negative ELBO plus its label cross-entropy,

      L = -ELBO_{K=1}(x) - log q(y = y_true | x);

  with one component the mixture's own q(y|z,f) is identically 1 and could carry no label;
* batches are class-balanced over the inlier classes, as for LC-VaDE;
* anomaly score -E_q(z|x)[log p(z)] in closed form (the entropy h_q(z|x) of the IAS is not
  added), the thesis' "likelihood of the encoded data into the prior".
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lcvade.batching import collate
from lcvade.config import LCVaDEConfig
from lcvade.loss import LossTerms
from lcvade.model import LCVaDE
from lcvade.prior import MixturePrior
from training.baselines.lcvade_methods import train_model
from training.baselines.protocol import MethodResult, MethodSettings, OutlierTask


class SupervisedUnimodal(LCVaDE):
    """LC-VaDE's networks with a single N(0, I)-started prior and a latent classifier.

    ``config.n_classes`` is the number of labelled classes (the classifier's outputs and the
    class balance of the batches); the prior has one component whatever it is.
    """

    def __init__(self, config: LCVaDEConfig) -> None:
        super().__init__(config)
        self.prior = MixturePrior(1, config.latent_dim, config.feature_dim, config.prior_std_floor)
        self.prior.start_at_standard_normal()
        self.classifier = nn.Linear(config.latent_dim, config.n_classes)
        self._code: torch.Tensor | None = None

    def prepare_for_training(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Feature statistics as LC-VaDE's; p(f) at the moments of every training curve."""
        super().prepare_for_training(features, torch.zeros_like(labels))

    def encode(self, batch):
        mean, logvar = super().encode(batch)
        self._code = mean
        return mean, logvar

    def latent_logits(self, mean: torch.Tensor) -> torch.Tensor:
        """W mu(x) + b: the classifier's logits from the mean code (N, K)."""
        return self.classifier(mean)

    def loss(
        self,
        batch,
        labels: torch.Tensor | None = None,
        *,
        sample: bool = True,
        generator: torch.Generator | None = None,
    ) -> LossTerms:
        """The K = 1 terms of eq. 9.9 plus -log q(y_true|x) of the latent classifier."""
        terms = super().loss(batch, None, sample=sample, generator=generator)
        if labels is not None:
            logits = self.latent_logits(self._code)
            terms.label_cross_entropy = F.cross_entropy(logits, labels.long(), reduction="none")
        self._code = None
        return terms


@torch.no_grad()
def prior_log_likelihood(model: LCVaDE, batch, chunk: int = 512) -> np.ndarray:
    """E_q(z|x)[log p(z|y=1)] of every curve for a one-component prior (closed form)."""
    model.eval()
    values = []
    for start in range(0, len(batch), chunk):
        mean, logvar = model.encode(batch.select(slice(start, start + chunk)))
        values.append(model.prior.expected_log_pz(mean, logvar)[:, 0].double())
    return torch.cat(values).numpy()


def unimodal(task: OutlierTask, settings: MethodSettings) -> MethodResult:
    """The VAE baseline (S); anomaly score -E_q(z|x)[log p(z)]."""
    started = time.perf_counter()
    config = settings.lcvade_config(len(task.class_names), task.bands)
    model, _ = train_model(
        task.train, task.train_label_index(), config, settings, model_class=SupervisedUnimodal
    )
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    batch = collate(task.test.curves, task.test.periods, config)
    score = -prior_log_likelihood(model, batch)
    with torch.no_grad():
        mean, _ = model.encode(batch)
        predicted = model.latent_logits(mean).argmax(-1).numpy()
    return MethodResult(
        "lcvade_k1", score, fit_s, time.perf_counter() - started, predicted=predicted
    )
