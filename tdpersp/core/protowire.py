"""Perspective's wire format, as far as we read it: a protobuf message's top-level fields.

Both ends speak `perspective.proto`: a `Request` or `Response` is `msg_id` (field 1), `entity_id`
(field 2) and one field naming the call, whose number is the same in a request and its answer
(e.g. 16 for `view_to_arrow`, 21 for `view_on_update`, whose updates come back under the msg_id of
the request that registered it). Only the framing is parsed here; payloads are never decoded.
"""

from __future__ import annotations


class Malformed(ValueError):
    """Bytes that are not a Perspective message."""


def parse_message(message: bytes) -> tuple[int, str, int | None, bytes]:
    """(msg_id, entity_id, field number of the call, its payload) of a `Request` or `Response`."""
    msg_id, entity_id, kind, payload = 0, "", None, b""
    for number, value in fields(message):
        if number == 1 and isinstance(value, int):
            msg_id = value
        elif number == 2 and isinstance(value, bytes):
            entity_id = text(value)
        elif number >= 3 and kind is None:
            kind, payload = number, value if isinstance(value, bytes) else b""
    return msg_id, entity_id, kind, payload


def text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("not a Perspective message: a name is not UTF-8") from None


def fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """The top-level (field number, value) pairs of a protobuf message: varints as int,
    length-delimited fields as bytes, fixed-width ones skipped (as 0)."""
    found: list[tuple[int, int | bytes]] = []
    pos = 0
    try:
        while pos < len(message):
            key, pos = varint(message, pos)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                value, pos = varint(message, pos)
                found.append((number, value))
            elif wire_type == 2:
                size, pos = varint(message, pos)
                if pos + size > len(message):
                    raise Malformed("not a Perspective message: truncated field")
                found.append((number, message[pos:pos + size]))
                pos += size
            elif wire_type in (1, 5):
                pos += 8 if wire_type == 1 else 4
                found.append((number, 0))
            else:
                raise Malformed(f"not a Perspective message: protobuf wire type {wire_type}")
    except IndexError:
        raise Malformed("not a Perspective message: truncated varint") from None
    if pos > len(message):
        raise Malformed("not a Perspective message: truncated field")
    return found


def field(number: int, payload: bytes) -> bytes:
    return key(number, 2) + encode_varint(len(payload)) + payload


def key(number: int, wire_type: int) -> bytes:
    return encode_varint(number << 3 | wire_type)


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise Malformed("not a Perspective message: varint too long")
