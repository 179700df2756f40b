"""Making Perspective's websocket read-only and bounded: viewers may look, never write.

`perspective.Server` lets any websocket client update, replace, clear or delete the tables it
hosts, create (or join) tables of its own, and open views without limit. Between the websocket
handler and the server we read the type of each request (a protobuf `Request` whose `client_req`
oneof field number names the call, see perspective's `perspective.proto`) and pass on only the
calls a viewer needs, an allow-list: a call added by a later Perspective version is refused until
it is listed here. Views are counted per connection and capped. Only the wire format's framing
(and a new view's id) is parsed; the payload is never decoded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("perspective_server")

# The calls a viewer makes, by field number in perspective.proto's `Request.client_req`: features,
# hosted tables, ports, views and everything read from them, and (un)registering its callbacks
# (39, 40: view_on_remove / view_remove_on_remove). 41 is not in the 5.5.1 proto: the 5.6.1
# viewer sends it on the table with a view config before making a view (seen on the wire).
READ_REQUESTS = frozenset({*range(3, 27), 29, 30, 34, 35, 36, 37, 39, 40, 41})
MAKE_VIEW, VIEW_DELETE = 6, 11
# The writing calls, named for the error message (anything else unlisted is refused as "unknown").
WRITE_REQUESTS = {27: "make_table", 28: "table_delete", 31: "table_remove", 32: "table_replace",
                  33: "table_update", 38: "make_join_table"}
_SERVER_ERROR_FIELD = 50  # `Response.server_error`


class MalformedRequest(ValueError):
    """A frame that is not a Perspective request: the connection is closed (policy violation)."""


class ReadOnlyServer:
    """Stands in for a `perspective.Server` (or virtual server) in `PerspectiveTornadoHandler`."""

    def __init__(self, server: Any, max_views: int = 64) -> None:
        self._server = server
        self.max_views = max_views
        self.refused = 0
        self.sessions: set[ReadOnlySession] = set()

    def new_session(self, send: Callable[[bytes], None]) -> ReadOnlySession:
        session = ReadOnlySession(self, self._server.new_session(send), send)
        self.sessions.add(session)
        return session

    @property
    def views(self) -> int:
        return sum(len(s.views) for s in self.sessions)


class ReadOnlySession:
    def __init__(self, owner: ReadOnlyServer, session: Any, send: Callable[[bytes], None]) -> None:
        self._owner = owner
        self._session = session
        self._send = send
        self.views: set[str] = set()
        self.refused = 0

    def handle_request(self, message: bytes) -> None:
        """Pass the request on, or answer it with an error; raises MalformedRequest."""
        msg_id, entity_id, kind, payload = parse_request(message)
        refusal = self._refusal(kind, payload)
        if refusal:
            self._owner.refused += 1
            if not self.refused:  # one line per connection: a flood must not flood the log
                log.warning("%s (further refusals on this connection are only counted)", refusal)
            self.refused += 1
            self._send(error_response(msg_id, entity_id, refusal))
            return
        if kind == VIEW_DELETE:
            self.views.discard(entity_id)
        self._session.handle_request(message)

    def _refusal(self, kind: int | None, payload: bytes) -> str:
        if kind not in READ_REQUESTS:
            return f"read-only server: {WRITE_REQUESTS.get(kind or 0, f'request {kind}')} refused"
        if kind == MAKE_VIEW:
            if len(self.views) >= self._owner.max_views:
                return (f"too many views on this connection (at most {self._owner.max_views}, "
                        "PERSPECTIVE_MAX_VIEWS): close some before opening more")
            self.views.add(view_id(payload))
        return ""

    def close(self) -> None:
        self._owner.sessions.discard(self)
        self._session.close()


def parse_request(message: bytes) -> tuple[int, str, int | None, bytes]:
    """(msg_id, entity_id, field number of the call, its payload) from a serialized `Request`."""
    msg_id, entity_id, kind, payload = 0, "", None, b""
    for number, value in _fields(message):
        if number == 1 and isinstance(value, int):
            msg_id = value
        elif number == 2 and isinstance(value, bytes):
            entity_id = _text(value)
        elif number >= 3 and kind is None:
            kind, payload = number, value if isinstance(value, bytes) else b""
    return msg_id, entity_id, kind, payload


def view_id(payload: bytes) -> str:
    """The `view_id` (field 1) of a `TableMakeViewReq`."""
    return next((_text(v) for n, v in _fields(payload) if n == 1 and isinstance(v, bytes)), "")


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("not a Perspective request: a name is not UTF-8") from None


def _fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """The top-level (field number, value) pairs of a protobuf message: varints as int,
    length-delimited fields as bytes, fixed-width ones skipped (as 0)."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    try:
        while pos < len(message):
            key, pos = _varint(message, pos)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                value, pos = _varint(message, pos)
                fields.append((number, value))
            elif wire_type == 2:
                size, pos = _varint(message, pos)
                if pos + size > len(message):
                    raise MalformedRequest("not a Perspective request: truncated field")
                fields.append((number, message[pos:pos + size]))
                pos += size
            elif wire_type in (1, 5):
                pos += 8 if wire_type == 1 else 4
                fields.append((number, 0))
            else:
                raise MalformedRequest(f"not a Perspective request: protobuf wire type {wire_type}")
    except IndexError:
        raise MalformedRequest("not a Perspective request: truncated varint") from None
    if pos > len(message):
        raise MalformedRequest("not a Perspective request: truncated field")
    return fields


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
        if shift > 63:
            raise MalformedRequest("not a Perspective request: varint too long")
