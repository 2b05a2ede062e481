"""Shared fixtures for the core tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic import randomised_model

from lcvade.config import LCVaDEConfig
from lcvade.model import LCVaDE

pytest_plugins = ["batch_fixtures"]


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
def tiny_config() -> LCVaDEConfig:
    return LCVaDEConfig(n_classes=3, channels=8)


@pytest.fixture(scope="session")
def tiny_model(tiny_config: LCVaDEConfig) -> LCVaDE:
    return randomised_model(tiny_config)
