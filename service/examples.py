"""The bundled example light curves: real labelled curves (see ``static/examples/PROVENANCE.md``).

Four ASAS-3 V-band stars of known class and a ZTF type Ia supernova (bands g and R, as the
source writes ZTF r).  An example is served in the bands the model takes, with the band map
to send along: a model of one band gets the example's main band (V for ASAS, R for ZTF),
mapped onto the model's band when the names differ; a model of several bands gets the bands
it knows (matched without regard to letter case).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from lcvade.config import LCVaDEConfig
from service.schemas import ExampleCurve, ExampleSummary, LightCurveIn

EXAMPLES_DIR = Path(__file__).parent / "static" / "examples"


@dataclass(frozen=True)
class Example:
    """What is known of one bundled example."""

    description: str
    label: str
    survey: str
    main_band: str
    expected: str  # "ordinary" (a known class) or "anomaly"
    expected_class: str | None = None  # the class the bundled default model names


EXAMPLES = {
    "asas_rr_lyrae_fm": Example(
        "ASAS 259149: RR Lyrae star, fundamental mode (RR_Lyrae_FM), ASAS-3 V",
        "RR_Lyrae_FM",
        "ASAS",
        "V",
        "ordinary",
        "RRab",
    ),
    "asas_classical_cepheid": Example(
        "ASAS 234892: classical Cepheid (Classical_Cepheid), ASAS-3 V",
        "Classical_Cepheid",
        "ASAS",
        "V",
        "ordinary",
        "DCEP",
    ),
    "asas_mira": Example(
        "ASAS 245700: Mira variable (Mira), ASAS-3 V", "Mira", "ASAS", "V", "ordinary", "LPV"
    ),
    "asas_w_ursae_maj": Example(
        "ASAS 261712: contact eclipsing binary (W_Ursae_Maj), ASAS-3 V",
        "W_Ursae_Maj",
        "ASAS",
        "V",
        "ordinary",
        "EW",
    ),
    "ztf_sn_ia": Example(
        "ZTF19aaxqsbn = SN 2019gzd: type Ia supernova, a transient (the anomaly), ZTF r",
        "SN Ia",
        "ZTF",
        "R",
        "anomaly",
    ),
}


@cache
def _table(name: str) -> pd.DataFrame:
    return pd.read_csv(EXAMPLES_DIR / f"{name}.csv", dtype={"band": str})


def example_names() -> list[str]:
    return sorted(name for name in EXAMPLES if (EXAMPLES_DIR / f"{name}.csv").is_file())


def summaries() -> list[ExampleSummary]:
    out = []
    for name in example_names():
        example = EXAMPLES[name]
        out.append(
            ExampleSummary(
                name=name,
                description=example.description,
                points=int((_table(name)["band"] == example.main_band).sum()),
                label=example.label,
            )
        )
    return out


def example_for_model(name: str, config: LCVaDEConfig) -> ExampleCurve | None:
    """The example ``name`` in the model's bands, or None if there is no such example."""
    if name not in example_names():
        return None
    example = EXAMPLES[name]
    table = _table(name)
    note = None
    band_map: dict[str, str] = {}
    if config.bands is None or len(config.bands) == 1:
        rows = table[table["band"] == example.main_band]
        if config.bands is not None and config.bands[0] != example.main_band:
            band_map = {example.main_band: config.bands[0]}
            note = (
                f"this model reads one band, {config.bands[0]!r}: the {example.survey} "
                f"{example.main_band} points are read as {config.bands[0]!r}"
            )
    else:
        names = {b.upper(): b for b in config.bands}
        rows = table[table["band"].str.upper().isin(names)]
        if rows.empty:
            rows = table[table["band"] == example.main_band]
            band_map = {example.main_band: config.bands[0]}
            note = (
                f"none of the example's bands is among this model's bands {config.bands}: "
                f"the {example.main_band} points are read as {config.bands[0]!r}"
            )
        else:
            band_map = {b: names[b.upper()] for b in set(rows["band"]) if names[b.upper()] != b}
    curve = LightCurveIn(
        id=name,
        time=rows["time"].tolist(),
        mag=rows["mag"].tolist(),
        mag_err=rows["mag_err"].tolist(),
        band=rows["band"].tolist(),
    )
    return ExampleCurve(
        name=name,
        description=example.description,
        note=note,
        light_curve=curve,
        label=example.label,
        survey=example.survey,
        expected=example.expected,  # type: ignore[arg-type]
        expected_class=example.expected_class,
        band_map=band_map or None,
    )
