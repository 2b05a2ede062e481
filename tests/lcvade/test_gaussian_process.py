"""The batched GP step equals a float64 NumPy implementation of eqs. 9.4-9.5."""

from __future__ import annotations

import numpy as np
import torch

from lcvade.gaussian_process import gp_predict, induction_times


def numpy_gp(t_obs, t_ind, mu_ind, sd_ind, amp, ell, floor):
    """Textbook GP posterior, one curve and band at a time, with explicit inverses."""

    def k(a, b):
        return amp**2 * np.exp(-((a[:, None] - b[None, :]) ** 2) / (2 * ell**2))

    k_ii = k(t_ind, t_ind) + np.diag(sd_ind**2)
    k_oi = k(t_obs, t_ind)
    inv = np.linalg.inv(k_ii)
    mean = k_oi @ inv @ mu_ind
    cov = k(t_obs, t_obs) - k_oi @ inv @ k_oi.T
    return mean, np.maximum(np.diag(cov), floor)


def test_gp_matches_numpy_float64_reference():
    rng = np.random.default_rng(0)
    n, n_bands, n_ind, length = 6, 2, 24, 37
    phase = rng.uniform(0, 1, (n, length))
    band = rng.integers(0, n_bands, (n, length))
    mu = rng.normal(0, 1, (n, n_bands, n_ind))
    sd = rng.uniform(0.05, 0.5, (n, n_bands, n_ind))
    amp = rng.uniform(0.3, 10.0, n)
    ell = rng.uniform(0.2, 1.0, n) / n_ind
    floor = 1e-4
    mean, var = gp_predict(
        torch.tensor(phase, dtype=torch.float32),
        torch.tensor(band),
        torch.tensor(mu, dtype=torch.float32),
        torch.tensor(sd, dtype=torch.float32),
        torch.tensor(amp, dtype=torch.float32),
        torch.tensor(ell, dtype=torch.float32),
        floor,
    )
    t_ind = induction_times(n_ind).numpy()
    # The reference sees exactly the float32-rounded inputs the model sees.
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    for i in range(n):
        for b in range(n_bands):
            sel = band[i] == b
            ref_mean, ref_var = numpy_gp(
                f32(phase[i, sel]),
                t_ind,
                f32(mu[i, b]),
                f32(sd[i, b]),
                f32(amp[i]),
                f32(ell[i]),
                floor,
            )
            np.testing.assert_allclose(mean[i, sel].numpy(), ref_mean, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(var[i, sel].numpy(), ref_var, rtol=1e-5, atol=1e-5)


def test_variance_floor_and_interpolation_at_induction_points():
    n_ind = 24
    t_ind = induction_times(n_ind)
    mu = torch.linspace(-1, 1, n_ind).reshape(1, 1, n_ind)
    sd = torch.full((1, 1, n_ind), 1e-3)
    amp, ell = torch.tensor([2.0]), torch.tensor([1.0 / n_ind])
    mean, var = gp_predict(
        t_ind.float().unsqueeze(0), torch.zeros(1, n_ind, dtype=torch.long), mu, sd, amp, ell, 1e-4
    )
    # With almost noiseless induction points the posterior passes through them ...
    np.testing.assert_allclose(mean[0].numpy(), mu[0, 0].numpy(), atol=1e-4)
    # ... and its variance there is floored, never below the floor.
    assert torch.all(var >= 1e-4)
    np.testing.assert_allclose(var[0].numpy(), 1e-4, rtol=0.05)


def test_induction_times_are_eq_9_2():
    np.testing.assert_allclose(induction_times(24).numpy(), np.arange(1, 25) / 25)
