"""Syntax tree of the TDengine SQL subset: plain dataclasses, no behaviour.

Expression nodes carry ``pos`` (offset in the SQL) so value errors can quote the SQL text from
the offending token, as TDengine's INSERT parser does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types import TDType

# ---------------------------------------------------------------- expressions


@dataclass
class Expr:
    pos: int = field(default=-1, kw_only=True)


@dataclass
class Col(Expr):
    name: str
    qual: str | None = None  # table name or alias before the dot


@dataclass
class Lit(Expr):
    value: Any
    kind: str  # int, float, str, bool, null, bytes


@dataclass
class Dur(Expr):
    n: int
    unit: str


@dataclass
class Now(Expr):
    today: bool = False


@dataclass
class Func(Expr):
    name: str
    args: list[Expr]
    star: bool = False


@dataclass
class Cast(Expr):
    expr: Expr
    type: TDType
    length: int


@dataclass
class Bin(Expr):
    op: str  # + - * / % = != < <= > >= and or
    left: Expr
    right: Expr


@dataclass
class Unary(Expr):
    op: str  # neg, not
    operand: Expr


@dataclass
class In(Expr):
    expr: Expr
    items: list[Expr]
    negated: bool = False


@dataclass
class Between(Expr):
    expr: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass
class Like(Expr):
    expr: Expr
    pattern: Expr
    negated: bool = False


@dataclass
class IsNull(Expr):
    expr: Expr
    negated: bool = False


@dataclass
class Param(Expr):
    index: int


# ---------------------------------------------------------------- statements


@dataclass
class Name:
    """A possibly database-qualified object name (``db`` None = the session's database)."""

    db: str | None
    name: str


@dataclass
class ColumnDef:
    name: str
    type: TDType
    length: int  # declared n of VARCHAR(n)/NCHAR(n)/VARBINARY(n); type size otherwise
    precision: int = 0  # DECIMAL(precision, scale)
    scale: int = 0


@dataclass
class CreateDatabase:
    name: str
    if_not_exists: bool
    precision: str = "ms"


@dataclass
class DropDatabase:
    name: str
    if_exists: bool


@dataclass
class UseDatabase:
    name: str


@dataclass
class CreateTable:
    """Normal table (``tags`` None) or supertable (``tags`` given)."""

    target: Name
    if_not_exists: bool
    columns: list[ColumnDef]
    tags: list[ColumnDef] | None = None


@dataclass
class CreateSubTable:
    target: Name
    if_not_exists: bool
    stable: Name
    tag_names: list[str] | None
    tag_values: list[Expr]


@dataclass
class DropTable:
    target: Name
    if_exists: bool
    stable: bool


@dataclass
class AlterTable:
    """ALTER TABLE/STABLE t ADD|DROP COLUMN|TAG name [type]: ``column`` is None for a DROP."""

    target: Name
    stable: bool
    action: str  # add, drop
    tag: bool
    name: str
    column: ColumnDef | None = None


@dataclass
class InsertTarget:
    """One ``tbl [USING st [(tags)] TAGS (...)] [(cols)] VALUES (...)...`` clause."""

    table: Name | Param
    using: Name | None
    tag_names: list[str] | None
    tag_values: list[Expr]
    columns: list[str] | None
    rows: list[list[Expr]]


@dataclass
class Insert:
    targets: list[InsertTarget]


@dataclass
class SelectItem:
    expr: Expr | None  # None = '*'
    alias: str | None
    text: str  # the expression as written: TDengine names unaliased result columns after it


@dataclass
class OrderItem:
    expr: Expr
    desc: bool
    nulls_first: bool | None = None  # None: TDengine's default (first when ASC, last when DESC)


@dataclass
class Select:
    items: list[SelectItem]
    source: Name | Select | None
    distinct: bool = False
    alias: str | None = None
    where: Expr | None = None
    group_by: list[Expr] = field(default_factory=list)
    partition_by: list[Expr] = field(default_factory=list)
    interval: Dur | None = None  # INTERVAL(...) window: see sql/window.py
    interval_offset: Dur | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


@dataclass
class CreateTopic:
    name: str
    if_not_exists: bool
    query: Select
    sql: str  # the AS SELECT text, as SHOW TOPICS prints it


@dataclass
class DropTopic:
    name: str
    if_exists: bool
    force: bool = False


@dataclass
class Show:
    what: str  # databases, tables, stables, create_table, topics
    db: str | None = None
    target: Name | None = None


@dataclass
class Describe:
    target: Name


Statement = (CreateDatabase | DropDatabase | UseDatabase | CreateTable | CreateSubTable | DropTable
             | AlterTable | Insert | Select | Show | Describe | CreateTopic | DropTopic)
