"""The epoch loop of a training run: progress, checkpoints, interruption and resumption.

Each epoch is the class-balanced pass of :mod:`training.trainer`.  After every epoch the
whole state is saved (:class:`training.resume.CheckpointStore`); when a stop is requested
(Ctrl-C) the loop finishes the batch in flight, saves a mid-epoch snapshot -- including the
noise generator's state -- and returns, so that resuming replays the rest of the epoch
exactly.  One progress bar covers the run and shows the loss terms of eq. 9.9.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from lcvade.model import LCVaDE
from training.augment import Augmentation
from training.resume import CheckpointStore, LoopState
from training.trainer import TrainingSet, epoch_plan, train_step

# Loss terms shown on the progress bar, with short names.
BAR_TERMS = {
    "loss": "loss",
    "reconstruction": "rec",
    "expected_log_pz": "logpz",
    "expected_log_pf": "logpf",
    "entropy_z": "hz",
    "label_cross_entropy": "ce",
}


@dataclass
class FitOutcome:
    """The loop state after :func:`fit`, and whether every epoch ran."""

    state: LoopState
    completed: bool


def fit(
    model: LCVaDE,
    data: TrainingSet,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    device: torch.device | str = "cpu",
    state: LoopState | None = None,
    store: CheckpointStore | None = None,
    stop: Callable[[], bool] | None = None,
    progress: bool = False,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    augmentation: Augmentation | None = None,
) -> FitOutcome:
    """Train ``model`` up to ``epochs`` epochs, from ``state`` (a resumed run) or the start.

    With ``augmentation`` every batch is a redraw of its curves seeded by (seed, epoch,
    batch), so a resumed run replays the same redraws.
    """
    state = state or LoopState(seed=seed)
    labels = data.labels.numpy()
    n_batches = len(epoch_plan(labels, model.config.n_classes, batch_size, seed, 0)[0])
    done = state.epoch * n_batches + state.batch
    bar = tqdm(
        total=epochs * n_batches,
        initial=min(done, epochs * n_batches),
        desc="training",
        unit="batch",
        disable=not progress,
        dynamic_ncols=True,
    )
    started = time.perf_counter() - state.elapsed_s
    try:
        while state.epoch < epochs:
            model.train()
            batches, noise = epoch_plan(
                labels, model.config.n_classes, batch_size, seed, state.epoch, device
            )
            if state.batch > 0 and state.noise_state is not None:
                noise.set_state(state.noise_state)
            totals = dict(state.partial_totals) if state.batch > 0 else {}
            for b in range(state.batch, len(batches)):
                summary = train_step(
                    model,
                    data,
                    optimizer,
                    batches[b],
                    noise,
                    device,
                    augmentation,
                    (seed, state.epoch, b),
                )
                for key, value in summary.items():
                    totals[key] = totals.get(key, 0.0) + value
                bar.update(1)
                bar.set_postfix(
                    {"epoch": state.epoch + 1}
                    | {short: f"{summary[key]:.2f}" for key, short in BAR_TERMS.items()}
                )
                if stop is not None and stop() and b + 1 < len(batches):
                    state.batch, state.partial_totals = b + 1, totals
                    state.noise_state = noise.get_state()
                    state.elapsed_s = time.perf_counter() - started
                    if store is not None:
                        store.save(model, optimizer, state)
                    return FitOutcome(state, completed=False)
            means = {key: value / len(batches) for key, value in totals.items()}
            state.history.append(means)
            state.epoch, state.batch = state.epoch + 1, 0
            state.partial_totals, state.noise_state = {}, None
            state.elapsed_s = time.perf_counter() - started
            if store is not None:
                store.save(model, optimizer, state)
            if on_epoch is not None:
                on_epoch(state.epoch, means)
            if stop is not None and stop() and state.epoch < epochs:
                return FitOutcome(state, completed=False)
    finally:
        bar.close()
    return FitOutcome(state, completed=True)
