"""The training loop of the image family: seeded, with a progress bar, resumable.

:func:`train` builds (or resumes) a model, draws mini-batches uniformly with replacement
from the training images with its own seeded generator, calls the model's ``train_step``
(``pretrain_step`` first for models that pretrain) and writes a checkpoint every
``checkpoint_every`` steps and at the end.  Every random state (torch's global generator and
the batch sampler) is in the checkpoint, so a run interrupted and resumed from its last
checkpoint continues exactly as if it had not stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from tqdm.auto import tqdm

from models.base import GIModel
from models.gi_checkpoint import (
    MANIFEST_FILE,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from models.images import ImageData, load_dataset
from models.registry import build_model, make_config


class TrainConfig(BaseModel):
    """One training run.  ``hyper`` holds the model's own configuration (see the model's
    ``config_class``); ``channels`` is filled from the data set."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        "mpcc", description="vae, wvae, jsvae, mmd, aim, ali, alice, veegan, vade or mpcc"
    )
    data: str = Field(
        "digits",
        description="digits, mnist, fashion-mnist, cifar10, cifar100, a folder under the "
        "image root, or a folder path",
    )
    data_root: str | None = Field(None, description="folder holding the local data sets")
    steps: int = Field(1000, ge=0, description="training iterations (in total, when resuming)")
    batch_size: int = Field(64, ge=2, description="images per mini-batch")
    seed: int = Field(0, description="seed of the weights and the batch sampler")
    test_fraction: float = Field(
        0.2, ge=0, lt=1, description="share of the images held out for evaluation (stratified)"
    )
    split_seed: int = Field(0, description="seed of the train/test split")
    checkpoint_every: int = Field(500, ge=1, description="steps between checkpoints")
    threads: int | None = Field(None, ge=1, description="torch CPU threads")
    hyper: dict[str, Any] = Field(
        default_factory=dict, description="the model's hyper-parameters (its config_class)"
    )


@dataclass
class TrainResult:
    model: GIModel
    step: int
    resumed_from: int
    history: list[dict[str, float]] = field(default_factory=list)


def training_split(cfg: TrainConfig, data: ImageData | None = None) -> tuple[ImageData, ImageData]:
    """The (train, test) split a run uses: stratified, seeded with ``split_seed``."""
    data = data if data is not None else load_dataset(cfg.data, cfg.data_root)
    if cfg.test_fraction == 0:
        return data, data.subset(torch.arange(0), "test")
    return data.split(cfg.test_fraction, cfg.split_seed)


class BatchSampler:
    """Uniform mini-batches with replacement, from a generator whose state is checkpointed."""

    def __init__(self, images: torch.Tensor, batch_size: int, seed: int) -> None:
        self.images = images
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self) -> torch.Tensor:
        idx = torch.randint(0, len(self.images), (self.batch_size,), generator=self.generator)
        return self.images[idx]


def train(
    cfg: TrainConfig,
    out: str | os.PathLike[str],
    *,
    data: ImageData | None = None,
    resume: bool = True,
    progress: bool = True,
    stop_after: int | None = None,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    until: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train ``cfg.model`` on the training split of ``cfg.data`` and checkpoint into ``out``.

    With ``resume`` and a checkpoint already in ``out``, training continues from it (its
    model name must match).  ``stop_after`` ends the run early after that many steps of this
    call (used to test resumption); the checkpoint then holds the step reached.  ``until``
    is asked after every step and ends the run when it returns True (a time budget).
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out)
    train_set, _ = training_split(cfg, data)
    sampler = BatchSampler(train_set.images, cfg.batch_size, cfg.seed + 1)
    start = 0
    if resume and (out / MANIFEST_FILE).is_file():
        ckpt = load_checkpoint(out)
        if ckpt.manifest.model != cfg.model:
            raise CheckpointError(
                f"{out} holds a {ckpt.manifest.model} checkpoint, not {cfg.model}: "
                "choose another output folder or the same model"
            )
        model, start = ckpt.model, ckpt.manifest.step
        if "torch" in ckpt.rng:
            torch.set_rng_state(ckpt.rng["torch"])
        if "sampler" in ckpt.rng:
            sampler.generator.set_state(ckpt.rng["sampler"])
    else:
        torch.manual_seed(cfg.seed)
        hyper = {**cfg.hyper, "channels": train_set.channels}
        model = build_model(cfg.model, make_config(cfg.model, hyper))
    model.train()

    def checkpoint(step: int) -> None:
        save_checkpoint(
            out,
            model,
            step=step,
            seed=cfg.seed,
            data=cfg.data,
            data_digest=train_set.digest(),
            rng={"torch": torch.get_rng_state(), "sampler": sampler.generator.get_state()},
            training=cfg.model_dump(mode="json"),
        )

    history: list[dict[str, float]] = []
    end = cfg.steps if stop_after is None else min(cfg.steps, start + stop_after)
    bar = tqdm(
        total=cfg.steps,
        initial=start,
        disable=not progress,
        desc=cfg.model,
        unit="step",
        dynamic_ncols=True,
    )
    step = start
    try:
        for step in range(start, end):
            if step < model.pretrain_steps:
                losses = model.pretrain_step(sampler)
            else:
                if step == model.pretrain_steps and model.pretrain_steps > 0:
                    model.finish_pretraining(train_set.images)
                losses = model.train_step(sampler)
            history.append(losses)
            if on_step is not None:
                on_step(step + 1, losses)
            bar.update(1)
            if (step + 1) % 10 == 0 or step + 1 == end:
                bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
            if (step + 1) % cfg.checkpoint_every == 0 and step + 1 < end:
                checkpoint(step + 1)
            if until is not None and until():
                end = step + 1
                break
        step = end
    finally:
        bar.close()
    checkpoint(step)
    return TrainResult(model=model, step=step, resumed_from=start, history=history)
