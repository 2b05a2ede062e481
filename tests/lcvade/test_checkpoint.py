"""Checkpoints: bit-identical round trip; corrupt, tampered and unknown files are refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from synthetic import periodic_curve

import lcvade
from lcvade.calibration import IASCalibration
from lcvade.checkpoint import CheckpointError, load_model, read_manifest, save_model


@pytest.fixture
def saved(tmp_path, tiny_model):
    calibration = IASCalibration(np.linspace(-30.0, 5.0, 101))
    save_model(
        tiny_model,
        tmp_path / "m",
        class_names=["RRab", "RRc", "EW"],
        name="tiny",
        version="3",
        calibration=calibration,
        training={"seed": 7},
    )
    return tmp_path / "m"


def test_round_trip_gives_bit_identical_scores(saved, tiny_model, rng):
    curves = [periodic_curve(rng, n, p) for n, p in [(40, 0.5), (250, 3.0), (12, 1.2)]]
    curves.append(periodic_curve(rng, 90, 0.8, with_period=False))
    before = lcvade.Scorer(
        tiny_model,
        read_manifest(saved),
        IASCalibration(np.linspace(-30.0, 5.0, 101)),
        device="cpu",
    ).score(curves)
    after = lcvade.load(saved, device="cpu").score(curves)
    assert [r.to_dict() for r in before] == [r.to_dict() for r in after]
    assert after[3].period_source == "estimated"
    assert after[0].period_source == "given" and after[0].period == 0.5


def test_manifest_contents(saved, tiny_model):
    manifest = read_manifest(saved)
    assert manifest.name == "tiny" and manifest.version == "3"
    assert manifest.class_names == ["RRab", "RRc", "EW"]
    assert manifest.config == tiny_model.config
    assert manifest.feature_names == ["log10_amplitude", "skew", "log10_period"]
    np.testing.assert_allclose(manifest.feature_mean, tiny_model.feature_mean.numpy())
    assert manifest.calibration_size == 101
    assert manifest.training == {"seed": 7}
    model, _, calibration = load_model(saved)
    np.testing.assert_array_equal(calibration.values, np.linspace(-30.0, 5.0, 101))


def test_tampered_weights_are_refused(saved):
    weights = saved / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(saved)


def test_truncated_weights_are_refused(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(saved)


def test_unreadable_weights_with_matching_digest_are_refused(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(b"\x00" * 64)
    manifest = json.loads((saved / "manifest.json").read_text())
    import hashlib

    manifest["weights_sha256"] = hashlib.sha256(b"\x00" * 64).hexdigest()
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_model(saved)


def test_unknown_format_version_is_refused(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["format_version"] = 99
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="format_version 99"):
        load_model(saved)


def test_manifest_that_does_not_fit_the_weights_is_refused(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["config"]["channels"] = 16
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="does not fit the architecture"):
        load_model(saved)


def test_missing_or_invalid_manifest(saved, tmp_path):
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(saved)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="model directory"):
        load_model(empty)
    with pytest.raises(CheckpointError, match="no bundled model"):
        lcvade.load(tmp_path / "nowhere")


def test_wrong_number_of_class_names(tmp_path, tiny_model):
    with pytest.raises(CheckpointError, match="2 class names"):
        save_model(tiny_model, tmp_path / "x", class_names=["a", "b"])


def test_save_replaces_an_existing_model(saved, tiny_model):
    copy = saved.parent / "copy"
    shutil.copytree(saved, copy)
    save_model(tiny_model, copy, class_names=["a", "b", "c"], version="4")
    assert read_manifest(copy).version == "4"
    assert read_manifest(copy).calibration_size == 0
    assert load_model(copy)[2] is None
    assert not list(copy.glob(".*tmp*"))
