"""Train every image-family model on the bundled digits for a fixed CPU budget and print the
columns of Table 6.4 side by side, then the clustering accuracy of MPCC and VaDE over seeds.

    python benchmarks/gi_table.py --cpu-seconds 240 --workers 2 --out runs/gi-table

Every run trains on the training split (80 %, stratified) for at most ``--cpu-seconds`` of
process CPU time (one thread per run, ``--workers`` runs at a time) or ``--max-steps``
iterations, whichever comes first, then is evaluated: Table 6.4 columns on the training
split, the linear probe on the test split, IS/FID from 1,000 generated images scored by a
classifier trained on the same training split (no Inception weights can be fetched), FID
against the test split, and the clustering accuracy (eq. 8.1) over all 1,797 images.

The tables are printed in markdown and written to ``OUT/gi_table.md``; every finished run is
appended to ``OUT/results.jsonl`` as it completes (``--report FILE...`` prints the tables
from such files).
This is a benchmark, not a test: it takes about ``16 runs x cpu-seconds / workers``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WIDTH = 4  # C: 4C = 16 channels, a CPU-sized version of the thesis' C = 12-32
LATENT = 10  # J of Table 6.4 (MNIST)


@dataclass
class Job:
    label: str
    model: str
    seed: int
    hyper: dict[str, Any] = field(default_factory=dict)
    table: bool = True  # a row of the Table 6.4 comparison


def jobs(seeds: int, width: int) -> list[Job]:
    base = {"width": width, "latent_dim": LATENT}
    adv = {**base, "d_steps": 1}
    # MPCC sized for a CPU budget: one D and one E step per G step (the thesis uses 4 and 4),
    # no encoder/discriminator sharing and faster learning rates (the thesis: 2e-4, 1.6e-3)
    mpcc = {
        **base,
        "d_steps": 1,
        "e_steps": 1,
        "share": False,
        "lr": 1e-3,
        "prior_lr": 5e-3,
    }
    vade = {**base, "lr": 1e-3, "pretrain_steps": 300}
    out = [
        Job("VAE (beta=1)", "vae", 0, {**base, "beta": 1.0}),
        Job("beta-VAE (beta=30)", "vae", 0, {**base, "beta": 30.0}),
        Job("WVAE (beta=1)", "wvae", 0, {**base, "beta": 1.0}),
        Job("JS-VAE (beta=1)", "jsvae", 0, {**base, "beta": 1.0}),
        Job("MMD (beta=1)", "mmd", 0, {**base, "beta": 1.0}),
        Job("AIM", "aim", 0, adv),
        Job("ALI", "ali", 0, adv),
        Job("ALICE", "alice", 0, adv),
        Job("VEEGAN", "veegan", 0, adv),
    ]
    for seed in range(seeds):
        out.append(Job("VaDE", "vade", seed, vade, table=seed == 0))
        out.append(Job("MPCC", "mpcc", seed, mpcc, table=seed == 0))
    return out


def run_job(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from safetensors.torch import load_file

    from models.classifier import GenerationScorer, ImageClassifier
    from models.evaluation import clustering_of, evaluate_model
    from models.gi_train import TrainConfig, train, training_split
    from models.images import load_dataset

    data = load_dataset("digits")
    cfg = TrainConfig(
        model=job.model,
        data="digits",
        steps=args["max_steps"],
        batch_size=args["batch_size"],
        seed=job.seed,
        checkpoint_every=10**9,
        threads=1,
        hyper=job.hyper,
    )
    out = Path(args["out"]) / f"{job.model}-{job.label.split()[0].lower()}-seed{job.seed}"
    start = time.process_time()
    wall = time.time()
    result = train(
        cfg,
        out,
        data=data,
        resume=False,
        progress=False,
        until=lambda: time.process_time() - start >= args["cpu_seconds"],
    )
    cpu = time.process_time() - start
    train_set, test_set = training_split(cfg, data)
    row: dict[str, Any] = {"steps": result.step, "CPU s": cpu}
    if job.table:
        clf = ImageClassifier(args["clf_width"], 1, data.n_classes)
        clf.load_state_dict(load_file(args["classifier"]))
        scorer = GenerationScorer(clf, test_set)
        row.update(evaluate_model(result.model, train_set, test_set, scorer, seed=0))
    elif result.model.prior.is_mixture:
        model = result.model
        model.prepare_for_evaluation()
        row["Clust%"] = 100.0 * clustering_of(model, [train_set, test_set])
    row["wall s"] = time.time() - wall
    return {"label": job.label, "model": job.model, "seed": job.seed, "row": row}


def report(results: list[dict[str, Any]], header: str) -> str:
    """The two markdown tables: Table 6.4 columns (seed-0 runs) and clustering over seeds."""
    from models.evaluation import COLUMNS, format_table

    table_rows = {r["label"]: r["row"] for r in results if r.get("table", True)}
    lines = [header, "", format_table(table_rows, (*COLUMNS, "steps")), ""]
    clustering: dict[str, dict[int, float]] = {}
    for r in results:
        if "Clust%" in r["row"]:
            clustering.setdefault(r["label"], {})[r["seed"]] = r["row"]["Clust%"]
    if clustering:
        seeds = sorted({s for accs in clustering.values() for s in accs})
        lines += [
            "| Model | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | std |",
            "|---|" + "---:|" * (len(seeds) + 2),
        ]
        for label, by_seed in clustering.items():
            accs = list(by_seed.values())
            std = statistics.stdev(accs) if len(accs) > 1 else 0.0
            cells = " | ".join(f"{by_seed[s]:.2f}" if s in by_seed else "-" for s in seeds)
            lines.append(
                f"| {label} clustering acc. % | {cells} | {statistics.mean(accs):.2f} | {std:.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cpu-seconds",
        type=float,
        default=150.0,
        help="CPU budget of every training run (seconds of process time)",
    )
    parser.add_argument("--max-steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=3, help="seeds for MPCC and VaDE")
    parser.add_argument("--workers", type=int, default=2, help="runs in parallel")
    parser.add_argument("--width", type=int, default=WIDTH, help="C of every network")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--classifier-steps", type=int, default=1000)
    parser.add_argument(
        "--classifier",
        type=Path,
        default=None,
        help="reuse the IS/FID classifier (classifier.safetensors) of an earlier run",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/gi-table"))
    parser.add_argument("--only", nargs="*", default=None, help="run only these model names")
    parser.add_argument(
        "--report",
        nargs="+",
        type=Path,
        default=None,
        help="only print the tables from results.jsonl files of earlier runs",
    )
    args = parser.parse_args(argv)
    header = (
        f"Digits (scikit-learn, 32x32), C={args.width}, J={LATENT}, batch {args.batch_size}, "
        f"{args.cpu_seconds:.0f} CPU-seconds per training run (one thread)."
    )
    if args.report:
        results = [
            json.loads(line)
            for path in args.report
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        print(report(results, header))
        return 0

    import torch
    from safetensors.torch import load_file, save_file

    from models.classifier import ImageClassifier, train_classifier
    from models.gi_train import TrainConfig, training_split
    from models.images import load_dataset

    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.time()
    train_set, test_set = training_split(TrainConfig(data="digits"), load_dataset("digits"))
    clf_width = 8
    clf_path = args.out / "classifier.safetensors"
    if args.classifier is not None:
        clf = ImageClassifier(clf_width, 1, 10)
        clf.load_state_dict(load_file(str(args.classifier)))
        clf.eval()
    else:
        clf = train_classifier(train_set, width=clf_width, steps=args.classifier_steps, seed=0)
    save_file({k: v.contiguous() for k, v in clf.state_dict().items()}, str(clf_path))
    with torch.no_grad():
        clf_acc = float((clf(test_set.images).argmax(1) == test_set.labels).double().mean())
    print(f"IS/FID classifier: test accuracy {100 * clf_acc:.1f}%", file=sys.stderr)

    shared = {
        "cpu_seconds": args.cpu_seconds,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "out": str(args.out),
        "classifier": str(clf_path),
        "clf_width": clf_width,
    }
    todo = [j for j in jobs(args.seeds, args.width) if not args.only or j.model in args.only]
    results = []
    log = args.out / "results.jsonl"
    log.write_text("", encoding="utf-8")
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_job, job, shared) for job in todo]
        for job, fut in zip(todo, futures, strict=True):
            res = {**fut.result(), "table": job.table}
            results.append(res)
            with log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(res) + "\n")
            print(f"done {job.label} seed {job.seed}: {res['row']}", file=sys.stderr, flush=True)

    header += f" IS/FID classifier test accuracy {100 * clf_acc:.1f}%."
    text = report(results, header) + f"\n\nTotal wall time {(time.time() - t0) / 60:.1f} min."
    print(text)
    (args.out / "gi_table.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
