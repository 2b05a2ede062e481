"""The baselines of the outlier benchmark: DAGMM, LC-VaDE K = 1, combined score, IForest."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from labelled_curves import labelled_tables
from scipy.stats import multivariate_normal

from lcvade.batching import collate
from lcvade.gaussians import gaussian_entropy
from lcvade.tables import iter_curves
from training.baselines.dagmm import COVARIANCE_JITTER, mixture_parameters, sample_energy
from training.baselines.feature_forest import feature_forest
from training.baselines.lcvade_methods import (
    combined_anomaly_score,
    prior_log_likelihood,
    score_parts,
    train_model,
)
from training.baselines.protocol import MethodSettings, OutlierTask
from training.data import LabelledCurves
from training.inference import evaluate_model
from training.metrics import auroc
from training.split import outlier_split

TINY = {"channels": 4, "n_reference": 16, "max_points": 60}


pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def task() -> OutlierTask:
    photometry, objects = labelled_tables(n_per_class=24, seed=11)
    curves = [c for c in iter_curves(photometry, objects) if not hasattr(c, "reason")]
    labels = objects.set_index("object_id").loc[[c.id for c in curves], "label"].to_numpy()
    data = LabelledCurves(curves, labels.astype(object), ["given"] * len(curves))
    return OutlierTask.from_split(data, outlier_split(data.ids, data.labels, "eclipse", 0))


def test_mixture_parameters_with_hard_memberships_are_cluster_moments():
    rng = np.random.default_rng(0)
    z = torch.as_tensor(rng.normal(size=(60, 3)))
    member = np.repeat([0, 1, 2], 20)
    gamma = torch.nn.functional.one_hot(torch.as_tensor(member), 3).double()
    phi, mu, cov = mixture_parameters(z, gamma)
    for k in range(3):
        part = z[member == k].numpy()
        assert phi[k].item() == pytest.approx(1 / 3)
        assert np.allclose(mu[k].numpy(), part.mean(0))
        expected = np.cov(part.T, bias=True) + COVARIANCE_JITTER * np.eye(3)
        assert np.allclose(cov[k].numpy(), expected)


def test_energy_is_minus_the_log_mixture_density():
    rng = np.random.default_rng(1)
    z = torch.as_tensor(rng.normal(size=(7, 3)))
    phi = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    mu = torch.as_tensor(rng.normal(size=(3, 3)))
    a = rng.normal(size=(3, 3, 3))
    cov = torch.as_tensor(a @ a.transpose(0, 2, 1) + 0.5 * np.eye(3))
    density = sum(
        phi[k].item() * multivariate_normal(mu[k].numpy(), cov[k].numpy()).pdf(z.numpy())
        for k in range(3)
    )
    assert np.allclose(sample_energy(z, phi, mu, cov).numpy(), -np.log(density))


def test_combined_score_weighting():
    train_ias, train_rec = np.arange(5.0), np.array([10.0, 20, 30, 40, 50])
    # (4 - 2) / 2 + (10 - 30) / 20 = 0: as typical as the median training inlier
    score = combined_anomaly_score(
        np.array([4.0, 2.0, 0.0]), np.array([10.0, 30, 10]), train_ias, train_rec
    )
    assert np.allclose(score, [0.0, 0.0, 2.0])


def test_unimodal_score_is_the_prior_likelihood_of_the_code(task):
    settings = MethodSettings(epochs=1, batch_size=8, model=TINY)
    config = settings.lcvade_config(1, task.bands)
    model, _ = train_model(task.train, np.zeros(len(task.train), np.int64), config, settings)
    batch = collate(task.test.curves, task.test.periods, config)
    with torch.no_grad():
        _, logvar = model.encode(batch)
        ias = model.score(batch).ias
        log_pf = model.prior.log_pf(model.standardize(batch.features))[:, 0]
    # with one component q(y|z,f) = 1, so IAS_f = E_q[log p(z)] + log p(f) + h_q(z|x)
    expected = (ias - gaussian_entropy(logvar) - log_pf).double().numpy()
    assert np.allclose(prior_log_likelihood(model, batch), expected, atol=1e-4)


def test_score_parts_add_up_to_the_ias(task):
    settings = MethodSettings(epochs=1, batch_size=8, model=TINY)
    config = settings.lcvade_config(len(task.class_names), task.bands)
    model, _ = train_model(task.train, task.train_label_index(), config, settings)
    batch = collate(task.test.curves, task.test.periods, config)
    outputs = evaluate_model(model, batch, terms=True)
    parts = score_parts(outputs.terms)
    with torch.no_grad():
        _, logvar = model.encode(batch)
    entropy = gaussian_entropy(logvar).double().numpy()
    np.testing.assert_allclose(-parts["entropy_z"], entropy, atol=1e-4)
    # IAS_f minus its entropy, and eq. 9.12 (IAS_f minus its feature term)
    np.testing.assert_allclose(-parts["without_entropy"], outputs.ias - entropy, atol=1e-3)
    np.testing.assert_allclose(-parts["eq_9_12"], outputs.ias + parts["expected_log_pf"], atol=1e-3)
    assert not np.allclose(parts["without_entropy"], parts["eq_9_12"])


def test_feature_forest_finds_the_eclipsing_outliers(task):
    result = feature_forest(task, MethodSettings(seed=0))
    assert result.anomaly_score.shape == (len(task.test),)
    assert auroc(task.test_is_outlier, result.anomaly_score) > 0.9


def test_every_method_runs_on_the_same_split(task):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "outlier_table.py"
    spec = importlib.util.spec_from_file_location("outlier_table", path)
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    settings = MethodSettings(epochs=1, batch_size=8, model=TINY)
    rows = table.run_split(task, settings, [*table.METHODS, *table.EXTRA_METHODS])
    assert [r["method"] for r in rows] == [
        "lcvade", "combined", "lcvade_k1", "dagmm", "dagmm_f", "iforest"
    ]  # fmt: skip
    for row in rows:
        assert 0.0 <= row["auroc"] <= 1.0 and 0.0 <= row["aupr"] <= 1.0
        assert row["fit_s"] > 0 and row["score_s"] >= 0
    assert rows[0]["accuracy"] is not None and "accuracy" not in rows[2]
