"""The band mapping and rejection accounting of ``benchmarks/transients_vs_rrlyrae.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from benchmark_modules import load_benchmark


def ztf_like_tables(folder) -> None:
    rng = np.random.default_rng(0)
    rows = []
    layout = {"full": {"g": 12, "R": 11}, "short": {"g": 5, "R": 14}, "only_i": {"i": 3}}
    for object_id, bands in layout.items():
        for band, n in bands.items():
            rows.append(
                pd.DataFrame(
                    {
                        "object_id": object_id,
                        "time": np.sort(rng.uniform(0, 60, n)),
                        "mag": rng.normal(18, 0.5, n).astype("float32"),
                        "mag_err": np.full(n, 0.05, "float32"),
                        "band": band,
                    }
                )
            )
    pd.concat(rows).to_parquet(folder / "ztf_bts_snia_lightcurves.parquet")
    objects = pd.DataFrame({"object_id": list(layout), "label": "SN Ia", "period": np.nan})
    objects.to_parquet(folder / "ztf_bts_snia_objects.parquet")


def test_ztf_r_becomes_the_model_band_r_and_every_supernova_is_accounted_for(tmp_path):
    bench = load_benchmark("transients_vs_rrlyrae")
    ztf_like_tables(tmp_path)
    curves, rejections, n_table, other = bench.supernova_curves(tmp_path, min_points=10)
    assert n_table == 3 and other == {"i": 3}
    assert [c.id for c in curves] == ["full"]
    assert tuple(curves[0].bands) == ("g", "r") and curves[0].period is None
    reasons = {r.object_id: bench.reason_kind(r.reason) for r in rejections}
    assert set(reasons) == {"short", "only_i"}
    assert reasons["short"].startswith("band 'g' has N points; at least N per band")
    assert reasons["only_i"] == "no g or r points, only other bands"
