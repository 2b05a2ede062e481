"""Bounds checked on a table file before it is parsed: sizes from headers and metadata, not
from expanding the data.

A file a client sends (or a batch job is given) may be built to expand far beyond its size
(a compressed stream, a Parquet column of one repeated value, a FITS header that declares
billions of rows) or to make a parser fetch or expand more (XML entities, VOTable streams
with an ``href``, YAML aliases in an ECSV header).  :func:`expand_compressed` decompresses
with a byte limit; :func:`check_table_file` reads only what a format declares about itself
and raises :class:`~lcvade.tables.TableError` naming the limit (and the setting that raises
it) before the reader is called.  With :class:`TableLimits` of ``None`` only the structural
checks run (no remote fetch, no entities, declared sizes that fit the file).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lcvade.tables import ASTROPY_FORMATS, TableError, TableLimitError, table_format

COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
BLOCK = 1 << 20
MAX_HEADER_BYTES = 1 << 20
"""Longest header (the first line of a CSV, the comment header of an ECSV file)."""
MAX_ROW_GROUP_BYTES = 1 << 30
"""Largest decompressed Parquet row group read at once (a row group is decoded whole)."""

_XML_DECL_ENCODING = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']", re.I)
_XML_DTD = (b"<!DOCTYPE", b"<!ENTITY")  # XML names are case-sensitive
# Patterns that begin with a literal are searched for it first: a scan of a 40 MB file takes
# milliseconds, where a leading optional group would try every "<".
_XML_STREAM_HREF = re.compile(rb"STREAM\b[^>]*\bhref\s*=")
_XML_INCLUDE = re.compile(rb"include\b[^>]*\bhref\s*=")
_XML_PREFIXED_ROW = re.compile(rb"<[\w.-]+:TR\b")
_YAML_ALIAS = re.compile(r"(?:^|[\s\[{,:-])[&*][A-Za-z0-9_.-]+")
_TEXT_ENCODINGS = {b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1"}


@dataclass(frozen=True)
class TableLimits:
    """Most data rows and decompressed bytes of one table (``None``: no limit)."""

    max_rows: int | None = None
    max_bytes: int | None = None
    max_ratio: float | None = None
    """Most decompressed bytes per compressed byte (a ratio no photometry table reaches)."""
    rows_setting: str = "the row limit"
    bytes_setting: str = "the size limit"
    ratio_setting: str = "the ratio limit"
    """How a user raises each limit, quoted in messages (e.g. an environment variable)."""


def _too_many_rows(name: str, rows: int | str, limits: TableLimits) -> TableError:
    return TableLimitError(
        f"{name} holds {rows} rows; at most {limits.max_rows} are accepted: split the table "
        f"(or raise {limits.rows_setting})"
    )


def _too_large(name: str, size: int | str, limits: TableLimits) -> TableError:
    return TableLimitError(
        f"{name} expands to {size} bytes; at most {limits.max_bytes} are accepted: split the "
        f"table (or raise {limits.bytes_setting})"
    )


def expand_compressed(path: Path, limits: TableLimits) -> Path:
    """``path`` itself, or for ``.gz``/``.bz2``/``.xz`` its decompressed copy beside it.

    Decompression streams in 1 MiB blocks and stops with :class:`TableError` as soon as the
    output passes ``limits.max_bytes``: the size is never taken from the stream's own header.
    """
    opener = COMPRESSED.get(path.suffix.lower())
    if opener is None:
        if limits.max_bytes is not None and path.stat().st_size > limits.max_bytes:
            raise _too_large(path.name, path.stat().st_size, limits)
        return path
    target = path.with_name(path.stem)
    written = 0
    ratio_cap = None
    if limits.max_ratio is not None:
        ratio_cap = max(int(limits.max_ratio * path.stat().st_size), BLOCK)
    try:
        with opener(path, "rb") as source, open(target, "wb") as sink:
            while block := source.read(BLOCK):
                written += len(block)
                if limits.max_bytes is not None and written > limits.max_bytes:
                    raise _too_large(path.name, f"more than {limits.max_bytes}", limits)
                if ratio_cap is not None and written > ratio_cap:
                    raise TableLimitError(
                        f"{path.name} expands more than {limits.max_ratio:g}-fold; photometry "
                        "tables compress a few-fold, so it is refused as a decompression bomb "
                        f"(send it uncompressed, or raise {limits.ratio_setting})"
                    )
                sink.write(block)
    except TableError:
        target.unlink(missing_ok=True)
        raise
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        target.unlink(missing_ok=True)
        raise TableError(f"{path.name} is not a valid {path.suffix} stream: {exc}") from exc
    return target


def check_table_file(path: str | Path, limits: TableLimits = TableLimits()) -> None:
    """Raise :class:`TableError` if the (uncompressed) table file breaks ``limits`` or is
    built to make its reader expand, fetch or stall; reads headers and metadata only."""
    p = Path(path)
    fmt = table_format(p)
    if p.suffix.lower() in COMPRESSED and fmt != "csv":
        raise TableError(
            f"{p.name}: compressed {fmt} files are not read; send the file uncompressed "
            "(Parquet and FITS compress their own data)"
        )
    if fmt == "parquet":
        _check_parquet(p, limits)
    elif fmt == "csv":
        _check_text_rows(p, limits, comment=None)
    elif fmt == "votable":
        _check_votable(p, limits)
    elif fmt == "fits":
        _check_fits(p, limits)
    elif fmt == ASTROPY_FORMATS[".ecsv"]:
        _check_ecsv(p, limits)


def _check_parquet(path: Path, limits: TableLimits) -> None:
    import pyarrow.parquet as pq

    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    rows = size = 0
    for file in files:
        try:
            meta = pq.ParquetFile(file).metadata
        except Exception as exc:  # noqa: BLE001 - any footer failure is a bad file
            raise TableError(f"could not read {file.name} as parquet: {exc}") from exc
        rows += meta.num_rows
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            if group.total_byte_size > MAX_ROW_GROUP_BYTES:
                raise TableError(
                    f"{file.name}: row group {i} expands to {group.total_byte_size} bytes, more "
                    f"than the {MAX_ROW_GROUP_BYTES} read at once; rewrite the file with "
                    "smaller row groups (e.g. pyarrow's row_group_size=1_000_000)"
                )
            size += group.total_byte_size
    if limits.max_rows is not None and rows > limits.max_rows:
        raise _too_many_rows(path.name, rows, limits)
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise _too_large(path.name, size, limits)


def _check_text_rows(path: Path, limits: TableLimits, comment: bytes | None) -> None:
    """Count the lines (streaming) and bound the header line of a text table."""
    with open(path, "rb") as fh:
        first = fh.readline(MAX_HEADER_BYTES + 1)
        if comment is None and len(first) > MAX_HEADER_BYTES and not first.endswith(b"\n"):
            raise TableError(
                f"{path.name}: the header line is longer than {MAX_HEADER_BYTES} bytes; a "
                "light-curve table has a handful of columns"
            )
        if limits.max_rows is None:
            return
        lines, last = 0, b"\n"
        for block in iter(lambda: fh.read(BLOCK), b""):
            lines += block.count(b"\n")
            last = block[-1:]
            if lines > limits.max_rows:
                raise _too_many_rows(path.name, f"more than {limits.max_rows}", limits)
        if lines + (last != b"\n") > limits.max_rows:
            raise _too_many_rows(path.name, lines + 1, limits)


def _check_text_encoding(name: str, head: bytes) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00")) or b"\x00" in head[:4096]:
        raise TableError(f"{name}: only UTF-8 (or ASCII) XML is read; re-save the file as UTF-8")
    declared = _XML_DECL_ENCODING.search(head[:4096])
    if declared and declared.group(1).lower() not in _TEXT_ENCODINGS:
        raise TableError(
            f"{name}: the XML declares encoding {declared.group(1).decode('latin-1')!r}; only "
            "UTF-8, ASCII or ISO-8859-1 are read"
        )


def _check_votable(path: Path, limits: TableLimits) -> None:
    data = path.read_bytes()
    name = path.name
    _check_text_encoding(name, data)
    if any(marker in data for marker in _XML_DTD):
        raise TableError(
            f"{name}: the VOTable has a DOCTYPE or ENTITY declaration; documents with a DTD "
            "are not read (entity expansion), remove it"
        )
    if _XML_STREAM_HREF.search(data) or _XML_INCLUDE.search(data):
        raise TableError(
            f"{name}: the VOTable refers to data elsewhere (a STREAM href or an include); "
            "nothing is fetched: embed the data in the file (TABLEDATA or BINARY2)"
        )
    if limits.max_rows is not None:
        rows = data.count(b"<TR>") + data.count(b"<TR ")
        if b":TR" in data:  # rows of a namespace-prefixed document
            rows += len(_XML_PREFIXED_ROW.findall(data))
        if rows > limits.max_rows:
            raise _too_many_rows(name, rows, limits)


def _check_ecsv(path: Path, limits: TableLimits) -> None:
    header: list[str] = []
    size = 0
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.startswith(b"#"):
                break
            size += len(raw)
            if size > MAX_HEADER_BYTES:
                raise TableError(
                    f"{path.name}: the ECSV header is longer than {MAX_HEADER_BYTES} bytes"
                )
            header.append(raw.decode("utf-8", errors="replace"))
    if any(_YAML_ALIAS.search(line[1:]) for line in header):
        raise TableError(
            f"{path.name}: the ECSV header uses YAML anchors or aliases (&name, *name); they "
            "are not read, write the header out in full"
        )
    _check_text_rows(path, limits, comment=b"#")


def _check_fits(path: Path, limits: TableLimits) -> None:
    from astropy.io import fits

    file_size = path.stat().st_size
    try:
        with fits.open(path, lazy_load_hdus=True, memmap=True) as hdul:
            for index, hdu in enumerate(hdul):
                header = hdu.header
                if header.get("ZTABLE") or header.get("ZIMAGE"):
                    raise TableError(
                        f"{path.name}: HDU {index} is tile-compressed; send an uncompressed "
                        "table HDU"
                    )
                naxis = int(header.get("NAXIS", 0))
                declared = 0
                if naxis:
                    declared = 1
                    for axis in range(1, naxis + 1):
                        declared *= max(int(header.get(f"NAXIS{axis}", 0)), 0)
                    declared = abs(int(header.get("BITPIX", 8))) // 8 * declared + int(
                        header.get("PCOUNT", 0)
                    )
                if declared > file_size:
                    raise TableError(
                        f"{path.name}: HDU {index} declares {declared} bytes of data but the "
                        f"file has {file_size}: it is truncated or its header is wrong"
                    )
                rows = int(header.get("NAXIS2", 0)) if header.get("XTENSION") else 0
                if limits.max_rows is not None and rows > limits.max_rows:
                    raise _too_many_rows(f"{path.name} HDU {index}", rows, limits)
    except TableError:
        raise
    except Exception as exc:  # noqa: BLE001 - any header failure is a bad file
        raise TableError(f"could not read {path.name} as fits: {exc}") from exc


def read_parquet_bounded(path: Path, names: list[str], limits: TableLimits) -> pd.DataFrame:
    """The ``names`` columns of a Parquet file, refused before they are decoded past
    ``limits.max_bytes``.

    The metadata's sizes count encoded data: a dictionary-encoded column of one long string
    repeated on every row is small there and huge decoded, and nested (list) columns hold
    any number of values per row.  So only flat columns are read, strings stay dictionary-
    encoded while their decoded size (the sum over rows of the length of each row's value)
    is computed, and only then are they decoded.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001 - any footer failure is a bad file
        raise TableError(f"could not read {path.name} as parquet: {exc}") from exc
    strings = []
    for name in names:
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind):
            strings.append(name)
        elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise TableError(
                f"{path.name}: column {name!r} is of type {kind}; light-curve columns are flat "
                "numbers or strings"
            )
    try:
        table = pq.read_table(path, columns=names, read_dictionary=strings)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a bad file
        raise TableError(f"could not read {path.name} as parquet: {exc}") from exc
    decoded = sum(table.column(n).nbytes for n in names if n not in strings)
    for name in strings:
        for chunk in table.column(name).chunks:
            if not pa.types.is_dictionary(chunk.type):
                decoded += chunk.nbytes
                continue
            lengths = pc.binary_length(chunk.dictionary).fill_null(0)
            decoded += int(pc.sum(pc.take(lengths, chunk.indices.fill_null(0))).as_py() or 0)
    if limits.max_bytes is not None and decoded > limits.max_bytes:
        raise _too_large(path.name, decoded, limits)
    return table.to_pandas(strings_to_categorical=False).astype({name: object for name in strings})
