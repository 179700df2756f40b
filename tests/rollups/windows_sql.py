"""What the rollup tables must equal: TDengine's own INTERVAL query, written here independently of
tdpersp/rollups/, and the comparison of a served rollup table with it.

Every field must be equal, except sums of FLOAT/DOUBLE columns: the server merges 1-minute and
1-hour windows from finer ones, so it adds the same numbers in another order than TDengine does
(whose own order depends on its data blocks); those are compared to a relative 1e-9.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import taosws

from tests.perspective_client import remote_client

TICKS = {"ms": 1, "us": 1_000, "ns": 1_000_000}
WIDTHS = {"1s": 1_000, "1m": 60_000, "1h": 3_600_000}


def tdengine_windows(host: str, port: int, db: str, table: str, window: str, columns: list[str],
                     tags: list[str], precision: str, since_ms: int | None = None,
                     ts: str = "ts", user: str = "root", password: str = "taosdata") -> dict[tuple, tuple]:
    """(tag values…, window start ms) -> (rows, c_first, c_last, c_min, c_max, c_sum for each c)."""
    items = ["CAST(_wstart AS BIGINT)", "COUNT(*)"]
    items += [f"{f}(`{c}`)" for c in columns for f in ("FIRST", "LAST", "MIN", "MAX", "SUM")]
    items += [f"`{t}`" for t in tags]
    sql = f"SELECT {', '.join(items)} FROM {db}.{table}"
    if since_ms is not None:
        sql += f" WHERE `{ts}` >= {since_ms * TICKS[precision]}"
    if tags:
        sql += " PARTITION BY " + ", ".join(f"`{t}`" for t in tags)
    sql += f" INTERVAL({window})"
    conn = taosws.connect(host=host, port=port, user=user, password=password)
    try:
        rows = list(conn.query(sql))
    finally:
        conn.close()
    width = 2 + 5 * len(columns)
    return {(*row[width:], row[0] // TICKS[precision]): tuple(row[1:width]) for row in rows}


def served_windows(port: int, name: str, columns: list[str], tags: list[str]) -> dict[tuple, tuple]:
    """The same, as a remote Perspective client reads the rollup table `name`."""
    async def read() -> dict[str, list[Any]]:
        async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
            table = await client.open_table(name)
            view = await table.view()
            try:
                return await view.to_columns()
            finally:
                await view.delete()
    cols = asyncio.run(read())
    fields = ["rows", *(f"{c}_{a}" for c in columns for a in ("first", "last", "min", "max", "sum"))]
    return {(*(cols[t][i] for t in tags), int(cols["window_start"][i])): tuple(cols[f][i] for f in fields)
            for i in range(len(cols["window_start"]))}


def mismatches(got: dict[tuple, tuple], expected: dict[tuple, tuple], since_ms: int | None = None,
               float_sums: tuple[int, ...] = ()) -> list[str]:
    """What differs, window by window (those starting before `since_ms` are not compared)."""
    def kept(windows: dict[tuple, tuple]) -> dict[tuple, tuple]:
        return {k: v for k, v in windows.items() if since_ms is None or k[-1] >= since_ms}
    got, expected = kept(got), kept(expected)
    problems = [f"missing {k}: {expected[k]}" for k in sorted(expected.keys() - got.keys())]
    problems += [f"extra {k}: {got[k]}" for k in sorted(got.keys() - expected.keys())]
    for k in sorted(got.keys() & expected.keys()):
        if not same(got[k], expected[k], float_sums):
            problems.append(f"window {k}: served {got[k]}, TDengine {expected[k]}")
    return problems


def same(got: tuple, expected: tuple, float_sums: tuple[int, ...]) -> bool:
    """Perspective integers exactly; Perspective floats to 1e-15, for its JSON output prints 16
    significant digits (TDengine's 440.60809326171875 is read back as 440.6080932617187), which
    still tells apart any two integers below 10**15; sums of FLOAT/DOUBLE columns to 1e-9."""
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        if a is None or b is None:
            if a is not b:
                return False
        elif isinstance(a, int):
            if a != b:
                return False
        elif not math.isclose(a, b, rel_tol=1e-9 if i in float_sums else 1e-15):
            return False
    return True
