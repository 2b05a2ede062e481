"""Every model: one CPU training step moves its parameters and gives finite losses; plus the
MPCC and VaDE specifics (Algorithm 1, sigma floor, mixture losses, pretraining)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from models.base import GIModel
from models.registry import MODELS, build_model
from models.vade import expected_component_log_prob

pytestmark = pytest.mark.usefixtures("single_torch_thread")


TINY = {"width": 2, "latent_dim": 4}
TINY_BY_MODEL = {
    "mpcc": {**TINY, "n_clusters": 3, "d_steps": 1, "e_steps": 2},
    "vade": {**TINY, "n_clusters": 3},
    "aim": {**TINY, "d_steps": 1},
    "ali": {**TINY, "d_steps": 1},
    "alice": {**TINY, "d_steps": 1},
    "veegan": {**TINY, "d_steps": 1},
}


def images(n: int = 12, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 32, 32, generator=gen) * 2 - 1


def drawer(x: torch.Tensor, batch: int = 6):
    gen = torch.Generator().manual_seed(1)
    return lambda: x[torch.randint(0, len(x), (batch,), generator=gen)]


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def moved(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.named_parameters())


def parts(model: GIModel) -> dict[str, torch.nn.Module]:
    out = {"encoder": model.encoder, "generator": model.generator}
    if hasattr(model, "discriminator"):
        out["discriminator"] = model.discriminator
    if model.prior.is_mixture:
        out["prior"] = model.prior
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_one_training_step_moves_every_network_and_is_finite(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, TINY_BY_MODEL.get(name, TINY))
    before = {part: snapshot(m) for part, m in parts(model).items()}
    losses = model.train_step(drawer(images()))
    assert losses, "a training step reports its losses"
    assert all(math.isfinite(v) for v in losses.values()), losses
    for part, module in parts(model).items():
        assert moved(before[part], module), f"{name}: the {part} did not change"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_generation_and_encoding_shapes(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, TINY_BY_MODEL.get(name, TINY))
    model.prepare_for_evaluation(batch_size=4, passes=2)
    with torch.no_grad():
        x, z, y = model.sample(5)
        mu, logvar = model.encode(x)
    assert x.shape == (5, 1, 32, 32) and float(x.abs().max()) <= 1.0
    assert mu.shape == logvar.shape == z.shape == (5, 4)
    assert (y is not None) == model.prior.is_mixture


def test_mpcc_sigma_floor_and_prior_learning_rate() -> None:
    torch.manual_seed(0)
    cfg = {**TINY_BY_MODEL["mpcc"], "sigma_floor": 0.9, "lambda_p": 0.0, "prior_lr": 0.05}
    model = build_model("mpcc", cfg)
    with torch.no_grad():
        model.prior.logvar.fill_(2 * math.log(0.95))
    draw = drawer(images())
    for _ in range(4):
        model.train_step(draw)
    sigma = torch.exp(0.5 * model.prior.logvar.detach())
    # the cross-entropy L_c alone shrinks the components; the floor stops them at 0.9
    assert float(sigma.min()) >= 0.9 - 1e-6
    assert bool((sigma < 0.95).any())
    assert model.optimizers()["prior"].param_groups[0]["lr"] == 0.05
    assert model.optimizers()["generator"].param_groups[0]["lr"] == pytest.approx(2e-4)


def test_mpcc_prior_loss_is_eq_7_16() -> None:
    torch.manual_seed(0)
    model = build_model("mpcc", TINY_BY_MODEL["mpcc"])
    with torch.no_grad():
        model.prior.logvar.uniform_(-0.5, 1.0)
    k, j = 3, 4
    var = np.exp(model.prior.logvar.detach().numpy())
    phi = np.full(k, 1 / k)
    ref = np.sum(phi * (np.log(phi) - np.sum(0.5 + 0.5 * np.log(2 * np.pi * var), 1) / j))
    assert float(model.prior.entropy_loss().detach()) == pytest.approx(ref, rel=1e-6)


def test_mixture_responsibilities_are_eq_7_15() -> None:
    torch.manual_seed(0)
    prior = build_model("mpcc", TINY_BY_MODEL["mpcc"]).prior
    z = torch.randn(6, 4)
    mus, sds = prior.mu.detach().numpy(), np.exp(0.5 * prior.logvar.detach().numpy())
    dens = np.stack(
        [
            stats.multivariate_normal(m, np.diag(s**2)).pdf(z.numpy())
            for m, s in zip(mus, sds, strict=True)
        ],
        axis=1,
    )
    ref = dens / dens.sum(1, keepdims=True)
    ours = prior.log_responsibilities(z).exp().detach().numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(prior.log_prob(z).detach().numpy(), np.log(dens.mean(1)), rtol=1e-5)


def test_vade_expected_log_density_matches_monte_carlo() -> None:
    torch.manual_seed(0)
    model = build_model("vade", TINY_BY_MODEL["vade"])
    mu, logvar = torch.randn(2, 4), torch.randn(2, 4) * 0.3
    closed = expected_component_log_prob(mu, logvar, model.prior).detach().numpy()
    eps = torch.randn(100_000, 2, 4)
    z = mu + torch.exp(0.5 * logvar) * eps
    mc = model.prior.component_log_prob(z.reshape(-1, 4)).reshape(100_000, 2, 3).mean(0)
    np.testing.assert_allclose(closed, mc.detach().numpy(), rtol=0.01, atol=0.02)


def test_vade_pretraining_initialises_the_prior_from_the_codes() -> None:
    torch.manual_seed(0)
    model = build_model("vade", {**TINY_BY_MODEL["vade"], "pretrain_steps": 2})
    x = images(30)
    draw = drawer(x)
    before_net = snapshot(model.encoder)
    before_mu = model.prior.mu.detach().clone()
    for _ in range(2):
        losses = model.pretrain_step(draw)
        assert math.isfinite(losses["pretrain_rec"])
    assert moved(before_net, model.encoder)
    model.finish_pretraining(x)
    model.eval()
    with torch.no_grad():
        codes, _ = model.encode(x)
    assert not torch.equal(before_mu, model.prior.mu)
    # the fitted components sit inside the cloud of codes
    lo, hi = codes.min(0).values, codes.max(0).values
    assert bool(((model.prior.mu >= lo - 1e-4) & (model.prior.mu <= hi + 1e-4)).all())


def test_unknown_model_and_bad_config_are_explained() -> None:
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        build_model("nope")
    with pytest.raises(ValueError, match="invalid configuration for vae"):
        build_model("vae", {"widht": 3})
    with pytest.raises(ValueError, match="split delivery needs J divisible"):
        build_model("mpcc", {**TINY_BY_MODEL["mpcc"], "latent_dim": 6, "delivery": "split"})
