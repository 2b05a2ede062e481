"""Load benchmark of the scoring service: latency percentiles and throughput under concurrency.

Starts ``lcvade serve`` as a separate process on 127.0.0.1, then for each scenario (one curve
per request, or ``--curves-per-request`` curves per request; periods given) and each
concurrency level runs closed-loop clients for ``--duration`` seconds after a warm-up, and
measures request latency (p50/p95/p99) and throughput.  In the same run it measures the
in-process batched throughput of ``lcvade.load(model).score(curves)`` on the same curves, the
reference the service is compared with, and after the runs the resident memory of the server
and its model worker processes.  Prints its command line and a markdown table.

``--random-model`` benchmarks an untrained model of the given architecture (timings depend
on the architecture only), for machines without a trained model.

    python benchmarks/service_load.py --model default
    python benchmarks/service_load.py --random-model --channels 72 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synthetic_curves(n: int, seed: int, min_points: int, max_points: int) -> list[dict]:
    """Irregularly sampled periodic curves (period given) as ``/v1/score`` payloads."""
    rng = np.random.default_rng(seed)
    curves = []
    for i in range(n):
        points = int(rng.integers(min_points, max_points + 1))
        period = float(np.exp(rng.uniform(np.log(0.2), np.log(50.0))))
        time_ = np.sort(rng.uniform(0.0, 1000.0, points))
        phase = np.mod(time_ / period, 1.0)
        shape = np.sin(2 * np.pi * phase) + 0.4 * np.sin(4 * np.pi * phase + rng.uniform(0, 6))
        err = rng.uniform(0.01, 0.1, points)
        mag = 16.0 + rng.uniform(0.1, 1.0) * shape + rng.normal(0.0, err)
        curves.append(
            {
                "id": f"bench-{i}",
                "time": time_.tolist(),
                "mag": mag.tolist(),
                "mag_err": err.tolist(),
                "period": period,
            }
        )
    return curves


def random_model(directory: Path, channels: int, n_classes: int) -> Path:
    """An untrained model of the given width, calibrated on random IAS (timings only)."""
    import torch

    from lcvade import IASCalibration, LCVaDE, LCVaDEConfig, save_model

    torch.manual_seed(0)
    model = LCVaDE(LCVaDEConfig(n_classes=n_classes, channels=channels)).eval()
    names = [f"class_{k}" for k in range(n_classes)]
    calibration = IASCalibration(np.random.default_rng(0).normal(-10.0, 3.0, 1000))
    return save_model(model, directory, class_names=names, name="random", calibration=calibration)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(model: str, port: int, args: argparse.Namespace) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LCVADE_MODEL": model,
        "LCVADE_DEVICE": args.device,
        "LCVADE_MAX_WAIT_MS": str(args.max_wait_ms),
        "LCVADE_MODEL_THREADS": str(args.model_threads),
        "LCVADE_LOG_LEVEL": "warning",
        "LCVADE_REQUEST_TIMEOUT_S": "3600",  # saturation is measured, not refused
        "LCVADE_GRACEFUL_SHUTDOWN_S": "5",
    }
    if args.max_batch is not None:
        env["LCVADE_MAX_BATCH"] = str(args.max_batch)
    if args.model_workers is not None:
        env["LCVADE_MODEL_WORKERS"] = str(args.model_workers)
    command = [sys.executable, "-c", "from lcvade.cli import main; main()", "serve"]
    process = subprocess.Popen([*command, "--port", str(port)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not become ready in 300 s")


@dataclass
class LoadResult:
    scenario: str
    concurrency: int
    requests: int
    curves: int
    seconds: float
    latencies_ms: np.ndarray
    cpu_ms_per_curve: float

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))


def encoded(bodies: list[dict], port: int) -> list[tuple[int, bytes]]:
    """(curves, complete HTTP request bytes) of each body, built once up front."""
    out = []
    for body in bodies:
        payload = json.dumps(body).encode()
        head = (
            f"POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        out.append((len(body["light_curves"]), head.encode() + payload))
    return out


class Connection:
    """A keep-alive HTTP/1.1 connection sending prepared requests (a lean load generator:
    the clients share the machine with the server, so they must cost little CPU)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        if status != 200:
            raise SystemExit(f"request failed: {status} {body[:500]!r}")
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def closed_loop(
    port: int, bodies: list[tuple[int, bytes]], concurrency: int, warmup: float, duration: float
) -> tuple[list[float], int, float]:
    """``concurrency`` clients each sending the next request as soon as the last is answered.

    Requests sent in the measuring window (after ``warmup``, for ``duration`` seconds, and
    at least until two per client were sent) are timed to completion; throughput is their
    curves over the time from the window's start to the last answer.
    """
    latencies: list[float] = []
    curves = 0
    last_done = 0.0
    counted = 0
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration

    async def worker(k: int) -> None:
        nonlocal curves, last_done, counted
        connection = Connection(port)
        i = k
        try:
            while True:
                sent = time.perf_counter()
                measured = sent >= measure_from
                if measured and sent >= stop_at and counted >= 2 * concurrency:
                    return
                counted += measured
                n, raw = bodies[i % len(bodies)]
                await connection.request(raw)
                done = time.perf_counter()
                if measured:
                    latencies.append((done - sent) * 1000.0)
                    curves += n
                    last_done = max(last_done, done)
                i += concurrency
        finally:
            connection.close()

    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return latencies, curves, last_done - measure_from


def server_processes(pid: int) -> list[int]:
    """The server's process and its children (model workers, helpers), from Linux ``/proc``."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [pid, *children]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server and its children so far (NaN without /proc)."""
    try:
        ticks = 0
        for p in server_processes(pid):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except OSError:
        return float("nan")
    return ticks / os.sysconf("SC_CLK_TCK")


def curves_scored(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return float(
        next(
            line.split()[1]
            for line in text.splitlines()
            if line.startswith("lcvade_curves_scored_total ")
        )
    )


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def server_memory(pid: int) -> str:
    """RSS of the server process and of its model worker processes (Linux ``/proc``)."""
    try:
        workers = [
            c
            for c in server_processes(pid)[1:]
            if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
        ]
        http = _rss_mb(pid)
        each = [_rss_mb(c) for c in workers]
    except OSError:
        return "not available on this system"
    sizes = ", ".join(f"{m:,.0f}" for m in each)
    return (
        f"HTTP process {http:,.0f} MB, model workers {sizes} MB, {http + sum(each):,.0f} MB in all"
    )


def in_process_throughput(
    model: str, curves: list[dict], device: str, repeats: int
) -> tuple[float, float]:
    """Curves per second of ``lcvade.load(model).score(curves)`` (batch size 256) in the
    fastest of ``repeats`` runs, and the CPU milliseconds per curve of that run."""
    import lcvade

    scorer = lcvade.load(model, device=device)
    objects = [
        lcvade.LightCurve(c["time"], c["mag"], c["mag_err"], period=c["period"], id=c["id"])
        for c in curves
    ]
    scorer.score(objects[:256])  # warm-up
    best, cpu_ms = 0.0, float("nan")
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        scorer.score(objects)
        rate = len(objects) / (time.perf_counter() - start)
        if rate > best:
            best, cpu_ms = rate, 1000.0 * (time.process_time() - cpu) / len(objects)
    return best, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="model directory or bundled name")
    parser.add_argument("--random-model", action="store_true", help="untrained model (timing)")
    parser.add_argument("--channels", type=int, default=72, help="C of the random model")
    parser.add_argument("--classes", type=int, default=5, help="K of the random model")
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda:N")
    parser.add_argument("--concurrency", default="1,8,64", help="comma-separated levels")
    parser.add_argument("--curves-per-request", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--min-points", type=int, default=60)
    parser.add_argument("--max-points", type=int, default=300)
    parser.add_argument("--pool", type=int, default=2000, help="distinct curves sent")
    parser.add_argument("--max-batch", type=int, default=None, help="default: the service's")
    parser.add_argument("--max-wait-ms", type=float, default=0.0)
    parser.add_argument("--model-threads", type=int, default=1)
    parser.add_argument("--model-workers", type=int, default=None, help="default: the service's")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print("command: python " + shlex.join(["benchmarks/service_load.py", *sys.argv[1:]]))
    with tempfile.TemporaryDirectory(prefix="lcvade-bench-") as tmp:
        model = args.model
        if args.random_model:
            model = str(random_model(Path(tmp) / "random", args.channels, args.classes))
        curves = synthetic_curves(args.pool, args.seed, args.min_points, args.max_points)
        reference, reference_cpu_ms = in_process_throughput(model, curves, args.device, repeats=3)

        port = free_port()
        server = start_server(model, port, args)
        results: list[LoadResult] = []
        try:
            n = args.curves_per_request
            scenarios = {
                "1 curve/request": encoded([{"light_curves": [c]} for c in curves], port),
                f"{n} curves/request": encoded(
                    [{"light_curves": curves[i : i + n]} for i in range(0, len(curves) - n + 1, n)],
                    port,
                ),
            }
            for scenario, bodies in scenarios.items():
                for level in (int(x) for x in args.concurrency.split(",")):
                    cpu, scored = server_cpu_seconds(server.pid), curves_scored(port)
                    latencies, sent, seconds = asyncio.run(
                        closed_loop(port, bodies, level, args.warmup, args.duration)
                    )
                    cpu = server_cpu_seconds(server.pid) - cpu
                    scored = curves_scored(port) - scored
                    results.append(
                        LoadResult(
                            scenario,
                            level,
                            len(latencies),
                            sent,
                            seconds,
                            np.array(latencies),
                            1000.0 * cpu / scored,
                        )
                    )
                    print(
                        f"  {scenario}, concurrency {level}: p50 {np.median(latencies):.1f} ms, "
                        f"{sent / seconds:,.0f} curves/s",
                        file=sys.stderr,
                    )
            memory = server_memory(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()

    print()
    print(
        f"In-process batched scoring (`Scorer.score`, batch 256): {reference:,.0f} curves/s, "
        f"{reference_cpu_ms:.2f} ms CPU per curve"
    )
    print(f"Server memory after the runs (RSS): {memory}")
    print()
    print(
        "| scenario | concurrency | requests | p50 ms | p95 ms | p99 ms | requests/s | "
        "curves/s | vs in-process | server CPU ms/curve |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        rate = r.curves / r.seconds
        print(
            f"| {r.scenario} | {r.concurrency} | {r.requests} | {r.percentile(50):.1f} | "
            f"{r.percentile(95):.1f} | {r.percentile(99):.1f} | {r.requests / r.seconds:.1f} | "
            f"{rate:,.0f} | {100 * rate / reference:.0f}% | {r.cpu_ms_per_curve:.2f} |"
        )


if __name__ == "__main__":
    main()
