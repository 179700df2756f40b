"""TDengine error codes and messages the stand-in answers with.

Codes and texts follow TDengine's ``include/util/taoserror.h`` and ``source/util/src/terror.c``
(checked against taosdata/TDengine 3.3.x sources); message formats that carry a detail follow
the parser's ``getSyntaxErrFormat`` / ``buildSyntaxErrMsg`` (``source/libs/parser/src/parUtil.c``).
Every client-visible failure of the stand-in is a :class:`TDError`; the protocol layer turns it
into ``code``/``message``.
"""

from __future__ import annotations


class TDError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"[0x{code & 0xFFFF:04X}] {message}")
        self.code = code & 0xFFFF
        self.message = message


AUTH_FAILURE = 0x0357  # TSDB_CODE_MND_AUTH_FAILURE "Authentication failure"
DB_NOT_EXIST = 0x0388  # TSDB_CODE_MND_DB_NOT_EXIST "Database not exist"
DB_ALREADY_EXIST = 0x0381  # TSDB_CODE_MND_DB_ALREADY_EXIST "Database already exists"
STB_ALREADY_EXIST = 0x0360  # TSDB_CODE_MND_STB_ALREADY_EXIST "STable already exists"
STB_NOT_EXIST = 0x0362  # TSDB_CODE_MND_STB_NOT_EXIST "STable not exist"
STMT_ERROR = 0x0200  # TSDB_CODE_TSC_INVALID_OPERATION, what the stmt bind checks return
TSC_SYNTAX_ERROR = 0x0216  # TSDB_CODE_TSC_SQL_SYNTAX_ERROR, INSERT value errors (buildSyntaxErrMsg)
TABLE_ALREADY_EXIST = 0x0603  # TSDB_CODE_TDB_TABLE_ALREADY_EXIST "Table already exists" (vnode)
SYNTAX_ERROR = 0x2600  # TSDB_CODE_PAR_SYNTAX_ERROR
INCOMPLETE_SQL = 0x2601  # TSDB_CODE_PAR_INCOMPLETE_SQL
INVALID_COLUMN = 0x2602  # TSDB_CODE_PAR_INVALID_COLUMN "Invalid column name: %s"
TAGS_NOT_MATCHED = 0x260D  # TSDB_CODE_PAR_TAGS_NOT_MATCHED
INVALID_TAG_NAME = 0x260E  # TSDB_CODE_PAR_INVALID_TAG_NAME "Invalid tag name: %s"
DB_NOT_SPECIFIED = 0x2616  # TSDB_CODE_PAR_DB_NOT_SPECIFIED "Database not specified"
ILLEGAL_COLUMN_COUNT = 0x263F  # TSDB_CODE_PAR_INVALID_COLUMNS_NUM "Illegal number of columns"
INVALID_FIRST_COLUMN = 0x2641  # TSDB_CODE_PAR_INVALID_FIRST_COLUMN "First column must be timestamp"
INVALID_FUNCTION = 0x264D  # TSDB_CODE_PAR_INVALID_FUNCTION_NAME "Invalid function name"
INVALID_COL_JSON = 0x2652  # TSDB_CODE_PAR_INVALID_COL_JSON "Only tag can be json type"
VALUE_TOO_LONG = 0x2653  # TSDB_CODE_PAR_VALUE_TOO_LONG
TABLE_NOT_EXIST = 0x2662  # TSDB_CODE_PAR_GET_META_ERROR wrapping TSDB_CODE_PAR_TABLE_NOT_EXIST
DUPLICATED_COLUMN = 0x263C  # TSDB_CODE_PAR_DUPLICATED_COLUMN "Duplicated column names"
ADAPTER_ERROR = 0xFFFF
# ALTER TABLE/STABLE: numbers from TDengine's error-code table (docs, 3.3), texts from terror.c;
# which layer raises which was read in mndStb.c (supertables) and the vnode's meta code (normal).
TAG_ALREADY_EXIST = 0x0369  # TSDB_CODE_MND_TAG_ALREADY_EXIST "Tag already exists"
TAG_NOT_EXIST = 0x036A  # TSDB_CODE_MND_TAG_NOT_EXIST "Tag does not exist"
COLUMN_ALREADY_EXIST = 0x036B  # TSDB_CODE_MND_COLUMN_ALREADY_EXIST "Column already exists"
COLUMN_NOT_EXIST = 0x036C  # TSDB_CODE_MND_COLUMN_NOT_EXIST "Column does not exist"
FIELD_CONFLICT_WITH_TOPIC = 0x03C4  # TSDB_CODE_MND_FIELD_CONFLICT_WITH_TOPIC "Field used by topic"
VND_COL_ALREADY_EXISTS = 0x0525  # TSDB_CODE_VND_COL_ALREADY_EXISTS "Table column already exists"
VND_COL_NOT_EXISTS = 0x0526  # TSDB_CODE_VND_COL_NOT_EXISTS "Table column not exists"
VND_COL_SUBSCRIBED = 0x0527  # TSDB_CODE_VND_COL_SUBSCRIBED "Table column is subscribed"
INVALID_SCHEMA_VER = 0x061B  # TSDB_CODE_TDB_INVALID_TABLE_SCHEMA_VER "Invalid table schema version"
INVALID_ALTER_TABLE = 0x2649  # TSDB_CODE_PAR_INVALID_ALTER_TABLE "Invalid alter table statement"
CANNOT_DROP_PRIMARY_KEY = 0x264A  # TSDB_CODE_PAR_CANNOT_DROP_PRIMARY_KEY
INVALID_DROP_COL = 0x2651  # TSDB_CODE_PAR_INVALID_DROP_COL "No columns can be dropped"


def syntax_error(near: str) -> TDError:
    return TDError(SYNTAX_ERROR, f'syntax error near "{near}"')


def incomplete_sql() -> TDError:
    return TDError(INCOMPLETE_SQL, "Incomplete SQL statement")


def insert_value_error(near: str, detail: str) -> TDError:
    """The INSERT parser's ``buildSyntaxErrMsg``: single quotes, SQL text cut to 63 chars, detail."""
    return TDError(TSC_SYNTAX_ERROR, f"syntax error near '{near[:63]}' ({detail})")


def table_not_exist() -> TDError:
    return TDError(TABLE_NOT_EXIST, "Fail to get table info, error: Table does not exist")


def db_not_exist() -> TDError:
    return TDError(DB_NOT_EXIST, "Database not exist")


def db_not_specified() -> TDError:
    return TDError(DB_NOT_SPECIFIED, "Database not specified")


def invalid_column(name: str) -> TDError:
    return TDError(INVALID_COLUMN, f"Invalid column name: {name}")


def value_too_long(column: str) -> TDError:
    return TDError(VALUE_TOO_LONG, f"Value too long for column/tag: {column}")


def stmt_error(message: str) -> TDError:
    return TDError(STMT_ERROR, message)
