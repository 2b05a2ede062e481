"""The pieces of the LC-VaDE training loop: class-balanced batches, Adam, one step of eq. 9.8.

The loop itself, with checkpoints and resumption, is :func:`training.fitting.fit`.

The thesis takes p(y) uniform because training forces label balance (section 9.4.2): every
batch holds the same number of curves of each class, drawn without replacement within an
epoch as long as a class has curves left, then recycled.  Each epoch's batch order and
reparameterisation noise come from generators seeded with (seed, epoch), so an epoch is
reproducible on its own -- resuming at epoch e replays exactly what an uninterrupted run does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lcvade.batching import CurveBatch, collate
from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurve
from lcvade.model import LCVaDE
from training.augment import Augmentation, augment_curves


@dataclass
class TrainingSet:
    """Training curves, preprocessed once into one padded batch, with integer labels.

    The curves and periods are kept too, for batches of augmented redraws
    (:mod:`training.augment`).
    """

    batch: CurveBatch
    labels: torch.Tensor
    curves: Sequence[LightCurve] = ()
    periods: np.ndarray | None = None

    @classmethod
    def build(
        cls, model: LCVaDE, curves: Sequence[LightCurve], periods: Sequence[float], labels
    ) -> TrainingSet:
        batch = collate(curves, periods, model.config)
        return cls(
            batch=batch,
            labels=torch.as_tensor(np.asarray(labels), dtype=torch.long),
            curves=list(curves),
            periods=np.asarray(periods, dtype=np.float64),
        )

    def batch_of(
        self,
        index: np.ndarray,
        config: LCVaDEConfig,
        augmentation: Augmentation | None = None,
        seed: Sequence[int] = (),
    ) -> CurveBatch:
        """The curves ``index``: as preprocessed, or redrawn by ``augmentation`` from ``seed``."""
        if augmentation is None:
            return self.batch.select(torch.from_numpy(np.asarray(index)))
        if self.periods is None or not self.curves:
            raise ValueError("augmentation needs the training curves (TrainingSet.build)")
        chosen = [self.curves[i] for i in index]
        redrawn = augment_curves(chosen, seed, augmentation, config.min_points)
        return collate(redrawn, self.periods[index], config)

    def __len__(self) -> int:
        return len(self.labels)


def balanced_batches(
    labels: np.ndarray, n_classes: int, batch_size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Index batches with an equal share of every class present (one epoch's worth).

    An epoch has ``len(labels) // batch_size`` batches (at least one).  Each class is visited
    in a fresh random order, restarting when exhausted.
    """
    present = [k for k in range(n_classes) if np.any(labels == k)]
    per_class = max(1, batch_size // len(present))
    pools = {k: np.flatnonzero(labels == k) for k in present}
    queues = {k: rng.permutation(pools[k]) for k in present}
    cursor = dict.fromkeys(present, 0)
    for _ in range(max(1, len(labels) // batch_size)):
        chosen = []
        for k in present:
            take = []
            while len(take) < per_class:
                if cursor[k] >= queues[k].size:
                    queues[k] = rng.permutation(pools[k])
                    cursor[k] = 0
                need = per_class - len(take)
                part = queues[k][cursor[k] : cursor[k] + need]
                cursor[k] += part.size
                take.extend(part.tolist())
            chosen.extend(take)
        yield rng.permutation(np.asarray(chosen))


def epoch_generators(
    seed: int, epoch: int, device: torch.device | str = "cpu"
) -> tuple[np.random.Generator, torch.Generator]:
    """The batch-order and noise generators of one epoch (the noise one on ``device``)."""
    rng = np.random.default_rng([seed, epoch])
    noise = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    return rng, noise


def make_optimizer(
    model: LCVaDE, learning_rate: float = 1e-3, feature_prior_learning_rate: float = 1e-2
) -> torch.optim.Adam:
    """Adam (beta = (0.9, 0.999), section 9.5.2) over the model's parameter groups.

    p(f|y) learns at ``feature_prior_learning_rate`` (cf. the prior rate eta_p of
    Algorithm 1), everything else at ``learning_rate``
    (:meth:`lcvade.model.LCVaDE.parameter_groups`).
    """
    groups = model.parameter_groups(learning_rate, feature_prior_learning_rate)
    return torch.optim.Adam(groups, lr=learning_rate, betas=(0.9, 0.999))


def epoch_plan(
    labels: np.ndarray,
    n_classes: int,
    batch_size: int,
    seed: int,
    epoch: int,
    device: torch.device | str = "cpu",
) -> tuple[list[np.ndarray], torch.Generator]:
    """The class-balanced batches of one epoch and its reparameterisation-noise generator."""
    rng, noise = epoch_generators(seed, epoch, device)
    return list(balanced_batches(labels, n_classes, batch_size, rng)), noise


def train_step(
    model: LCVaDE,
    data: TrainingSet,
    optimizer: torch.optim.Optimizer,
    index: np.ndarray,
    noise: torch.Generator,
    device: torch.device | str = "cpu",
    augmentation: Augmentation | None = None,
    augment_seed: Sequence[int] = (),
) -> dict[str, float]:
    """One Adam step on the loss of eq. 9.8 over the curves ``index``; the batch means.

    With ``augmentation`` the curves are redrawn from ``augment_seed`` first.
    """
    idx = torch.from_numpy(np.asarray(index))
    batch = data.batch_of(index, model.config, augmentation, augment_seed).to(device)
    target = data.labels[idx].to(device)
    terms = model.loss(batch, target, sample=True, generator=noise)
    loss = terms.total.mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return terms.summary()
