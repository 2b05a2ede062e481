"""The output directory of a batch-scoring run: parts, markers, the anomaly rule, assembly.

``OUT/part-00000.parquet``, ``part-00001.parquet``, ... hold the result rows of one staged
bucket each.  A part is written to a hidden temporary file and renamed into place, so a part
file that exists is complete: a rerun skips it.  When all parts exist the run is finished:
``is_anomaly`` is set by one rule over the whole run -- a fixed p-value threshold, or the
Benjamini-Hochberg procedure at false-discovery rate q over all p-values of the run
(:func:`lcvade.calibration.benjamini_hochberg`; it reads only the p-value column, one part at
a time) -- and ``_SUCCESS`` records the totals.  A single-file output (``.parquet``/``.csv``)
is assembled from the parts part by part.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lcvade.calibration import benjamini_hochberg
from models.atomic_files import write_atomic, write_json_atomic

PART_PATTERN = re.compile(r"^part-(\d{5})\.parquet$")
RULE_FILE = "_anomaly_rule.json"
SUCCESS_FILE = "_SUCCESS"
SINGLE_FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz")


def part_path(directory: str | os.PathLike[str], part: int) -> Path:
    return Path(directory) / f"part-{part:05d}.parquet"


def read_json(path: Path) -> Any | None:
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def write_part(directory: str | os.PathLike[str], part: int, table: pa.Table) -> Path:
    """Write one part atomically."""
    path = part_path(directory, part)
    write_atomic(path, lambda p: pq.write_table(table, p))
    return path


def finished_parts(directory: str | os.PathLike[str]) -> set[int]:
    """The parts already written."""
    folder = Path(directory)
    if not folder.is_dir():
        return set()
    return {int(m.group(1)) for p in folder.iterdir() if (m := PART_PATTERN.match(p.name))}


def is_single_file(out: str | os.PathLike[str]) -> bool:
    """Whether ``out`` names one results file rather than a directory of parts."""
    return str(out).lower().endswith(SINGLE_FILE_SUFFIXES)


def _parts_rule(directory: Path) -> dict[str, float] | None:
    """The rule the parts carry (None: unknown or mixed)."""
    record = read_json(directory / RULE_FILE)
    return None if record is None else record["rule"]


def record_rule(directory: Path, rule: dict[str, float] | None, **details: Any) -> None:
    write_json_atomic(directory / RULE_FILE, {"rule": rule, **details})


def note_new_parts(directory: Path, scored_rule: dict[str, float]) -> None:
    """Parts flagged by ``scored_rule`` are about to be added: record if the rules now mix."""
    if _parts_rule(directory) != scored_rule:
        record_rule(directory, None)


def fdr_threshold(directory: Path, n_parts: int, q: float) -> tuple[float, int]:
    """The largest p-value rejected by Benjamini-Hochberg at level q over all parts, and m."""
    columns = [
        pq.read_table(part_path(directory, j), columns=["p_value"]).column(0)
        for j in range(n_parts)
    ]
    p = np.concatenate(
        [c.drop_null().to_numpy(zero_copy_only=False) for c in columns] or [np.empty(0)]
    ).astype(np.float64)
    rejected = benjamini_hochberg(p, q)
    return (float(p[rejected].max()) if rejected.any() else -np.inf), int(p.size)


def apply_anomaly_rule(directory: Path, n_parts: int, rule: dict[str, float]) -> dict[str, Any]:
    """Set ``is_anomaly`` in every part by ``rule``, unless the parts already carry it.

    Parts are written flagged by a fixed p-value threshold; the rule file records the rule
    the parts carry, and is marked unknown while parts are rewritten, so an interrupted
    rewrite is redone.
    """
    if _parts_rule(directory) == rule:
        return read_json(directory / RULE_FILE)
    record_rule(directory, None)
    if "fdr" in rule:
        threshold, m = fdr_threshold(directory, n_parts, rule["fdr"])
        compare = pc.less_equal
    else:
        threshold, m = rule["p_below"], None
        compare = pc.less
    for j in range(n_parts):
        table = pq.read_table(part_path(directory, j))
        column = table.schema.get_field_index("is_anomaly")
        flags = compare(table.column("p_value"), threshold)
        updated = table.set_column(column, "is_anomaly", flags)
        write_part(directory, j, updated)
    record_rule(
        directory,
        rule,
        p_value_threshold=float(threshold) if np.isfinite(threshold) else None,
        n_tested=m,
    )
    return read_json(directory / RULE_FILE)


def summarize(directory: Path, n_parts: int) -> dict[str, int]:
    """Totals over the parts: rows, ok, rejected, anomalies."""
    totals = {"rows": 0, "ok": 0, "rejected": 0, "anomalies": 0}
    for j in range(n_parts):
        table = pq.read_table(part_path(directory, j), columns=["status", "is_anomaly"])
        totals["rows"] += table.num_rows
        ok = pc.sum(pc.equal(table.column("status"), "ok")).as_py() or 0
        totals["ok"] += ok
        totals["rejected"] += table.num_rows - ok
        totals["anomalies"] += pc.sum(table.column("is_anomaly")).as_py() or 0
    return totals


def assemble(directory: Path, n_parts: int, out: Path, schema: pa.Schema) -> None:
    """Concatenate the parts into one Parquet or CSV file (written atomically)."""

    def write(target: Path) -> None:
        if str(out).lower().endswith((".csv", ".csv.gz")):
            sink = (
                pa.CompressedOutputStream(str(target), "gzip")
                if str(out).lower().endswith(".gz")
                else pa.OSFile(str(target), "wb")
            )
            with sink, pacsv.CSVWriter(sink, schema) as writer:
                for j in range(n_parts):
                    writer.write_table(pq.read_table(part_path(directory, j)))
        else:
            with pq.ParquetWriter(target, schema) as writer:
                for j in range(n_parts):
                    writer.write_table(pq.read_table(part_path(directory, j)))

    write_atomic(out, write)
