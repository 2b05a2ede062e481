"""Class weights p(y) of the classifier q(y|z,f): validation, Bayes' rule, training, manifest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from labelled_curves import write_tables

from lcvade.checkpoint import load_model, save_model
from lcvade.config import LCVaDEConfig
from lcvade.model import LCVaDE
from training.config import build_config
from training.job import run_training


def test_class_weights_are_normalised_and_checked():
    config = LCVaDEConfig(n_classes=3, class_weights=[2, 1, 1])
    assert config.class_weights == [0.5, 0.25, 0.25]
    for bad in ([1, 1], [1, 0, 1], [1, float("nan"), 1]):
        with pytest.raises(ValueError, match="class_weights"):
            LCVaDEConfig(n_classes=3, class_weights=bad)


def test_the_posterior_follows_bayes_rule_with_the_weights(rng):
    weights = [0.7, 0.2, 0.1]
    uniform = LCVaDE(LCVaDEConfig(n_classes=3, channels=2)).prior
    weighted = LCVaDE(LCVaDEConfig(n_classes=3, channels=2, class_weights=weights)).prior
    weighted.load_state_dict(uniform.state_dict())
    z = torch.from_numpy(rng.normal(size=(5, 12)).astype(np.float32))
    f = torch.from_numpy(rng.normal(size=(5, 3)).astype(np.float32))
    joint = uniform.log_pz(z) + uniform.log_pf(f) + torch.tensor(weights).log()
    expected = joint - torch.logsumexp(joint, -1, keepdim=True)
    torch.testing.assert_close(weighted.log_posterior(z, f), expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(uniform.log_posterior(z, f), expected, atol=1e-3)


def test_weights_round_trip_through_the_manifest_not_the_weights_file(tmp_path):
    model = LCVaDE(LCVaDEConfig(n_classes=2, channels=2, class_weights=[3, 1]))
    out = save_model(model, tmp_path / "m", class_names=["a", "b"])
    loaded, manifest, _ = load_model(out)
    assert manifest.config.class_weights == [0.75, 0.25]
    torch.testing.assert_close(loaded.prior.log_weights.exp(), torch.tensor([0.75, 0.25]))
    assert "prior.log_weights" not in loaded.state_dict()


def test_training_stores_the_class_frequencies_and_the_observed_feature_moments(tmp_path):
    data, objects = write_tables(tmp_path, n_per_class=30, seed=5)
    overrides = {
        "data": data, "objects": objects, "epochs": 1, "batch_size": 6, "seed": 3,
        "out": tmp_path / "model", "progress": False, "calibration_min": 6,
        "class_prior": "training", "feature_prior": "observed",
    }  # fmt: skip
    run_training(build_config(None, overrides, {"channels": 4, "max_points": 60}))
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    seen = json.loads((tmp_path / "model" / "object_ids.json").read_text())
    assert manifest["config"]["class_weights"] is not None
    # the frequencies of the training split (fit and calibration), in class order
    table = pd.read_csv(objects, dtype={"object_id": str})
    labels = dict(zip(table["object_id"], table["label"], strict=True))
    train = [labels[i] for i in seen["fit"] + seen["calibration"]]
    names = manifest["class_names"]
    expected = np.array([train.count(n) for n in names], dtype=float)
    np.testing.assert_allclose(manifest["config"]["class_weights"], expected / expected.sum())
    # p(f|y) is the class moments of the fit curves' (standardised) features, as observed
    from lcvade.checkpoint import load_model as load
    from training.data import load_labelled
    from training.trainer import TrainingSet

    model, _, _ = load(tmp_path / "model")
    data = load_labelled(data, objects)
    position = {str(i): k for k, i in enumerate(data.ids)}
    fit = data.subset(np.array([position[str(i)] for i in seen["fit"]]))
    batch = TrainingSet.build(model, fit.curves, fit.periods, [0] * len(fit.curves)).batch
    f = model.standardize(batch.features).double().numpy()
    for k, name in enumerate(names):
        rows = f[np.asarray(fit.labels) == name]
        np.testing.assert_allclose(
            model.prior.f_mean[k].double().detach().numpy(), rows.mean(0), atol=2e-3
        )
