"""Serving browsers: the Tornado application (`app`), assembled in one place from its parts.

`sockets` is the hardened Perspective websocket, `readonly` the guard between it and a server
(read-only calls, view caps), `access` the Host and token checks, `address_rate` the per-address
rations, `health` `/healthz` and `/metrics`, `pages` the page and its JSON, `engine` the size of
Perspective's thread pool.

May import `tdpersp.core`, `tdpersp.live` and `tdpersp.history`; nothing imports it but the
programs.
"""
