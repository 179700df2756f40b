"""Settings read from command-line flags and environment variables, validated up front.

Every setting has one name, e.g. ``TAOS_PORT``: it is read from the flag ``--taos-port``, else
from the environment variable ``TAOS_PORT``, else its default. A bad value stops the program
before it touches anything, with a message naming the setting and where the value came from.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from tdpersp.core import endpoints

E = TypeVar("E", bound=Enum)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,191}")


@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable; the flag is derived from it
    default: str
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False  # never echoed in --help defaults or logs

    @property
    def flag(self) -> str:
        return "--" + self.name.lower().replace("_", "-")

    @property
    def dest(self) -> str:
        return self.name.lower()


# --- value parsers: each raises ValueError with a message a user can act on -------------------


def port(text: str) -> int:
    value = integer(text)
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a TCP port (1-65535)")
    return value


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    value = integer(text)
    if value <= 0:
        raise ValueError(f"{value} must be greater than 0")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{text} must be a finite number greater than 0")
    return value


def names(text: str) -> frozenset[str]:
    """A comma-separated list of host names (empty: none)."""
    items = [item.strip().lower() for item in text.split(",") if item.strip()]
    for item in items:
        if not re.fullmatch(r"[a-z0-9.-]{1,253}|\[?[0-9a-f:.]+\]?", item):
            raise ValueError(f"{item!r} is not a host name")
    return frozenset(items)


def identifier(text: str) -> str:
    """A TDengine/Perspective name we can put in SQL without quoting tricks."""
    if not _IDENTIFIER.fullmatch(text):
        raise ValueError(
            f"{text!r} is not an identifier (letters, digits and _, not starting with a digit, "
            "at most 192 characters)"
        )
    return text


def table_list(text: str) -> list[tuple[str, str]]:
    """Comma-separated `database.table` names, each part an identifier; empty means none."""
    tables = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        database, dot, table = item.partition(".")
        if not dot:
            raise ValueError(f"{item!r} is not database.table")
        tables.append((identifier(database), identifier(table)))
    return tables


def choice(kind: type[E]) -> Callable[[str], E]:
    """One of an Enum's values, e.g. ``choice(SourceKind)`` takes "poll" or "subscribe"."""
    def parse(text: str) -> E:
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{text!r} is not one of: {', '.join(str(k.value) for k in kind)}") from None
    return parse


def host(text: str) -> str:
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise ValueError(f"{text!r} is not a host name or address")
    return text


def replica(text: str) -> int:
    """TDengine's REPLICA: 1, 2 (Enterprise edition only) or 3, at most the cluster's dnodes."""
    value = integer(text)
    if value not in (1, 2, 3):
        raise ValueError(f"{value} is not a number of replicas TDengine takes (1, 2 or 3)")
    return value


def hosts(text: str) -> str:
    """One taosAdapter host, or several as `host[:port]` items separated by commas (a cluster)."""
    endpoints.parse(text)  # raises ValueError naming the bad item
    return ",".join(item.strip() for item in text.split(","))


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An empty value means "not set" (None)."""
    return lambda text: None if text == "" else parse(text)


# --- the settings both programs share ------------------------------------------------------------

TAOS_SETTINGS: tuple[Setting, ...] = (
    Setting("TAOS_HOST", "localhost",
            "taosAdapter host, or several host[:port] separated by commas (a cluster; no port: TAOS_PORT)",
            hosts),
    Setting("TAOS_PORT", "6041", "taosAdapter's WebSocket port", port),
    Setting("TAOS_USER", "root", "TDengine user"),
    Setting("TAOS_PASSWORD", "taosdata", "TDengine password", secret=True),
    Setting("TAOS_DATABASE", "stocks", "TDengine database", identifier),
    Setting("TAOS_TABLENAME", "stocks_values",
            "TDengine supertable or table: the producer writes it, the server streams any table", identifier),
)


def load(
    settings: Sequence[Setting],
    description: str,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> argparse.Namespace:
    """Parse flags, fall back to the environment, then defaults; exit 2 on a bad value."""
    environ = os.environ if environ is None else environ
    parser = _parser(settings, description)
    flags = parser.parse_args(argv)
    values = argparse.Namespace()
    for setting in settings:
        raw, source = _raw_value(setting, flags, environ)
        try:
            setattr(values, setting.dest, setting.parse(raw))
        except ValueError as err:
            parser.error(f"bad {setting.name} ({source}): {err}")
    return values


def _raw_value(setting: Setting, flags: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, str]:
    from_flag = getattr(flags, setting.dest)
    if from_flag is not None:
        return from_flag, f"from {setting.flag}"
    if setting.name in environ:
        return environ[setting.name], "from the environment"
    return setting.default, "default"


def _parser(settings: Sequence[Setting], description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=description,
        epilog="Every flag can also be set by the environment variable named in capitals.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for setting in settings:
        shown = "(hidden)" if setting.secret else repr(setting.default)
        parser.add_argument(
            setting.flag,
            dest=setting.dest,
            metavar=setting.name,
            default=None,
            help=f"{setting.help} [env {setting.name}, default {shown}]",
        )
    return parser
