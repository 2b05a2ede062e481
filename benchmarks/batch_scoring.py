"""Batch-scoring throughput and memory (``lcvade score``), printed as markdown tables.

* objects/s in one process and on a Dask LocalCluster of 1 and 2 workers (one thread each),
  on the same input, with periods given (an object table) and searched (Lomb-Scargle);
  the cluster's start-up (workers started and their imports done) is timed apart, and the
  peak RSS of the main process and of the largest worker are reported;
* peak RSS of single-process runs on N and on ``--memory-factor`` x N objects: with the
  staged, chunked run it should not grow with the input;
* alerts/s of decoding alert packets into photometry rows (apparent magnitudes, quality
  cuts), the serial part of staging a night of alerts and all of ``lcvade convert``: the real
  ZTF packet of ``tests/data/alerts`` repeated, Rubin/LSST ``lsst.v11_0`` packets (schema
  from lsst-alert-packet) and the real Fink Parquet sample repeated; Avro with each decoder
  installed (cavro, fastavro), and with ``--alert-profile`` where the time goes.

Every measurement runs in a fresh subprocess (its peak RSS from ``resource.getrusage``).
The input is synthetic: periodic two-harmonic curves with random periods, times and point
counts, rows shuffled so the run has to regroup them.  Without ``--model`` an untrained
model of the default architecture (``--channels``) is built: the timings depend on the
architecture, not on the weights.

    PYTHONPATH=. python benchmarks/batch_scoring.py --objects 3000 --chunk-size 100
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic_photometry(
    n_objects: int, seed: int, points: tuple[int, int], baseline: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long-format photometry (shuffled rows) and the object table of true periods."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(points[0], points[1] + 1, n_objects)
    owner = np.repeat(np.arange(n_objects), counts)
    period = np.exp(rng.uniform(np.log(0.2), np.log(20.0), n_objects))
    amplitude = rng.uniform(0.1, 0.8, n_objects)
    phase0 = rng.uniform(0, 1, n_objects)
    t = rng.uniform(0.0, baseline, owner.size)
    phase = t / period[owner] + phase0[owner]
    err = rng.uniform(0.01, 0.05, owner.size)
    mag = (
        16.0
        + amplitude[owner] * np.sin(2 * np.pi * phase)
        + 0.3 * amplitude[owner] * np.sin(4 * np.pi * phase + 1.0)
        + rng.normal(0.0, err)
    )
    ids = np.array([f"bench{i:08d}" for i in range(n_objects)], dtype=object)
    photometry = pd.DataFrame({"object_id": ids[owner], "time": t, "mag": mag, "mag_err": err})
    order = rng.permutation(owner.size)
    objects = pd.DataFrame({"object_id": ids, "period": period})
    return photometry.iloc[order].reset_index(drop=True), objects


ZTF_PACKET = ROOT / "tests" / "data" / "alerts" / "2019_01_10_739260766315010006.avro"
FINK_PACKETS = ROOT / "tests" / "data" / "alerts" / "fink_ztf_alerts.parquet"
ZTF_CUTOUT_BYTES = 13_600  # the real packet's three cutouts: (74,026 - 33,133) / 3 bytes


def ztf_packets(n_alerts: int) -> tuple[dict, Iterator[dict]]:
    """The schema of the real ZTF17aaacxxf packet (29 entries, schema 3.2) and the packet as
    ``n_alerts`` alerts of distinct objects and detections, with three cutouts of the real
    packet's size."""
    import fastavro

    with ZTF_PACKET.open("rb") as fh:
        reader = fastavro.reader(fh)
        schema, (packet,) = reader.writer_schema, list(reader)
    cutout = {"fileName": "cutout.fits.gz", "stampData": np.random.default_rng(2).bytes(
        ZTF_CUTOUT_BYTES)}  # fmt: skip

    def renamed(a: int) -> dict:
        history = [
            {**e, "candid": None if e["candid"] is None else e["candid"] + a * 100}
            for e in packet["prv_candidates"]
        ]
        candidate = {**packet["candidate"], "candid": packet["candid"] + a * 100}
        return {**packet, "objectId": f"ZTF99{a:07d}", "candid": candidate["candid"],
                "candidate": candidate, "prv_candidates": history, "cutoutScience": cutout,
                "cutoutTemplate": cutout, "cutoutDifference": cutout}  # fmt: skip

    return schema, (renamed(a) for a in range(n_alerts))


def write_ztf_alerts(path: Path, n_alerts: int) -> Path:
    """:func:`ztf_packets` in one Avro file."""
    import fastavro

    schema, packets = ztf_packets(n_alerts)
    with path.open("wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), packets)
    return path


def write_ztf_tar(path: Path, n_alerts: int) -> Path:
    """:func:`ztf_packets` as a tar archive of one Avro file per alert, the layout of ZTF's
    nightly alert archives (uncompressed here: gzip would add its own decompression)."""
    import io
    import tarfile

    import fastavro

    schema, packets = ztf_packets(n_alerts)
    parsed = fastavro.parse_schema(schema)
    with tarfile.open(path, "w") as tar:
        for a, packet in enumerate(packets):
            data = io.BytesIO()
            fastavro.writer(data, parsed, [packet])
            member = tarfile.TarInfo(f"alerts/{a}.avro")
            member.size = data.tell()
            data.seek(0)
            tar.addfile(member, data)
    return path


def write_rubin_alerts(path: Path, n_alerts: int, history: int, cutout_bytes: int) -> Path:
    """Rubin/LSST alerts under the lsst.v11_0 schema of lsst-alert-packet: a diaSource,
    ``history`` earlier ones, forced photometry at ``history`` visits, three cutouts."""
    sys.path.insert(0, str(ROOT / "tests"))
    from rubin_packets import alert, dia_source, forced_source, v11_schema, write

    schema = v11_schema()
    rng = np.random.default_rng(1)
    cutout = rng.bytes(cutout_bytes)

    def packet(a: int) -> dict:
        flux = rng.uniform(-2000, 2000, 2 * history + 1)
        sources = [
            dia_source(
                schema,
                a * 1000 + k,
                a,
                2 * k,
                band="ugrizy"[k % 6],
                psfFlux=flux[2 * k],
                psfFluxErr=20.0,
                scienceFlux=9000.0 + flux[2 * k],
                scienceFluxErr=25.0,
                templateFlux=9000.0,
                templateFluxErr=30.0,
                reliability=0.9,
            )  # fmt: skip
            for k in range(history + 1)
        ]
        forced = [
            forced_source(
                schema,
                a * 1000 + 500 + k,
                a,
                2 * k + 1,
                band="ugrizy"[k % 6],
                psfFlux=flux[2 * k + 1],
                psfFluxErr=20.0,
                scienceFlux=9000.0 + flux[2 * k + 1],
                scienceFluxErr=25.0,
            )  # fmt: skip
            for k in range(history)
        ]
        return alert(schema, a, sources, forced, cutout)

    return write(path, schema, (packet(a) for a in range(n_alerts)))


def write_fink_alerts(path: Path, n_alerts: int) -> Path:
    """The 51 real alerts of the Fink Parquet sample repeated to ``n_alerts`` (cutout
    columns removed in the sample; they are not read anyway)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(FINK_PACKETS)
    take = pa.array(np.arange(n_alerts) % table.num_rows)
    repeated = table.take(take).set_column(
        table.schema.get_field_index("objectId"),
        "objectId",
        pa.array([f"ZTF99{a:07d}" for a in range(n_alerts)]),
    )
    pq.write_table(repeated, path, row_group_size=5000)
    return path


def _decode_only(path: Path, decoder: str) -> float:
    """CPU seconds of decoding ``path`` alone, as :func:`training.scoring.alerts.read_alerts` does
    (size check, projected reader schema), without making rows."""
    from training.scoring.alert_quality import AlertCuts
    from training.scoring.alerts import avro_records

    started = time.process_time()
    with path.open("rb") as fh:
        sum(1 for _ in avro_records(fh, path.name, decoder, AlertCuts())[-1])
    return time.process_time() - started


def _profile(path: Path, decoder: str, top: int) -> None:
    """A cProfile summary of reading ``path`` (functions by own time)."""
    import cProfile
    import io
    import pstats

    from training.scoring.alerts import read_alerts

    profile = cProfile.Profile()
    profile.enable()
    sum(len(frame) for frame in read_alerts(path, decoder=decoder))
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(k for k, line in enumerate(lines) if "ncalls" in line)
    print(f"\ncProfile of {path.name} with {decoder} (own time, top {top}; profiling slows it):\n")
    print("```")
    print("\n".join(lines[start - 3 : start + top + 1]))
    print("```")


def alert_runs(args: argparse.Namespace, work: Path) -> None:
    """Alert decoding and conversion into photometry rows, on one core: the serial step of
    staging alerts (and all of ``lcvade convert``), with each decoder.  Decoding alone is
    timed apart; each input is read ``--alert-repeats`` times."""
    import pyarrow as pa

    from training.scoring.alerts import cavro, read_alerts

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    n = args.alerts
    decoders = ["cavro", "fastavro"] if cavro is not None else ["fastavro"]
    inputs = [
        ("ZTF Avro (real packet, schema 3.2)", "29 (22 det.)",
         f"3 x {ZTF_CUTOUT_BYTES / 1000:.1f} kB", write_ztf_alerts(work / "ztf.avro", n)),
        ("ZTF tar of one-alert Avro files (the same)", "29 (22 det.)",
         f"3 x {ZTF_CUTOUT_BYTES / 1000:.1f} kB", write_ztf_tar(work / "ztf.tar", n)),
        ("Rubin Avro (lsst.v11_0)", "31 + 30 forced",
         f"3 x {args.cutout_bytes // 1000} kB",
         write_rubin_alerts(work / "rubin.avro", n, 30, args.cutout_bytes)),
        ("ZTF Parquet (Fink layout, real alerts)", "15 (1.3 det.)", "not read",
         write_fink_alerts(work / "fink.parquet", n)),
    ]  # fmt: skip
    repeats = args.alert_repeats
    print(
        f"\n{n} alerts per input, one process (pyarrow on one thread), load average before: "
        f"{os.getloadavg()[0]:.1f}; CPU s = the process's CPU time, median and fastest of "
        f"{repeats} runs (other jobs on the machine inflate CPU time too: the fastest run is "
        "the least disturbed), and alerts per CPU s the rate of one core\n"
    )
    print(
        "| input | decoder | entries each | cutouts | rows | CPU s, median / fastest | "
        "alerts per CPU s, median / fastest | rows per CPU s, fastest | "
        "of which decoding, CPU s, fastest |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, entries, cutouts, path in inputs:
        avro = path.suffix in (".avro", ".tar")
        for decoder in decoders if avro else ["pyarrow"]:
            cpus, decoding = [], []
            for _ in range(repeats):
                cpu = time.process_time()
                frames = read_alerts(path, decoder=decoder) if avro else read_alerts(path)
                rows = sum(len(frame) for frame in frames)
                cpus.append(time.process_time() - cpu)
                if path.suffix == ".avro":
                    decoding.append(_decode_only(path, decoder))
            median, fastest = float(np.median(cpus)), min(cpus)
            decoded = f"{min(decoding):.2f}" if decoding else ""
            print(
                f"| {name} | {decoder} | {entries} | {cutouts} | {rows} | {median:.2f} / "
                f"{fastest:.2f} | {n / median:.0f} / {n / fastest:.0f} | {rows / fastest:.0f} | "
                f"{decoded} |"
            )
    if args.alert_profile:
        for _, _, _, path in inputs[:3]:
            _profile(path, decoders[0], args.alert_profile)


def build_model(directory: Path, channels: int, n_classes: int = 6) -> Path:
    """An untrained, calibrated model of the default architecture (for timing only)."""
    import torch

    from lcvade import IASCalibration, LCVaDE, LCVaDEConfig, save_model

    torch.manual_seed(0)
    model = LCVaDE(LCVaDEConfig(n_classes=n_classes, channels=channels)).eval()
    calibration = IASCalibration(np.random.default_rng(0).normal(-50.0, 10.0, 1000))
    names = [f"class{k}" for k in range(n_classes)]
    return save_model(
        model, directory, class_names=names, name="bench-untrained", calibration=calibration
    )


def _import_scoring_modules() -> None:
    """Warm a fresh worker: import what scoring needs (seconds of a cold start)."""
    import training.scoring.dask_run  # noqa: F401


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(spec: dict) -> dict:
    """Run one scoring job (in this process) and report times, CPU seconds and peak RSS.

    CPU seconds are counted during the run only: in this process and in every worker.
    """
    from training.scoring.job import ScoreJobConfig
    from training.scoring.run import run_scoring

    settings = {"chunk_size": spec["chunk_size"]}
    if spec.get("staging_buffer_rows"):
        settings["staging_buffer_rows"] = spec["staging_buffer_rows"]
    config = ScoreJobConfig(**settings)
    startup = 0.0
    client = cluster = None
    if spec["workers"]:
        import logging

        from distributed import Client, LocalCluster

        started = time.perf_counter()
        cluster = LocalCluster(
            n_workers=spec["workers"],
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
        client.wait_for_workers(spec["workers"])
        client.run(_import_scoring_modules)
        startup = time.perf_counter() - started
        workers_before = client.run(_cpu_seconds)
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    summary = run_scoring(
        spec["inputs"],
        spec["model"],
        spec["out"],
        objects=spec["objects"],
        config=config,
        client=client,
        progress=False,
        overwrite=True,
    )
    seconds = time.perf_counter() - started
    main_cpu = _cpu_seconds() - cpu_before
    worker_cpu = [0.0]
    worker_rss = 0.0
    if client is not None:
        after = client.run(_cpu_seconds)
        worker_cpu = [after[w] - workers_before[w] for w in after]
        worker_rss = max(
            client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).values()
        )
        client.close()
        cluster.close()
    kib = 1024.0
    return {
        "rows": summary.rows,
        "parts": summary.parts,
        "seconds": seconds,
        "staging": summary.staging_seconds,
        "startup": startup,
        "main_cpu": main_cpu,
        "worker_cpu": worker_cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib,
        "worker_rss_mb": worker_rss / kib,
    }


def run_measurement(spec: dict) -> dict:
    """:func:`measure` in a fresh subprocess."""
    command = [sys.executable, __file__, "--measure", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"measurement failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_inputs(folder: Path, n_objects: int, args: argparse.Namespace) -> tuple[Path, Path]:
    """The synthetic input as Parquet, in row groups of ``--staging-buffer`` rows (a row
    group is read whole, so it is part of what bounds memory)."""
    photometry, objects = synthetic_photometry(n_objects, args.seed, args.points, args.baseline)
    folder.mkdir(parents=True, exist_ok=True)
    groups = {"index": False, "row_group_size": args.staging_buffer}
    photometry.to_parquet(folder / "lc.parquet", **groups)
    objects.to_parquet(folder / "objects.parquet", **groups)
    return folder / "lc.parquet", folder / "objects.parquet"


def speed_runs(args: argparse.Namespace, work: Path, model: str, load: float) -> None:
    """Objects/s in one process and on Dask, periods given and searched."""
    lc, objects = write_inputs(work / "speed", args.objects, args)
    workers = [int(w) for w in args.workers.split(",") if w]
    rows = []
    for periods in ("given", "searched"):
        one_worker = None
        for mode in [0, *workers]:
            spec = {
                "inputs": [str(lc)],
                "model": model,
                "out": str(work / "out"),
                "objects": str(objects) if periods == "given" else None,
                "chunk_size": args.chunk_size,
                "workers": mode,
            }
            result = run_measurement(spec)
            rate = result["rows"] / result["seconds"]
            # with a core per process: the main process's work plus the busiest worker's
            bound = result["rows"] / (result["main_cpu"] + max(result["worker_cpu"]))
            if mode == 1:
                one_worker = (rate, bound)
            name = "single process" if mode == 0 else f"Dask, {mode} worker(s)"
            speedup = (
                f"{rate / one_worker[0]:.2f}x / {bound / one_worker[1]:.2f}x"
                if mode and one_worker
                else ""
            )
            cpu = f"{result['main_cpu']:.1f}"
            if mode:
                cpu += " + " + " + ".join(f"{c:.1f}" for c in result["worker_cpu"])
            rows.append(
                f"| {name} | {periods} | {result['rows']} | {result['seconds']:.1f} | "
                f"{result['staging']:.1f} | {rate:.0f} | {cpu} | {bound:.0f} | {speedup} | "
                f"{result['startup']:.1f} | {result['rss_mb']:.0f} | "
                f"{result['worker_rss_mb']:.0f} |"
            )
    print(
        f"\n{args.objects} objects, {args.points[0]}-{args.points[1]} points, baseline "
        f"{args.baseline:g} d, chunk size {args.chunk_size}, model {model}, "
        f"{os.cpu_count()} CPUs, load average before: {load:.1f}\n"
    )
    header = (
        "run",
        "periods",
        "objects",
        "wall s",
        "of which staging s",
        "objects/s",
        "CPU s (main + workers)",
        "CPU-bound objects/s",
        "vs 1 worker (wall / CPU-bound)",
        "cluster start-up s",
        "peak RSS main MB",
        "peak RSS worker MB",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    print("\n".join(rows))
    print(
        "\nCPU-bound objects/s = objects / (CPU s of the main process + CPU s of the "
        "busiest worker): the rate with an idle core per process."
    )


def memory_runs(args: argparse.Namespace, work: Path, model: str) -> None:
    """Peak RSS on N and on memory-factor x N objects (single process, each run repeated).

    The peak is set by the staging buffer, one part's rows and one batch of curves; the
    input files' row groups are ``--staging-buffer`` rows, below the small run's size, so both
    runs fill every one of these.
    """
    print("\n| objects | rows read | run | seconds | objects/s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    means = []
    for n in (args.memory_objects, args.memory_objects * args.memory_factor):
        lc_m, objects_m = write_inputs(work / f"memory-{n}", n, args)
        n_rows = len(pd.read_parquet(lc_m, columns=["object_id"]))
        spec = {
            "inputs": [str(lc_m)],
            "model": model,
            "out": str(work / "out-memory"),
            "objects": str(objects_m),
            "chunk_size": args.memory_chunk_size,
            "staging_buffer_rows": args.staging_buffer,
            "workers": 0,
        }
        peaks = []
        for repeat in range(args.memory_repeats):
            result = run_measurement(spec)
            peaks.append(result["rss_mb"])
            print(
                f"| {n} | {n_rows} | {repeat + 1} | {result['seconds']:.1f} | "
                f"{result['rows'] / result['seconds']:.0f} | {result['rss_mb']:.0f} |"
            )
        means.append(float(np.mean(peaks)))
    print(
        f"\nmean peak RSS at {args.memory_factor}x the input: {means[1] / means[0]:.2f}x the "
        "small run's (target: within 1.20x)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--objects", type=int, default=3000, help="objects in the speed runs (0: skip them)"
    )
    parser.add_argument(
        "--points",
        type=lambda s: tuple(map(int, s.split(":"))),
        default=(30, 80),
        help="points per object, MIN:MAX",
    )
    parser.add_argument("--baseline", type=float, default=90.0, help="days observed")
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--workers", default="1,2", help="Dask worker counts to time")
    parser.add_argument(
        "--memory-objects",
        type=int,
        default=2000,
        help="objects of the small memory run (0: skip the memory runs)",
    )
    parser.add_argument("--memory-factor", type=int, default=10)
    parser.add_argument("--memory-repeats", type=int, default=2, help="runs of each size")
    parser.add_argument(
        "--memory-chunk-size",
        type=int,
        default=1000,
        help="chunk size of the memory runs: above the batch size (256), so that every batch "
        "is full and the peak is set by the settings, not by the largest of many small parts",
    )
    parser.add_argument(
        "--staging-buffer",
        type=int,
        default=50_000,
        help="rows read and buffered at once while staging in the memory runs, and the row "
        "groups of the input files (below the small run's rows, so that both runs fill every "
        "fixed buffer)",
    )
    parser.add_argument(
        "--alerts", type=int, default=5000, help="alerts decoded per input kind (0: skip)"
    )
    parser.add_argument(
        "--cutout-bytes", type=int, default=60_000, help="bytes per cutout of the Rubin alerts"
    )
    parser.add_argument("--alert-repeats", type=int, default=5, help="runs of each alert input")
    parser.add_argument(
        "--alert-profile",
        type=int,
        default=0,
        help="print a cProfile summary (this many functions) of reading each Avro input",
    )
    parser.add_argument("--model", default=None, help="model directory (default: untrained)")
    parser.add_argument("--channels", type=int, default=72, help="C of the untrained model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(json.loads(args.measure))))
        return

    print(
        "command: PYTHONPATH=. python "
        + shlex.join(["benchmarks/batch_scoring.py", *(sys.argv[1:] if argv is None else argv)])
    )
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lcvade-bench-") as tmp:
        work = Path(tmp)
        model = args.model
        if model is None and (args.objects or args.memory_objects):
            model = str(build_model(work / "model", args.channels))
        if args.objects:
            speed_runs(args, work, model, load_before)
        if args.memory_objects:
            memory_runs(args, work, model)
        if args.alerts:
            alert_runs(args, work)


if __name__ == "__main__":
    main()
