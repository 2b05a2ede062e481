"""The bundled real examples: valid curves with their classes, served in the model's bands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurve
from service.examples import EXAMPLES, EXAMPLES_DIR, example_for_model, example_names

REPO = Path(__file__).resolve().parents[2]


def test_every_example_is_a_valid_labelled_curve_listed_in_the_provenance():
    provenance = (EXAMPLES_DIR / "PROVENANCE.md").read_text()
    assert example_names() == sorted(EXAMPLES)
    for name in example_names():
        example = EXAMPLES[name]
        rows = pd.read_csv(EXAMPLES_DIR / f"{name}.csv")
        main = rows[rows["band"] == example.main_band]
        curve = LightCurve(main.time, main.mag, main.mag_err, main.band.tolist())
        assert len(curve) >= 100 and rows["object_id"].nunique() == 1
        assert f"{name}.csv" in provenance and rows["object_id"].iloc[0] in provenance
        assert example.label in provenance
    assert {e.expected for e in EXAMPLES.values()} == {"ordinary", "anomaly"}
    assert EXAMPLES["ztf_sn_ia"].expected == "anomaly"


def test_a_one_band_model_gets_the_main_band_and_the_map_onto_its_band():
    config = LCVaDEConfig(n_classes=2, bands=["I"])
    served = example_for_model("asas_mira", config)
    assert served.band_map == {"V": "I"} and "read as 'I'" in served.note
    assert set(served.light_curve.band) == {"V"} and served.label == "Mira"
    sn = example_for_model("ztf_sn_ia", config)
    assert set(sn.light_curve.band) == {"R"} and sn.band_map == {"R": "I"}
    unnamed = example_for_model("asas_mira", LCVaDEConfig(n_classes=2))
    assert unnamed.band_map is None and unnamed.note is None


def test_a_two_band_model_gets_the_bands_it_knows():
    sn = example_for_model("ztf_sn_ia", LCVaDEConfig(n_classes=2, bands=["g", "r"]))
    assert set(sn.light_curve.band) == {"g", "R"} and sn.band_map == {"R": "r"}
    assert example_for_model("nope", LCVaDEConfig(n_classes=2)) is None


@pytest.mark.slow
def test_the_quickstart_names_the_classes_of_the_real_examples():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, str(REPO / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    for label in ("RR_Lyrae_FM", "Classical_Cepheid", "Mira", "W_Ursae_Maj", "SN Ia"):
        assert label in run.stdout
    assert run.stdout.count("why: ") == 5 and "given" in run.stdout
