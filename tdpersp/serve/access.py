"""Who may use the server: the Host header check (against DNS rebinding) and the optional token.

A hostile web page can make a browser talk to 127.0.0.1 by rebinding its own *name* to that
address, so its requests carry that name in the Host header; an IP literal cannot be rebound.
Requests are therefore served only when their Host is an IP address, `localhost`, or a name the
user configured (PERSPECTIVE_ALLOWED_HOSTS), as Jupyter's server does. With PERSPECTIVE_TOKEN
set, the page, `/config.json` and the websockets also require `?token=` (a browser cannot set
headers on a websocket, so the query string is the one way all three can carry it).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import tornado.web

from tdpersp.serve.address_rate import VIEW_BURST, AddressRate

log = logging.getLogger(__name__)

LOCAL_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class Access:
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    token: str = ""
    max_views: int = 64  # views one websocket connection may hold
    max_grouped_views: int = 32  # grouped views on the live table, over all connections
    views_per_second: float = 20.0  # new views one client address may open, after a burst
    max_message_bytes: int = 1024 * 1024  # a viewer's request; theirs are a few hundred bytes
    max_queued_bytes: int = 32 * 1024 * 1024  # unsent answers before a viewer counts as too slow

    def host_allowed(self, host_name: str) -> bool:
        name = host_name.strip("[]").lower()
        if name in LOCAL_NAMES or name in self.allowed_hosts:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def token_ok(self, given: str | None) -> bool:
        return not self.token or hmac.compare_digest((given or "").encode(), self.token.encode())

    def view_rate(self) -> AddressRate:
        """A fresh budget of new views per client address (one per websocket route)."""
        return AddressRate(self.views_per_second, VIEW_BURST)


class Checked(tornado.web.RequestHandler):
    """Base of every handler that serves the table's data or the page: Host, then token."""

    needs_token = True

    def prepare(self) -> None:
        access: Access = self.settings["access"]
        if not access.host_allowed(self.request.host_name):
            log.warning("refused a request for Host %r (not an IP, localhost or PERSPECTIVE_ALLOWED_HOSTS)",
                        self.request.host_name[:100])
            raise tornado.web.HTTPError(403, reason="Host not allowed")
        if self.needs_token and not access.token_ok(self.get_query_argument("token", None)):
            raise tornado.web.HTTPError(403, reason="token required")

    def write_page_json(self, value: dict[str, Any]) -> None:
        """JSON for the page, readable cross-origin by the page opened from disk (origin "null") and
        nobody else: same-origin requests need no header, and a foreign site must not read it."""
        if self.request.headers.get("Origin") == "null":
            self.set_header("Access-Control-Allow-Origin", "null")
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(value))


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log without the query string, which may carry the token."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    request = handler.request
    logging.getLogger("tornado.access").log(level, "%d %s %s (%s) %.1fms", status, request.method,
                                            request.path, request.remote_ip, 1000 * request.request_time())
