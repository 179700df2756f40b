"""Binary frame layouts of taosAdapter's WebSocket protocol (reference §4.1, §4.3, §9, §10.1).

Every binary request starts with ``u64 req_id | u64 id | u64 action``; ``id`` is the result id
(fetch), the statement id (stmt binds) or 0 (query). All integers are little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from tests.standin import types as td
from tests.standin.api import BoundColumn, BoundTable
from tests.standin.protocol.blocks import decode_block

ACTION_STMT_BIND = 2
ACTION_QUERY = 6
ACTION_FETCH = 7
ACTION_STMT2_BIND = 9

PREFIX = struct.Struct("<QQQ")  # req_id, resource/result/stmt id, action
_QUERY_TAIL = struct.Struct("<HI")  # version, sql length
# Fetch reply head: marker, action, version, timing, req_id, code, message length.
_FETCH_HEAD = struct.Struct("<QQHQQII")
_FETCH_TAIL_DONE = struct.Struct("<QB")  # result id, finished
_FETCH_TAIL_DATA = struct.Struct("<QBI")  # result id, finished, block length
NEW_FORMAT_MARKER = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True)
class BinaryRequest:
    req_id: int
    id: int
    action: int


def parse_prefix(frame: bytes) -> BinaryRequest:
    return BinaryRequest(*PREFIX.unpack_from(frame, 0))


def parse_query_sql(frame: bytes) -> str:
    """SQL text of a binary query (action 6): after the prefix, u16 version and u32 length."""
    _version, length = _QUERY_TAIL.unpack_from(frame, PREFIX.size)
    start = PREFIX.size + _QUERY_TAIL.size
    return frame[start:start + length].decode("utf-8")


def fetch_reply(req_id: int, result_id: int, block: bytes | None, code: int = 0,
                message: str = "") -> bytes:
    """Binary fetch reply (new block format). ``block=None`` means "finished"."""
    msg = message.encode()
    head = _FETCH_HEAD.pack(NEW_FORMAT_MARKER, ACTION_FETCH, 1, 0, req_id, code, len(msg))
    if block is None:
        return b"".join([head, msg, _FETCH_TAIL_DONE.pack(result_id, 1)])
    return b"".join([head, msg, _FETCH_TAIL_DATA.pack(result_id, 0, len(block)), block])


def legacy_block_reply(result_id: int, block: bytes) -> bytes:
    """Binary answer to the JSON ``fetch_block`` action: u64 timing, u64 result id, raw block."""
    return struct.pack("<QQ", 0, result_id) + block


def parse_stmt_bind(frame: bytes) -> list[BoundColumn]:
    """stmt v1 bind (action 2): the prefix is followed directly by a raw block."""
    return decode_block(frame, PREFIX.size)


# ---- stmt2 bind (action 9) ---------------------------------------------------------------

_STMT2_HEAD = struct.Struct("<HiIiiiIII")  # version, col_idx, then the payload header
_U32x3 = struct.Struct("<III")


def parse_stmt2_bind(frame: bytes) -> list[BoundTable]:
    """Tables of a stmt2 bind frame. NCHAR values are UTF-8 here, unlike in raw blocks."""
    buf = memoryview(frame)
    (_version, _col_idx, _total, ntables, ntags, ncols,
     names_off, tags_off, cols_off) = _STMT2_HEAD.unpack_from(buf, PREFIX.size)
    base = PREFIX.size + 6  # offsets are relative to the payload start (after version, col_idx)
    names = _table_names(buf, base + names_off, ntables) if names_off else [None] * ntables
    tags = _sections(buf, base + tags_off, ntables, ntags) if tags_off else [None] * ntables
    cols = _sections(buf, base + cols_off, ntables, ncols) if cols_off else [[] for _ in range(ntables)]
    return [BoundTable(columns=c, tbname=n, tags=t) for n, t, c in zip(names, tags, cols)]


def _table_names(buf: memoryview, pos: int, ntables: int) -> list[str | None]:
    lengths = struct.unpack_from(f"<{ntables}H", buf, pos)
    pos += 2 * ntables
    names: list[str | None] = []
    for length in lengths:
        raw = bytes(buf[pos:pos + length]).rstrip(b"\x00")
        names.append(raw.decode() if raw else None)
        pos += length
    return names


def _sections(buf: memoryview, pos: int, ntables: int, count: int) -> list[list[BoundColumn]]:
    table_lengths = struct.unpack_from(f"<{ntables}I", buf, pos)
    pos += 4 * ntables
    tables: list[list[BoundColumn]] = []
    for table_length in table_lengths:
        end = pos + table_length
        columns: list[BoundColumn] = []
        for _ in range(count):
            column, pos = _value_block(buf, pos)
            columns.append(column)
        tables.append(columns)
        pos = end
    return tables


def _value_block(buf: memoryview, pos: int) -> tuple[BoundColumn, int]:
    """``u32 total | u32 type | u32 num | num x u8 is_null | u8 has_lengths |
    [num x i32 lengths] | u32 buffer_len | buffer``."""
    total, type_code, num = _U32x3.unpack_from(buf, pos)
    end = pos + total
    p = pos + 12
    is_null = bytes(buf[p:p + num])
    p += num
    has_lengths = buf[p]
    p += 1
    lengths: tuple[int, ...] = ()
    if has_lengths:
        lengths = struct.unpack_from(f"<{num}i", buf, p)
        p += 4 * num
    (buffer_len,) = struct.unpack_from("<I", buf, p)
    p += 4
    data = buf[p:p + buffer_len]
    td_type = td.BY_CODE.get(type_code)
    if td_type is None:
        raise ValueError(f"unsupported type {type_code} in stmt2 bind")
    if td_type.variable:
        values = _variable_values(data, type_code, is_null, lengths)
    else:
        values = _fixed_values(data, td_type, is_null, num)
    return BoundColumn(type_code, values), end


def _fixed_values(data: memoryview, td_type: td.TDType, is_null: bytes, num: int) -> list[Any]:
    if len(data) < num * td_type.size:  # an all-NULL column carries no buffer
        return [None] * num
    values = list(struct.unpack_from(f"<{num}{td_type.fmt}", data, 0))
    if any(is_null):
        values = [None if n else v for v, n in zip(values, is_null)]
    return values


def _variable_values(data: memoryview, type_code: int, is_null: bytes,
                     lengths: tuple[int, ...]) -> list[Any]:
    raw = bytes(data)
    text = type_code in (td.VARCHAR.code, td.NCHAR.code, td.JSON.code)
    decoded: dict[bytes, Any] = {}  # few distinct strings per batch: decode each once
    values: list[Any] = []
    pos = 0
    for null, length in zip(is_null, lengths):
        if null:
            values.append(None)
            continue
        chunk = raw[pos:pos + length]
        pos += length
        value = decoded.get(chunk)
        if value is None:
            value = decoded[chunk] = chunk.decode("utf-8", "replace") if text else chunk
        values.append(value)
    return values
