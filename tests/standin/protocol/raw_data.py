"""TMQ poll data in TDengine's encoding (an SMqDataRsp), as fetch_raw_data carries it.

Layout (reference §11, and TDengine's tEncodeMqDataRsp): the request and response offsets (type
byte 1 = a WAL version, then i64), ``i32`` block count, ``i8`` with-table-name, ``i8`` with-schema,
then per block: the block as a length-prefixed binary (an 18-byte retrieve header whose last byte
is the precision, then a raw block as in query results), its schema, its table name. Lengths and
counts use TDengine's varints: 7 bits a byte, low bits first; signed ones zigzag-encoded.
"""

from __future__ import annotations

import struct

from tests.standin.api import ResultSet, TopicMessage
from tests.standin.protocol.blocks import encode_block

PRECISION_CODES = {"ms": 0, "us": 1, "ns": 2}
OFFSET_LOG = 1  # STqOffsetVal type: a WAL version follows
FETCH_RAW_ACTION = 8
_HEAD = struct.Struct("<QQHQQII")  # marker, action, version, timing, req_id, code, message length


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def zigzag(n: int) -> bytes:
    return varint((n << 1) ^ (n >> 63))


def cstr(text: str) -> bytes:
    data = text.encode() + b"\0"
    return varint(len(data)) + data


def _schema(result: ResultSet) -> bytes:
    parts = [zigzag(len(result.fields)), zigzag(1)]
    for col_id, fld in enumerate(result.fields, start=1):
        parts.append(struct.pack("<Bb", fld.type, 0) + zigzag(fld.width) + zigzag(col_id) + cstr(fld.name))
    return b"".join(parts)


def encode(message: TopicMessage, begin: int) -> bytes:
    """The raw data of one poll message (``begin``: the version it was read from)."""
    parts = [struct.pack("<BqBqiBB", OFFSET_LOG, begin, OFFSET_LOG, message.offset,
                         len(message.blocks), 1, 1)]
    for table_name, result in message.blocks:
        rows = result.rows
        assert isinstance(rows, list)
        block = encode_block(result.fields, rows)
        header = bytes(17) + bytes([PRECISION_CODES[result.precision]])
        parts += [varint(len(header) + len(block)), header, block, _schema(result), cstr(table_name)]
    return b"".join(parts)


def fetch_raw_reply(req_id: int, message_id: int, raw: bytes, code: int = 0, error: str = "") -> bytes:
    """The binary frame answering fetch_raw_data (reference §11)."""
    text = error.encode()
    return b"".join([_HEAD.pack(0xFFFFFFFFFFFFFFFF, FETCH_RAW_ACTION, 1, 0, req_id, code, len(text)), text,
                     struct.pack("<QHI", message_id, 0, len(raw)), raw])
