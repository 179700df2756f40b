"""The WebSocket endpoint (``/ws`` and ``/rest/ws``): one handler object per client connection.

Text frames are JSON requests ``{"action", "args"}``; binary frames are queries, fetches and
statement binds. Every text reply carries ``code``, ``message``, ``action`` and the request's exact
``req_id`` because the client routes replies by req_id and silently drops anything it cannot
route (the caller would then hang until its read timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tornado.ioloop
import tornado.websocket

from tests.standin.api import Affected, ResultSet, Session
from tests.standin.errors import ADAPTER_ERROR, TDError
from tests.standin.protocol import frames
from tests.standin.protocol.results import ResultStore
from tests.standin.protocol.stmt import Stmt2, StmtV1

if TYPE_CHECKING:
    from tests.standin.server import StandIn

log = logging.getLogger("standin")

SERVER_VERSION = "3.3.6.0"  # >= 3.3.2.0 makes the client use the binary query/fetch paths
JSON_ACTIONS_BEFORE_CONN = ("version", "conn")
# stmt replies echo the statement id even on errors: stmt v1 routes replies by it.
STMT_ACTIONS = ("init", "prepare", "set_table_name", "set_tags", "bind", "add_batch", "exec", "close",
                "stmt2_init", "stmt2_prepare", "stmt2_bind", "stmt2_exec", "stmt2_result", "stmt2_close")


class ProtocolHandler(tornado.websocket.WebSocketHandler):
    def initialize(self, standin: StandIn) -> None:
        self.standin = standin
        self.session: Session | None = None
        self.results = ResultStore()
        self.stmts: dict[int, StmtV1 | Stmt2] = {}
        self._next_stmt_id = 1
        self._text_actions: dict[str, Callable[[dict], dict | None]] = {
            "version": self._version, "conn": self._conn, "query": self._json_query,
            "fetch": self._json_fetch, "fetch_block": self._json_fetch_block,
            "free_result": self._free_result,
            "init": self._stmt_init, "prepare": self._stmt_prepare,
            "set_table_name": self._stmt_set_table_name, "set_tags": self._stmt_set_tags,
            "add_batch": self._stmt_add_batch, "exec": self._stmt_exec, "close": self._stmt_close,
            "stmt2_init": self._stmt2_init, "stmt2_prepare": self._stmt2_prepare,
            "stmt2_exec": self._stmt2_exec, "stmt2_result": self._stmt2_result,
            "stmt2_close": self._stmt2_close,
        }

    # ---- tornado hooks ------------------------------------------------------------------

    def check_origin(self, origin: str) -> bool:
        return True  # a test server: accept any client

    def open(self, *args: str, **kwargs: str) -> None:
        self.standin.register(self)

    def on_close(self) -> None:
        self.standin.unregister(self)
        self.results.clear()
        self.stmts.clear()

    def on_message(self, message: str | bytes) -> Any:
        delay = self.standin.delay
        if delay > 0:
            # Returning a coroutine makes tornado wait for it before the next message, so the
            # delay never reorders replies.
            return self._delayed(message, delay)
        self._dispatch(message)
        return None

    async def _delayed(self, message: str | bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        self._dispatch(message)

    def abort(self) -> None:
        """Drop the TCP connection without a Close frame, as a crashing server would."""
        if self.ws_connection is not None and self.ws_connection.stream is not None:
            self.ws_connection.stream.close()

    # ---- dispatch ---------------------------------------------------------------------

    def _dispatch(self, message: str | bytes) -> None:
        try:
            if isinstance(message, bytes):
                self._on_binary(message)
            else:
                self._on_text(message)
        except Exception:  # a bug here must not kill the connection silently
            log.exception("standin: unhandled error for message %r", message[:200])

    def _on_text(self, message: str) -> None:
        try:
            request = json.loads(message)
        except ValueError:
            return  # the adapter ignores undecodable frames too
        action = str(request.get("action", ""))
        args = request.get("args") or {}
        req_id = int(request.get("req_id") or args.get("req_id") or 0)
        handler = self._text_actions.get(action)
        try:
            if self.session is None and action not in JSON_ACTIONS_BEFORE_CONN:
                raise TDError(ADAPTER_ERROR, "server not connected")
            if handler is None:
                raise TDError(ADAPTER_ERROR, f"unknown action {action}")
            extra = handler(args)
        except TDError as err:
            self._reply_error(action, req_id, err, args)
            return
        except Exception as err:  # engine bug: answer anyway so the client does not hang
            log.exception("standin: %s failed", action)
            self._reply_error(action, req_id, TDError(ADAPTER_ERROR, f"stand-in error: {err}"), args)
            return
        if extra is not None:
            self._reply(action, req_id, **extra)

    def _on_binary(self, frame: bytes) -> None:
        request = frames.parse_prefix(frame)
        action, handler = {
            frames.ACTION_QUERY: ("binary_query", self._binary_query),
            frames.ACTION_FETCH: ("fetch", self._binary_fetch),
            frames.ACTION_STMT_BIND: ("bind", self._stmt_bind),
            frames.ACTION_STMT2_BIND: ("stmt2_bind", self._stmt2_bind),
        }.get(request.action, (f"unknown action {request.action}", None))
        args = {"stmt_id": request.id}
        try:
            if self.session is None:
                raise TDError(ADAPTER_ERROR, "server not connected")
            if handler is None:
                raise TDError(ADAPTER_ERROR, action)
            extra = handler(request, frame)
        except TDError as err:
            self._binary_error(action, request, err, args)
            return
        except Exception as err:
            log.exception("standin: binary %s failed", action)
            self._binary_error(action, request, TDError(ADAPTER_ERROR, f"stand-in error: {err}"), args)
            return
        if extra is not None:
            self._reply(action, request.req_id, **extra)

    def _binary_error(self, action: str, request: frames.BinaryRequest, err: TDError, args: dict) -> None:
        if request.action == frames.ACTION_FETCH:
            self._send(frames.fetch_reply(request.req_id, request.id, None, err.code, err.message))
        else:
            self._reply_error(action, request.req_id, err, args)

    # ---- replies ----------------------------------------------------------------------

    def _send(self, payload: str | bytes) -> None:
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):  # client gone: no one to tell
            self.write_message(payload, binary=isinstance(payload, bytes))

    def _reply(self, action: str, req_id: int, code: int = 0, message: str = "", **extra: Any) -> None:
        body = {"code": code, "message": message, "action": action, "req_id": req_id, "timing": 0}
        body.update(extra)
        self._send(json.dumps(body))

    def _reply_error(self, action: str, req_id: int, err: TDError, args: dict) -> None:
        extra: dict[str, Any] = {}
        if action in STMT_ACTIONS:
            extra["stmt_id"] = args.get("stmt_id", 0)
        if action in ("prepare", "stmt2_prepare"):
            # The client deserialises is_insert even from error replies; without it it hangs.
            extra["is_insert"] = False
        self._reply(action, req_id, code=err.code, message=err.message, **extra)

    # ---- connection -------------------------------------------------------------------

    def _version(self, _args: dict) -> dict:
        return {"version": SERVER_VERSION}

    def _conn(self, args: dict) -> dict:
        if self.session is not None:
            raise TDError(ADAPTER_ERROR, "duplicate connections")
        self.session = self.standin.open_session(
            str(args.get("user", "")), str(args.get("password", "")), args.get("db") or None, args.get("tz"))
        return {"version": SERVER_VERSION}

    # ---- queries ----------------------------------------------------------------------

    def _run_sql(self, sql: str) -> dict:
        assert self.session is not None
        self.standin.statements += 1
        result = self.standin.engine.execute(self.session, sql)
        if isinstance(result, Affected):
            return {"id": 0, "is_update": True, "affected_rows": result.rows, "fields_count": 0,
                    "fields_names": None, "fields_types": None, "fields_lengths": None, "precision": 0}
        return self._open_result(result)

    def _open_result(self, result: ResultSet) -> dict:
        if not result.fields:
            # The client only treats fields_count > 0 as a result set; an empty one is an update.
            return {"id": 0, "is_update": False, "affected_rows": 0, "fields_count": 0}
        result_id, opened = self.results.add(result)
        return {"id": result_id, **opened.describe()}

    def _binary_query(self, request: frames.BinaryRequest, frame: bytes) -> dict:
        return self._run_sql(frames.parse_query_sql(frame))

    def _binary_fetch(self, request: frames.BinaryRequest, _frame: bytes) -> None:
        opened = self.results.get(request.id)
        if opened is None:
            raise TDError(ADAPTER_ERROR, "result is nil")
        self._send(frames.fetch_reply(request.req_id, request.id, opened.next_block()))
        # Encode the following block while this one travels and the client decodes it: the client
        # asks for blocks one at a time, so otherwise the stand-in idles for every round trip.
        tornado.ioloop.IOLoop.current().add_callback(opened.prefetch)

    def _json_query(self, args: dict) -> dict:
        return self._run_sql(str(args.get("sql", "")))

    def _json_fetch(self, args: dict) -> dict:
        result_id = int(args.get("id", 0))
        opened = self.results.get(result_id)
        if opened is None:
            raise TDError(ADAPTER_ERROR, "result is nil")
        opened.pending = opened.next_block()
        if opened.pending is None:
            return {"id": result_id, "completed": True, "lengths": None, "rows": 0}
        (rows,) = struct.unpack_from("<i", opened.pending, 8)
        return {"id": result_id, "completed": False, "lengths": [f.width for f in opened.fields],
                "rows": rows}

    def _json_fetch_block(self, args: dict) -> None:
        result_id = int(args.get("id", 0))
        opened = self.results.get(result_id)
        if opened is None or opened.pending is None:
            raise TDError(ADAPTER_ERROR, "result is nil")
        self._send(frames.legacy_block_reply(result_id, opened.pending))
        opened.pending = None

    def _free_result(self, args: dict) -> None:
        self.results.free(int(args.get("id", 0)))  # the adapter sends no reply

    # ---- stmt v1 ----------------------------------------------------------------------

    def _stmt(self, args: dict, kind: type) -> Any:
        stmt = self.stmts.get(int(args.get("stmt_id", 0)))
        if not isinstance(stmt, kind):
            raise TDError(ADAPTER_ERROR, "stmt is nil")
        return stmt

    def _new_stmt(self, stmt: StmtV1 | Stmt2) -> dict:
        stmt_id = self._next_stmt_id
        self._next_stmt_id += 1
        self.stmts[stmt_id] = stmt
        return {"stmt_id": stmt_id}

    def _stmt_init(self, _args: dict) -> dict:
        assert self.session is not None
        return self._new_stmt(StmtV1(self.standin.engine, self.session))

    def _stmt_prepare(self, args: dict) -> dict:
        stmt: StmtV1 = self._stmt(args, StmtV1)
        return {"stmt_id": args["stmt_id"], "is_insert": stmt.prepare(str(args.get("sql", "")))}

    def _stmt_set_table_name(self, args: dict) -> dict:
        self._stmt(args, StmtV1).set_table_name(str(args.get("name", "")))
        return {"stmt_id": args["stmt_id"]}

    def _stmt_set_tags(self, args: dict) -> dict:
        self._stmt(args, StmtV1).set_tags(list(args.get("tags") or []))
        return {"stmt_id": args["stmt_id"]}

    def _stmt_bind(self, request: frames.BinaryRequest, frame: bytes) -> dict:
        stmt: StmtV1 = self._stmt({"stmt_id": request.id}, StmtV1)
        stmt.bind(frames.parse_stmt_bind(frame))
        return {"stmt_id": request.id}

    def _stmt_add_batch(self, args: dict) -> dict:
        self._stmt(args, StmtV1).add_batch()
        return {"stmt_id": args["stmt_id"]}

    def _stmt_exec(self, args: dict) -> dict:
        affected = self._stmt(args, StmtV1).exec()
        return {"stmt_id": args["stmt_id"], "affected": affected}

    def _stmt_close(self, args: dict) -> None:
        self.stmts.pop(int(args.get("stmt_id", 0)), None)  # no reply, like the adapter

    # ---- stmt2 ------------------------------------------------------------------------

    def _stmt2_init(self, _args: dict) -> dict:
        assert self.session is not None
        return self._new_stmt(Stmt2(self.standin.engine, self.session))

    def _stmt2_prepare(self, args: dict) -> dict:
        stmt: Stmt2 = self._stmt(args, Stmt2)
        return {"stmt_id": args["stmt_id"], **stmt.prepare(str(args.get("sql", "")))}

    def _stmt2_bind(self, request: frames.BinaryRequest, frame: bytes) -> dict:
        stmt: Stmt2 = self._stmt({"stmt_id": request.id}, Stmt2)
        stmt.bind(frames.parse_stmt2_bind(frame))
        return {"stmt_id": request.id}

    def _stmt2_exec(self, args: dict) -> dict:
        affected = self._stmt(args, Stmt2).exec()
        return {"stmt_id": args["stmt_id"], "affected": affected}

    def _stmt2_result(self, args: dict) -> dict:
        result = self._stmt(args, Stmt2).take_result()
        return {"stmt_id": args["stmt_id"], **self._open_result(result)}

    def _stmt2_close(self, args: dict) -> dict:
        self.stmts.pop(int(args.get("stmt_id", 0)), None)
        return {"stmt_id": args.get("stmt_id", 0)}  # the client waits for this reply
