"""TDengine data types as they appear on the wire: type codes, widths and names.

The codes are TDengine's own (``taos.h``: TSDB_DATA_TYPE_*); both the SQL engine and the
protocol layer use this table, so a type is described in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, eq=False)  # identity comparison: `t in INTEGER_TYPES` is on hot paths
class TDType:
    code: int
    name: str
    size: int  # bytes per value for fixed-width types, 0 for variable-width ones
    fmt: str  # struct format of one value ("" for variable-width types)

    @property
    def variable(self) -> bool:
        return self.size == 0


NULL = TDType(0, "NULL", 1, "B")
BOOL = TDType(1, "BOOL", 1, "?")
TINYINT = TDType(2, "TINYINT", 1, "b")
SMALLINT = TDType(3, "SMALLINT", 2, "h")
INT = TDType(4, "INT", 4, "i")
BIGINT = TDType(5, "BIGINT", 8, "q")
FLOAT = TDType(6, "FLOAT", 4, "f")
DOUBLE = TDType(7, "DOUBLE", 8, "d")
VARCHAR = TDType(8, "VARCHAR", 0, "")  # BINARY is the same type
TIMESTAMP = TDType(9, "TIMESTAMP", 8, "q")
NCHAR = TDType(10, "NCHAR", 0, "")
UTINYINT = TDType(11, "TINYINT UNSIGNED", 1, "B")
USMALLINT = TDType(12, "SMALLINT UNSIGNED", 2, "H")
UINT = TDType(13, "INT UNSIGNED", 4, "I")
UBIGINT = TDType(14, "BIGINT UNSIGNED", 8, "Q")
JSON = TDType(15, "JSON", 0, "")
VARBINARY = TDType(16, "VARBINARY", 0, "")
GEOMETRY = TDType(20, "GEOMETRY", 0, "")
# TDengine 3.3.6+: DECIMAL(p, s) is a 128-bit integer of unscaled digits, DECIMAL64 (p <= 18) a 64-bit
# one; both print as DECIMAL. BLOB (3.3.7+) is variable-width with a u32 length prefix in blocks.
DECIMAL = TDType(17, "DECIMAL", 16, "16s")
BLOB = TDType(18, "BLOB", 0, "")
DECIMAL64 = TDType(21, "DECIMAL", 8, "q")

ALL = (NULL, BOOL, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, VARCHAR, TIMESTAMP,
       NCHAR, UTINYINT, USMALLINT, UINT, UBIGINT, JSON, VARBINARY, GEOMETRY, DECIMAL, BLOB, DECIMAL64)
BY_CODE: dict[int, TDType] = {t.code: t for t in ALL}

INTEGER_TYPES = (TINYINT, SMALLINT, INT, BIGINT, UTINYINT, USMALLINT, UINT, UBIGINT)
FLOAT_TYPES = (FLOAT, DOUBLE)
STRING_TYPES = (VARCHAR, NCHAR, JSON, VARBINARY, GEOMETRY)
DECIMAL_TYPES = (DECIMAL, DECIMAL64)
DECIMAL64_MAX_PRECISION = 18  # TSDB_DECIMAL64_MAX_PRECISION: above it DECIMAL takes 128 bits
DECIMAL_MAX_PRECISION = 38
BLOB_MAX_LEN = 4 << 20  # TSDB_MAX_BLOB_LEN

# Inclusive value ranges of the integer types (TDengine rejects values outside them).
INT_RANGE: dict[int, tuple[int, int]] = {
    TINYINT.code: (-(2**7), 2**7 - 1),
    SMALLINT.code: (-(2**15), 2**15 - 1),
    INT.code: (-(2**31), 2**31 - 1),
    BIGINT.code: (-(2**63), 2**63 - 1),
    UTINYINT.code: (0, 2**8 - 1),
    USMALLINT.code: (0, 2**16 - 1),
    UINT.code: (0, 2**32 - 1),
    UBIGINT.code: (0, 2**64 - 1),
}

# Timestamp precision codes used in result metadata.
PRECISION_CODE = {"ms": 0, "us": 1, "ns": 2}
TICKS_PER_SECOND = {"ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def decimal_type(precision: int) -> TDType:
    """TDengine's decimalTypeFromPrecision: 64 bits up to 18 digits, 128 bits above."""
    return DECIMAL64 if precision <= DECIMAL64_MAX_PRECISION else DECIMAL


def internal_width(td_type: TDType, length: int, precision: int = 0, scale: int = 0) -> int:
    """Width TDengine uses inside blocks: VARCHAR(n) -> n+2, NCHAR(n) -> 4n+2, BLOB n+4, fixed ->
    size; a DECIMAL's block schema carries size, precision and scale in the one i32
    (``size << 24 | precision << 8 | scale``, which is how the client learns the scale)."""
    if td_type is NCHAR:
        return 4 * length + 2
    if td_type in DECIMAL_TYPES:
        return td_type.size << 24 | precision << 8 | scale
    if td_type is BLOB:
        return length + 4
    if td_type.variable:
        return length + 2
    return td_type.size
