"""Making Perspective's websocket read-only and bounded: viewers may look, never write.

`perspective.Server` lets any websocket client update, replace, clear or delete the tables it
hosts, create (or join) tables of its own, and open views without limit. Between the websocket
handler and the server we read the type of each request (a protobuf `Request` whose `client_req`
oneof field number names the call, see perspective's `perspective.proto`) and pass on only the
calls a viewer needs, an allow-list: a call added by a later Perspective version is refused until
it is listed here. Views are counted per connection and capped. Only the wire format's framing
(and a new view's id and which fields its config sets) is parsed; the payload is never decoded.

Grouped views (group_by, split_by, expressions, windows) are also capped over all connections,
because of a hang in perspective-python that only a pool with one thread more than the cap avoids
(tdpersp/serve/engine.py says why).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tdpersp.core import protowire
from tdpersp.serve.address_rate import AddressRate, QuietLog

log = logging.getLogger(__name__)
REFUSALS = QuietLog(log)  # a client refused in a loop must not fill the log

# The calls a viewer makes, by field number in perspective.proto's `Request.client_req`: features,
# hosted tables, ports, views and everything read from them, and (un)registering its callbacks
# (39, 40: view_on_remove / view_remove_on_remove). 41 is not in the 5.5.1 proto: the 5.6.1
# viewer sends it on the table with a view config before making a view (seen on the wire).
READ_REQUESTS = frozenset({*range(3, 27), 29, 30, 34, 35, 36, 37, 39, 40, 41})
MAKE_VIEW, VIEW_DELETE = 6, 11
# `ViewConfig` fields that keep a view flat (columns, filter, sort, aggregates, filter_op, and the
# group-by depth and rollup modes, which mean nothing without a group_by). A view whose config
# sets any other field counts as grouped, including fields a later Perspective adds.
FLAT_VIEW_FIELDS = frozenset({3, 4, 5, 7, 8, 9, 10, 12})
# The writing calls, named for the error message (anything else unlisted is refused as "unknown").
WRITE_REQUESTS = {27: "make_table", 28: "table_delete", 31: "table_remove", 32: "table_replace",
                  33: "table_update", 38: "make_join_table"}
_SERVER_ERROR_FIELD = 50  # `Response.server_error`


# A frame that is not a Perspective request: the connection is closed (policy violation).
MalformedRequest = protowire.Malformed


class ReadOnlyServer:
    """Stands in for a `perspective.Server` (or virtual server) in `PerspectiveTornadoHandler`."""

    def __init__(self, server: Any, max_views: int = 64, max_grouped_views: int | None = None,
                 view_rate: AddressRate | None = None) -> None:
        self._server = server
        self.max_views = max_views
        self.max_grouped_views = max_grouped_views  # over all connections; None: no cap
        self.view_rate = view_rate  # new views per client address; None: no limit
        self.refused = 0
        self.sessions: set[ReadOnlySession] = set()

    def new_session(self, send: Callable[[bytes], None], address: str = "") -> ReadOnlySession:
        session = ReadOnlySession(self, self._server.new_session(send), send, address)
        self.sessions.add(session)
        return session

    @property
    def views(self) -> int:
        return sum(len(s.views) for s in self.sessions)

    @property
    def grouped_views(self) -> int:
        return sum(sum(s.views.values()) for s in self.sessions)


class ReadOnlySession:
    def __init__(self, owner: ReadOnlyServer, session: Any, send: Callable[[bytes], None],
                 address: str) -> None:
        self._owner = owner
        self._session = session
        self._send = send
        self._address = address  # the client's: the view rate and the log's throttle count by it
        self.views: dict[str, bool] = {}  # view id -> grouped

    def handle_request(self, message: bytes) -> None:
        """Pass the request on, or answer it with an error; raises MalformedRequest."""
        msg_id, entity_id, kind, payload = protowire.parse_message(message)
        refusal = self._refusal(kind, payload)
        if refusal:
            self._owner.refused += 1
            REFUSALS.warning(self._address, "%s", refusal)
            self._send(error_response(msg_id, entity_id, refusal))
            return
        if kind == VIEW_DELETE:
            self.views.pop(entity_id, None)
        self._session.handle_request(message)

    def _refusal(self, kind: int | None, payload: bytes) -> str:
        if kind not in READ_REQUESTS:
            return f"read-only server: {WRITE_REQUESTS.get(kind or 0, f'request {kind}')} refused"
        return self._view_refusal(payload) if kind == MAKE_VIEW else ""

    def _view_refusal(self, payload: bytes) -> str:
        """Counts the new view, or says which cap it would pass."""
        owner = self._owner
        if len(self.views) >= owner.max_views:
            return (f"too many views on this connection (at most {owner.max_views}, "
                    "PERSPECTIVE_MAX_VIEWS): close some before opening more")
        name, grouped = view_request(payload)
        if name in self.views:  # would replace a view the caps count once
            return f"a view named {name[:40]!r} is already open on this connection"
        cap = owner.max_grouped_views
        if grouped and cap is not None and owner.grouped_views >= cap:
            return (f"too many grouped views on this server (at most {cap}, PERSPECTIVE_MAX_GROUPED_VIEWS): "
                    "the served page groups in the browser and needs none")
        if owner.view_rate and not owner.view_rate.take(self._address):
            return (f"too many new views from {self._address or 'this client'} (at most "
                    f"{owner.view_rate.per_second:g} a second, PERSPECTIVE_VIEW_RATE): retry later")
        self.views[name] = grouped
        return ""

    def close(self) -> None:
        self._owner.sessions.discard(self)
        self._session.close()


def view_request(payload: bytes) -> tuple[str, bool]:
    """A `TableMakeViewReq`'s `view_id` (field 1), and whether its `config` (field 2) is grouped."""
    name, grouped = "", False
    for number, value in protowire.fields(payload):
        if number == 1 and isinstance(value, bytes):
            name = protowire.text(value)
        elif number == 2 and isinstance(value, bytes):
            grouped = any(field not in FLAT_VIEW_FIELDS for field, _ in protowire.fields(value))
    return name, grouped


def error_response(msg_id: int, entity_id: str, text: str) -> bytes:
    """A serialized `Response` carrying `ServerError{message}` for request `msg_id`."""
    error = protowire.field(1, text.encode())
    return (protowire.key(1, 0) + protowire.encode_varint(msg_id) + protowire.field(2, entity_id.encode())
            + protowire.field(_SERVER_ERROR_FIELD, error))
