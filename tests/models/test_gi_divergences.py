"""Closed forms of models.divergences against independent NumPy/SciPy references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy import stats

from models.divergences import (
    aggregate_posterior_gaussian,
    diag_entropy,
    fit_gaussian,
    gaussian_entropy,
    gaussian_js,
    gaussian_kl,
    gaussian_nll,
    kl_diag_standard,
    mmd2,
    wasserstein2,
)

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def random_spd(rng: np.random.Generator, dim: int) -> np.ndarray:
    a = rng.normal(size=(dim, dim))
    return a @ a.T + 0.5 * np.eye(dim)


def np_kl(m1, s1, m2, s2) -> float:
    """KL between Gaussians written directly from its definition's expectation terms."""
    dim = len(m1)
    inv2 = np.linalg.inv(s2)
    _, logdet1 = np.linalg.slogdet(s1)
    _, logdet2 = np.linalg.slogdet(s2)
    d = m1 - m2
    return 0.5 * (logdet2 - logdet1 - dim + d @ inv2 @ d + np.trace(inv2 @ s1))


def t(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(a, dtype=torch.float64)


def test_gaussian_kl_matches_numpy_and_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    m1, m2 = rng.normal(size=3), rng.normal(size=3)
    s1, s2 = random_spd(rng, 3), random_spd(rng, 3)
    ours = float(gaussian_kl(t(m1), t(s1), t(m2), t(s2)))
    assert ours == pytest.approx(np_kl(m1, s1, m2, s2), rel=1e-10)
    # Monte Carlo estimate of E_p1[log p1 - log p2] with SciPy's densities
    p1, p2 = stats.multivariate_normal(m1, s1), stats.multivariate_normal(m2, s2)
    z = p1.rvs(size=200_000, random_state=1)
    mc = float(np.mean(p1.logpdf(z) - p2.logpdf(z)))
    assert ours == pytest.approx(mc, abs=0.03)
    assert float(gaussian_kl(t(m1), t(s1), t(m1), t(s1))) == pytest.approx(0.0, abs=1e-10)


def test_kl_diag_standard_is_the_correct_eq_2_5() -> None:
    rng = np.random.default_rng(1)
    mu, logvar = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    ours = kl_diag_standard(t(mu), t(logvar)).numpy()
    ref = [np_kl(mu[i], np.diag(np.exp(logvar[i])), np.zeros(4), np.eye(4)) for i in range(5)]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_wasserstein2_matches_scipy_sqrtm() -> None:
    rng = np.random.default_rng(2)
    for dim in (1, 2, 5):
        m1, m2 = rng.normal(size=dim), rng.normal(size=dim)
        s1, s2 = random_spd(rng, dim), random_spd(rng, dim)
        cross = np.real(scipy.linalg.sqrtm(s1 @ s2))
        ref = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * cross)
        ours = float(wasserstein2(t(m1), t(s1), t(m2), t(s2)))
        assert ours == pytest.approx(ref, rel=1e-8)


def test_wasserstein2_one_dimensional_closed_form() -> None:
    # W2^2 between N(a, s^2) and N(b, r^2) is (a - b)^2 + (s - r)^2
    ours = float(wasserstein2(t([1.0]), t([[4.0]]), t([-2.0]), t([[0.25]])))
    assert ours == pytest.approx(3.0**2 + (2.0 - 0.5) ** 2, rel=1e-10)


def test_wasserstein2_gradient_is_finite_for_repeated_eigenvalues() -> None:
    cov = torch.eye(4, dtype=torch.float64).requires_grad_(True)
    mean = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    loss = wasserstein2(
        mean, 2.0 * cov, torch.zeros(4, dtype=torch.float64), torch.eye(4, dtype=torch.float64)
    )
    loss.backward()
    assert torch.isfinite(cov.grad).all()
    # d/dc of 4 (2c + 1 - 2 sqrt(2c)) at c = 1 per diagonal entry: 2 - 2/sqrt(2)
    assert float(cov.grad[0, 0]) == pytest.approx(2.0 - np.sqrt(2.0), rel=1e-6)


def test_gaussian_js_reference_and_properties() -> None:
    rng = np.random.default_rng(3)
    m1, m2 = rng.normal(size=3), rng.normal(size=3)
    s1, s2 = random_spd(rng, 3), random_spd(rng, 3)
    d = (m1 - m2)[:, None]
    mm, sm = 0.5 * (m1 + m2), 0.5 * (s1 + s2) + 0.25 * d @ d.T
    ref = 0.5 * np_kl(m1, s1, mm, sm) + 0.5 * np_kl(m2, s2, mm, sm)
    ours = float(gaussian_js(t(m1), t(s1), t(m2), t(s2)))
    assert ours == pytest.approx(ref, rel=1e-10)
    assert ours == pytest.approx(float(gaussian_js(t(m2), t(s2), t(m1), t(s1))), rel=1e-10)
    assert float(gaussian_js(t(m1), t(s1), t(m1), t(s1))) == pytest.approx(0.0, abs=1e-10)


def np_mmd2(a: np.ndarray, b: np.ndarray, kernel) -> float:
    n, m = len(a), len(b)
    saa = sum(kernel(a[i], a[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    sbb = sum(kernel(b[i], b[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    sab = sum(kernel(a[i], b[j]) for i in range(n) for j in range(m)) / (n * m)
    return saa + sbb - 2 * sab


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_unbiased_estimator_matches_loops(kernel: str) -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(7, 3)), rng.normal(loc=0.5, size=(9, 3))
    scale = 2.0 * 3 if kernel == "imq" else 3.0
    if kernel == "imq":

        def k(u, v):
            return scale / (scale + np.sum((u - v) ** 2))
    else:

        def k(u, v):
            return np.exp(-np.sum((u - v) ** 2) / (2 * scale))

    ours = float(mmd2(t(a), t(b), kernel=kernel))
    assert ours == pytest.approx(np_mmd2(a, b, k), rel=1e-9, abs=1e-12)


def test_mmd_separates_distributions() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(400, 4, generator=gen)
    same = torch.randn(400, 4, generator=gen)
    shifted = torch.randn(400, 4, generator=gen) + 1.0
    assert abs(float(mmd2(a, same))) < 0.01
    assert float(mmd2(a, shifted)) > 10 * abs(float(mmd2(a, same)))


def test_fit_gaussian_is_eqs_6_2_and_6_3() -> None:
    rng = np.random.default_rng(5)
    z = rng.normal(size=(50, 4))
    mean, cov = fit_gaussian(t(z))
    np.testing.assert_allclose(mean.numpy(), z.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov.numpy(), np.cov(z.T, ddof=1), rtol=1e-10)


def test_aggregate_posterior_matches_mixture_moments() -> None:
    rng = np.random.default_rng(6)
    mu, logvar = rng.normal(size=(300, 2)), rng.normal(scale=0.3, size=(300, 2))
    mean, cov = aggregate_posterior_gaussian(t(mu), t(logvar))
    # sample the mixture (1/N) sum_i N(mu_i, diag sigma_i^2) and compare moments
    idx = rng.integers(0, 300, size=400_000)
    z = mu[idx] + np.exp(0.5 * logvar[idx]) * rng.normal(size=(400_000, 2))
    np.testing.assert_allclose(mean.numpy(), z.mean(0), atol=0.01)
    np.testing.assert_allclose(cov.numpy(), np.cov(z.T), atol=0.02)


def test_entropies_and_nll_match_scipy() -> None:
    rng = np.random.default_rng(7)
    mu, logvar, z = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    sd = np.exp(0.5 * logvar)
    np.testing.assert_allclose(
        diag_entropy(t(logvar)).numpy(), stats.norm(0, sd).entropy().sum(1), rtol=1e-10
    )
    np.testing.assert_allclose(
        gaussian_nll(t(z), t(mu), t(logvar)).numpy(),
        -stats.norm(mu, sd).logpdf(z).sum(1),
        rtol=1e-10,
    )
    cov = random_spd(rng, 3)
    assert float(gaussian_entropy(t(cov))) == pytest.approx(
        stats.multivariate_normal(np.zeros(3), cov).entropy(), rel=1e-10
    )
