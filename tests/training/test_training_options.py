"""Training options of the quality study: augmentation, latent supervision, plain encoder."""

from __future__ import annotations

import numpy as np
import torch
from synthetic import periodic_curve

from lcvade.batching import collate
from lcvade.checkpoint import load_model, save_model
from lcvade.config import LCVaDEConfig
from lcvade.model import LCVaDE
from training.augment import Augmentation, augment_curves
from training.fitting import fit
from training.trainer import TrainingSet, make_optimizer


def test_augmentation_is_seeded_keeps_bands_periods_and_draws_within_the_errors(rng):
    curves = [
        periodic_curve(rng, 120, 0.6, bands=("g", "r"), curve_id="a"),
        periodic_curve(rng, 40, 3.1, curve_id="b"),
    ]
    aug = Augmentation(min_fraction=0.5)
    first = augment_curves(curves, (3, 0, 1), aug, min_points=10)
    again = augment_curves(curves, (3, 0, 1), aug, min_points=10)
    other = augment_curves(curves, (3, 0, 2), aug, min_points=10)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.time, b.time)
        np.testing.assert_array_equal(a.mag, b.mag)
    assert any(
        len(a) != len(c) or not np.array_equal(a.mag, c.mag)
        for a, c in zip(first, other, strict=True)
    )
    for original, redrawn in zip(curves, first, strict=True):
        assert redrawn.id == original.id and redrawn.period == original.period
        assert redrawn.bands == original.bands
        for band in original.bands or ("",):
            n = len(original) if not band else int(np.sum(original.band == band))
            k = len(redrawn) if not band else int(np.sum(redrawn.band == band))
            assert min(n, 10) <= k <= n and k >= round(0.5 * n) - 1
        # every kept point is an original time, its magnitude moved by noise at its error
        index = np.searchsorted(original.time, redrawn.time) if original.band is None else None
        if index is not None:
            np.testing.assert_array_equal(original.time[index], redrawn.time)
            z = (redrawn.mag - original.mag[index]) / original.mag_err[index]
            assert np.all(np.abs(z) < 6) and np.std(z) > 0.3
    plain = augment_curves(curves, (3, 0, 1), Augmentation(noise=False), min_points=10)
    a = plain[1]
    index = np.searchsorted(curves[1].time, a.time)
    np.testing.assert_array_equal(curves[1].mag[index], a.mag)


def test_augmented_training_keeps_labels_and_replays_from_the_seed(rng):
    curves = [periodic_curve(rng, 60, p) for p in (0.4, 0.45, 2.0, 2.2, 0.41, 2.1)]
    labels = np.array([0, 0, 1, 1, 0, 1])
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = LCVaDE(LCVaDEConfig(n_classes=2, channels=2, max_points=40))
        data = TrainingSet.build(model, curves, [c.period for c in curves], labels)
        model.prepare_for_training(data.batch.features, data.labels)
        optimizer = make_optimizer(model)
        outcome = fit(
            model, data, optimizer, epochs=2, batch_size=4, seed=5, augmentation=Augmentation()
        )
        assert torch.equal(data.labels, torch.as_tensor(labels))
        runs.append((outcome.state.history, model.state_dict()))
    assert runs[0][0] == runs[1][0]
    for key, value in runs[0][1].items():
        torch.testing.assert_close(value, runs[1][1][key], rtol=0, atol=0)


def test_latent_label_cross_entropy_enters_the_loss_with_its_weight(rng):
    curves = [periodic_curve(rng, 50, p) for p in (0.5, 1.5, 0.7)]
    labels = torch.tensor([0, 1, 0])
    totals = {}
    for weight in (0.0, 2.0):
        torch.manual_seed(0)
        model = LCVaDE(LCVaDEConfig(n_classes=2, channels=2, latent_label_weight=weight)).eval()
        batch = collate(curves, [c.period for c in curves], model.config)
        with torch.no_grad():
            terms = model.loss(batch, labels, sample=False)
            mean, _ = model.encode(batch)
            log_q = model.prior.log_posterior(mean, None)
        expected = -log_q.gather(1, labels[:, None]).squeeze(1)
        torch.testing.assert_close(terms.latent_label_cross_entropy, expected)
        assert torch.all(terms.latent_label_cross_entropy > 0)
        totals[weight] = (terms.total, terms.latent_label_cross_entropy)
    torch.testing.assert_close(
        totals[2.0][0] - totals[0.0][0], 2.0 * totals[0.0][1], rtol=1e-5, atol=1e-4
    )


def test_labelled_bound_weighs_the_true_class_only(rng):
    curves = [periodic_curve(rng, 50, p) for p in (0.5, 1.5)]
    labels = torch.tensor([1, 0])
    torch.manual_seed(0)
    model = LCVaDE(LCVaDEConfig(n_classes=3, channels=2, supervision="labelled_bound")).eval()
    batch = collate(curves, [c.period for c in curves], model.config)
    with torch.no_grad():
        terms = model.loss(batch, labels, sample=False)
        mean, logvar = model.encode(batch)
        per_class = model.prior.expected_log_pz(mean, logvar)
    torch.testing.assert_close(terms.expected_log_pz, per_class[[0, 1], labels])
    assert torch.all(terms.entropy_y == 0)


def test_plain_encoder_round_trips_and_moves_codes_further(tmp_path, rng):
    curves = [periodic_curve(rng, 80, p, amplitude=a) for p, a in ((0.5, 0.1), (3.0, 1.0))]
    spreads = {}
    for spectral in (True, False):
        torch.manual_seed(0)
        model = LCVaDE(LCVaDEConfig(n_classes=2, encoder_spectral_norm=spectral)).eval()
        out = save_model(model, tmp_path / str(spectral), class_names=["a", "b"])
        loaded, _, _ = load_model(out)
        assert loaded.config.encoder_spectral_norm is spectral
        batch = collate(curves, [c.period for c in curves], model.config)
        with torch.no_grad():
            torch.testing.assert_close(loaded.encode(batch)[0], model.encode(batch)[0])
            codes = model.encode(batch)[0]
            spreads[spectral] = float((codes[0] - codes[1]).norm())
    # the spectrally normalised encoder starts with codes almost on top of each other
    assert spreads[False] > 2 * spreads[True]
