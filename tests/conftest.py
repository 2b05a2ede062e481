"""Shared fixtures for the core tests."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import randomised_model

from lcvade.config import LCVaDEConfig
from lcvade.model import LCVaDE

pytest_plugins = ["batch_fixtures"]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def tiny_config() -> LCVaDEConfig:
    return LCVaDEConfig(n_classes=3, channels=8)


@pytest.fixture(scope="session")
def tiny_model(tiny_config: LCVaDEConfig) -> LCVaDE:
    return randomised_model(tiny_config)
