"""TDengine v3 raw blocks: encode result rows for fetch replies, decode stmt v1 bind blocks.

Layout (reference §6): a 28-byte header, ``ncols`` x (i8 type, i32 width), ``ncols`` x i32 column
data lengths, then the columns. Fixed-width columns are an MSB-first null bitmap followed by
``rows x size`` values; variable-width columns are ``rows`` i32 offsets (-1 = NULL) followed by a
data area of (u16 length, bytes) entries. NCHAR travels as UTF-32-LE.

Whole columns are packed with one ``struct.pack`` call: per-cell Python work is what limits a
stand-in's throughput, so it is kept to the unavoidable string encoding.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from decimal import Context
from itertools import accumulate
from typing import Any

from tests.standin import types as td
from tests.standin.api import BoundColumn, Field

HEADER = struct.Struct("<iiiiIQ")
# TDengine sets the top bit of the flag in blocks it produces (the client ignores the value).
SERVER_FLAG = 0x80000000
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")

# Per type code: how a Python value becomes the variable-width payload.
_ENCODERS = {
    td.VARCHAR.code: lambda v: v.encode() if isinstance(v, str) else bytes(v),
    td.NCHAR.code: lambda v: v.encode("utf-32-le"),
    td.JSON.code: lambda v: v.encode() if isinstance(v, str) else bytes(v),
    td.VARBINARY.code: bytes,
    td.GEOMETRY.code: bytes,
    td.BLOB.code: bytes,
}
# The length before each variable-width value: u16, but u32 for BLOB (BLOBSTR_HEADER_SIZE).
_LENGTH_PREFIX = {td.BLOB.code: struct.Struct("<I")}
_DECIMAL_CONTEXT = Context(prec=80)  # 38 digits scaled exactly (the default context keeps 28)
_DECODERS = {
    td.VARCHAR.code: lambda b: b.decode("utf-8", "replace"),
    td.NCHAR.code: lambda b: b.decode("utf-32-le"),
    td.JSON.code: lambda b: b.decode("utf-8", "replace"),
    td.VARBINARY.code: bytes,
    td.GEOMETRY.code: bytes,
}


def null_bitmap(rows: int, null_rows: Sequence[int]) -> bytearray:
    """MSB-first bitmap of ``ceil(rows/8)`` bytes with a set bit for every NULL row."""
    bitmap = bytearray((rows + 7) >> 3)
    for i in null_rows:
        bitmap[i >> 3] |= 0x80 >> (i & 7)
    return bitmap


def _fixed_column(td_type: td.TDType, values: Sequence[Any]) -> tuple[bytes, int]:
    rows = len(values)
    if None in values:
        nulls = [i for i, v in enumerate(values) if v is None]
        zero = bytes(td_type.size) if td_type.fmt.endswith("s") else 0
        values = [zero if v is None else v for v in values]
        bitmap = null_bitmap(rows, nulls)
    else:
        bitmap = bytes((rows + 7) >> 3)
    # "16s" (DECIMAL) repeats per value: "3" + "16s" would be one 3-byte string.
    fmt = td_type.fmt * rows if td_type.fmt.endswith("s") else f"{rows}{td_type.fmt}"
    data = struct.pack(f"<{fmt}", *values)
    return bytes(bitmap) + data, len(data)


def _unscaled(fld: Field, values: Sequence[Any]) -> list[Any]:
    """DECIMAL values as TDengine stores them: the integer of all digits (value * 10^scale),
    8 bytes for DECIMAL64, 16 little-endian two's-complement bytes for DECIMAL."""
    ints = [None if v is None else int(v.scaleb(fld.scale, _DECIMAL_CONTEXT)) for v in values]
    if fld.type == td.DECIMAL64.code:
        return ints
    return [None if i is None else i.to_bytes(16, "little", signed=True) for i in ints]


def _variable_column(type_code: int, values: Sequence[Any]) -> tuple[bytes, int]:
    encode = _ENCODERS[type_code]
    prefix = _LENGTH_PREFIX.get(type_code, _U16)
    present = [v for v in values if v is not None] if None in values else values
    # Market data repeats few distinct strings (tickers, client ids): encode each distinct value
    # once, with its u16 length prefix, and let C-level map/join do the per-cell work.
    entry = {}
    for v in set(present):
        payload = encode(v)
        entry[v] = prefix.pack(len(payload)) + payload
    parts = list(map(entry.__getitem__, present))
    starts = list(accumulate(map(len, parts), initial=0))
    if len(present) == len(values):
        offsets = starts[:-1]
    else:
        it = iter(starts)
        offsets = [-1 if v is None else next(it) for v in values]
    data = b"".join(parts)
    return struct.pack(f"<{len(offsets)}i", *offsets) + data, len(data)


def encode_block(fields: Sequence[Field], rows: Sequence[Sequence[Any]]) -> bytes:
    """One raw block holding ``rows`` (row-major tuples) of a result with ``fields``."""
    nrows, ncols = len(rows), len(fields)
    columns = list(zip(*rows)) if nrows else [()] * ncols
    bodies: list[bytes] = []
    lengths: list[int] = []
    for fld, values in zip(fields, columns):
        td_type = td.BY_CODE[fld.type]
        if td_type.variable:
            body, length = _variable_column(fld.type, values)
        else:
            if td_type in td.DECIMAL_TYPES:
                values = _unscaled(fld, values)
            body, length = _fixed_column(td_type, values)
        bodies.append(body)
        lengths.append(length)
    schema = b"".join(struct.pack("<bi", f.type, f.width) for f in fields)
    col_lengths = struct.pack(f"<{ncols}i", *lengths)
    total = HEADER.size + len(schema) + len(col_lengths) + sum(map(len, bodies))
    header = HEADER.pack(1, total, nrows, ncols, SERVER_FLAG, 0)
    return b"".join([header, schema, col_lengths, *bodies])


def decode_block(data: bytes | memoryview, offset: int = 0) -> list[BoundColumn]:
    """Columns of a raw block (the client's stmt v1 bind payload), in block order.

    Values keep the type the client put in the block; timestamps stay raw integers because the
    stmt v1 wire does not say which precision they are in."""
    buf = memoryview(data)
    _version, _total, nrows, ncols, _flag, _group = HEADER.unpack_from(buf, offset)
    pos = offset + HEADER.size
    schema = [struct.unpack_from("<bi", buf, pos + 5 * i) for i in range(ncols)]
    pos += 5 * ncols
    lengths = struct.unpack_from(f"<{ncols}i", buf, pos)
    pos += 4 * ncols
    columns: list[BoundColumn] = []
    for (type_code, _width), length in zip(schema, lengths):
        td_type = td.BY_CODE.get(type_code)
        if td_type is None:
            raise ValueError(f"unsupported type {type_code} in bind block")
        if td_type.variable:
            values, pos = _decode_variable(buf, pos, nrows, length, type_code)
        else:
            values, pos = _decode_fixed(buf, pos, nrows, td_type)
        columns.append(BoundColumn(type_code, values))
    return columns


def _decode_fixed(buf: memoryview, pos: int, nrows: int, td_type: td.TDType) -> tuple[list[Any], int]:
    bitmap_len = (nrows + 7) >> 3
    bitmap = bytes(buf[pos:pos + bitmap_len])
    pos += bitmap_len
    values = list(struct.unpack_from(f"<{nrows}{td_type.fmt}", buf, pos))
    pos += nrows * td_type.size
    if any(bitmap):
        for i in range(nrows):
            if bitmap[i >> 3] & (0x80 >> (i & 7)):
                values[i] = None
    return values, pos


def _decode_variable(buf: memoryview, pos: int, nrows: int, length: int,
                     type_code: int) -> tuple[list[Any], int]:
    offsets = struct.unpack_from(f"<{nrows}i", buf, pos)
    pos += 4 * nrows
    area = bytes(buf[pos:pos + length])
    decode = _DECODERS[type_code]
    decoded: dict[bytes, Any] = {}  # bound batches repeat few distinct strings; decode each once
    values: list[Any] = []
    append = values.append
    for off in offsets:
        if off < 0:
            append(None)
            continue
        raw = area[off + 2:off + 2 + (area[off] | area[off + 1] << 8)]
        value = decoded.get(raw)
        if value is None:
            value = decoded[raw] = decode(raw)
        append(value)
    return values, pos + length
