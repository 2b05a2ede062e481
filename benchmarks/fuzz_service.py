"""Fuzz campaign against a live scoring service: generated, structural and concurrent abuse.

Starts ``lcvade serve`` as a separate process on 127.0.0.1 (default settings, an admin key
set so that the admin routes are reachable) and runs, in order:

1. **idle**: sequential good requests (one curve with its period) give the idle latency;
2. **schemathesis**: at least ``--schemathesis-requests`` requests generated from the
   service's own OpenAPI schema, schema-valid and schema-invalid, across every route;
3. **corpus**: the structural corpus of :mod:`benchmarks.hostile_corpus` (nesting, huge
   numbers, long strings, duplicate keys, wrong content types, truncated bodies, and a bomb
   or a fetching/expanding file in every upload format), sequentially, each request timed
   and the server's memory sampled every 10 ms while it runs; then its cheap requests again
   until ``--corpus-requests`` have been sent;
4. **abuse**: ``--clients`` clients at once, each sending ``--requests-per-client``
   requests drawn at random (seeded): good ones with probability ``--good-share``, else a
   hostile one of the corpus (those of at most 2 MB on the wire, the compression bombs
   included); meanwhile one probe client sends good requests one after the other;
5. **after**: the server must answer ``/readyz``; its open file descriptors, threads and
   memory (HTTP process and model workers) are compared with those before the campaign,
   and leftover upload temporary directories are counted.

It prints the command line, the answers per phase and status, the slowest refusal and the
largest memory growth of every hostile upload, and the targets with the measured values.

    python benchmarks/fuzz_service.py
    python benchmarks/fuzz_service.py --schemathesis-requests 500 --corpus-requests 500 \\
        --requests-per-client 20
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import multiprocessing
import os
import random
import shlex
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.hostile_corpus import Hostile, Limits, good_request, hostile_corpus  # noqa: E402
from benchmarks.service_load import free_port, server_processes, start_server  # noqa: E402

ADMIN_KEY = "fuzz-admin-key"
MIB = 1024 * 1024
CHEAP_BYTES = 2 * MIB
RELOADS_WITH_KEY = 3
LEAK_MIB = 32
"""Most growth of resident memory over the second, identical abuse that is not a leak."""


class MemorySampler:
    """Samples the server process's resident memory every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            rss = self.process.memory_info().rss
            with self.lock:
                self.peak = max(self.peak, rss)
            time.sleep(self.interval)

    def start_window(self) -> int:
        """Begin a measurement window; returns the resident memory now."""
        rss = self.process.memory_info().rss
        with self.lock:
            self.peak = rss
        return rss

    def window_peak(self) -> int:
        time.sleep(2 * self.interval)
        with self.lock:
            return max(self.peak, self.process.memory_info().rss)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def body_size(hostile: Hostile) -> int:
    if hostile.files:
        return sum(len(part[1]) for part in hostile.files.values())
    return len(hostile.content or b"")


def status_of(send) -> int | str:
    try:
        return send().status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__


def server_state(pid: int) -> dict:
    """File descriptors, threads and resident memory of the server and its workers."""
    main = psutil.Process(pid)
    workers = [psutil.Process(p) for p in server_processes(pid)[1:]]
    return {
        "fds": main.num_fds(),
        "threads": main.num_threads(),
        "rss_mib": main.memory_info().rss / MIB,
        "workers_rss_mib": sum(w.memory_info().rss for w in workers) / MIB,
        "processes": 1 + len(workers),
    }


def upload_dirs() -> int:
    return sum(1 for p in Path(tempfile.gettempdir()).glob("lcvade-upload-*"))


# -- phases ----------------------------------------------------------------------------------
def idle_latency(url: str, n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    bodies = [good_request(rng, f"idle-{i}") for i in range(n)]
    latencies = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for body in bodies:
            start = time.perf_counter()
            response = client.post(
                "/v1/score", content=body, headers={"content-type": "application/json"}
            )
            latencies.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.text
    return latencies


def _exercise(operation, mode, examples: int, seed: int, url: str, record, reloads: list):
    """A Hypothesis test sending ``examples`` cases of ``operation``.

    Every request carries the admin key except on the reload route, where it goes with the
    first few only (``reloads``): a reload loads and warms the whole model, an operator's
    action rather than abuse, and thousands of them would be a benchmark of reloading.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    from schemathesis import GenerationMode

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case) -> None:
        if case.headers is None:
            case.headers = {}
        if "reload" not in operation.label:
            case.headers.setdefault("x-api-key", ADMIN_KEY)
        elif reloads:
            reloads.pop()
            case.headers.setdefault("x-api-key", ADMIN_KEY)
        start = time.perf_counter()
        status = status_of(lambda: case.call(base_url=url, timeout=60))
        record(
            operation.label, mode == GenerationMode.NEGATIVE, status, time.perf_counter() - start
        )

    return exercise


def schemathesis_phase(url: str, target: int, seed: int) -> tuple[collections.Counter, dict]:
    """At least ``target`` generated requests over every operation, in both modes."""
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: collections.Counter = collections.Counter()
    per_operation: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    counts = {"negative": 0, "sent": 0}

    seconds: collections.Counter = collections.Counter()

    def record(label: str, negative: bool, status: int | str, elapsed: float) -> None:
        seconds[label] += elapsed
        statuses[status] += 1
        per_operation[label][status] += 1
        counts["sent"] += 1
        counts["negative"] += negative

    reloads = [True] * RELOADS_WITH_KEY
    round_ = 0
    while counts["sent"] < target:
        examples = math.ceil((target - counts["sent"]) / (2 * len(operations))) + 5
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                run = _exercise(operation, mode, examples, seed + round_, url, record, reloads)
                with contextlib.suppress(Unsatisfiable):  # no schema-invalid form to send
                    run()
        round_ += 1
    return statuses, {"per_operation": per_operation, "seconds": seconds, **counts}


def corpus_phase(
    url: str, corpus: list[Hostile], total: int, sampler: MemorySampler
) -> tuple[collections.Counter, dict[str, dict]]:
    """Every corpus request once (timed, memory sampled), then cheap ones up to ``total``."""
    statuses: collections.Counter = collections.Counter()
    measured: dict[str, dict] = {}
    unexpected: list[str] = []
    cheap = [h for h in corpus if body_size(h) <= CHEAP_BYTES and not h.upload]
    sent = 0
    with httpx.Client(base_url=url, timeout=120) as client:
        for hostile in corpus:
            before = sampler.start_window()
            start = time.perf_counter()
            status = status_of(lambda h=hostile: h.send(client))
            seconds = time.perf_counter() - start
            growth = (sampler.window_peak() - before) / MIB
            statuses[status] += 1
            sent += 1
            measured[hostile.name] = {
                "status": status,
                "seconds": seconds,
                "growth_mib": growth,
                "upload": hostile.upload,
                "bytes": body_size(hostile),
            }
            if status not in hostile.expected:
                unexpected.append(f"{hostile.name}: {status}")
        k = 0
        while sent < total:
            hostile = cheap[k % len(cheap)]
            status = status_of(lambda h=hostile: h.send(client))
            statuses[status] += 1
            if status not in hostile.expected:
                unexpected.append(f"{hostile.name}: {status}")
            sent += 1
            k += 1
    measured["_unexpected"] = {"list": unexpected}
    return statuses, measured


def probe(url: str, seed: int, stop, results) -> None:
    """Good requests one after the other until ``stop`` (run in its own process, so that its
    latencies carry no wait in the abusing clients' event loop)."""
    rng = np.random.default_rng(seed + 7)
    bodies = [good_request(rng, f"probe-{i}") for i in range(32)]
    statuses: collections.Counter = collections.Counter()
    latencies = []
    with httpx.Client(base_url=url, timeout=120) as http:
        results.put("ready")
        i = 0
        while not stop.is_set():
            start = time.perf_counter()
            status = status_of(
                lambda i=i: http.post(
                    "/v1/score",
                    content=bodies[i % 32],
                    headers={"content-type": "application/json"},
                )
            )
            latencies.append((time.perf_counter() - start) * 1000)
            statuses[status] += 1
            i += 1
    results.put((statuses, latencies))


async def abuse_phase(
    url: str,
    corpus: list[Hostile],
    clients: int,
    per_client: int,
    good_share: float,
    seed: int,
) -> dict:
    """``clients`` concurrent clients mixing good and hostile requests, and one probe
    (:func:`probe`) in a process of its own."""
    pool = [h for h in corpus if body_size(h) <= CHEAP_BYTES]
    rng = np.random.default_rng(seed)
    goods = [good_request(rng, f"abuse-{i}") for i in range(64)]
    json_headers = {"content-type": "application/json"}
    statuses: collections.Counter = collections.Counter()
    hostile_statuses: collections.Counter = collections.Counter()
    good_latencies: list[float] = []
    upload_seconds: list[float] = []

    async def client(k: int) -> None:
        chooser = random.Random(seed * 1000 + k)
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            for _ in range(per_client):
                good = chooser.random() < good_share
                start = time.perf_counter()
                try:
                    if good:
                        body = goods[chooser.randrange(len(goods))]
                        response = await http.post("/v1/score", content=body, headers=json_headers)
                    else:
                        hostile = pool[chooser.randrange(len(pool))]
                        response = await hostile.send(http)
                    status: int | str = response.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = (time.perf_counter() - start) * 1000
                statuses[status] += 1
                if good:
                    good_latencies.append(elapsed)
                else:
                    hostile_statuses[status] += 1
                    if hostile.upload:
                        upload_seconds.append(elapsed / 1000)

    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    probing = context.Process(target=probe, args=(url, seed, stop, results))
    probing.start()
    results.get(timeout=120)  # the probe is ready to send
    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    stop.set()
    probe_statuses, probe_latencies = results.get(timeout=300)
    probing.join()
    statuses.update(probe_statuses)
    return {
        "statuses": statuses,
        "hostile_statuses": hostile_statuses,
        "good_latencies": good_latencies,
        "probe_latencies": probe_latencies,
        "upload_seconds": upload_seconds,
        "seconds": time.perf_counter() - started,
    }


# -- report ------------------------------------------------------------------------------------
def status_line(counter: collections.Counter) -> str:
    def key(item):
        return (isinstance(item[0], str), str(item[0]))

    return ", ".join(f"{status}: {n}" for status, n in sorted(counter.items(), key=key))


def count_5xx(counter: collections.Counter) -> int:
    return sum(n for status, n in counter.items() if isinstance(status, int) and status >= 500)


def count_failed(counter: collections.Counter) -> int:
    return sum(n for status, n in counter.items() if isinstance(status, str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="model directory or bundled name")
    parser.add_argument("--schemathesis-requests", type=int, default=5000)
    parser.add_argument("--corpus-requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests-per-client", type=int, default=120)
    parser.add_argument("--good-share", type=float, default=0.25)
    parser.add_argument("--idle-requests", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    print("command:", shlex.join(["python", "benchmarks/fuzz_service.py", *sys.argv[1:]]))

    os.environ["LCVADE_ADMIN_KEY"] = ADMIN_KEY
    port = free_port()
    server_args = argparse.Namespace(
        device="cpu", max_wait_ms=0.0, model_threads=1, max_batch=None, model_workers=None
    )
    process = start_server(args.model, port, server_args)
    url = f"http://127.0.0.1:{port}"
    try:
        results = campaign(url, process.pid, args)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except Exception:  # noqa: BLE001 - a server that does not stop is killed
            process.kill()
    report(results, args)


def campaign(url: str, pid: int, args: argparse.Namespace) -> dict:
    built = time.perf_counter()
    corpus = hostile_corpus(Limits(), seed=args.seed)
    print(f"corpus: {len(corpus)} hostile requests built in {time.perf_counter() - built:.1f} s")
    idle_latency(url, 20, args.seed + 1)  # warm-up
    time.sleep(2)
    before = server_state(pid)
    dirs_before = upload_dirs()
    sampler = MemorySampler(pid)
    results: dict = {"before": before}

    started = time.perf_counter()
    results["load"] = {"idle": os.getloadavg()[0]}
    results["idle_ms"] = idle_latency(url, args.idle_requests, args.seed + 2)
    print(f"idle: {time.perf_counter() - started:.0f} s", flush=True)

    started = time.perf_counter()
    window = sampler.start_window()
    statuses, info = schemathesis_phase(url, args.schemathesis_requests, args.seed)
    results["schemathesis"] = {
        "statuses": statuses,
        "growth_mib": (sampler.window_peak() - window) / MIB,
        **info,
    }
    print(
        f"schemathesis: {info['sent']} requests in {time.perf_counter() - started:.0f} s",
        flush=True,
    )

    started = time.perf_counter()
    statuses, measured = corpus_phase(url, corpus, args.corpus_requests, sampler)
    results["corpus"] = {"statuses": statuses, "measured": measured}
    print(
        f"corpus: {sum(statuses.values())} requests in {time.perf_counter() - started:.0f} s",
        flush=True,
    )

    started = time.perf_counter()
    window = sampler.start_window()
    results["load"]["abuse_start"] = os.getloadavg()[0]
    abuse = asyncio.run(
        abuse_phase(url, corpus, args.clients, args.requests_per_client, args.good_share, args.seed)
    )
    abuse["growth_mib"] = (sampler.window_peak() - window) / MIB
    results["abuse"] = abuse
    results["load"]["abuse_end"] = os.getloadavg()[0]
    print(
        f"abuse: {sum(abuse['statuses'].values())} requests in {abuse['seconds']:.0f} s", flush=True
    )
    time.sleep(5)
    results["after"] = server_state(pid)

    # the same abuse again: memory kept by the allocator stays level, a leak grows again
    again = asyncio.run(
        abuse_phase(
            url, corpus, args.clients, args.requests_per_client, args.good_share, args.seed + 1
        )
    )
    results["abuse_again"] = again
    print(f"abuse again: {sum(again['statuses'].values())} requests", flush=True)
    sampler.stop()
    time.sleep(5)
    results["load"]["after"] = os.getloadavg()[0]
    results["after_idle_ms"] = idle_latency(url, 20, args.seed + 3)
    results["ready"] = httpx.get(f"{url}/readyz", timeout=30).status_code
    results["after_again"] = server_state(pid)
    results["upload_dirs_left"] = upload_dirs() - dirs_before
    return results


def report(results: dict, args: argparse.Namespace) -> None:
    schema = results["schemathesis"]
    corpus = results["corpus"]
    abuse = results["abuse"]
    measured = {k: v for k, v in corpus["measured"].items() if not k.startswith("_")}
    unexpected = corpus["measured"]["_unexpected"]["list"]

    print("\n### Answers per phase\n")
    print("| phase | requests | hostile | answers by status | 5xx | no answer |")
    print("|---|---:|---:|---|---:|---:|")
    hostile_total = 0
    rows = [
        ("Schemathesis (schema-valid and -invalid)", schema["statuses"], schema["negative"]),
        ("structural corpus, sequential", corpus["statuses"], sum(corpus["statuses"].values())),
        (
            f"abuse, {args.clients} clients + probe",
            abuse["statuses"],
            sum(abuse["hostile_statuses"].values()),
        ),
        (
            "the same abuse again",
            results["abuse_again"]["statuses"],
            sum(results["abuse_again"]["hostile_statuses"].values()),
        ),
    ]
    for name, counter, hostile in rows:
        hostile_total += hostile
        total = sum(counter.values())
        print(
            f"| {name} | {total} | {hostile} | {status_line(counter)} | "
            f"{count_5xx(counter)} | {count_failed(counter)} |"
        )
    all_5xx = sum(count_5xx(c) for _, c, _ in rows)
    everything = sum(sum(c.values()) for _, c, _ in rows)
    print(
        "\nRequests per route (Schemathesis): "
        + "; ".join(
            f"{op} {sum(c.values())} ({schema['seconds'][op]:.0f} s)"
            for op, c in sorted(schema["per_operation"].items())
        )
    )
    if unexpected:
        print("Corpus answers other than the documented ones: " + "; ".join(unexpected[:20]))

    print("\n### Hostile uploads (sequential; server memory sampled every 10 ms)\n")
    print("| upload | bytes sent | status | seconds | server memory growth (MiB) |")
    print("|---|---:|---:|---:|---:|")
    uploads = {k: v for k, v in measured.items() if v["upload"]}
    for name, m in uploads.items():
        print(
            f"| {name} | {m['bytes']:,} | {m['status']} | {m['seconds']:.2f} | "
            f"{m['growth_mib']:.1f} |"
        )
    slowest = max(m["seconds"] for m in uploads.values())
    largest = max(m["growth_mib"] for m in measured.values())
    largest_name = max(measured, key=lambda k: measured[k]["growth_mib"])

    idle = float(np.median(results["idle_ms"]))
    probe = float(np.median(abuse["probe_latencies"]))
    good = float(np.median(abuse["good_latencies"])) if abuse["good_latencies"] else float("nan")
    after_idle = float(np.median(results["after_idle_ms"]))
    upload_abuse = max(abuse["upload_seconds"], default=float("nan"))
    before, after, again = results["before"], results["after"], results["after_again"]

    print("\n### Latency of good requests (one curve, period given)\n")
    print("| when | requests | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|")
    for name, values in (
        ("idle, before the campaign", results["idle_ms"]),
        ("probe client during the abuse", abuse["probe_latencies"]),
        (f"good requests of the {args.clients} abusing clients", abuse["good_latencies"]),
        ("idle, after the campaign", results["after_idle_ms"]),
    ):
        print(
            f"| {name} | {len(values)} | {np.median(values):.1f} | "
            f"{np.percentile(values, 95):.1f} |"
        )

    load = results["load"]
    print(
        f"\nMachine load (1-minute load average, all processes of the machine): "
        f"{load['idle']:.1f} when idle latency was measured, {load['abuse_start']:.1f} -> "
        f"{load['abuse_end']:.1f} over the first abuse, {load['after']:.1f} after."
    )

    print("\n### Server before and after the campaign\n")
    print("| | open fds | threads | processes | HTTP process RSS MiB | model workers RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, state in (
        ("before", before),
        ("after the abuse", after),
        ("after the same abuse again", results["after_again"]),
    ):
        print(
            f"| {name} | {state['fds']} | {state['threads']} | {state['processes']} | "
            f"{state['rss_mib']:.0f} | {state['workers_rss_mib']:.0f} |"
        )
    print(
        f"\n/readyz after: {results['ready']}; upload temporary directories left: "
        f"{results['upload_dirs_left']}; memory growth over the Schemathesis phase "
        f"{schema['growth_mib']:.0f} MiB, over the abuse {abuse['growth_mib']:.0f} MiB"
    )

    print("\n### Targets\n")
    print("| target | measured | met |")
    print("|---|---|---|")
    targets = [
        (
            "0 answers 5xx in >= 10,000 hostile requests",
            f"{all_5xx} in {hostile_total:,} hostile ({everything:,} requests in all)",
            all_5xx == 0 and hostile_total >= 10_000,
        ),
        (
            "every hostile upload refused in < 2 s (sequential)",
            f"slowest {slowest:.2f} s",
            slowest < 2.0,
        ),
        (
            "server memory growth < 256 MiB per hostile request",
            f"largest {largest:.0f} MiB ({largest_name})",
            largest < 256,
        ),
        (
            "good p50 under abuse within 2x of idle (probe client)",
            f"{probe:.1f} ms vs {idle:.1f} ms idle ({probe / idle:.2f}x)",
            probe <= 2 * idle,
        ),
        (
            "healthy afterwards, nothing leaked (fds; memory level over a second abuse)",
            f"/readyz {results['ready']}, fds {before['fds']} -> {after['fds']} -> "
            f"{again['fds']}, HTTP RSS {before['rss_mib']:.0f} -> {after['rss_mib']:.0f} -> "
            f"{again['rss_mib']:.0f} MiB, workers {before['workers_rss_mib']:.0f} -> "
            f"{after['workers_rss_mib']:.0f} -> {again['workers_rss_mib']:.0f} MiB, temp dirs "
            f"left {results['upload_dirs_left']}, idle p50 after {after_idle:.1f} ms",
            results["ready"] == 200
            and again["fds"] <= before["fds"] + 2
            and again["rss_mib"] - after["rss_mib"] < LEAK_MIB
            and again["workers_rss_mib"] - after["workers_rss_mib"] < LEAK_MIB
            and results["upload_dirs_left"] == 0,
        ),
    ]
    for name, value, met in targets:
        print(f"| {name} | {value} | {'yes' if met else 'no'} |")
    print(
        f"\nGood requests of the abusing clients: p50 {good:.1f} ms (they queue behind one "
        f"another as well as behind the abuse); slowest hostile upload during the abuse "
        f"{upload_abuse:.2f} s."
    )
    if args.json is not None:
        args.json.write_text(json.dumps(results, default=str, indent=1))


if __name__ == "__main__":
    main()
