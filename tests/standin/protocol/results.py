"""Open query results of one connection, fetched block by block (reference §4.3, §4.4).

The client fetches every block eagerly right after the query reply, so a result lives here
from the query (or stmt2_result) until ``free_result`` or the connection closes.
"""

from __future__ import annotations

from tests.standin import types as td
from tests.standin.api import ResultSet
from tests.standin.protocol.blocks import encode_block

ROWS_PER_BLOCK = 4096


class OpenResult:
    """A result set plus a read position; ``next_block`` hands out successive raw blocks."""

    def __init__(self, result: ResultSet, rows_per_block: int = ROWS_PER_BLOCK) -> None:
        self.fields = result.fields
        self.precision = result.precision
        self._rows = result.rows
        self._pos = 0  # read position when the rows are a plain list
        self._step = rows_per_block
        self.pending: bytes | None = None  # block announced by a legacy JSON ``fetch``
        self._ready: bytes | None = None  # the next block, encoded ahead by prefetch()

    def prefetch(self) -> None:
        if self._ready is None:
            self._ready = self._encode_next()

    def next_block(self) -> bytes | None:
        """The next raw block, or None once every row has been sent."""
        block, self._ready = self._ready, None
        return block if block is not None else self._encode_next()

    def _encode_next(self) -> bytes | None:
        if isinstance(self._rows, list):
            chunk = self._rows[self._pos:self._pos + self._step]
            self._pos += len(chunk)
        else:
            chunk = self._rows.take(self._step)
        if not chunk:
            self._rows = []  # release the rows; a finished result only answers "finished"
            return None
        return encode_block(self.fields, chunk)

    def describe(self) -> dict:
        """The result-set part of a query / stmt2_result reply."""
        return {
            "fields_count": len(self.fields),
            "fields_names": [f.name for f in self.fields],
            "fields_types": [f.type for f in self.fields],
            "fields_lengths": [f.length for f in self.fields],
            # taosAdapter (3.3.6+) sends these for every column; only DECIMALs have non-zero ones.
            "fields_precisions": [f.precision for f in self.fields],
            "fields_scales": [f.scale for f in self.fields],
            "precision": td.PRECISION_CODE[self.precision],
            "is_update": False,
            "affected_rows": 0,
        }


class ResultStore:
    """Result ids are per connection and never reused, like the adapter's."""

    def __init__(self) -> None:
        self._results: dict[int, OpenResult] = {}
        self._next_id = 1

    def add(self, result: ResultSet) -> tuple[int, OpenResult]:
        result_id = self._next_id
        self._next_id += 1
        opened = OpenResult(result)
        self._results[result_id] = opened
        return result_id, opened

    def get(self, result_id: int) -> OpenResult | None:
        return self._results.get(result_id)

    def free(self, result_id: int) -> None:
        self._results.pop(result_id, None)

    def clear(self) -> None:
        self._results.clear()
