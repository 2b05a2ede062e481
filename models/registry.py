"""Model names and how to build a model from a name and a configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from models.adversarial import AIM, ALI, ALICE, VEEGAN
from models.autoencoders import JSVAE, VAE, WVAE, InfoVAE
from models.base import GIConfig, GIModel
from models.mpcc import MPCC
from models.vade import VaDE

MODELS: dict[str, type[GIModel]] = {
    cls.name: cls for cls in (VAE, WVAE, JSVAE, InfoVAE, AIM, ALI, ALICE, VEEGAN, VaDE, MPCC)
}


def model_class(name: str) -> type[GIModel]:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}"
        ) from None


def make_config(name: str, values: Mapping[str, Any] | None = None) -> GIConfig:
    """The validated configuration of model ``name``; unknown or invalid keys are refused."""
    cls = model_class(name).config_class
    try:
        return cls(**dict(values or {}))
    except ValidationError as exc:
        raise ValueError(f"invalid configuration for {name}: {exc}") from exc


def build_model(name: str, config: GIConfig | Mapping[str, Any] | None = None) -> GIModel:
    """A freshly initialised model ``name`` (seed torch beforehand for reproducibility)."""
    cls = model_class(name)
    if not isinstance(config, GIConfig):
        config = make_config(name, config)
    elif not isinstance(config, cls.config_class):
        raise ValueError(f"{name} needs a {cls.config_class.__name__}")
    return cls(config)
