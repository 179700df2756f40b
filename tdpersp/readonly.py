"""Making Perspective's websocket read-only: viewers may look, never write.

`perspective.Server` lets any websocket client update, replace, clear or delete the tables it
hosts and create tables of its own. Between the websocket handler and the server we read the
type of each request (a protobuf `Request` whose `client_req` oneof field number names the
call, see perspective's `perspective.proto`) and answer the writing ones with an error instead
of passing them on. Only the wire format's framing is parsed; the payload is never decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Field numbers of the writing calls in perspective.proto's `Request.client_req`.
WRITE_REQUESTS = {
    27: "make_table",
    28: "table_delete",
    31: "table_remove",
    32: "table_replace",
    33: "table_update",
}
_SERVER_ERROR_FIELD = 50  # `Response.server_error`


class ReadOnlyServer:
    """Stands in for a `perspective.Server` in `PerspectiveTornadoHandler`."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self.refused = 0

    def new_session(self, send: Callable[[bytes], None]) -> ReadOnlySession:
        return ReadOnlySession(self, self._server.new_session(send), send)


class ReadOnlySession:
    def __init__(self, owner: ReadOnlyServer, session: Any, send: Callable[[bytes], None]) -> None:
        self._owner = owner
        self._session = session
        self._send = send

    def handle_request(self, message: bytes) -> None:
        msg_id, entity_id, kind = parse_request(message)
        if kind in WRITE_REQUESTS:
            self._owner.refused += 1
            self._send(error_response(msg_id, entity_id, f"read-only server: {WRITE_REQUESTS[kind]} refused"))
        else:
            self._session.handle_request(message)

    def close(self) -> None:
        self._session.close()


def parse_request(message: bytes) -> tuple[int, str, int | None]:
    """(msg_id, entity_id, field number of the call) from a serialized `Request`."""
    msg_id, entity_id, kind, pos = 0, "", None, 0
    while pos < len(message):
        key, pos = _varint(message, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _varint(message, pos)
            if number == 1:
                msg_id = value
        elif wire_type == 2:
            size, pos = _varint(message, pos)
            if number == 2:
                entity_id = message[pos:pos + size].decode("utf-8", "replace")
            pos += size
        elif wire_type in (1, 5):
            pos += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        if number >= 3 and kind is None:
            kind = number
    return msg_id, entity_id, kind


def error_response(msg_id: int, entity_id: str, text: str) -> bytes:
    """A serialized `Response` carrying `ServerError{message}` for request `msg_id`."""
    error = _field(1, text.encode())
    return (_key(1, 0) + _encode_varint(msg_id) + _field(2, entity_id.encode())
            + _field(_SERVER_ERROR_FIELD, error))


def _field(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _encode_varint(len(payload)) + payload


def _key(number: int, wire_type: int) -> bytes:
    return _encode_varint(number << 3 | wire_type)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
