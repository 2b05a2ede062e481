"""Checkpoints: safetensors + JSON manifest, exact resumption, refusal of damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from models.gi_checkpoint import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    load_checkpoint,
    read_manifest,
)
from models.gi_train import TrainConfig, train
from models.images import load_dataset

pytestmark = pytest.mark.usefixtures("single_torch_thread")


DIGITS = load_dataset("digits")


def config(model: str, steps: int, **hyper) -> TrainConfig:
    base = {"width": 2, "latent_dim": 4}
    if model in ("mpcc", "vade"):
        base["n_clusters"] = 3
    if model == "mpcc":
        base.update(d_steps=1, e_steps=1)
    base.update(hyper)
    return TrainConfig(
        model=model, steps=steps, batch_size=8, seed=5, checkpoint_every=2, hyper=base
    )


def params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(("model", "hyper"), [("mpcc", {}), ("vade", {"pretrain_steps": 2})])
def test_interrupted_training_resumes_exactly(tmp_path: Path, model: str, hyper: dict) -> None:
    straight = train(config(model, 4, **hyper), tmp_path / "a", data=DIGITS, progress=False)
    first = train(
        config(model, 4, **hyper), tmp_path / "b", data=DIGITS, progress=False, stop_after=3
    )
    assert first.step == 3
    assert read_manifest(tmp_path / "b").step == 3
    resumed = train(config(model, 4, **hyper), tmp_path / "b", data=DIGITS, progress=False)
    assert resumed.resumed_from == 3 and resumed.step == 4
    a, b = params(straight.model), params(resumed.model)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    # and the run really trained: a fresh model differs
    fresh = train(config(model, 0, **hyper), tmp_path / "c", data=DIGITS, progress=False)
    assert any(not torch.equal(a[k], v) for k, v in params(fresh.model).items())


def test_checkpoint_files_are_safetensors_and_json_only(tmp_path: Path) -> None:
    train(config("aim", 2), tmp_path, data=DIGITS, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_FILE, WEIGHTS_FILE]
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert manifest["model"] == "aim" and manifest["step"] == 2 and manifest["seed"] == 5
    assert manifest["config"]["width"] == 2 and manifest["config"]["channels"] == 1
    assert set(manifest["optimizers"]) == {"discriminator", "generator", "encoder"}
    tensors = load_file(str(tmp_path / WEIGHTS_FILE))
    assert any(k.startswith("optim.encoder.") for k in tensors)
    assert {"rng.torch", "rng.sampler"} <= set(tensors)
    loaded = load_checkpoint(tmp_path)
    ref = train(config("aim", 2), tmp_path / "again", data=DIGITS, progress=False).model
    x = DIGITS.images[:4]
    loaded.model.eval()
    ref.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.encode(x)[0], ref.encode(x)[0])


def test_damaged_checkpoints_are_refused(tmp_path: Path) -> None:
    train(config("vae", 1), tmp_path, data=DIGITS, progress=False)
    weights = tmp_path / WEIGHTS_FILE
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="does not match the SHA-256"):
        load_checkpoint(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing")


def test_resuming_with_another_model_is_refused(tmp_path: Path) -> None:
    train(config("vae", 1), tmp_path, data=DIGITS, progress=False)
    with pytest.raises(CheckpointError, match="holds a vae checkpoint, not wvae"):
        train(config("wvae", 2), tmp_path, data=DIGITS, progress=False)


def test_a_budget_ends_training_early_with_a_checkpoint(tmp_path: Path) -> None:
    calls = []

    def until() -> bool:
        calls.append(1)
        return len(calls) >= 2

    result = train(config("vae", 50), tmp_path, data=DIGITS, progress=False, until=until)
    assert result.step == 2 and len(result.history) == 2
    assert read_manifest(tmp_path).step == 2
