"""Fixtures shared by the tests of every package: torch threads, a seeded generator, and the
two small trained models of the scoring tests (one band; bands g and r)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from batch_data import train_model

from lcvade.config import LCVaDEConfig


@pytest.fixture
def single_torch_thread():
    """Run a test on one torch thread, then restore the thread count.

    Tiny networks run fastest, and steadiest on a shared machine, on one thread.  Test
    modules opt in with ``pytestmark = pytest.mark.usefixtures("single_torch_thread")``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def single_band_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-class model of one unnamed band, trained one epoch, calibrated."""
    directory = tmp_path_factory.mktemp("model-single")
    return train_model(directory, LCVaDEConfig(n_classes=3, channels=8), seed=3)


@pytest.fixture(scope="session")
def multi_band_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-class model of bands g and r (ZTF-style), trained one epoch, calibrated."""
    directory = tmp_path_factory.mktemp("model-gr")
    config = LCVaDEConfig(n_classes=3, channels=8, bands=["g", "r"])
    return train_model(directory, config, seed=4)
