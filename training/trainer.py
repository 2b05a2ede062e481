"""The LC-VaDE training loop: class-balanced batches, Adam, the loss of eq. 9.8.

The thesis takes p(y) uniform because training forces label balance (section 9.4.2): every
batch holds the same number of curves of each class, drawn without replacement within an
epoch as long as a class has curves left, then recycled.  Each epoch's batch order and
reparameterisation noise come from generators seeded with (seed, epoch), so an epoch is
reproducible on its own -- resuming at epoch e replays exactly what an uninterrupted run does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from lcvade.batching import CurveBatch, collate
from lcvade.lightcurve import LightCurve
from lcvade.model import LCVaDE


@dataclass
class TrainingSet:
    """Training curves, preprocessed once into one padded batch, with integer labels."""

    batch: CurveBatch
    labels: torch.Tensor

    @classmethod
    def build(
        cls, model: LCVaDE, curves: Sequence[LightCurve], periods: Sequence[float], labels
    ) -> TrainingSet:
        batch = collate(curves, periods, model.config)
        return cls(batch=batch, labels=torch.as_tensor(np.asarray(labels), dtype=torch.long))

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


def epoch_generators(seed: int, epoch: int) -> tuple[np.random.Generator, torch.Generator]:
    """The batch-order and noise generators of one epoch."""
    rng = np.random.default_rng([seed, epoch])
    noise = torch.Generator().manual_seed(int(rng.integers(2**62)))
    return rng, noise


def train_epoch(
    model: LCVaDE,
    data: TrainingSet,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    device: torch.device | str = "cpu",
    progress: bool = False,
    on_batch: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, float]:
    """One pass of class-balanced mini-batches; returns the epoch means of the loss terms."""
    model.train()
    rng, noise = epoch_generators(seed, epoch)
    labels = data.labels.numpy()
    batches = list(balanced_batches(labels, model.config.n_classes, batch_size, rng))
    totals: dict[str, float] = {}
    bar = tqdm(batches, desc=f"epoch {epoch + 1}", unit="batch", disable=not progress, leave=False)
    for index in bar:
        idx = torch.from_numpy(index)
        batch = data.batch.select(idx).to(device)
        target = data.labels[idx].to(device)
        terms = model.loss(batch, target, sample=True, generator=noise)
        loss = terms.total.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        summary = terms.summary()
        for key, value in summary.items():
            totals[key] = totals.get(key, 0.0) + value
        bar.set_postfix(loss=f"{summary['loss']:.1f}", rec=f"{summary['reconstruction']:.1f}")
        if on_batch is not None:
            on_batch(summary)
    return {key: value / len(batches) for key, value in totals.items()}


@torch.no_grad()
def evaluate_accuracy(model: LCVaDE, data: TrainingSet, batch_size: int = 512) -> float:
    """Accuracy of argmax q(y|z,f) (z at the mean of q(z|x,t)) on ``data``."""
    model.eval()
    hits = 0
    for start in range(0, len(data), batch_size):
        part = data.batch.select(slice(start, start + batch_size))
        scores = model.score(part)
        predicted = scores.log_q_y.argmax(-1)
        hits += int((predicted == data.labels[start : start + batch_size]).sum())
    return hits / max(len(data), 1)
