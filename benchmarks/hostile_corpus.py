"""A structural corpus of hostile requests to the scoring service, sized from its limits.

Each :class:`Hostile` is one request built to break a parser or swell the server: nesting,
numbers beyond the float range, long strings, duplicate keys, wrong content types, truncated
bodies, and for every upload format a bomb (small on the wire, huge once expanded) or a
file that asks its reader to fetch or expand something.  ``expected`` lists the answers the
service documents for it; none is a 5xx.  The bombs are sized from the limits the server
runs with (:class:`Limits`), so a test can run the whole corpus against a server with small
limits in seconds, and the benchmark ``benchmarks/fuzz_service.py`` against the defaults.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = b"object_id,time,mag,mag_err\n"


@dataclass(frozen=True)
class Limits:
    """The limits of the server under test (``service.settings.ServiceSettings`` fields)."""

    max_body_bytes: int = 64 * 1024 * 1024
    max_curves_per_request: int = 10_000
    max_points_per_curve: int = 100_000
    max_upload_rows: int = 1_000_000
    max_upload_expanded_bytes: int = 64 * 1024 * 1024
    max_reconstruct_phases: int = 5_000


@dataclass
class Hostile:
    """One hostile request: ``method path`` with ``content`` (or multipart ``files``)."""

    name: str
    path: str
    expected: frozenset[int]
    content: bytes | None = None
    files: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    upload: bool = False
    """An upload whose refusal time and memory are held to the upload targets."""

    def send(self, client) -> object:
        """Send with an ``httpx`` client (sync or async: the caller awaits the result)."""
        return client.request(
            self.method, self.path, content=self.content, files=self.files, headers=self.headers
        )


def good_curve(rng: np.random.Generator, ident: str, n: int = 80) -> dict:
    """A periodic curve with its period, as a ``/v1/score`` item."""
    period = float(np.exp(rng.uniform(np.log(0.3), np.log(20.0))))
    t = np.sort(rng.uniform(0.0, 500.0, n))
    err = rng.uniform(0.01, 0.05, n)
    mag = 15.0 + 0.5 * np.sin(2 * np.pi * t / period) + rng.normal(0.0, err)
    return {
        "id": ident,
        "time": t.tolist(),
        "mag": mag.tolist(),
        "mag_err": err.tolist(),
        "period": period,
    }


def good_request(rng: np.random.Generator, ident: str = "good") -> bytes:
    return json.dumps({"light_curves": [good_curve(rng, ident)]}).encode()


JSON = {"content-type": "application/json"}


def _json(name: str, body: bytes | str, expected: set[int], **extra) -> Hostile:
    raw = body.encode() if isinstance(body, str) else body
    headers = {**JSON, **extra.pop("headers", {})}
    return Hostile(name, "/v1/score", frozenset(expected), content=raw, headers=headers, **extra)


def _upload(name: str, filename: str, data: bytes, expected: set[int], path: str = "") -> Hostile:
    return Hostile(
        name,
        path or "/v1/score/upload",
        frozenset(expected),
        files={"file": (filename, data)},
        upload=True,
    )


def _repeat_rows(rows: int) -> bytes:
    """A CSV of ``rows`` rows of one object (compresses about 1000-fold)."""
    return COLUMNS + b"a,1.0,15.0,0.1\n" * rows


def _stream_bomb(compress: Callable[[bytes], bytes], expanded: int) -> bytes:
    """A compressed CSV that expands to more than ``expanded`` bytes.

    gzip, bzip2 and xz readers all continue into a following stream, so one compressed
    4 MiB slice repeated makes the bomb cheaply.
    """
    line = b"a,1.0,15.0,0.1\n"
    slice_ = line * (4 * 1024 * 1024 // len(line))
    return compress(COLUMNS) + compress(slice_) * (expanded // len(slice_) + 2)


def _parquet_row_bomb(rows: int) -> bytes:
    """A Parquet file whose metadata counts ``rows`` rows of one repeated value."""
    chunk = min(rows, 1_000_000)
    table = pa.table(
        {
            "object_id": pa.array(["a"] * chunk),
            "time": pa.array(np.zeros(chunk)),
            "mag": pa.array(np.full(chunk, 15.0)),
            "mag_err": pa.array(np.full(chunk, 0.1)),
        }
    )
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, table.schema, compression="zstd") as writer:
        written = 0
        while written < rows:
            writer.write_table(table, row_group_size=chunk)
            written += chunk
    return sink.getvalue()


def _parquet_wide_bomb(expanded: int) -> bytes:
    """A few rows of a Parquet string column that decode to more than ``expanded`` bytes."""
    value = "x" * (1 << 20)
    rows = expanded // len(value) + 2
    table = pa.table(
        {
            "object_id": pa.array([value] * rows),
            "time": pa.array(np.arange(rows, dtype=float)),
            "mag": pa.array(np.full(rows, 15.0)),
            "mag_err": pa.array(np.full(rows, 0.1)),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _fits_header(cards: list[tuple[str, object]]) -> bytes:
    text = ""
    for key, value in cards:
        if isinstance(value, str):
            shown = f"'{value:<8}'"
        else:
            shown = f"{'T' if value is True else value!s:>20}"
        text += f"{key:<8}= {shown}".ljust(80)
    text += "END".ljust(80)
    return text.encode("ascii").ljust(-(-len(text) // 2880) * 2880, b" ")


def _fits_declaring(rows: int, data: bytes = b"") -> bytes:
    """A FITS binary table whose header declares ``rows`` rows of four doubles."""
    primary = _fits_header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("EXTEND", True)])
    table = _fits_header(
        [
            ("XTENSION", "BINTABLE"),
            ("BITPIX", 8),
            ("NAXIS", 2),
            ("NAXIS1", 32),
            ("NAXIS2", rows),
            ("PCOUNT", 0),
            ("GCOUNT", 1),
            ("TFIELDS", 4),
            ("TTYPE1", "time"),
            ("TFORM1", "D"),
            ("TTYPE2", "mag"),
            ("TFORM2", "D"),
            ("TTYPE3", "mag_err"),
            ("TFORM3", "D"),
            ("TTYPE4", "object_id"),
            ("TFORM4", "D"),
        ]
    )
    padded = data.ljust(-(-len(data) // 2880) * 2880, b"\0") if data else b""
    return primary + table + padded


def _votable(rows: bytes, prolog: bytes = b"", extra: bytes = b"") -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?>'
        + prolog
        + b'<VOTABLE version="1.4"><RESOURCE><TABLE>'
        + b'<FIELD name="time" datatype="double"/><FIELD name="mag" datatype="double"/>'
        + b'<FIELD name="mag_err" datatype="double"/>'
        + extra
        + b"<DATA><TABLEDATA>"
        + rows
        + b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    )


LAUGHS = (
    b'<!DOCTYPE VOTABLE [<!ENTITY a "lollollollollollollollollollol">'
    + b"".join(
        b"<!ENTITY %s " % chr(98 + i).encode()
        + b'"'
        + (b"&%s;" % chr(97 + i).encode()) * 10
        + b'">'
        for i in range(9)
    )
    + b"]>"
)


def _ecsv(rows: int, header_extra: str = "") -> bytes:
    header = (
        "# %ECSV 1.0\n# ---\n# datatype:\n"
        "# - {name: time, datatype: float64}\n# - {name: mag, datatype: float64}\n"
        "# - {name: mag_err, datatype: float64}\n" + header_extra + "# schema: astropy-2.0\n"
    )
    return header.encode() + b"time mag mag_err\n" + b"1.0 15.0 0.1\n" * rows


def hostile_corpus(limits: Limits = Limits(), seed: int = 0) -> list[Hostile]:
    """Every hostile request of the corpus, built for a server with ``limits``."""
    rng = np.random.default_rng(seed)
    good = good_curve(rng, "g")
    n = len(good["time"])
    deep = 100_000
    one = dict(good)
    corpus = [
        _json("json nested 100000 deep (arrays)", "[" * deep + "]" * deep, {400}),
        _json("json nested 100000 deep (objects)", '{"a":' * deep + "1" + "}" * deep, {400}),
        _json(
            "json nested deep inside a curve",
            '{"light_curves":[{"time":' + "[" * 5000 + "1" + "]" * 5000 + "}]}",
            {400},
        ),
        _json(
            "json number beyond float range",
            json.dumps({"light_curves": [one]}).replace(str(good["period"]), "1e999999", 1),
            {400, 422},
        ),
        _json(
            "json integer of 10000 digits",
            json.dumps({"light_curves": [one]}).replace(str(good["period"]), "9" * 10_000, 1),
            {400, 422},
        ),
        _json(
            "json NaN literals",
            json.dumps({"light_curves": [{**one, "mag": [float("nan")] * n}]}),
            {422},
        ),
        _json(
            "json id of 4 MB",
            json.dumps({"light_curves": [{**one, "id": "x" * (4 << 20)}]}),
            {413, 422},
        ),
        _json("json key of 1 MB", json.dumps({"k" * (1 << 20): 1}), {422}),
        _json(
            "json duplicate keys",
            '{"light_curves": [], "light_curves": ' + json.dumps([one]) + "}",
            {200},
        ),
        _json("json truncated", json.dumps({"light_curves": [one]})[:-7], {400}),
        _json("json empty body", b"", {400}),
        _json("json invalid utf-8", b'{"light_curves": ["\xff\xfe"]}', {400, 422}),
        _json("json is a string", b'"light_curves"', {422}),
        _json("xml sent as json", b"<light_curves><time>1</time></light_curves>", {400}),
        Hostile(
            "json sent as text/plain",
            "/v1/score",
            frozenset({200, 400, 415, 422}),
            content=json.dumps({"light_curves": [one]}).encode(),
            headers={"content-type": "text/plain"},
        ),
        Hostile(
            "multipart sent to the json endpoint",
            "/v1/score",
            frozenset({400, 422}),
            files={"file": ("a.csv", COLUMNS)},
        ),
        _json(
            "json curves over the per-request limit",
            json.dumps(
                {
                    "light_curves": [{"time": [], "mag": [], "mag_err": []}]
                    * (limits.max_curves_per_request + 1)
                }
            ),
            {413},
        ),
        _json(
            "json points over the per-curve limit",
            json.dumps(
                {
                    "light_curves": [
                        {
                            "time": list(range(limits.max_points_per_curve + 1)),
                            "mag": [15.0] * (limits.max_points_per_curve + 1),
                            "mag_err": [0.1] * (limits.max_points_per_curve + 1),
                        }
                    ]
                }
            ),
            {413},
        ),
        _json(
            "json zero time baseline without period",
            json.dumps({"light_curves": [{**one, "time": [58000.0] * n, "period": None}]}),
            {422},
        ),
        _json(
            "json near-zero time baseline without period",
            json.dumps(
                {
                    "light_curves": [
                        {**one, "time": (58000.0 + np.arange(n) * 1e-7).tolist(), "period": None}
                    ]
                }
            ),
            {422},
        ),
        _json(
            "json constant magnitude",
            json.dumps({"light_curves": [{**one, "mag": [15.0] * n}]}),
            {422},
        ),
        _json(
            "json points on two distinct times",
            json.dumps({"light_curves": [{**one, "time": [1.0, 2.0] * (n // 2)}]}),
            {422},
        ),
        _json(
            "json times of 1e308",
            json.dumps(
                {"light_curves": [{**one, "time": [-1e308, 1e308] * (n // 2), "period": None}]}
            ),
            {422},
        ),
        Hostile(
            "reconstruct with too many phases",
            "/v1/reconstruct",
            frozenset({413}),
            content=json.dumps(
                {"light_curve": one, "phases": [0.5] * (limits.max_reconstruct_phases + 1)}
            ).encode(),
            headers=JSON,
        ),
        Hostile(
            "unknown route with a 8 kB path", "/v1/" + "a" * 8000, frozenset({404}), method="GET"
        ),
        Hostile(
            "admin reload without a key",
            "/v1/models/reload",
            frozenset({401, 403, 404, 405, 422}),
            content=b"{}",
            headers=JSON,
        ),
        Hostile(
            "admin reload with a wrong key",
            "/v1/models/reload",
            frozenset({403, 404, 405, 422}),
            content=b"{}",
            headers={**JSON, "x-api-key": "not-the-key"},
        ),
        Hostile(
            "request id with control characters",
            "/healthz",
            frozenset({200}),
            method="GET",
            headers={"x-request-id": "abc\tdef"},
        ),
        Hostile(
            "multipart without a boundary",
            "/v1/score/upload",
            frozenset({400, 422}),
            content=b"--x\r\n\r\n",
            headers={"content-type": "multipart/form-data"},
        ),
        Hostile(
            "multipart of 2000 fields",
            "/v1/score/upload",
            frozenset({400, 413, 422}),
            content=b"".join(
                b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i
                for i in range(2000)
            )
            + b"--b--\r\n",
            headers={"content-type": "multipart/form-data; boundary=b"},
        ),
        Hostile(
            "json sent to the upload endpoint",
            "/v1/score/upload",
            frozenset({422}),
            content=json.dumps({"light_curves": [one]}).encode(),
            headers=JSON,
        ),
    ]
    rows_over = limits.max_upload_rows + 1
    expanded = limits.max_upload_expanded_bytes
    corpus += [
        _upload(
            "csv.gz expanding past the size limit",
            "bomb.csv.gz",
            _stream_bomb(gzip.compress, expanded),
            {413},
        ),
        _upload(
            "csv.bz2 expanding past the size limit",
            "bomb.csv.bz2",
            _stream_bomb(bz2.compress, expanded),
            {413},
        ),
        _upload(
            "csv.xz expanding past the size limit",
            "bomb.csv.xz",
            _stream_bomb(lzma.compress, expanded),
            {413},
        ),
        _upload("csv.gz truncated", "cut.csv.gz", gzip.compress(_repeat_rows(1000))[:-40], {422}),
        _upload("csv rows over the row limit", "rows.csv", _repeat_rows(rows_over), {413}),
        _upload("csv header line of 2 MB", "wide.csv", b"x," * (1 << 20) + b"\n1\n", {413, 422}),
        _upload(
            "csv object over the point limit",
            "long.csv",
            COLUMNS
            + b"".join(b"a,%d,15.0,0.1\n" % i for i in range(limits.max_points_per_curve + 1)),
            {413},
        ),
        _upload(
            "csv objects over the curve limit",
            "many.csv",
            COLUMNS
            + b"".join(b"o%d,1.0,15.0,0.1\n" % i for i in range(limits.max_curves_per_request + 1)),
            {413},
        ),
        _upload(
            "parquet rows over the row limit (metadata)",
            "bomb.parquet",
            _parquet_row_bomb(rows_over),
            {413},
        ),
        _upload(
            "parquet decoding past the size limit",
            "wide.parquet",
            _parquet_wide_bomb(expanded),
            {413},
        ),
        _upload("parquet truncated", "cut.parquet", _parquet_row_bomb(100)[:-30], {422}),
        _upload("parquet magic only", "magic.parquet", b"PAR1" + b"\0" * 64 + b"PAR1", {422}),
        _upload("fits declaring 10^12 rows", "huge.fits", _fits_declaring(10**12), {422}),
        _upload(
            "fits rows over the row limit",
            "rows.fits",
            _fits_declaring(rows_over, np.zeros((rows_over, 4), ">f8").tobytes()),
            {413},
        ),
        _upload(
            "fits.gz expanding past the size limit",
            "bomb.fits.gz",
            _stream_bomb(gzip.compress, expanded),
            {413},
        ),
        _upload(
            "votable billion laughs",
            "laughs.xml",
            _votable(b"<TR><TD>&j;</TD></TR>", LAUGHS),
            {422},
        ),
        _upload(
            "votable external entity",
            "xxe.xml",
            _votable(
                b"<TR><TD>&x;</TD></TR>", b'<!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            ),
            {422},
        ),
        _upload(
            "votable remote stream",
            "href.xml",
            _votable(b"", extra=b"").replace(
                b"<DATA><TABLEDATA></TABLEDATA></DATA>",
                b'<DATA><BINARY><STREAM href="http://127.0.0.1:9/x"/></BINARY></DATA>',
            ),
            {422},
        ),
        _upload(
            "votable local file stream",
            "file.xml",
            _votable(b"").replace(
                b"<DATA><TABLEDATA></TABLEDATA></DATA>",
                b'<DATA><FITS><STREAM href="file:///etc/hostname"/></FITS></DATA>',
            ),
            {422},
        ),
        _upload(
            "votable in utf-16",
            "wide.xml",
            _votable(b"<TR><TD>1</TD><TD>2</TD><TD>3</TD></TR>").decode().encode("utf-16"),
            {422},
        ),
        _upload(
            "votable rows over the row limit",
            "rows.xml",
            _votable(b"<TR><TD>1</TD><TD>2</TD><TD>0.1</TD></TR>" * rows_over),
            {413},
        ),
        _upload(
            "ecsv yaml alias bomb",
            "alias.ecsv",
            _ecsv(20, "# meta: {a: &a [x, x, x, x, x, x, x, x], b: &b [*a, *a, *a, *a, *a, *a]}\n"),
            {422},
        ),
        _upload("ecsv rows over the row limit", "rows.ecsv", _ecsv(rows_over), {413}),
        _upload("json upload nested 100000 deep", "deep.json", b"[" * deep + b"]" * deep, {422}),
        _upload("json upload truncated", "cut.json", json.dumps([one])[:-5].encode(), {422}),
        _upload(
            "json upload points over the per-curve limit",
            "long.json",
            json.dumps(
                [
                    {
                        "time": list(range(limits.max_points_per_curve + 1)),
                        "mag": [15.0] * (limits.max_points_per_curve + 1),
                        "mag_err": [0.1] * (limits.max_points_per_curve + 1),
                    }
                ]
            ).encode(),
            {413},
        ),
        _upload("binary noise", "noise.bin", rng.bytes(1 << 16), {422}),
        _upload(
            "parse: csv.gz expanding past the size limit",
            "bomb.csv.gz",
            _stream_bomb(gzip.compress, expanded),
            {413},
            "/v1/parse",
        ),
        _upload(
            "parse: parquet rows over the row limit",
            "bomb.parquet",
            _parquet_row_bomb(rows_over),
            {413},
            "/v1/parse",
        ),
    ]
    return corpus
