"""Score an LSDB catalog whose light curves live in a nested column, partition by partition.

Run from the repository root (or with lcvade installed)::

    PYTHONPATH=. python examples/lsdb_scoring.py --model path/to/model --objects 300

It builds a small catalog in memory -- an object table (id, ra, dec) and a source table of
periodic light curves in bands g and r, joined into a nested ``lc`` column as Rubin's
catalog stack (LSDB, nested-pandas) stores them -- then scores it lazily with
``training.scoring.lsdb_catalogs.score_catalog`` (a ``map_partitions``) and computes the result on
Dask's default scheduler.  On a real HATS catalog the only change is the loading step, e.g.
``lsdb.open_catalog(path)``, with ``fields=`` naming its light-curve columns.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.scoring.curves import BandPolicy  # noqa: E402
from training.scoring.lsdb_catalogs import score_catalog  # noqa: E402


def demo_sources(n_objects: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An object table and a long source table of sinusoidal variables (bands g and r)."""
    rng = np.random.default_rng(seed)
    objects = pd.DataFrame(
        {
            "object_id": [f"demo{i:05d}" for i in range(n_objects)],
            "ra": rng.uniform(150.0, 151.0, n_objects),
            "dec": rng.uniform(2.0, 3.0, n_objects),
        }
    )
    frames = []
    for row in objects.itertuples():
        n = int(rng.integers(20, 60))
        t = np.sort(rng.uniform(60000.0, 60090.0, n))
        period = rng.uniform(0.3, 5.0)
        amplitude = rng.uniform(0.1, 0.8)
        band = rng.choice(["g", "r"], n)
        offset = np.where(band == "g", 0.3, 0.0)
        mag = 17.0 + offset + amplitude * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.03, n)
        frames.append(
            pd.DataFrame(
                {
                    "source_of": row.object_id,
                    "ra": row.ra,
                    "dec": row.dec,
                    "mjd": t,
                    "psf_mag": mag,
                    "psf_mag_err": 0.03,
                    "band": band,
                }
            )
        )
    return objects, pd.concat(frames, ignore_index=True)


def demo_catalog(n_objects: int = 200, seed: int = 0):
    """The demo tables as an LSDB catalog with a nested ``lc`` column."""
    import lsdb

    objects, sources = demo_sources(n_objects, seed)
    # a small in-memory demo needs neither a coverage map nor a margin cache
    small = {
        "ra_column": "ra",
        "dec_column": "dec",
        "should_generate_moc": False,
        "margin_threshold": None,
    }
    object_catalog = lsdb.from_dataframe(objects, **small)
    source_catalog = lsdb.from_dataframe(sources, **small)
    return object_catalog.join_nested(
        source_catalog, left_on="object_id", right_on="source_of", nested_column_name="lc"
    )


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="model directory or bundled name")
    parser.add_argument("--objects", type=int, default=200, help="objects in the catalog")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    catalog = demo_catalog(args.objects, args.seed)
    scores = score_catalog(
        catalog,
        args.model,
        lc_column="lc",
        id_column="object_id",
        fields={"time": "mjd", "mag": "psf_mag", "mag_err": "psf_mag_err", "band": "band"},
        policy=BandPolicy(multi_band="best"),
    )
    result = scores.compute()
    counts = result["status"].value_counts().to_dict()
    print(f"{len(result)} objects in {catalog.npartitions} partition(s): {counts}")
    columns = [
        "object_id",
        "n_points",
        "bands",
        "period",
        "anomaly_score",
        "p_value",
        "predicted_class",
        "status",
    ]
    print(result.sort_values("anomaly_score", ascending=False)[columns].head(10).to_string())
    return result


if __name__ == "__main__":
    main()
