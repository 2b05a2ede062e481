"""Checkpoints and resumption: bit-identical weights after a stop, SIGINT or SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from labelled_curves import labelled_tables, write_tables
from safetensors.torch import load_file

from lcvade.config import LCVaDEConfig
from lcvade.model import LCVaDE
from training.config import build_config
from training.fitting import fit
from training.job import run_training
from training.resume import CheckpointStore, optimizer_from_tensors, optimizer_to_tensors
from training.trainer import TrainingSet, make_optimizer

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = {"channels": 4, "n_reference": 16, "max_points": 60}


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def tiny_training_set(n_per_class: int = 8):
    photometry, objects = labelled_tables(n_per_class=n_per_class, seed=4)
    from lcvade.tables import iter_curves

    curves = list(iter_curves(photometry, objects))
    names = sorted(objects.label.unique())
    labels = [
        names.index(y) for y in objects.set_index("object_id").loc[[c.id for c in curves]].label
    ]
    config = LCVaDEConfig(n_classes=len(names), **TINY_MODEL)
    torch.manual_seed(0)
    model = LCVaDE(config)
    data = TrainingSet.build(model, curves, [c.period for c in curves], labels)
    model.prepare_for_training(data.batch.features, data.labels)
    return model, data


def weights_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_optimizer_state_round_trips_through_safetensors(tmp_path):
    model, data = tiny_training_set()
    optimizer = make_optimizer(model)
    fit(model, data, optimizer, epochs=1, batch_size=6, seed=0)
    tensors, groups = optimizer_to_tensors(optimizer)
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]  # networks, then p(f|y)
    fresh = make_optimizer(model)
    optimizer_from_tensors(fresh, tensors, groups)
    before, after = optimizer.state_dict(), fresh.state_dict()
    assert before["param_groups"] == after["param_groups"]
    for pid, entries in before["state"].items():
        for name, value in entries.items():
            assert torch.equal(value, after["state"][pid][name])


@pytest.mark.parametrize("stop_after_batches", [None, 3])
def test_resume_replays_the_uninterrupted_run_exactly(tmp_path, stop_after_batches):
    model, data = tiny_training_set()
    reference = make_optimizer(model)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, data, reference, epochs=2, batch_size=6, seed=7)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    model.load_state_dict(initial)
    store = CheckpointStore(tmp_path)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return stop_after_batches is not None and calls["n"] >= stop_after_batches

    first = fit(
        model,
        data,
        make_optimizer(model),
        epochs=1 if stop_after_batches is None else 2,
        batch_size=6,
        seed=7,
        store=store,
        stop=stop,
    )
    if stop_after_batches is not None:
        assert not first.completed and first.state.batch == stop_after_batches
        assert first.state.noise_state is not None
    # a new process: fresh model and optimizer, everything from the checkpoint
    torch.manual_seed(123)
    resumed_model = LCVaDE(model.config)
    optimizer = make_optimizer(resumed_model)
    state = store.load(resumed_model, optimizer)
    outcome = fit(resumed_model, data, optimizer, epochs=2, batch_size=6, seed=7, state=state)
    assert outcome.completed and len(outcome.state.history) == 2
    assert weights_equal(resumed_model.state_dict(), expected)


def test_checkpoint_pointer_names_a_complete_snapshot(tmp_path):
    model, data = tiny_training_set()
    store = CheckpointStore(tmp_path)
    fit(model, data, make_optimizer(model), epochs=2, batch_size=6, seed=0, store=store)
    snapshots = [p for p in store.root.iterdir() if p.is_dir()]
    assert [p.name for p in snapshots] == [store.latest().name]  # older ones are removed
    assert {p.name for p in store.latest().iterdir()} == {
        "model.safetensors",
        "optimizer.safetensors",
        "state.json",
    }
    assert store.read_state().epoch == 2


# -- the real command in a subprocess ------------------------------------------------------


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tables")
    return write_tables(directory, n_per_class=30, seed=5)


def train_args(data: str, objects: str, out: Path, *extra: str) -> list[str]:
    return [
        "--data", data, "--objects", objects, "--outlier-class", "eclipse", "--epochs", "4",
        "--batch-size", "6", "--channels", "4", "--max-points", "60", "--seed", "3",
        "--out", str(out), "--no-progress", "--calibration-min", "6", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(tables, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "model"
    config = build_config(
        None,
        {
            "data": tables[0],
            "objects": tables[1],
            "outlier_class": "eclipse",
            "epochs": 4,
            "batch_size": 6,
            "seed": 3,
            "out": out,
            "progress": False,
            "calibration_min": 6,
        },
        {"channels": 4, "max_points": 60},
    )
    run_training(config)
    return load_file(str(out / "model.safetensors"))


def start_training(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "lcvade", "train", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_first_checkpoint(process: subprocess.Popen, out: Path, timeout: float = 120) -> None:
    pointer = out / "checkpoint" / "latest.json"
    deadline = time.monotonic() + timeout
    while not pointer.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)


def resume(args: list[str]) -> subprocess.CompletedProcess:
    process = start_training([*args, "--resume"])
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def interrupt(args: list[str], out: Path, sig: signal.Signals) -> tuple[int, str]:
    """Train with ``args`` into ``out``, send ``sig`` once the first checkpoint is written, and
    wait: the exit code and the standard error."""
    process = start_training(args)
    wait_for_first_checkpoint(process, out)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def assert_resumes_to(args: list[str], out: Path, uninterrupted: dict) -> None:
    done = resume(args)
    assert done.returncode == 0, done.stderr
    assert weights_equal(load_file(str(out / "model.safetensors")), uninterrupted)


def test_sigkill_then_resume_gives_the_uninterrupted_weights(tables, uninterrupted, tmp_path):
    out = tmp_path / "model"
    args = train_args(*tables, out)
    returncode, _ = interrupt(args, out, signal.SIGKILL)
    assert returncode == -signal.SIGKILL
    assert not (out / "manifest.json").exists(), "the run finished before it was killed"
    killed_at = CheckpointStore(out).read_state().epoch
    assert 1 <= killed_at < 4
    assert_resumes_to(args, out, uninterrupted)


def test_ctrl_c_saves_exits_130_and_resumes_exactly(tables, uninterrupted, tmp_path):
    out = tmp_path / "model"
    args = train_args(*tables, out)
    returncode, stderr = interrupt(args, out, signal.SIGINT)
    assert returncode == 130, stderr
    assert "--resume" in stderr and "checkpoint saved" in stderr
    assert not (out / "manifest.json").exists()
    state = CheckpointStore(out).read_state()
    assert (state.epoch, state.batch) < (4, 0)
    assert_resumes_to(args, out, uninterrupted)


def test_a_second_run_into_the_same_directory_needs_resume(tables, tmp_path):
    from typer.testing import CliRunner

    from lcvade import cli

    cli._register_commands()
    runner = CliRunner()
    out = tmp_path / "model"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    refused = runner.invoke(cli.app, ["train", *train_args(*tables, out)])
    assert refused.exit_code == 2
    assert "already holds a training run" in refused.output and "--resume" in refused.output
    other = tmp_path / "other"
    first = runner.invoke(cli.app, ["train", *train_args(*tables, other), "--epochs", "1"])
    assert first.exit_code == 0, first.output
    assert CheckpointStore(other).read_state().epoch == 1
    mismatch = runner.invoke(
        cli.app, ["train", *train_args(*tables, other), "--seed", "5", "--resume"]
    )
    assert mismatch.exit_code == 2 and "different configuration" in mismatch.output
