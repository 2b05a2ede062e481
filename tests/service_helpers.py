"""Helpers of the service tests: synthetic curves, a small trained model, a live server.

The model is an ``LCVaDEConfig(n_classes=3, channels=8)`` trained for two epochs on synthetic
periodic curves of three shapes (sinusoid, saw-tooth, detached eclipse), calibrated on its
training curves and saved with :func:`lcvade.save_model`, so the tests need no bundled model.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import torch
import uvicorn

from lcvade import IASCalibration, LCVaDE, LCVaDEConfig, LightCurve, save_model
from training.fitting import fit
from training.trainer import TrainingSet

CLASS_NAMES = ["sinusoid", "sawtooth", "eclipse"]


def _shape(kind: int, phase: np.ndarray) -> np.ndarray:
    if kind == 0:
        return np.sin(2 * np.pi * phase)
    if kind == 1:
        rising = phase < 0.2
        return np.where(rising, 1.0 - 2.0 * phase / 0.2, -1.0 + 2.0 * (phase - 0.2) / 0.8)
    return np.where(np.abs(phase - 0.5) < 0.06, 1.0, 0.0) + np.where(phase < 0.06, 0.5, 0.0)


def synthetic_curve(
    rng: np.random.Generator, kind: int, ident: str, n_points: int | None = None
) -> LightCurve:
    """One irregularly sampled periodic curve of class ``kind`` with its true period."""
    n = int(rng.integers(30, 120)) if n_points is None else n_points
    period = float(np.exp(rng.uniform(np.log(0.3), np.log(20.0))))
    t = np.sort(rng.uniform(0.0, rng.uniform(100.0, 800.0), n))
    amplitude = rng.uniform(0.2, 1.0)
    err = rng.uniform(0.01, 0.08, n)
    mag = 15.0 + rng.normal() + amplitude * _shape(kind, np.mod(t / period, 1.0))
    mag = mag + rng.normal(0.0, err)
    return LightCurve(t, mag, err, period=period, id=ident)


def synthetic_curves(
    n: int, seed: int, bands: list[str] | None = None
) -> tuple[list[LightCurve], np.ndarray]:
    """``n`` curves with balanced labels 0..2; with ``bands``, points alternate between them."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    curves = [synthetic_curve(rng, int(k), f"syn-{seed}-{i}") for i, k in enumerate(labels)]
    if bands is not None:
        curves = [
            LightCurve(
                c.time,
                c.mag + 0.3 * (np.arange(len(c)) % len(bands)),
                c.mag_err,
                band=[bands[j % len(bands)] for j in range(len(c))],
                period=c.period,
                id=c.id,
            )
            for c in curves
        ]
    return curves, labels


def train_small_model(
    directory: Path,
    *,
    version: str = "1",
    seed: int = 0,
    bands: list[str] | None = None,
    n_curves: int = 120,
    epochs: int = 2,
) -> Path:
    """Train the small test model and save it (calibrated on its training curves)."""
    torch.manual_seed(seed)
    curves, labels = synthetic_curves(n_curves, seed, bands)
    config = LCVaDEConfig(n_classes=3, channels=8, bands=bands)
    model = LCVaDE(config)
    data = TrainingSet.build(model, curves, [c.period for c in curves], labels)
    model.prepare_for_training(data.batch.features, data.labels)
    optimizer = torch.optim.Adam(model.parameter_groups(lr=1e-3, feature_prior_lr=1e-2))
    fit(model, data, optimizer, epochs=epochs, batch_size=60, seed=seed)
    model.eval()
    with torch.no_grad():
        ias = model.score(data.batch).ias.double().numpy()
    return save_model(
        model,
        directory,
        class_names=CLASS_NAMES,
        name="test-model",
        version=version,
        calibration=IASCalibration(ias),
        training={"seed": seed, "data_digest": f"synthetic-{seed}-{n_curves}", "epochs": epochs},
    )


def curve_payload(curve: LightCurve, *, with_period: bool = True) -> dict:
    """The JSON form of ``curve`` for ``POST /v1/score``."""
    payload = {
        "id": curve.id,
        "time": curve.time.tolist(),
        "mag": curve.mag.tolist(),
        "mag_err": curve.mag_err.tolist(),
    }
    if with_period and curve.period is not None:
        payload["period"] = curve.period
    return payload


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A uvicorn server running the service in a background thread of this process."""

    def __init__(self, settings) -> None:
        from service.app import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.port = free_port()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2.0).status_code == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError("the test server did not become ready")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@contextlib.contextmanager
def live_server(**overrides) -> Iterator[LiveServer]:
    """Start a server with :class:`service.settings.ServiceSettings` ``overrides``."""
    from service.settings import ServiceSettings

    server = LiveServer(ServiceSettings(**overrides)).start()
    try:
        yield server
    finally:
        server.stop()
