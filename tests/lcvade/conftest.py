"""Fixtures of the core tests: a tiny model configuration and a randomised model of it."""

from __future__ import annotations

import pytest
from synthetic import randomised_model

from lcvade.config import LCVaDEConfig
from lcvade.model import LCVaDE


@pytest.fixture(scope="session")
def tiny_config() -> LCVaDEConfig:
    return LCVaDEConfig(n_classes=3, channels=8)


@pytest.fixture(scope="session")
def tiny_model(tiny_config: LCVaDEConfig) -> LCVaDE:
    return randomised_model(tiny_config)
