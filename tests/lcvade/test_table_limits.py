"""Tables are checked from what they declare before they are expanded; unfoldable curves are
refused by one function on every scoring path."""

from __future__ import annotations

import gzip
import lzma

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_data import periodic_table

import lcvade
from benchmarks.hostile_corpus import LAUGHS, _ecsv, _fits_declaring, _votable
from lcvade.lightcurve import LightCurve, LightCurveError, check_foldable
from lcvade.table_limits import (
    TableLimits,
    check_table_file,
    expand_compressed,
    read_parquet_bounded,
)
from lcvade.tables import TableError, TableLimitError, read_table
from training.scoring.curves import prepare_objects
from training.scoring.job import ScoreJobConfig
from training.scoring.photometry_rows import photometry_frame
from training.scoring.run import run_scoring

LIMITS = TableLimits(max_rows=1000, max_bytes=1 << 20, rows_setting="ROWS", bytes_setting="BYTES")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


# -- decompression and row counts ----------------------------------------------------------
@pytest.mark.parametrize(("suffix", "compress"), [(".gz", gzip.compress), (".xz", lzma.compress)])
def test_decompression_stops_at_the_byte_limit(tmp_path, suffix, compress):
    line = b"a,1.0,15.0,0.1\n"
    bomb = compress(b"object_id,time,mag,mag_err\n" + line * 200_000)  # 3 MB expanded
    assert len(bomb) < 100_000
    with pytest.raises(TableLimitError, match=r"expands to more than 1048576 bytes.*BYTES"):
        expand_compressed(_write(tmp_path / f"b.csv{suffix}", bomb), LIMITS)
    assert not (tmp_path / "b.csv").exists()  # the partial output is removed
    small = compress(b"object_id,time,mag,mag_err\n" + line * 100)
    out = expand_compressed(_write(tmp_path / f"s.csv{suffix}", small), LIMITS)
    assert out.name == "s.csv" and len(read_table(out, limits=LIMITS)) == 100


def test_csv_rows_are_counted_before_parsing(tmp_path):
    path = _write(tmp_path / "rows.csv", b"object_id,time,mag,mag_err\n" + b"a,1,2,3\n" * 1001)
    with pytest.raises(TableLimitError, match="at most 1000 are accepted.*ROWS"):
        check_table_file(path, LIMITS)
    wide = _write(tmp_path / "wide.csv", b"x," * (1 << 20) + b"\n1\n")
    with pytest.raises(TableError, match="header line is longer than"):
        check_table_file(wide, TableLimits())


def test_parquet_rows_come_from_the_metadata(tmp_path):
    table = pa.table({"object_id": ["a"] * 600, "time": np.arange(600.0)})
    path = tmp_path / "two.parquet"
    with pq.ParquetWriter(path, table.schema) as writer:
        writer.write_table(table)
        writer.write_table(table)
    with pytest.raises(TableLimitError, match="holds 1200 rows"):
        check_table_file(path, LIMITS)


def test_a_dictionary_encoded_parquet_string_is_measured_decoded(tmp_path):
    value = "x" * 4096
    table = pa.table({"object_id": [value] * 500, "time": np.arange(500.0)})
    path = tmp_path / "dict.parquet"
    pq.write_table(table, path, use_dictionary=True, compression="zstd")
    metadata = pq.ParquetFile(path).metadata
    assert metadata.row_group(0).total_byte_size < LIMITS.max_bytes  # small as declared
    check_table_file(path, LIMITS)
    with pytest.raises(TableLimitError, match=r"expands to 20\d{5} bytes"):
        read_parquet_bounded(path, ["object_id", "time"], LIMITS)
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"time": [[1.0, 2.0]]}), nested)
    with pytest.raises(TableError, match="column 'time' is of type list"):
        read_parquet_bounded(nested, ["time"], LIMITS)


def test_votable_without_entities_or_remote_streams(tmp_path):
    good = _votable(b"<TR><TD>1</TD><TD>15</TD><TD>0.1</TD></TR>" * 3)
    assert len(read_table(_write(tmp_path / "ok.xml", good), limits=LIMITS)) == 3
    cases = {
        "laughs": (_votable(b"<TR><TD>&j;</TD></TR>", LAUGHS), "DOCTYPE or ENTITY"),
        "stream": (
            _votable(b"").replace(
                b"<TABLEDATA></TABLEDATA>",
                b'<BINARY><STREAM href="file:///etc/hostname"/></BINARY>',
            ),
            "nothing is fetched",
        ),
        "utf16": (good.decode().encode("utf-16"), "only UTF-8"),
        "rows": (_votable(b"<TR><TD>1</TD><TD>2</TD><TD>3</TD></TR>" * 1001), "holds 1001 rows"),
    }
    for name, (data, message) in cases.items():
        with pytest.raises(TableError, match=message):
            read_table(_write(tmp_path / f"{name}.xml", data), limits=LIMITS)


def test_ecsv_and_fits_headers_are_checked(tmp_path):
    assert len(read_table(_write(tmp_path / "ok.ecsv", _ecsv(20)), limits=LIMITS)) == 20
    alias = _ecsv(20, "# meta: {a: &a [x, x], b: [*a, *a]}\n")
    with pytest.raises(TableError, match="YAML anchors or aliases"):
        read_table(_write(tmp_path / "alias.ecsv", alias), limits=LIMITS)
    # astropy stops at the header that points past the end of the file, or the check does
    with pytest.raises(TableError, match="declares 32000000000000 bytes|could not read huge"):
        read_table(_write(tmp_path / "huge.fits", _fits_declaring(10**12)), limits=LIMITS)
    rows = np.zeros((1001, 4), ">f8").tobytes()
    with pytest.raises(TableLimitError, match="holds 1001 rows"):
        read_table(_write(tmp_path / "rows.fits", _fits_declaring(1001, rows)), limits=LIMITS)
    ok = _fits_declaring(12, np.ones((12, 4), ">f8").tobytes())
    assert len(read_table(_write(tmp_path / "ok.fits", ok), limits=LIMITS)) == 12


# -- curves that cannot be folded ----------------------------------------------------------
def _curve(rng, **change) -> LightCurve:
    n = 40
    values = {
        "time": np.sort(rng.uniform(0, 100, n)),
        "mag": 15 + 0.3 * np.sin(np.arange(n)),
        "mag_err": np.full(n, 0.05),
        "period": None,
        "id": "c",
    }
    values.update(change)
    return LightCurve(
        values["time"], values["mag"], values["mag_err"], period=values["period"], id=values["id"]
    )


UNFOLDABLE = {
    "zero baseline": ({"time": np.full(40, 58000.0)}, "period", "span 0 days"),
    "near-zero baseline": ({"time": 58000.0 + np.arange(40) * 1e-6}, "period", "send the period"),
    "constant magnitude": ({"mag": np.full(40, 15.0), "period": 2.0}, "mag", "constant"),
    "two distinct times": (
        {"time": np.repeat([1.0, 50.0], 20), "period": 2.0},
        "time",
        "only 2 distinct times",
    ),
}


@pytest.mark.parametrize("case", sorted(UNFOLDABLE))
def test_unfoldable_curves_are_refused_with_the_field(rng, case):
    change, field, message = UNFOLDABLE[case]
    with pytest.raises(LightCurveError, match=message) as caught:
        check_foldable(_curve(rng, **change))
    assert caught.value.field == field
    check_foldable(_curve(rng))  # a curve that varies over 100 days is foldable
    # a short span is foldable when the period is given
    check_foldable(_curve(rng, time=58000.0 + np.arange(40) * 1e-3, period=0.3))


def test_python_api_and_batch_jobs_refuse_the_same_curves(rng, single_band_model, tmp_path):
    scorer = lcvade.load(single_band_model)
    bad = {case: _curve(rng, id=case, **UNFOLDABLE[case][0]) for case in UNFOLDABLE}
    reasons = {}
    for case, curve in bad.items():
        with pytest.raises(LightCurveError) as caught:
            check_foldable(curve, min_points=scorer.config.min_points)
        reasons[case] = str(caught.value)
        with pytest.raises(LightCurveError, match=f"curves\\[0\\] \\(id '{case}'\\)"):
            scorer.score([curve])

    good = periodic_table(3, seed=5)
    rows = [good]
    for case, curve in bad.items():
        frame = pd.DataFrame(
            {"object_id": case, "time": curve.time, "mag": curve.mag, "mag_err": curve.mag_err}
        )
        rows.append(frame)
    table = pd.concat(rows, ignore_index=True)
    objects = pd.DataFrame({"object_id": list(bad), "period": [c.period for c in bad.values()]})
    table.to_csv(tmp_path / "lc.csv", index=False)
    objects.to_csv(tmp_path / "objects.csv", index=False)
    run_scoring(
        [tmp_path / "lc.csv"],
        single_band_model,
        tmp_path / "out.csv",
        objects=tmp_path / "objects.csv",
        config=ScoreJobConfig(),
        progress=False,
    )
    out = pd.read_csv(tmp_path / "out.csv").set_index("object_id")
    assert (out.loc[good["object_id"].unique(), "status"] == "ok").all()
    for case, reason in reasons.items():
        assert out.loc[case, "status"] == "rejected"
        assert out.loc[case, "reason"] == reason


def test_batch_jobs_refuse_objects_over_the_point_limit(single_band_model):
    table = periodic_table(2, seed=3, points=(30, 30))
    table = photometry_frame(table["object_id"], table["time"], table["mag"], table["mag_err"])
    config = lcvade.load(single_band_model).config
    prepared = prepare_objects(table, None, config, max_points=29)
    assert [p.curve for p in prepared] == [None, None]
    assert all("30 points; at most 29 per curve" in p.reason for p in prepared)
    assert all(p.curve is not None for p in prepare_objects(table, None, config, max_points=30))


# -- Avro alert files ------------------------------------------------------------------------
AVRO_SCHEMA = {
    "type": "record",
    "name": "alert",
    "fields": [{"name": "objectId", "type": "string"}, {"name": "blob", "type": "bytes"}],
}


@pytest.mark.parametrize("codec", ["null", "deflate", "bzip2", "xz"])
def test_avro_blocks_are_measured_before_they_are_decompressed(tmp_path, codec):
    import fastavro

    from training.scoring.avro_limits import AvroLimitError, check_avro_blocks

    path = tmp_path / f"{codec}.avro"
    records = [{"objectId": f"ZTF{i}", "blob": b"\0" * (300 << 10)} for i in range(8)]
    with open(path, "wb") as fh:  # one block of 2.4 MB decompressed
        fastavro.writer(fh, AVRO_SCHEMA, records, codec=codec, sync_interval=100 << 20)
    with open(path, "rb") as fh:
        check_avro_blocks(fh, path.name, max_block_bytes=4 << 20)
        fh.seek(0)
        with pytest.raises(AvroLimitError, match=r"block 0 decompresses to more than 1048576"):
            check_avro_blocks(fh, path.name, max_block_bytes=1 << 20)
    if codec != "null":
        assert path.stat().st_size < 200_000  # small on disk
    cut = tmp_path / f"cut-{codec}.avro"
    cut.write_bytes(path.read_bytes()[:-40])
    with open(cut, "rb") as fh, pytest.raises(AvroLimitError, match="truncated|more than"):
        check_avro_blocks(fh, cut.name, max_block_bytes=1 << 20)
