"""The bundled example light curves (real MACHO stars, see ``static/examples/PROVENANCE.md``).

The files hold both MACHO bands, B and R.  An example is served in the bands the model
takes: a model of one band gets the R points (named as the model names its band, or without
band names); a model whose bands include B and/or R (in any letter case) gets those.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from lcvade.config import LCVaDEConfig
from service.schemas import ExampleCurve, ExampleSummary, LightCurveIn

EXAMPLES_DIR = Path(__file__).parent / "static" / "examples"
DESCRIPTIONS = {
    "macho_1.3444.614": "MACHO 1.3444.614, LMC: large-amplitude variable, 722 R points",
    "macho_1.4652.1527": "MACHO 1.4652.1527, LMC: short-period variable, 1,165 R points",
    "macho_10.4279.1493": "MACHO 10.4279.1493, LMC: low-amplitude variable, 847 R points",
    "macho_2.4907.2086": "MACHO 2.4907.2086, LMC: sparse curve, 45 R points",
}


@cache
def _table(name: str) -> pd.DataFrame:
    return pd.read_csv(EXAMPLES_DIR / f"{name}.csv")


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.csv"))


def summaries() -> list[ExampleSummary]:
    return [
        ExampleSummary(
            name=name,
            description=DESCRIPTIONS.get(name, name),
            points=int((_table(name)["band"] == "R").sum()),
        )
        for name in example_names()
    ]


def example_for_model(name: str, config: LCVaDEConfig) -> ExampleCurve | None:
    """The example ``name`` in the model's bands, or None if there is no such example."""
    if name not in example_names():
        return None
    table = _table(name)
    note = None
    if config.bands is None or len(config.bands) == 1:
        rows = table[table["band"] == "R"]
        bands = None if config.bands is None else [config.bands[0]] * len(rows)
        if config.bands is not None and config.bands[0].upper() != "R":
            note = f"the MACHO R band is sent as this model's band {config.bands[0]!r}"
    else:
        names = {b.upper(): b for b in config.bands}
        rows = table[table["band"].isin([b for b in ("B", "R") if b in names])]
        if rows.empty:
            rows = table
            note = f"MACHO bands B and R are not among this model's bands {config.bands}"
        bands = [names.get(b, b) for b in rows["band"]]
    curve = LightCurveIn(
        id=name,
        time=rows["time"].tolist(),
        mag=rows["mag"].tolist(),
        mag_err=rows["mag_err"].tolist(),
        band=bands,
    )
    return ExampleCurve(
        name=name, description=DESCRIPTIONS.get(name, name), note=note, light_curve=curve
    )
