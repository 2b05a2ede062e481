"""Alert photometry on real packets: ZTF apparent (DC) magnitudes, difference magnitudes of
transients, the brokers' Parquet layout, Rubin/LSST v11 direct-image fluxes and forced
sources, quality cuts, and ``lcvade convert`` feeding ``lcvade score``."""

from __future__ import annotations

import math
from pathlib import Path

import fastavro
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lcvade import LCVaDEConfig
from lcvade.cli import _register_commands, app
from lcvade.tables import iter_table
from training.scoring.alert_quality import AlertCuts, AlertCutsError, parse_cuts
from training.scoring.alerts import read_alerts
from training.scoring.curves import prepare_objects
from training.scoring.inputs import BatchInputError, discover_inputs, table_photometry
from training.scoring.photometry_rows import (
    SKIP_FORCED_AT_DETECTION,
    SKIP_NEGATIVE_DIFFERENCE,
    SKIP_NON_DETECTION,
    SKIP_NON_POSITIVE_FLUX,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "alerts"
XXF = DATA / "2019_01_10_739260766315010006.avro"  # ZTF17aaacxxf
NNN = DATA / "472263571115115000.avro"  # ZTF17aaajnnn
FINK = DATA / "fink_ztf_alerts.parquet"
GR = LCVaDEConfig(n_classes=3, channels=8, bands=["g", "r"])
SINGLE = LCVaDEConfig(n_classes=3, channels=8)


def _rows(path: Path, cuts: AlertCuts | None = None) -> pd.DataFrame:
    return pd.concat(list(read_alerts(path, cuts=cuts)), ignore_index=True)


def _records(path: Path) -> list[dict]:
    with path.open("rb") as fh:
        return list(fastavro.reader(fh))


def _entries(records: list[dict]) -> list[tuple[str, dict]]:
    return [
        (r["objectId"], e) for r in records for e in [r["candidate"], *(r["prv_candidates"] or [])]
    ]


def _real_entries() -> list[tuple[str, dict]]:
    fink = pq.read_table(FINK, columns=["objectId", "candidate", "prv_candidates"]).to_pylist()
    return _entries(_records(XXF)) + _entries(_records(NNN)) + _entries(fink)


def _real_rows(cuts: AlertCuts | None = None) -> pd.DataFrame:
    return pd.concat([_rows(p, cuts) for p in (XXF, NNN, FINK)], ignore_index=True)


def test_apparent_magnitudes_of_three_ztf17aaacxxf_detections_by_hand():
    rows = _rows(XXF).set_index("source_id")
    # candid: magnr, sigmagnr, magpsf, sigmapsf, isdiffpos as printed in the packet
    # 739260766315010006 (r, the alert's candidate): 14.319, 0.016, 15.371134, 0.044493, f
    # 710243366315015036 (g): 16.747, 0.016, 19.122499, 0.156931, t
    # 736204086315010013 (r): 14.319, 0.016, 15.282600, 0.052587, f
    f_ref_r, f_ref_g = 10 ** (-0.4 * 14.319), 10 ** (-0.4 * 16.747)
    cases = {
        739260766315010006: (f_ref_r, -(10 ** (-0.4 * 15.371134)), 0.044493),
        710243366315015036: (f_ref_g, +(10 ** (-0.4 * 19.122499)), 0.156931),
        736204086315010013: (f_ref_r, -(10 ** (-0.4 * 15.282600)), 0.052587),
    }
    for candid, (f_ref, f_diff, sigmapsf) in cases.items():
        row = rows.loc[candid]
        flux = f_ref + f_diff
        sigma_flux = math.hypot(f_ref * 0.016, abs(f_diff) * sigmapsf) / 1.0857362
        assert row["mag_kind"] == "apparent"
        assert pd.isna(row["skip"])
        assert row["mag"] == pytest.approx(-2.5 * math.log10(flux), abs=1e-4)
        assert row["mag_err"] == pytest.approx(1.0857362 * sigma_flux / flux, rel=1e-3)
    # the check: the 16.40 r difference magnitude is a 14.5 star, not a 16.4 one
    assert rows.loc[717256286315010021, "mag"] == pytest.approx(14.49, abs=0.01)
    assert 14.45 < rows.loc[739260766315010006, "mag"] < 14.9


def test_every_real_ztf_detection_within_1_arcsec_carries_its_apparent_magnitude():
    rows = _real_rows().dropna(subset=["source_id"]).set_index("source_id")
    checked = 0
    for _, entry in _real_entries():
        if entry["magpsf"] is None or entry["distnr"] is None or entry["distnr"] >= 1.0:
            continue
        sign = 1.0 if entry["isdiffpos"] in ("t", "1") else -1.0
        flux = 10 ** (-0.4 * entry["magnr"]) + sign * 10 ** (-0.4 * entry["magpsf"])
        row = rows.loc[entry["candid"]]
        assert row["mag_kind"] == "apparent"
        assert abs(row["mag"] - (-2.5 * math.log10(flux))) < 0.01
        checked += 1
    assert checked >= 80  # 22 of ZTF17aaacxxf, 1 of ZTF17aaajnnn, 66 in the Fink file


def test_the_brokers_parquet_layout_reads_as_the_avro_packet(tmp_path):
    (record,) = _records(XXF)
    layout = pa.Table.from_pylist([{k: record[k] for k in ("objectId", "candidate",
                                                             "prv_candidates")}])  # fmt: skip
    path = tmp_path / "broker.parquet"
    pq.write_table(layout, path)
    assert [s.kind for s in discover_inputs([path])] == ["alerts"]
    from_avro, from_parquet = _rows(XXF), _rows(path)
    pd.testing.assert_frame_equal(from_parquet, from_avro)
    assert len(from_avro) == 1 + len(record["prv_candidates"])


def test_difference_magnitudes_are_kept_for_transients_and_negative_ones_skipped(tmp_path):
    (record,) = _records(XXF)
    entries = [record["candidate"], *record["prv_candidates"]]
    detections = [e for e in entries if e["magpsf"] is not None]
    negative = [e for e in detections if e["isdiffpos"] in ("f", "0")]
    # as a transient (no reference source within 1.4"), every point is a difference magnitude
    for e in detections:
        e["distnr"] = 4.0
    path = tmp_path / "far.avro"
    with path.open("wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(_avro_schema(XXF)), [record])
    rows = _rows(path, AlertCuts(max_magdiff=None, min_rb=None))
    used = rows[rows["skip"].isna()]
    assert set(used["mag_kind"]) == {"difference"}
    # the candidate and 19 of the history (18 "f", one "0")
    assert (rows["skip"] == SKIP_NEGATIVE_DIFFERENCE).sum() == len(negative) == 20
    positive = {e["candid"]: e["magpsf"] for e in detections if e["isdiffpos"] == "t"}
    assert dict(zip(used["source_id"], used["mag"], strict=True)) == pytest.approx(positive)
    # --photometry difference on the real packet: the same choice, made by the setting
    same = _rows(XXF, AlertCuts(photometry="difference", max_magdiff=None, min_rb=None))
    assert (same["skip"] == SKIP_NEGATIVE_DIFFERENCE).sum() == len(negative)


def _avro_schema(path: Path) -> dict:
    with path.open("rb") as fh:
        return fastavro.reader(fh).writer_schema


def test_ztf_quality_cuts_are_counted_by_reason_and_configurable():
    entries = [e for _, e in _real_entries() if e["magpsf"] is not None]
    rb = np.array([e["rb"] for e in entries])
    magdiff = np.array([abs(e["magdiff"]) for e in entries])
    strict = AlertCuts(min_rb=0.55, max_magdiff=None)
    rows = _real_rows(strict)
    assert (rows["skip"] == "rb below 0.55").sum() == (rb < 0.55).sum() > 10
    loose = _real_rows(AlertCuts(min_rb=None, max_magdiff=0.1))
    assert (loose["skip"] == "|magdiff| above 0.1").sum() == (magdiff > 0.1).sum() > 10
    assert "rb below" not in " ".join(loose["skip"].dropna())
    # drb is in the Fink candidates but not in their history, nor in schema 3.2
    drb = np.array([np.nan if e.get("drb") is None else e["drb"] for e in entries])
    deep = _real_rows(AlertCuts(min_drb=0.5, min_rb=None, max_magdiff=None))
    assert (deep["skip"] == "drb below 0.5").sum() == (drb < 0.5).sum() > 10
    off = _real_rows(AlertCuts(min_rb=None, max_magdiff=None, max_nbad=None))
    assert set(off["skip"].dropna()) == {SKIP_NON_DETECTION}
    assert len(rows) == len(loose) == len(off) == len(_real_entries())  # rows in = rows out


def test_an_off_centre_detection_does_not_mix_magnitude_kinds_in_one_curve():
    # ZTF17aaacxxf's g detection at distnr 1.51" has no apparent magnitude (ALeRCE/Fink
    # convention); without the magdiff cut it is a usable difference magnitude, which the
    # object's apparent curve sets aside with the reason
    rows = _rows(XXF, AlertCuts(max_magdiff=None))
    off = rows[rows["distnr"] > 1.4]
    assert list(off["mag_kind"]) == ["difference"] and off["skip"].isna().all()
    (prepared,) = prepare_objects(rows, None, GR)
    assert prepared.curve is not None, prepared.reason
    assert "difference magnitude in a light curve of apparent magnitudes: 1" in prepared.notes
    assert "dropped band g (9 points, fewer than 10)" in prepared.notes
    used_r = rows["skip"].isna() & (rows["mag_kind"] == "apparent") & (rows["band"] == "r")
    np.testing.assert_allclose(np.sort(prepared.curve.mag), np.sort(rows.loc[used_r, "mag"]))


# -- Rubin/LSST, schema lsst.v11_0 of lsst-alert-packet ----------------------------------------


@pytest.fixture(scope="module")
def v11():
    pytest.importorskip("lsst.alert.packet")
    from rubin_packets import v11_schema

    return v11_schema()


def _rubin_star(schema, object_id: int, template_flux: float, n: int = 12):
    """A star of ``template_flux`` nJy varying by +-40 %: half its difference fluxes are
    negative; forced photometry at every visit, detections at the even ones."""
    from rubin_packets import dia_source, forced_source

    def flux(visit):
        return template_flux * 0.4 * math.sin(visit / 2.0)

    sources = [
        dia_source(
            schema,
            object_id * 100 + k,
            object_id,
            2 * k,
            psfFlux=flux(2 * k) if template_flux else 800.0 - 150.0 * k,
            psfFluxErr=20.0,
            scienceFlux=template_flux + flux(2 * k) if template_flux else 800.0 - 150.0 * k,
            scienceFluxErr=25.0,
            templateFlux=template_flux,
            templateFluxErr=30.0,
            reliability=0.95,
        )  # fmt: skip
        for k in range(n)
    ]
    forced = [
        forced_source(
            schema,
            object_id * 1000 + v,
            object_id,
            v,
            psfFlux=flux(v),
            psfFluxErr=20.0,
            scienceFlux=template_flux + flux(v),
            scienceFluxErr=25.0,
        )  # fmt: skip
        for v in range(2 * n)
    ]
    return sources, forced


def test_rubin_variable_uses_direct_image_fluxes_of_sources_and_forced_sources(tmp_path, v11):
    from rubin_packets import alert, write

    sources, forced = _rubin_star(v11, 7, template_flux=20_000.0)
    assert sum(s["psfFlux"] < 0 for s in sources) >= 4  # the faint half of the cycle
    path = write(tmp_path / "star.avro", v11, [alert(v11, 7, sources, forced, b"\0" * 64)])
    rows = _rows(path)
    assert len(rows) == len(sources) + len(forced)
    used = rows[rows["skip"].isna()]
    assert set(used["mag_kind"]) == {"apparent"}
    # every visit once: the 12 detections and the 12 forced-only visits
    assert len(used) == 24 and used["time"].is_unique
    assert (rows["skip"] == SKIP_FORCED_AT_DETECTION).sum() == 12
    science = {s["diaSourceId"]: s["scienceFlux"] for s in sources}
    for source_id, mag in zip(used["source_id"], used["mag"], strict=True):
        if source_id in science:
            assert mag == pytest.approx(31.4 - 2.5 * math.log10(science[source_id]), abs=1e-6)
    (prepared,) = prepare_objects(rows, None, SINGLE)
    assert prepared.curve is not None and len(prepared.curve) == 24


def test_rubin_transient_keeps_difference_fluxes_and_counts_every_skipped_point(tmp_path, v11):
    from rubin_packets import alert, write

    sources, forced = _rubin_star(v11, 9, template_flux=0.0)
    sources[0]["reliability"] = 0.2
    sources[1]["pixelFlags_saturatedCenter"] = True
    sources[2]["psfFluxErr"] = None
    path = write(tmp_path / "sn.avro", v11, [alert(v11, 9, sources, forced)])
    rows = _rows(path)
    assert len(rows) == len(sources) + len(forced)
    assert set(rows["mag_kind"]) == {"difference"}
    reasons = rows["skip"].value_counts().to_dict()
    assert reasons.pop("reliability below 0.5") == 1
    assert reasons.pop("pixel flag pixelFlags_saturatedCenter") == 1
    assert reasons.pop("missing or non-positive flux error") == 1
    assert reasons.pop(SKIP_FORCED_AT_DETECTION) == 12
    # decline of the transient: 800 - 150 k nJy is non-positive from k = 6 on; forced
    # sources at the odd visits carry the star-less difference flux 0
    assert reasons.pop(SKIP_NON_POSITIVE_FLUX) == 6 + 12
    assert not reasons
    used = rows[rows["skip"].isna()]
    expected = {900 + k: 31.4 - 2.5 * math.log10(800.0 - 150.0 * k) for k in (3, 4, 5)}
    assert dict(zip(used["source_id"], used["mag"], strict=True)) == pytest.approx(expected)
    loose = _rows(path, AlertCuts(min_reliability=None, pixel_flags=()))
    assert loose["skip"].isna().sum() == 5


# -- lcvade convert ----------------------------------------------------------------------------


def _invoke(*args: str):
    _register_commands()
    return CliRunner().invoke(app, [str(a) for a in args])


FORMATS = ["lc.csv", "lc.csv.gz", "lc.tsv", "lc.parquet", "lc.ecsv", "lc.fits", "lc.vot", "lc"]


@pytest.mark.parametrize("name", FORMATS)
def test_convert_writes_every_point_in_a_table_that_scores_as_the_alerts(tmp_path, name):
    out = tmp_path / name
    result = _invoke("convert", DATA, "--out", out, "--cut", "max_magdiff=off")
    assert result.exit_code == 0, result.output
    entries = _real_entries()
    assert result.output.startswith(f"{len(entries)} rows of 53 objects")
    (source,) = discover_inputs([out])
    assert source.kind == "table"
    table = pd.concat(list(iter_table(out)), ignore_index=True)
    assert len(table) == len(entries)  # rows in = rows out
    assert {"mag_kind", "skip", "rb", "distnr", "pixel_flag"} <= set(table.columns)
    read_back = table_photometry(table, name)
    direct = _real_rows(AlertCuts(max_magdiff=None))
    counts = read_back["skip"].value_counts(dropna=False)
    pd.testing.assert_series_equal(counts, direct["skip"].value_counts(dropna=False))
    assert f"skipped, {SKIP_NON_DETECTION}: {counts[SKIP_NON_DETECTION]}" in result.output
    ours = {p.object_id: p for p in prepare_objects(read_back, None, GR)}
    theirs = {p.object_id: p for p in prepare_objects(direct, None, GR)}
    assert ours.keys() == theirs.keys() and len(ours) == 53
    for object_id, p in theirs.items():
        q = ours[object_id]
        assert (q.reason, q.notes, q.n_points) == (p.reason, p.notes, p.n_points)
        if p.curve is not None:
            np.testing.assert_allclose(q.curve.mag, p.curve.mag, rtol=1e-12)
            np.testing.assert_allclose(q.curve.time, p.curve.time, rtol=1e-12)
    assert sum(p.curve is not None for p in theirs.values()) >= 1


def test_convert_and_score_refuse_bad_cut_settings_with_what_to_write(tmp_path):
    result = _invoke("convert", XXF, "--out", tmp_path / "x.csv", "--cut", "min_bogus=1")
    assert result.exit_code == 2 and "min_rb" in result.output and "min_bogus" in result.output
    result = _invoke("convert", XXF, "--out", tmp_path / "x.csv", "--cut", "min_rb=2")
    assert result.exit_code == 2 and "min_rb" in result.output
    result = _invoke("convert", XXF, "--out", tmp_path / "x.txt2")
    assert result.exit_code == 2 and "cannot tell the format" in result.output
    with pytest.raises(AlertCutsError, match="cannot be switched off"):
        parse_cuts(["reference_radius=off"])
    assert parse_cuts(["pixel_flags=pixelFlags_bad+pixelFlags_cr", "min_drb=off"]) == {
        "pixel_flags": ("pixelFlags_bad", "pixelFlags_cr"),
        "min_drb": None,
    }


def test_scoring_the_converted_table_equals_scoring_the_alerts(tmp_path, multi_band_model):
    converted = tmp_path / "lc.parquet"
    assert _invoke("convert", DATA, "--out", converted).exit_code == 0
    outputs = []
    for name, inputs in (("alerts", [DATA]), ("table", [converted])):
        out = tmp_path / f"{name}.parquet"
        result = _invoke("score", *inputs, "--model", multi_band_model, "--out", out,
                         "--no-progress", "--cut", "min_rb=0.3")  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs.append(pd.read_parquet(out).sort_values("object_id", ignore_index=True))
    from_alerts, from_table = outputs
    assert len(from_alerts) == 53
    assert (from_alerts["status"] == "ok").sum() >= 1
    pd.testing.assert_frame_equal(from_table, from_alerts)


def test_a_plain_table_with_a_source_id_column_is_not_merged_by_it():
    # e.g. Gaia's source_id: one per object, not per detection; only a converted table (it has
    # mag_kind) carries detection ids
    t = np.arange(12.0)
    table = pd.DataFrame({"object_id": "star", "time": t, "mag": 15 + 0.1 * np.sin(t),
                          "mag_err": 0.02, "source_id": 42, "skip": "x"})  # fmt: skip
    (prepared,) = prepare_objects(table_photometry(table, "plain.csv"), None, SINGLE)
    assert prepared.curve is not None and len(prepared.curve) == 12
    converted = table.assign(mag_kind="apparent", skip=[None] * 11 + ["rb below 0.3"])
    (merged,) = prepare_objects(table_photometry(converted, "lc.csv"), None, SINGLE)
    assert merged.curve is None and merged.n_points == 1  # one detection id: one point
    with pytest.raises(BatchInputError, match="mag_kind 'dc' at row 0"):
        table_photometry(table.assign(mag_kind="dc"), "lc.csv")


# -- Avro decoding: projected reader schema, cavro and fastavro ---------------------------------


def _rubin_packets(tmp_path: Path, schema) -> Path:
    """Rubin v11 packets of a variable star and of a transient, with cuts, flags, a missing
    error and a missing diaObject."""
    from rubin_packets import alert, write

    star = alert(schema, 7, *_rubin_star(schema, 7, template_flux=20_000.0), b"\0" * 64)
    sources, forced = _rubin_star(schema, 9, template_flux=0.0)
    sources[0]["reliability"] = 0.2
    sources[1]["pixelFlags_saturatedCenter"] = True
    sources[2]["psfFluxErr"] = None
    transient = alert(schema, 9, sources, forced)
    orphan = {**alert(schema, 11, [{**s, "diaObjectId": 11} for s in sources[:3]]),
              "diaObject": None}  # fmt: skip
    return write(tmp_path / "rubin.avro", schema, [star, transient, orphan])


CUT_SETTINGS = [
    AlertCuts(),
    AlertCuts(photometry="difference", min_rb=None, max_nbad=None),
    AlertCuts(pixel_flags=("pixelFlags_edge", "pixelFlags_saturatedCenter"), min_drb=0.5),
]


@pytest.mark.parametrize("cuts", CUT_SETTINGS, ids=["default", "difference", "flags"])
def test_cavro_and_fastavro_give_identical_rows(tmp_path, v11, cuts):
    pytest.importorskip("cavro")
    paths = [XXF, NNN, _rubin_packets(tmp_path, v11)]
    for path in paths:
        by_cavro = pd.concat(list(read_alerts(path, cuts=cuts, decoder="cavro")))
        by_fastavro = pd.concat(list(read_alerts(path, cuts=cuts, decoder="fastavro")))
        assert len(by_cavro) > 10
        pd.testing.assert_frame_equal(by_cavro, by_fastavro, check_exact=True)
    rubin = pd.concat(list(read_alerts(paths[-1], cuts=cuts, decoder="cavro")))
    assert set(rubin["object_id"]) == {"7", "9", "11"}  # the orphan by its diaSource's object


def test_the_projected_schema_leaves_out_cutouts_and_unread_fields():
    from training.scoring.alert_rows import ZTF_FIELDS
    from training.scoring.alerts import project_schema

    (full,) = _records(XXF)
    with XXF.open("rb") as fh:
        writer = fastavro.reader(fh).writer_schema
    reader = project_schema(writer, {"objectId": None, "candidate": ZTF_FIELDS,
                                     "prv_candidates": ZTF_FIELDS})  # fmt: skip
    assert [f["name"] for f in reader["fields"]] == ["objectId", "candidate", "prv_candidates"]
    with XXF.open("rb") as fh:
        (projected,) = list(fastavro.reader(fh, reader_schema=reader))
    read = [k for k in ZTF_FIELDS if k in full["candidate"]]  # schema 3.2 has no drb
    assert len(read) == len(ZTF_FIELDS) - 1 and len(full["candidate"]) > 90
    assert projected["candidate"] == {k: full["candidate"][k] for k in read}
    history = [{k: e[k] for k in projected["prv_candidates"][0]} for e in full["prv_candidates"]]
    assert projected["prv_candidates"] == history and "drb" not in history[0]


def test_a_record_type_defined_in_an_unread_field_is_still_read(tmp_path):
    # the named type diaObject is defined in a field that is not read and used by name in one
    # that is
    dia_object = {"type": "record", "name": "diaObject", "namespace": "lsst.v7_4",
                  "fields": [{"name": "diaObjectId", "type": "long"},
                             {"name": "ra", "type": "double"}]}  # fmt: skip
    source = {"type": "record", "name": "diaSource", "namespace": "lsst.v7_4",
              "fields": [{"name": "diaSourceId", "type": "long"},
                         {"name": "midpointMjdTai", "type": "double"},
                         {"name": "psfFlux", "type": "float"},
                         {"name": "psfFluxErr", "type": "float"},
                         {"name": "band", "type": "string"}]}  # fmt: skip
    schema = {"type": "record", "name": "alert", "namespace": "lsst.v7_4",
              "fields": [{"name": "ssObject", "type": ["null", dia_object]},
                         {"name": "diaSource", "type": source},
                         {"name": "diaObject", "type": "lsst.v7_4.diaObject"}]}  # fmt: skip
    record = {"ssObject": None, "diaObject": {"diaObjectId": 77, "ra": 1.0},
              "diaSource": {"diaSourceId": 5, "midpointMjdTai": 60000.5, "psfFlux": 1000.0,
                            "psfFluxErr": 10.0, "band": "g"}}  # fmt: skip
    path = tmp_path / "named.avro"
    with path.open("wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), [record])
    decoders = ["fastavro"] + (["cavro"] if _has_cavro() else [])
    for decoder in decoders:
        (rows,) = list(read_alerts(path, decoder=decoder))
        assert rows["object_id"].tolist() == ["77"]
        assert rows["mag"].tolist() == [pytest.approx(31.4 - 7.5)]


def _has_cavro() -> bool:
    from training.scoring import alerts

    return alerts.cavro is not None


@pytest.mark.parametrize("decoder", ["fastavro", "cavro"])
def test_corrupt_packets_are_refused_in_words_by_either_decoder(tmp_path, decoder):
    from training.scoring.alerts import AlertError

    if decoder == "cavro":
        pytest.importorskip("cavro")
    data = XXF.read_bytes()
    rng = np.random.default_rng(3)
    refused = 0
    for k in range(150):
        broken = np.frombuffer(data, dtype=np.uint8).copy()
        if k % 2:
            broken = broken[: int(rng.integers(200, len(data)))]  # truncated
        else:
            at = rng.integers(len(data) // 4, len(data), 8)  # bytes of the records changed
            broken[at] = rng.integers(0, 256, len(at))
        path = tmp_path / f"broken{k}.avro"
        path.write_bytes(broken.tobytes())
        try:
            rows = pd.concat(list(read_alerts(path, decoder=decoder)))
        except AlertError as exc:
            assert "broken" in str(exc)  # names the file
            refused += 1
        else:
            assert len(rows) == 29  # a change that still decodes gives the packet's entries
    assert refused >= 75
    with pytest.raises(AlertError, match="decoder 'avro'"):
        list(read_alerts(XXF, decoder="avro"))


def test_a_tar_archive_of_one_alert_per_file_gives_the_rows_of_its_files(tmp_path, v11):
    import tarfile

    from training.scoring.alerts import AlertError

    rubin = _rubin_packets(tmp_path, v11)
    archive = tmp_path / "night.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for k, path in enumerate((XXF, XXF, NNN, rubin)):
            tar.add(path, arcname=f"alerts/{k}.avro")
    for decoder in ["fastavro"] + (["cavro"] if _has_cavro() else []):
        frames = list(read_alerts(archive, decoder=decoder))
        assert len(frames) == 3  # one per schema: ZTF 3.2, ZTF 3.3 (it has drb), Rubin v11
        # the two files of one schema share a frame: their candidates, then their histories
        xxf = _rows(XXF)
        twice = pd.concat([xxf[:1], xxf[:1], xxf[1:], xxf[1:]], ignore_index=True)
        pd.testing.assert_frame_equal(frames[0], twice)
        for frame, path in zip(frames[1:], (NNN, rubin), strict=True):
            pd.testing.assert_frame_equal(frame, _rows(path))
        assert frames[1]["drb"].notna().any()
    broken = tmp_path / "broken.tar"
    with tarfile.open(broken, "w") as tar:
        tar.add(XXF, arcname="a.avro")
        cut = tmp_path / "cut.avro"
        cut.write_bytes(NNN.read_bytes()[:-400])
        tar.add(cut, arcname="b.avro")
    with pytest.raises(AlertError, match="broken.tar:b.avro"):
        list(read_alerts(broken))


@pytest.mark.parametrize("decoder", ["fastavro", "cavro"])
def test_a_block_declaring_more_records_than_bytes_is_refused(tmp_path, decoder):
    from training.scoring.alerts import AlertError

    if decoder == "cavro":
        pytest.importorskip("cavro")
    # records of no bytes (null fields) could be declared by the trillion in a few bytes
    schema = {"type": "record", "name": "alert", "fields": [
        {"name": "objectId", "type": "null"}, {"name": "candidate", "type": "null"}]}  # fmt: skip
    path = tmp_path / "endless.avro"
    with path.open("wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), [{"objectId": None, "candidate": None}])
    data = path.read_bytes()
    block = data[-18:]  # count 1, size 0, the sync marker
    assert block[:2] == b"\x02\x00"
    trillion = b"\x80\xc0\xa8\xca\x9a\x3a"  # zig-zag varint of 10**12
    path.write_bytes(data[:-18] + trillion + block[1:])
    with pytest.raises(AlertError, match="declares 1000000000000 records in 0 bytes"):
        list(read_alerts(path, decoder=decoder))
