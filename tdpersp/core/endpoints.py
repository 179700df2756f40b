"""TAOS_HOST as one taosAdapter or several: ``host[:port]`` items separated by commas.

Several are for a TDengine cluster with a taosAdapter on each dnode, e.g.
``localhost:6041,localhost:6042,localhost:6043``; an item without a port takes TAOS_PORT. taosws
takes the same list in its DSN (``taosws://h1:6041,h2:6041/db``), shuffles it, and tries the
addresses in turn when it connects and when a connection it holds drops.
"""

from __future__ import annotations

import re

Endpoint = tuple[str, int]

# A DNS name or IPv4 address (letters, digits, '-', '_' and dots), or an IPv6 address in brackets:
# a bare IPv6 address is ambiguous with host:port, and taosws refuses it anyway.
_ITEM = re.compile(r"(?P<host>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d+))?")


def parse(text: str) -> tuple[tuple[str, int | None], ...]:
    """The (host, port or None) items of TAOS_HOST; raises ValueError naming the bad item."""
    items = [item.strip() for item in text.split(",")]
    if items == [""]:
        raise ValueError("no host given")
    return tuple(_item(item) for item in items)


def _item(item: str) -> tuple[str, int | None]:
    if not item:
        raise ValueError("an empty item between commas")
    match = _ITEM.fullmatch(item)
    if match is None:
        hint = " (write an IPv6 address in brackets, e.g. [::1]:6041)" if item.count(":") > 1 else ""
        raise ValueError(f"{item!r} is not host or host:port{hint}")
    port = match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"{item!r}: {port} is not a TCP port (1-65535)")
    return match["host"], None if port is None else int(port)


def resolve(text: str, default_port: int) -> tuple[Endpoint, ...]:
    """Every endpoint with its port: TAOS_PORT for an item that names none."""
    return tuple((host, default_port if port is None else port) for host, port in parse(text))


def joined(endpoints: tuple[Endpoint, ...]) -> str:
    """The list as a DSN's address part: ``h1:6041,h2:6041``."""
    return ",".join(f"{host}:{port}" for host, port in endpoints)
