"""Scoring and period-search throughput of lcvade on this machine, against its own roofline.

Prints, in one run:

1. a float32 matrix-multiply roofline (GFLOP/s) measured with the same PyTorch and threads;
2. the encoder's FLOPs per curve (counted by PyTorch's FLOP counter; scoring needs only the
   encoder and the prior);
3. end-to-end scoring throughput (``Scorer.score``: folding, batching, encoder, prior, results;
   period given) at several batch sizes, and the model-only throughput, with the achieved
   fraction of the roofline;
4. period-search throughput of ``lcvade.find_periods`` (nifty-ls, all cores) against astropy's
   ``LombScargle(...).power(method="fast")`` on the same curves and the same frequency grid,
   with the fraction of periods each recovers (within 0.5% of the true period).

Usage::

    python benchmarks/throughput.py [--curves 2048] [--period-curves 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch
from astropy.timeseries import LombScargle
from torch.utils.flop_counter import FlopCounterMode

from lcvade.batching import collate
from lcvade.checkpoint import save_model
from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurve
from lcvade.model import LCVaDE
from lcvade.period import DEFAULT_GRID, find_periods
from lcvade.scorer import load

RECOVERY_TOLERANCE = 0.005


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_roofline(repeats: int, sizes: tuple[int, ...] = (1024, 2048, 4096)) -> float:
    """The best float32 square matmul rate (GFLOP/s) over ``sizes``: the machine's ceiling."""
    best = 0.0
    for size in sizes:
        a = torch.randn(size, size)
        b = torch.randn(size, size)
        seconds = best_time(lambda a=a, b=b: a @ b, repeats + 2)
        best = max(best, 2 * size**3 / seconds / 1e9)
    return best


def survey_like_curves(n: int, seed: int) -> tuple[list[LightCurve], np.ndarray]:
    """Irregular two-harmonic periodic curves, 40-400 points over ~3 years (seeded)."""
    rng = np.random.default_rng(seed)
    curves, periods = [], np.exp(rng.uniform(np.log(0.1), np.log(50.0), n))
    for i, period in enumerate(periods):
        n_points = int(rng.integers(40, 400))
        nights = np.sort(rng.choice(1100, n_points, replace=False)).astype(float)
        t = 58000.0 + nights + rng.uniform(0.1, 0.4, n_points)
        phase = t / period + rng.uniform()
        amplitude = rng.uniform(0.1, 0.8)
        mag = 16 + amplitude * (np.sin(2 * np.pi * phase) + 0.4 * np.sin(4 * np.pi * phase + 1))
        err = rng.uniform(0.01, 0.05, n_points)
        curves.append(LightCurve(t, mag + rng.normal(0, err), err, period=period, id=str(i)))
    return curves, periods


def encoder_flops(model: LCVaDE, curves: list[LightCurve]) -> float:
    batch = collate(curves[:1], [curves[0].period], model.config)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.score(batch)
    return float(counter.get_total_flops())


def astropy_search(curve: LightCurve) -> float:
    f_min, df, n = DEFAULT_GRID.for_baseline(float(np.ptp(curve.time)))
    freq = f_min + df * np.arange(n)
    power = LombScargle(curve.time, curve.mag, curve.mag_err).power(freq, method="fast")
    return 1.0 / freq[int(np.argmax(power))]


def recovered(found: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(found / true - 1.0) < RECOVERY_TOLERANCE))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--curves", type=int, default=2048)
    parser.add_argument("--period-curves", type=int, default=64)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64, 256, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    threads = torch.get_num_threads()
    print(f"command: python {' '.join(sys.argv)}")
    print(f"torch {torch.__version__}, {threads} threads, {os.cpu_count()} CPUs")
    print(f"load average before: {os.getloadavg()[0]:.2f}\n")

    roofline = matmul_roofline(args.repeats)
    config = LCVaDEConfig(n_classes=10)
    torch.manual_seed(args.seed)
    model = LCVaDE(config).eval()
    directory = tempfile.mkdtemp(prefix="lcvade-bench-")
    save_model(model, directory, class_names=[f"class{k}" for k in range(10)])
    scorer = load(directory, device="cpu")
    curves, _ = survey_like_curves(args.curves, args.seed)
    flops = encoder_flops(model, curves)

    print(f"matmul roofline (fp32, best of 1024^3-4096^3): {roofline:.1f} GFLOP/s")
    print(f"encoder FLOPs per curve (C=72, R=64): {flops / 1e6:.1f} MFLOP\n")
    print("| batch | end-to-end curves/s | model-only curves/s | model GFLOP/s | % of roofline |")
    print("|---:|---:|---:|---:|---:|")
    for size in args.batch_sizes:
        n = min(len(curves), max(size, 64 if size == 1 else size))
        subset = curves[:n]
        e2e = n / best_time(lambda s=subset, b=size: scorer.score(s, batch_size=b), args.repeats)
        batch = collate(curves[:size], [c.period for c in curves[:size]], config)

        def forward(b=batch):
            with torch.inference_mode():
                scorer.model.score(b)  # the scorer's copy, spectral norms computed at load

        model_rate = size / best_time(forward, args.repeats)
        gflops = model_rate * flops / 1e9
        print(
            f"| {size} | {e2e:,.0f} | {model_rate:,.0f} | {gflops:.1f} | "
            f"{100 * gflops / roofline:.0f}% |"
        )

    period_curves, true_periods = survey_like_curves(args.period_curves, args.seed + 1)
    start = time.perf_counter()
    ours = np.array([r.period for r in find_periods(period_curves)])
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = np.array([astropy_search(c) for c in period_curves])
    theirs_s = time.perf_counter() - start
    print(
        f"\nperiod search, {len(period_curves)} curves, periods "
        f"{DEFAULT_GRID.min_period}-{DEFAULT_GRID.max_period} d, "
        f"{DEFAULT_GRID.samples_per_peak} samples per peak"
    )
    print("| method | curves/s | recovered (0.5%) | speed-up |")
    print("|---|---:|---:|---:|")
    print(
        f"| lcvade.find_periods (nifty-ls, {os.cpu_count()} threads) | "
        f"{len(period_curves) / ours_s:.1f} | {recovered(ours, true_periods):.0%} | "
        f"{theirs_s / ours_s:.1f}x |"
    )
    print(
        f"| astropy LombScargle fast | {len(period_curves) / theirs_s:.2f} | "
        f"{recovered(theirs, true_periods):.0%} | 1.0x |"
    )


if __name__ == "__main__":
    main()
