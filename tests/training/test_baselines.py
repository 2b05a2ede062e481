"""The baselines of the outlier benchmark: DAGMM, the VAE baseline (S), combined score,
IForest and the per-class feature mixtures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from benchmark_modules import load_benchmark
from labelled_curves import labelled_tables
from scipy.stats import multivariate_normal

from lcvade.batching import collate
from lcvade.gaussians import gaussian_entropy
from lcvade.tables import iter_curves
from training.baselines.dagmm import COVARIANCE_JITTER, mixture_parameters, sample_energy
from training.baselines.feature_density import (
    VARIANCE_FLOOR,
    feature_density,
    fit_class_densities,
)
from training.baselines.feature_forest import feature_forest
from training.baselines.lcvade_methods import (
    combined_anomaly_score,
    score_parts,
    train_model,
)
from training.baselines.protocol import MethodSettings, OutlierTask
from training.baselines.unimodal import SupervisedUnimodal, prior_log_likelihood
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


def test_unimodal_baseline_starts_at_the_standard_normal_prior(task):
    config = MethodSettings(model=TINY).lcvade_config(len(task.class_names), task.bands)
    model = SupervisedUnimodal(config)
    assert model.prior.n_classes == 1
    assert torch.equal(model.prior.z_mean, torch.zeros(1, config.latent_dim))
    np.testing.assert_allclose(model.prior.z_var().detach().numpy(), 1.0, rtol=1e-6)
    assert model.classifier.out_features == len(task.class_names)


def untrained_unimodal(task):
    """A fresh VAE baseline (S) in training mode, 12 training curves and their labels."""
    config = MethodSettings(model=TINY).lcvade_config(len(task.class_names), task.bands)
    torch.manual_seed(0)
    model = SupervisedUnimodal(config).train()
    data = collate(task.train.curves[:12], task.train.periods[:12], config)
    return model, data, torch.as_tensor(task.train_label_index()[:12])


def test_unimodal_baseline_label_term_is_the_latent_classifier_cross_entropy(task):
    model, data, labels = untrained_unimodal(task)
    terms = model.loss(data, labels, generator=torch.Generator().manual_seed(1))
    assert torch.all(terms.label_cross_entropy > 0)
    # the label term is -log softmax(W mu + b)[y] at the mean code of the same pass
    model.eval()
    with torch.no_grad():
        eval_terms = model.loss(data, labels, sample=False)
        mean, _ = model.encode(data)
        log_q = torch.log_softmax(model.classifier(mean), dim=-1)
    expected = -log_q.gather(1, labels[:, None]).squeeze(1)
    torch.testing.assert_close(eval_terms.label_cross_entropy, expected)


def test_unimodal_baseline_supervision_reaches_the_encoder(task):
    model, data, labels = untrained_unimodal(task)
    terms = model.loss(data, labels, generator=torch.Generator().manual_seed(1))
    terms.label_cross_entropy.mean().backward()  # the label term alone
    assert model.classifier.weight.grad.abs().sum() > 0
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.mean.parameters()
    )
    assert all(p.grad is None for p in model.decoder.parameters())  # nor through the decoder


def test_unimodal_score_is_the_prior_likelihood_of_the_code(task):
    settings = MethodSettings(epochs=1, batch_size=8, model=TINY)
    config = settings.lcvade_config(len(task.class_names), task.bands)
    model, _ = train_model(
        task.train, task.train_label_index(), config, settings, model_class=SupervisedUnimodal
    )
    batch = collate(task.test.curves, task.test.periods, config)
    with torch.no_grad():
        mean, logvar = model.encode(batch)
    # E_q[log N(z; m, v)] = sum_j -1/2 log(2 pi v_j) - (s_j^2 + (mu_j - m_j)^2) / (2 v_j)
    m, v = model.prior.z_mean[0].detach(), model.prior.z_var()[0].detach()
    expected = (-0.5 * torch.log(2 * np.pi * v) - (logvar.exp() + (mean - m) ** 2) / (2 * v)).sum(1)
    np.testing.assert_allclose(
        prior_log_likelihood(model, batch), expected.double().numpy(), rtol=1e-5
    )


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
    table = load_benchmark("outlier_table")
    settings = MethodSettings(epochs=1, batch_size=8, model=TINY)
    rows = table.run_split(task, settings, [*table.METHODS, *table.EXTRA_METHODS])
    assert [r["method"] for r in rows] == [
        "lcvade", "combined", "lcvade_k1", "dagmm", "dagmm_f", "iforest", "gmm_features"
    ]  # fmt: skip
    for row in rows:
        assert 0.0 <= row["auroc"] <= 1.0 and 0.0 <= row["aupr"] <= 1.0
        assert row["fit_s"] > 0 and row["score_s"] >= 0
    classifying = {r["method"] for r in rows if "accuracy" in r}
    assert classifying == {"lcvade", "combined", "lcvade_k1", "gmm_features"}


def test_feature_density_matches_a_hand_computation():
    rng = np.random.default_rng(3)
    a = rng.normal([0.0, 5.0], [1.0, 0.5], size=(30, 2))
    b = rng.normal([4.0, -1.0], [0.5, 2.0], size=(25, 2))
    x, y = np.vstack([a, b]), np.repeat([0, 1], [30, 25])
    densities = fit_class_densities(x, y, 2, seed=0)
    assert densities.n_components == [1, 1]  # one Gaussian per class: BIC keeps one component
    mean, std = x.mean(0), x.std(0)
    queries = np.array([[0.0, 5.0], [4.0, -1.0], [2.0, 2.0], [10.0, 10.0]])
    expected = []
    for k in (0, 1):
        u = (x[y == k] - mean) / std
        mu, var = u.mean(0), u.var(0) + VARIANCE_FLOOR
        q = (queries - mean) / std
        expected.append((-0.5 * np.log(2 * np.pi * var) - (q - mu) ** 2 / (2 * var)).sum(1))
    expected = np.stack(expected, 1)
    np.testing.assert_allclose(densities.class_log_densities(queries), expected, rtol=1e-6)
    np.testing.assert_allclose(densities.best_log_density(queries), expected.max(1), rtol=1e-6)


def test_feature_density_gives_a_two_mode_class_two_components():
    rng = np.random.default_rng(4)
    modes = np.vstack([rng.normal(-3.0, 0.3, (40, 2)), rng.normal(3.0, 0.3, (40, 2))])
    single = rng.normal(0.0, 1.0, (15, 2))  # under 2 x MIN_PER_COMPONENT curves: one component
    x, y = np.vstack([modes, single]), np.repeat([0, 1], [80, 15])
    densities = fit_class_densities(x, y, 2, seed=0)
    assert densities.n_components == [2, 1]
    # the gap between the two modes is unlikely under class 0 although it is its mean
    gap, mode = np.array([[0.0, 0.0]]), np.array([[3.0, 3.0]])
    assert densities.class_log_densities(gap)[0, 0] < densities.class_log_densities(mode)[0, 0] - 5


def test_feature_density_finds_the_eclipsing_outliers(task):
    result = feature_density(task, MethodSettings(seed=0))
    assert result.anomaly_score.shape == (len(task.test),)
    assert auroc(task.test_is_outlier, result.anomaly_score) > 0.9
    inliers = ~task.test_is_outlier
    assert np.mean(result.predicted[inliers] == task.test_label_index()[inliers]) > 0.9
