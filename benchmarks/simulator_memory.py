"""Peak memory and speed of streaming simulations of growing size.

Each size runs in a fresh Python process that imports the simulator, records its resident
memory, streams ``n`` objects to a temporary directory with ``write_simulation`` and reports its
peak resident set size (``ru_maxrss``).  Bounded memory means the peak stays flat while ``n``
grows by orders of magnitude.

    python benchmarks/simulator_memory.py                       # 1e4 and 1e5 objects, ZTF-like
    python benchmarks/simulator_memory.py --sizes 10000 100000 1000000 --cadence lsst
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mib() -> float:
    """Current resident set size of this process, MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def child(n: int, cadence: str, chunk_size: int, fmt: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from lcvade.simulation import write_simulation

    baseline = _rss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = write_simulation(
            tmp, n, seed=1, cadence=cadence, chunk_size=chunk_size, format=fmt, progress=False
        )
        elapsed = time.perf_counter() - start
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "n_objects": n,
        "n_points": summary.n_points,
        "seconds": elapsed,
        "objects_per_s": n / elapsed,
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak,
        "output_mib": size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--cadence", default="ztf")
    parser.add_argument("--chunk-size", type=int, default=4096)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.cadence, args.chunk_size, args.format)))
        return
    print(
        f"cadence={args.cadence} chunk_size={args.chunk_size} format={args.format} "
        f"python={sys.version.split()[0]}"
    )
    header = (
        f"{'objects':>10} {'points':>12} {'seconds':>9} {'obj/s':>8} "
        f"{'base RSS MiB':>13} {'peak RSS MiB':>13} {'output MiB':>11}"
    )
    print(header)
    for n in args.sizes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(n),
                "--cadence",
                args.cadence,
                "--chunk-size",
                str(args.chunk_size),
                "--format",
                args.format,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['n_objects']:>10} {r['n_points']:>12} {r['seconds']:>9.1f} "
            f"{r['objects_per_s']:>8.0f} {r['baseline_rss_mib']:>13.0f} "
            f"{r['peak_rss_mib']:>13.0f} {r['output_mib']:>11.0f}"
        )


if __name__ == "__main__":
    main()
