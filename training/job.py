"""The offline training job behind ``lcvade train``.

1. read the two tables and resolve every period (searched ones are cached);
2. split them with the outlier-class protocol of section 9.2 (:mod:`training.split`), keep
   the training inliers, and hold a seeded, class-stratified slice of them out of the fit
   for calibration (``calibration_fraction``, at least ``calibration_min`` curves);
3. build LC-VaDE with the run's hyper-parameters (seeded), store the training set's feature
   statistics in it, and train with class-balanced batches (p(y) uniform, section 9.4.2)
   and Adam, checkpointing every epoch (:mod:`training.fitting`);
4. calibrate (split conformal): the sorted IAS of the held-out slice (eval mode), so that
   any new score gets a percentile and a one-sided p-value
   (:class:`lcvade.calibration.IASCalibration`), and the median and spread of every term of
   the score there, for the explanations of :mod:`lcvade.explanation`;
5. write the model directory that :func:`lcvade.load` reads, with the class names, feature
   statistics, calibration and a ``training`` record (seed, data digest, command line,
   split, calibration slice, epochs, wall time, configuration) in its manifest, and the ids
   of the fit, calibration and test objects in ``object_ids.json``.
"""

from __future__ import annotations

import platform
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lcvade.calibration import IASCalibration
from lcvade.checkpoint import MANIFEST_FILE, save_model
from lcvade.config import LCVaDEConfig
from lcvade.explanation import typical_values
from lcvade.model import LCVaDE
from lcvade.scorer import resolve_device, score_terms, term_names
from models.atomic_files import write_json_atomic
from training.config import ConfigError, TrainConfig, equivalent_command, to_toml
from training.data import LabelledCurves, load_labelled
from training.fitting import fit
from training.inference import evaluate_model
from training.interrupt import StopRequest
from training.resume import CheckpointStore, LoopState, ResumeError
from training.split import CalibrationSlice, OutlierSplit, calibration_slice, outlier_split
from training.trainer import TrainingSet, make_optimizer

CONFIG_COPY = "train_config.toml"
OBJECT_IDS_FILE = "object_ids.json"
HISTORY_TERMS = ("loss", "reconstruction", "expected_log_pz", "entropy_z", "label_cross_entropy")


class TrainingInterrupted(Exception):
    """The run stopped on request after saving a checkpoint; ``--resume`` continues it."""


@dataclass
class TrainingResult:
    """What a finished run produced."""

    model_dir: Path
    class_names: list[str]
    train_accuracy: float
    wall_time_s: float
    fit_time_s: float
    cpu_time_s: float
    split: OutlierSplit
    calibration: CalibrationSlice
    data: LabelledCurves
    history: list[dict[str, float]]


def check_output(config: TrainConfig) -> CheckpointStore:
    """Refuse to overwrite another run's output unless resuming it."""
    store = CheckpointStore(config.out)
    if config.resume:
        state = store.read_state()
        if state.config_digest != config.identity_digest():
            raise ResumeError(
                f"the checkpoint in {config.out} was made with a different configuration; "
                f"resume with the same options (see {config.out / CONFIG_COPY}) or start a new "
                "run in another --out directory"
            )
        return store
    if store.exists() or (config.out / MANIFEST_FILE).exists():
        raise ResumeError(
            f"{config.out} already holds a training run; pass --resume to continue it or "
            "choose another --out directory"
        )
    return store


def training_classes(data: LabelledCurves, config: TrainConfig) -> list[str]:
    """The sorted inlier class names (every class but the outlier)."""
    names = sorted(data.class_counts())
    if config.outlier_class is not None and config.outlier_class not in names:
        raise ConfigError(
            f"outlier class {config.outlier_class!r} is not among the classes used {names}"
        )
    return [n for n in names if n != config.outlier_class]


def build_model(config: TrainConfig, class_names: list[str], bands: list[str] | None) -> LCVaDE:
    """A freshly initialised LC-VaDE, seeded with the run's seed."""
    torch.manual_seed(config.seed)
    return LCVaDE(config.model_config_for(len(class_names), bands))


@torch.no_grad()
def round_weights(model: LCVaDE, dtype: torch.dtype) -> None:
    """Round every floating-point weight through ``dtype``, as the saved file will hold it."""
    for tensor in model.state_dict().values():
        if tensor.is_floating_point():
            tensor.copy_(tensor.to(dtype).to(tensor.dtype))


def calibrate(
    model: LCVaDE, data: TrainingSet, curves: list, periods: np.ndarray
) -> tuple[IASCalibration, float, dict[str, dict[str, float]]]:
    """The IAS calibration of held-out inliers, their classification accuracy, and the
    median and spread of every term of their scores (:mod:`lcvade.explanation`)."""
    outputs = evaluate_model(model, data.batch)
    accuracy = float(np.mean(outputs.predicted == data.labels.numpy()))
    terms, _, _ = score_terms(
        model, model.config, curves, outputs.ias, np.exp(outputs.log_q_y), periods
    )
    statistics = {}
    for name, column in zip(term_names(model.config), terms.T, strict=True):
        median, spread = typical_values(column)
        statistics[name] = {"median": median, "spread": spread}
    return IASCalibration(outputs.ias), accuracy, statistics


def write_object_ids(
    directory: Path, data: LabelledCurves, split: OutlierSplit, held: CalibrationSlice
) -> None:
    """``OBJECT_IDS_FILE``: the ids of the objects the fit saw, of the calibration slice, and
    of the test set, so that an evaluation can keep to objects the model never saw."""
    ids = np.asarray(data.ids).astype(str)
    record = {
        "fit": sorted(ids[held.fit].tolist()),
        "calibration": sorted(ids[held.calibration].tolist()),
        "test": sorted(ids[split.test].tolist()),
    }
    write_json_atomic(directory / OBJECT_IDS_FILE, record)


def run_training(config: TrainConfig, argv: list[str] | None = None) -> TrainingResult:
    """Run (or resume) the job described by ``config``; see the module docstring."""
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _run_training(config, argv)
    finally:
        torch.set_num_threads(threads)


def _run_training(config: TrainConfig, argv: list[str] | None) -> TrainingResult:
    started = time.perf_counter()
    cpu_started = time.process_time()
    if config.data is None or config.objects is None:
        raise ConfigError("give both --data (light curves) and --objects (labels)")
    outlier, classes = config.outlier_class, config.classes
    if classes is not None and outlier is not None and outlier not in classes:
        raise ConfigError(f"--outlier-class {outlier} must be one of --classes {classes}")
    store = check_output(config)
    device = resolve_device(config.device)
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / CONFIG_COPY).write_text(to_toml(config), encoding="utf-8")

    data = load_labelled(
        config.data,
        config.objects,
        classes=config.classes,
        min_points=config.min_points,
        period_cache=config.cache_path(),
        progress=config.progress,
    )
    class_names = training_classes(data, config)
    split = outlier_split(data.ids, data.labels, config.outlier_class, config.seed)
    held = calibration_slice(
        data.ids,
        data.labels,
        split.train,
        config.calibration_fraction,
        config.calibration_min,
        config.seed,
    )
    train = data.subset(held.fit)
    held_out = data.subset(held.calibration)
    label_index = {name: k for k, name in enumerate(class_names)}
    model = build_model(config, class_names, data.bands())
    train_set = TrainingSet.build(
        model, train.curves, train.periods, [label_index[y] for y in train.labels]
    )
    model.prepare_for_training(train_set.batch.features, train_set.labels)
    model.to(device)
    optimizer = make_optimizer(model, config.learning_rate, config.feature_prior_learning_rate)
    state = LoopState(seed=config.seed, config_digest=config.identity_digest())
    if config.resume:
        state = store.load(model, optimizer)

    with StopRequest() as stop:
        outcome = fit(
            model,
            train_set,
            optimizer,
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=config.seed,
            device=device,
            state=state,
            store=store,
            stop=stop,
            progress=config.progress,
            augmentation=config.augmentation(),
        )
    if not outcome.completed:
        where = f"epoch {outcome.state.epoch + 1}, batch {outcome.state.batch}"
        raise TrainingInterrupted(
            f"stopped at {where} of {config.epochs} epochs; checkpoint saved in "
            f"{store.root}. Continue with the same command plus --resume"
        )

    if config.feature_prior == "observed":
        with torch.no_grad():
            features = model.standardize(train_set.batch.features.to(device))
            model.prior.initialize_features(features, train_set.labels.to(device))
    if config.class_prior == "training":
        counts = Counter(data.labels[split.train].tolist())
        options = model.config.model_dump() | {"class_weights": [counts[n] for n in class_names]}
        model.config = LCVaDEConfig(**options)
        model.prior.set_class_weights(model.config.class_weights)
    dtype = getattr(torch, config.weights_dtype)
    round_weights(model, dtype)
    calibration_set = TrainingSet.build(
        model, held_out.curves, held_out.periods, [label_index[y] for y in held_out.labels]
    )
    calibration, accuracy, statistics = calibrate(
        model, calibration_set, held_out.curves, np.asarray(held_out.periods, dtype=np.float64)
    )
    wall = time.perf_counter() - started
    training = training_record(config, argv, data, split, outcome.state, accuracy, wall)
    training["calibration"] = held.describe(data.ids, data.labels)
    training["device"] = str(device)
    # CPU seconds of this process (this invocation only): with one thread, about what the
    # run takes on an idle machine, however busy this one was
    training["cpu_time_s"] = round(time.process_time() - cpu_started, 1)
    save_model(
        model.cpu(),
        config.out,
        class_names=class_names,
        name=config.name,
        version=config.version,
        calibration=calibration,
        training=training,
        weights_dtype=dtype,
        term_statistics=statistics,
    )
    write_object_ids(config.out, data, split, held)
    return TrainingResult(
        model_dir=config.out,
        class_names=class_names,
        train_accuracy=accuracy,
        wall_time_s=wall,
        fit_time_s=outcome.state.elapsed_s,
        cpu_time_s=training["cpu_time_s"],
        split=split,
        calibration=held,
        data=data,
        history=outcome.state.history,
    )


def training_record(
    config: TrainConfig,
    argv: list[str] | None,
    data: LabelledCurves,
    split: OutlierSplit,
    state: LoopState,
    calibration_accuracy: float,
    wall_time_s: float,
) -> dict[str, Any]:
    """The ``training`` dict of the manifest (what reproduces and describes the run)."""
    sources = {s: data.period_sources.count(s) for s in sorted(set(data.period_sources))}
    return {
        "seed": config.seed,
        "data_digest": data.digest,
        "data_files": {"data": str(config.data), "objects": str(config.objects)},
        "data_description": config.description,
        "command": equivalent_command(config),
        "argv": argv,
        "data_classes": data.class_counts(),
        "outlier_class": config.outlier_class,
        "classes_used": config.classes,
        "split": split.describe(data.ids, data.labels),
        "n_rejected": len(data.rejections),
        "period_sources": sources,
        "epochs": state.epoch,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "feature_prior_learning_rate": config.feature_prior_learning_rate,
        "min_points": config.min_points,
        "history": [
            {k: round(v, 4) for k, v in epoch.items() if k in HISTORY_TERMS}
            for epoch in state.history
        ],
        "calibration_accuracy": calibration_accuracy,
        "fit_time_s": round(state.elapsed_s, 1),
        "wall_time_s": round(wall_time_s, 1),
        "config": config.identity(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }
