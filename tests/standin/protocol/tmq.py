"""The TMQ endpoint (``/rest/tmq``): one consumer per WebSocket connection (reference §11).

The consumer sends ``version``, then ``subscribe`` (with its credentials, group and topics), then
``poll`` / ``fetch_raw_data`` / ``commit`` and the offset calls. A poll waits up to its
``blocking_time`` but answers as soon as a write brings data. Requests on one connection are
answered in order: the client waits for each reply anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tornado.websocket

from tests.standin.api import TopicMessage
from tests.standin.errors import ADAPTER_ERROR, TDError
from tests.standin.protocol import raw_data

if TYPE_CHECKING:
    from tests.standin.server import StandIn

log = logging.getLogger("standin")

SERVER_VERSION = "3.3.6.0"
DATA_MESSAGE = 1  # message_type: rows only (no meta)


class TmqHandler(tornado.websocket.WebSocketHandler):
    def initialize(self, standin: StandIn) -> None:
        self.standin = standin
        self.consumer: int | None = None
        self.messages: dict[int, tuple[TopicMessage, int]] = {}  # message id -> (message, begin)
        self._next_message = 1
        self._actions: dict[str, Callable[[dict], Any]] = {
            "version": self._version, "subscribe": self._subscribe, "poll": self._poll,
            "fetch_raw_data": self._fetch_raw_data, "commit": self._commit,
            "commit_offset": self._commit_offset, "committed": self._committed,
            "position": self._position, "seek": self._seek, "assignment": self._assignment,
            "unsubscribe": self._unsubscribe,
        }

    @property
    def tmq(self) -> Any:
        return self.standin.engine.tmq

    # ---- tornado hooks ------------------------------------------------------------------

    def check_origin(self, origin: str) -> bool:
        return True

    def open(self, *args: str, **kwargs: str) -> None:
        self.standin.register(self)

    def on_close(self) -> None:
        self.standin.unregister(self)
        self._leave()

    def abort(self) -> None:
        """Drop the TCP connection without a Close frame, as a crashing server would."""
        if self.ws_connection is not None and self.ws_connection.stream is not None:
            self.ws_connection.stream.close()
        self._leave()

    def _leave(self) -> None:
        if self.consumer is not None:
            self.tmq.close(self.consumer)
            self.consumer = None
        self.messages.clear()

    async def on_message(self, message: str | bytes) -> None:
        if self.standin.delay > 0:
            await asyncio.sleep(self.standin.delay)
        try:
            request = json.loads(message)
        except ValueError:
            return  # the adapter ignores undecodable frames too
        action = str(request.get("action", ""))
        args = request.get("args") or {}
        req_id = int(args.get("req_id") or 0)
        try:
            handler = self._actions.get(action)
            if handler is None:
                raise TDError(ADAPTER_ERROR, f"unknown action {action}")
            if self.consumer is None and action not in ("version", "subscribe"):
                raise TDError(ADAPTER_ERROR, "tmq not subscribed")
            extra = handler(args)
            if asyncio.iscoroutine(extra):
                extra = await extra
        except TDError as err:
            self._reply(action, req_id, code=err.code, message=err.message)
            return
        except Exception as err:  # a stand-in bug: answer anyway so the client does not hang
            log.exception("standin: tmq %s failed", action)
            self._reply(action, req_id, code=ADAPTER_ERROR, message=f"stand-in error: {err}")
            return
        if extra is not None:
            self._reply(action, req_id, **extra)

    # ---- replies ----------------------------------------------------------------------

    def _send(self, payload: str | bytes) -> None:
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):
            self.write_message(payload, binary=isinstance(payload, bytes))

    def _reply(self, action: str, req_id: int, code: int = 0, message: str = "", **extra: Any) -> None:
        body = {"code": code, "message": message, "action": action, "req_id": req_id, "timing": 0}
        body.update(extra)
        self._send(json.dumps(body))

    # ---- actions ----------------------------------------------------------------------

    def _version(self, _args: dict) -> dict:
        return {"version": SERVER_VERSION}

    def _subscribe(self, args: dict) -> dict:
        session = self.standin.open_session(str(args.get("user", "")), str(args.get("password", "")),
                                            args.get("db") or None, None)
        del session  # only the credentials (and the database, when named) are checked
        self._leave()  # subscribing again replaces the subscription, as the adapter does
        self.consumer = self.tmq.subscribe(str(args.get("group_id") or ""), list(args.get("topics") or []),
                                           str(args.get("offset_rest") or "latest"))
        return {}

    async def _poll(self, args: dict) -> dict:
        assert self.consumer is not None
        wait = max(0, int(args.get("blocking_time") or 0)) / 1000
        message = self.tmq.poll(self.consumer)
        if message is None and wait > 0:
            message = await self._wait_for_data(wait)
        if message is None:
            return {"have_message": False}
        message_id = self._next_message
        self._next_message += 1
        begin = self.tmq.position(self.consumer, message.topic, message.vgroup)
        self.messages = {message_id: (message, begin)}  # the client fetches only the newest
        return {"have_message": True, "topic": message.topic, "database": message.db,
                "vgroup_id": message.vgroup, "message_type": DATA_MESSAGE, "message_id": message_id,
                "offset": message.offset}

    async def _wait_for_data(self, seconds: float) -> TopicMessage | None:
        """Poll again after each write, until data comes or the time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        woken = asyncio.Event()
        self.tmq.on_data.append(woken.set)
        try:
            while self.consumer is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), max(0.0, deadline - loop.time()))
                woken.clear()
                if self.consumer is None:
                    return None
                message = self.tmq.poll(self.consumer)
                if message is not None or loop.time() >= deadline:
                    return message
            return None
        finally:
            self.tmq.on_data.remove(woken.set)

    def _fetch_raw_data(self, args: dict) -> None:
        req_id = int(args.get("req_id") or 0)
        message_id = int(args.get("message_id") or 0)
        found = self.messages.get(message_id)
        if found is None:
            self._send(raw_data.fetch_raw_reply(req_id, message_id, b"", ADAPTER_ERROR, "message is nil"))
            return
        message, begin = found
        self._send(raw_data.fetch_raw_reply(req_id, message_id, raw_data.encode(message, begin)))

    def _commit(self, args: dict) -> dict:
        """The current taosAdapter ignores the message id and commits every vgroup's position."""
        self.tmq.commit_all(self.consumer)
        return {"message_id": int(args.get("message_id") or 0)}

    def _commit_offset(self, args: dict) -> dict:
        self.tmq.commit(self.consumer, str(args.get("topic")), int(args.get("vgroup_id", 0)),
                        int(args.get("offset", 0)))
        return {}

    def _offsets(self, args: dict, read: Callable[..., int]) -> list[int]:
        return [read(self.consumer, str(item.get("topic")), int(item.get("vgroup_id", 0)))
                for item in args.get("topic_vgroup_ids") or []]

    def _committed(self, args: dict) -> dict:
        return {"committed": self._offsets(args, self.tmq.committed_offset)}

    def _position(self, args: dict) -> dict:
        return {"position": self._offsets(args, self.tmq.position)}

    def _seek(self, args: dict) -> dict:
        self.tmq.seek(self.consumer, str(args.get("topic")), int(args.get("vgroup_id", 0)),
                      int(args.get("offset", 0)))
        return {}

    def _assignment(self, args: dict) -> dict:
        rows = self.tmq.assignment(self.consumer, str(args.get("topic")))
        return {"assignment": [{"vgroup_id": vg, "offset": pos, "begin": begin, "end": end}
                               for vg, pos, begin, end in rows]}

    def _unsubscribe(self, _args: dict) -> dict:
        self._leave()
        return {}
