"""A bound on what an Avro container file expands to, checked before it is decoded.

fastavro decompresses each block of a container whole before it decodes a record, so one
deflate block of a few megabytes can expand to gigabytes (deflate reaches about 1032:1).
:func:`check_avro_blocks` walks the container's block headers (Avro specification,
"Object Container Files": magic ``Obj\\x01``, a metadata map, a 16-byte sync marker, then
blocks of ``count, size, data, sync``) and measures each block's decompressed size: from its
size for ``null``, from the length header of ``snappy``, by streaming decompression with a
bounded output for ``deflate``, ``bzip2`` and ``xz`` (a deflate block too small to pass the
bound even at the maximum ratio is not decompressed at all).  Other codecs are left to
fastavro.  :func:`iter_blocks` then gives the blocks of a checked file, decompressed, to a
decoder that reads records from bytes.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Iterator
from typing import IO

from models.errors import LCVaDEError

MAX_BLOCK_BYTES = 512 * 1024 * 1024
"""Largest decompressed block read (a ZTF or Rubin alert is well under a megabyte)."""
DEFLATE_MAX_RATIO = 1032
MEASURED = (b"null", b"snappy", b"deflate", b"bzip2", b"xz")
"""Codecs whose blocks' decompressed size is known (or bounded) before decoding: a block of
these may not declare more records than it has bytes."""
CHUNK = 1 << 20
MAGIC = b"Obj\x01"


class AvroLimitError(LCVaDEError):
    """An Avro file breaks a limit or is not a container file; the message says which."""


def _long(stream: IO[bytes], byte: bytes | None = None) -> int:
    """A zig-zag variable-length long (Avro's ``long`` encoding); ``byte``: its first byte,
    already read."""
    shift = value = 0
    while True:
        byte = byte or stream.read(1)
        if not byte:
            raise EOFError("the file ends inside a block header")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return (value >> 1) ^ -(value & 1)
        byte = None
        shift += 7
        if shift > 63:
            raise AvroLimitError("a length in the file is not a valid Avro long")


def _bytes(stream: IO[bytes], limit: int) -> bytes:
    n = _long(stream)
    if not 0 <= n <= limit:
        raise AvroLimitError(f"a header field declares {n} bytes")
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("the file ends inside its header")
    return data


def _header(stream: IO[bytes]) -> tuple[dict[bytes, bytes], bytes]:
    """The container's header metadata (``avro.schema``, ``avro.codec``, ...) and its sync
    marker."""
    if stream.read(4) != MAGIC:
        raise AvroLimitError("it does not start with the Avro container magic 'Obj\\x01'")
    metadata: dict[bytes, bytes] = {}
    while (count := _long(stream)) != 0:
        if count < 0:
            count = -count
            _long(stream)  # the block's size in bytes
        for _ in range(count):
            key = _bytes(stream, 1 << 16)
            metadata[key] = _bytes(stream, 1 << 24)
    sync = stream.read(16)
    if len(sync) != 16:
        raise EOFError("the file ends inside its header")
    return metadata, sync


def _streamed_size(stream: IO[bytes], size: int, decompressor, limit: int) -> int:
    """Decompressed size of the next ``size`` compressed bytes, stopping once past ``limit``
    (output is produced 1 MiB at a time and dropped)."""
    produced = 0
    left = size
    while left > 0 and not decompressor.eof:
        data = stream.read(min(CHUNK, left))
        if not data:
            raise EOFError("the file ends inside a block")
        left -= len(data)
        while True:
            produced += len(decompressor.decompress(data, CHUNK))
            if produced > limit or decompressor.eof:
                break
            # zlib keeps unread input in unconsumed_tail; bz2 and lzma buffer it themselves
            data = getattr(decompressor, "unconsumed_tail", b"")
            if not data and getattr(decompressor, "needs_input", True):
                break
        if produced > limit:
            return produced
    if left:
        stream.seek(left, 1)
    return produced


def check_avro_blocks(
    stream: IO[bytes], name: str, max_block_bytes: int = MAX_BLOCK_BYTES
) -> dict[bytes, bytes]:
    """Raise :class:`AvroLimitError` if a block of the container ``stream`` decompresses to
    more than ``max_block_bytes``; reads the stream to its end (the caller seeks back) and
    returns the header's metadata."""
    try:
        metadata, _ = _header(stream)
        codec = metadata.get(b"avro.codec", b"null")
        index = 0
        while True:
            first = stream.read(1)
            if not first:
                return metadata
            records = _long(stream, first)
            size = _long(stream)
            if size < 0:
                raise AvroLimitError(f"block {index} declares {size} bytes")
            expanded = size
            if codec == b"deflate":  # at most the maximum ratio, unless measured below
                expanded = size * DEFLATE_MAX_RATIO
            if codec == b"deflate" and size * DEFLATE_MAX_RATIO > max_block_bytes:
                expanded = _streamed_size(stream, size, zlib.decompressobj(-15), max_block_bytes)
            elif codec in (b"bzip2", b"xz"):
                kind = bz2.BZ2Decompressor() if codec == b"bzip2" else lzma.LZMADecompressor()
                expanded = _streamed_size(stream, size, kind, max_block_bytes)
            else:
                if codec == b"snappy" and size > 4:
                    head = stream.read(min(size, 10))
                    expanded = _long_unsigned(head)
                    size -= len(head)
                stream.seek(size, 1)
            if expanded > max_block_bytes:
                raise AvroLimitError(
                    f"{name}: block {index} decompresses to more than {max_block_bytes} bytes; "
                    "alert files hold blocks of kilobytes: the file is refused as a "
                    "decompression bomb"
                )
            if codec in MEASURED and not 0 <= records <= max(expanded, 1):
                raise AvroLimitError(
                    f"{name}: block {index} declares {records} records in {expanded} bytes; "
                    "an alert record takes bytes: the file is refused (records of no bytes "
                    "would be decoded without end)"
                )
            stream.read(16)  # sync marker
            index += 1
    except EOFError as exc:
        raise AvroLimitError(f"{name} is a truncated Avro container file ({exc})") from exc
    except AvroLimitError as exc:
        if str(exc).startswith(name):
            raise
        raise AvroLimitError(f"{name} is not an Avro container file ({exc})") from exc


def _long_unsigned(head: bytes) -> int:
    """The unsigned varint at the start of a snappy block: its decompressed length."""
    value = shift = 0
    for byte in head:
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
    return value


def iter_blocks(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """The blocks of an Avro container ``stream`` as (record count, decompressed data), for
    the codecs ``null``, ``deflate``, ``bzip2`` and ``xz``; each block's sync marker is checked
    against the header's.  Run :func:`check_avro_blocks` on the stream first: it bounds what
    a block decompresses to."""
    metadata, sync = _header(stream)
    codec = metadata.get(b"avro.codec", b"null")
    decompress = DECOMPRESSORS.get(codec)
    if decompress is None:
        raise AvroLimitError(f"codec {codec.decode(errors='replace')!r} is not read here")
    while first := stream.read(1):
        count = _long(stream, first)
        size = _long(stream)
        if count < 0 or size < 0:
            raise AvroLimitError(f"a block declares {count} records of {size} bytes")
        data = stream.read(size)
        if len(data) != size:
            raise EOFError("the file ends inside a block")
        if stream.read(16) != sync:
            raise AvroLimitError("a block does not end with the file's sync marker")
        yield count, decompress(data)


DECOMPRESSORS = {
    b"null": lambda data: data,
    b"deflate": lambda data: zlib.decompress(data, -15),
    b"bzip2": bz2.decompress,
    b"xz": lzma.decompress,
}
