"""Training LC-VaDE from scratch on simulated curves built from real OGLE-III parameters."""

from __future__ import annotations

import numpy as np
import torch

from lcvade.config import LCVaDEConfig
from lcvade.model import LCVaDE
from lcvade.simulation import simulate, to_lightcurves
from training.fitting import fit
from training.inference import evaluate_model
from training.metrics import accuracy as accuracy_of
from training.trainer import TrainingSet

CLASSES = ["RRab", "DCEP_F", "EW"]


def test_training_lowers_the_loss_and_learns_the_classes():
    torch.manual_seed(0)
    photometry, objects = simulate(300, seed=3, cadence="uniform", classes=CLASSES)
    curves = to_lightcurves(photometry, objects)
    labels = np.array([CLASSES.index(label) for label in objects["label"]])
    model = LCVaDE(LCVaDEConfig(n_classes=3, channels=16))
    data = TrainingSet.build(model, curves, objects["period"].to_numpy(), labels)
    labels_seen = data.labels.numpy()
    accuracy_before = accuracy_of(labels_seen, evaluate_model(model, data.batch).predicted)
    model.prepare_for_training(data.batch.features, data.labels)
    optimizer = torch.optim.Adam(model.parameter_groups(lr=1e-3, feature_prior_lr=1e-2))
    outcome = fit(model, data, optimizer, epochs=12, batch_size=30, seed=0)
    assert outcome.completed
    losses = [means["loss"] for means in outcome.state.history]
    accuracy = accuracy_of(labels_seen, evaluate_model(model, data.batch).predicted)
    assert losses[-1] < 0.8 * losses[0]
    assert accuracy >= 0.9 > accuracy_before
