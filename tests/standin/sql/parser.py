"""Recursive-descent parser for the TDengine statements the stand-in supports.

A hand-written parser because general SQL parsers do not know TDengine's USING/TAGS/STABLE
syntax; errors are reported like TDengine's: ``syntax error near "<rest of SQL>"`` (0x2600), or
``Incomplete SQL statement`` (0x2601) when the text ends early.
"""

from __future__ import annotations

from typing import Any

from .. import types as T
from ..errors import incomplete_sql, syntax_error
from . import ast as A
from . import window
from .lexer import Token, tokenize

_TYPES = {
    "bool": T.BOOL, "tinyint": T.TINYINT, "smallint": T.SMALLINT, "int": T.INT, "integer": T.INT,
    "bigint": T.BIGINT, "float": T.FLOAT, "double": T.DOUBLE, "timestamp": T.TIMESTAMP,
    "binary": T.VARCHAR, "varchar": T.VARCHAR, "nchar": T.NCHAR, "varbinary": T.VARBINARY,
    "json": T.JSON, "geometry": T.GEOMETRY, "blob": T.BLOB, "decimal": T.DECIMAL,
}
_UNSIGNED = {T.TINYINT: T.UTINYINT, T.SMALLINT: T.USMALLINT, T.INT: T.UINT, T.BIGINT: T.UBIGINT}
_SIZED = (T.VARCHAR, T.NCHAR, T.VARBINARY, T.GEOMETRY)
_COMPARE = ("=", "!=", "<", "<=", ">", ">=")
# Words that end an expression, so a bare identifier after an expression is not read as an alias.
_CLAUSE_WORDS = {
    "from", "where", "group", "partition", "order", "limit", "offset", "slimit", "soffset", "interval",
    "having", "union", "and", "or", "not", "like", "in", "between", "is", "asc", "desc", "fill",
    "sliding", "session", "state_window", "event_window", "count_window", "nulls", "as", "tags",
    "values", "using", "match", "nmatch",
}


class Parser:
    """Parses one statement; ``params`` (when given) replaces each ``?`` by a literal."""

    def __init__(self, sql: str, params: list[Any] | None = None) -> None:
        self.sql = sql
        self.toks = tokenize(sql)
        self.i = 0
        self.params = params
        self.nparams = 0

    # ------------------------------------------------------------ token helpers

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def error(self, tok: Token | None = None) -> Exception:
        tok = tok or self.tok
        if tok.kind == "eof":
            return incomplete_sql()
        return syntax_error(self.sql[tok.pos:])

    def next(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def accept_kw(self, *words: str) -> bool:
        if self.tok.is_kw(*words):
            self.i += 1
            return True
        return False

    def expect_kw(self, *words: str) -> Token:
        if not self.tok.is_kw(*words):
            raise self.error()
        return self.next()

    def accept_op(self, *ops: str) -> bool:
        if self.tok.is_op(*ops):
            self.i += 1
            return True
        return False

    def expect_op(self, op: str) -> Token:
        if not self.tok.is_op(op):
            raise self.error()
        return self.next()

    def ident(self) -> str:
        if self.tok.kind != "id":
            raise self.error()
        return str(self.next().value)

    def name(self) -> A.Name:
        first = self.ident()
        if self.accept_op("."):
            return A.Name(first, self.ident())
        return A.Name(None, first)

    def int_value(self) -> int:
        neg = self.accept_op("-")
        if self.tok.kind != "int":
            raise self.error()
        value = int(self.next().value)  # type: ignore[arg-type]
        return -value if neg else value

    def paren_list(self, item) -> list:
        self.expect_op("(")
        items = [item()]
        while self.accept_op(","):
            items.append(item())
        self.expect_op(")")
        return items

    # ------------------------------------------------------------ statements

    def statement(self) -> A.Statement:
        tok = self.tok
        if tok.is_kw("select"):
            stmt: A.Statement = self.select()
        elif tok.is_kw("insert"):
            stmt = self.insert()
        elif tok.is_kw("create"):
            stmt = self.create()
        elif tok.is_kw("drop"):
            stmt = self.drop()
        elif tok.is_kw("alter"):
            stmt = self.alter()
        elif tok.is_kw("use"):
            self.next()
            stmt = A.UseDatabase(self.ident())
        elif tok.is_kw("show"):
            stmt = self.show()
        elif tok.is_kw("describe", "desc"):
            self.next()
            stmt = A.Describe(self.name())
        else:
            raise self.error()
        self.accept_op(";")
        if self.tok.kind != "eof":
            raise self.error()
        return stmt

    def if_not_exists(self) -> bool:
        if self.accept_kw("if"):
            self.expect_kw("not")
            self.expect_kw("exists")
            return True
        return False

    def if_exists(self) -> bool:
        if self.accept_kw("if"):
            self.expect_kw("exists")
            return True
        return False

    def create(self) -> A.Statement:
        self.expect_kw("create")
        if self.accept_kw("database"):
            return self.create_database()
        if self.accept_kw("stable"):
            return self.create_table(stable=True)
        if self.accept_kw("topic"):
            return self.create_topic()
        self.expect_kw("table")
        return self.create_table(stable=False)

    def create_database(self) -> A.CreateDatabase:
        stmt = A.CreateDatabase("", self.if_not_exists())
        stmt.name = self.ident()
        while self.tok.kind == "id" and not self.tok.quoted:
            option = self.ident()
            self.accept_op("=")
            value = self.option_value()
            if option == "precision":
                if value not in ("ms", "us", "ns"):
                    raise syntax_error(self.sql[self.toks[self.i - 1].pos:])
                stmt.precision = str(value)
        return stmt

    def create_topic(self) -> A.CreateTopic:
        """CREATE TOPIC [IF NOT EXISTS] name AS SELECT ... (query topics only)."""
        if_not_exists = self.if_not_exists()
        name = self.ident()
        self.expect_kw("as")
        start = self.tok.pos
        if not self.tok.is_kw("select"):
            raise self.error()  # AS DATABASE / AS STABLE topics are not served (README)
        query = self.select()
        return A.CreateTopic(name, if_not_exists, query, self.sql[start:].strip().rstrip(";"))

    def option_value(self) -> Any:
        """One option value, or a comma-separated list of them (KEEP 3650,3650,3650)."""
        tok = self.next()
        if tok.kind in ("eof",) or tok.is_op("(", ")", ","):
            raise self.error(tok)
        while self.tok.is_op(","):
            self.next()
            self.next()
        return tok.value

    def create_table(self, stable: bool) -> A.Statement:
        if_not_exists = self.if_not_exists()
        target = self.name()
        if not stable and self.accept_kw("using"):
            return self.create_sub_table(target, if_not_exists)
        columns = self.paren_list(self.column_def)
        tags = None
        if self.accept_kw("tags"):
            tags = self.paren_list(self.tag_def)
        elif stable:
            raise self.error()
        self.table_options()
        return A.CreateTable(target, if_not_exists, columns, tags)

    def create_sub_table(self, target: A.Name, if_not_exists: bool) -> A.CreateSubTable:
        stable = self.name()
        tag_names = self.paren_list(self.ident) if self.tok.is_op("(") else None
        self.expect_kw("tags")
        values = self.paren_list(self.expr)
        self.table_options()
        return A.CreateSubTable(target, if_not_exists, stable, tag_names, values)

    def table_options(self) -> None:
        """Skip table options such as TTL 10, COMMENT 'x', SMA(...): accepted and ignored."""
        while self.tok.kind == "id" and not self.tok.quoted:
            self.next()
            if self.tok.is_op("("):
                self.paren_list(self.expr)
            else:
                self.option_value()

    def column_def(self) -> A.ColumnDef:
        column = self.type_spec(self.ident())
        self.column_options()
        return column

    def tag_def(self) -> A.ColumnDef:
        """A tag is defined as a column, but DECIMAL is a column type only (TDengine 3.3.6)."""
        type_token = self.toks[self.i + 1]
        column = self.column_def()
        if column.type in T.DECIMAL_TYPES:
            raise self.error(type_token)
        return column

    def column_options(self) -> None:
        """ENCODE/COMPRESS/LEVEL/COMMENT 'x' and PRIMARY KEY after a column's type: ignored."""
        while self.tok.is_kw("encode", "compress", "level", "comment", "primary", "key"):
            word = self.next()
            if not word.is_kw("primary", "key"):
                self.option_value()

    def type_spec(self, name: str = "") -> A.ColumnDef:
        """A type as in CREATE TABLE or CAST: INT [UNSIGNED], VARCHAR(n), NCHAR(n), DECIMAL(p[, s]), ..."""
        tok = self.tok
        type_name = self.ident()
        if tok.quoted or type_name not in _TYPES:
            raise self.error(tok)
        td_type = _TYPES[type_name]
        if td_type in _UNSIGNED and self.accept_kw("unsigned"):
            td_type = _UNSIGNED[td_type]
        if td_type is T.DECIMAL:
            return self.decimal_spec(name, tok)
        length = td_type.size
        if td_type in _SIZED:
            self.expect_op("(")
            length = self.int_value()
            self.expect_op(")")
        elif td_type is T.JSON:
            length = 4095
        elif td_type is T.BLOB:
            length = T.BLOB_MAX_LEN
        return A.ColumnDef(name, td_type, length)

    def decimal_spec(self, name: str, tok: Token) -> A.ColumnDef:
        """DECIMAL(p[, s]): 1 <= p <= 38, 0 <= s <= p; 64 bits up to 18 digits, 128 above."""
        self.expect_op("(")
        precision, scale = self.int_value(), 0
        if self.accept_op(","):
            scale = self.int_value()
        self.expect_op(")")
        if not (1 <= precision <= T.DECIMAL_MAX_PRECISION and 0 <= scale <= precision):
            raise self.error(tok)
        td_type = T.decimal_type(precision)
        return A.ColumnDef(name, td_type, td_type.size, precision, scale)

    def drop(self) -> A.Statement:
        self.expect_kw("drop")
        if self.accept_kw("database"):
            if_exists = self.if_exists()
            return A.DropDatabase(self.ident(), if_exists)
        if self.accept_kw("topic"):
            if_exists = self.if_exists()
            force = self.accept_kw("force")
            return A.DropTopic(self.ident(), if_exists, force)
        stable = bool(self.expect_kw("table", "stable").value == "stable")
        if_exists = self.if_exists()
        return A.DropTable(self.name(), if_exists, stable)

    def alter(self) -> A.AlterTable:
        """ALTER TABLE|STABLE t ADD COLUMN|TAG name type, or DROP COLUMN|TAG name."""
        self.expect_kw("alter")
        stable = self.expect_kw("table", "stable").value == "stable"
        target = self.name()
        action = str(self.expect_kw("add", "drop").value)
        tag = self.expect_kw("column", "tag").value == "tag"
        if action == "drop":
            return A.AlterTable(target, stable, action, tag, self.ident())
        column = self.tag_def() if tag else self.column_def()
        return A.AlterTable(target, stable, action, tag, column.name, column)

    def show(self) -> A.Show:
        self.expect_kw("show")
        if self.accept_kw("databases"):
            return A.Show("databases")
        if self.accept_kw("topics"):
            return A.Show("topics")
        if self.accept_kw("create"):
            self.expect_kw("table", "stable")
            return A.Show("create_table", target=self.name())
        db = None
        if self.tok.kind == "id" and self.toks[self.i + 1].is_op("."):
            db = self.ident()
            self.expect_op(".")
        word = self.expect_kw("tables", "stables")
        return A.Show(str(word.value), db=db)

    # ------------------------------------------------------------ INSERT

    def insert(self) -> A.Insert:
        self.expect_kw("insert")
        self.expect_kw("into")
        targets = [self.insert_target()]
        while self.tok.kind == "id" or self.tok.is_op("?"):
            targets.append(self.insert_target())
        return A.Insert(targets)

    def insert_target(self) -> A.InsertTarget:
        table: A.Name | A.Param = self.param() if self.tok.is_op("?") else self.name()  # type: ignore[assignment]
        target = A.InsertTarget(table, None, None, [], None, [])
        if self.accept_kw("using"):
            target.using = self.name()
            if self.tok.is_op("("):
                target.tag_names = self.paren_list(self.ident)
            self.expect_kw("tags")
            target.tag_values = self.paren_list(self.expr)
        if self.tok.is_op("("):
            target.columns = self.paren_list(self.ident)
        self.expect_kw("values")
        target.rows.append(self.paren_list(self.expr))
        while self.tok.is_op("("):
            target.rows.append(self.paren_list(self.expr))
        return target

    def param(self) -> A.Expr:
        tok = self.expect_op("?")
        index = self.nparams
        self.nparams += 1
        if self.params is None:
            return A.Param(index, pos=tok.pos)
        if index >= len(self.params):
            raise self.error(tok)
        return literal(self.params[index], tok.pos)

    # ------------------------------------------------------------ SELECT

    def select(self) -> A.Select:
        self.expect_kw("select")
        distinct = self.accept_kw("distinct")
        items = [self.select_item()]
        while self.accept_op(","):
            items.append(self.select_item())
        stmt = A.Select(items, None, distinct)
        if self.accept_kw("from"):
            self.from_clause(stmt)
        if self.accept_kw("where"):
            stmt.where = self.expr()
        if self.accept_kw("partition"):
            self.expect_kw("by")
            stmt.partition_by = self.expr_list()
        if self.accept_kw("interval"):
            stmt.interval, stmt.interval_offset = window.interval_clause(self)
        if self.accept_kw("group"):
            self.expect_kw("by")
            stmt.group_by = self.expr_list()
        if self.accept_kw("order"):
            self.expect_kw("by")
            stmt.order_by = [self.order_item()]
            while self.accept_op(","):
                stmt.order_by.append(self.order_item())
        if self.accept_kw("limit"):
            self.limit_clause(stmt)
        return stmt

    def from_clause(self, stmt: A.Select) -> None:
        if self.accept_op("("):
            stmt.source = self.select()
            self.expect_op(")")
        else:
            stmt.source = self.name()
        if self.accept_kw("as") or self.at_alias():
            stmt.alias = self.ident()

    def limit_clause(self, stmt: A.Select) -> None:
        first = self.int_value()
        if self.accept_op(","):
            stmt.offset, stmt.limit = first, self.int_value()
        else:
            stmt.limit = first
            if self.accept_kw("offset"):
                stmt.offset = self.int_value()

    def expr_list(self) -> list[A.Expr]:
        items = [self.expr()]
        while self.accept_op(","):
            items.append(self.expr())
        return items

    def order_item(self) -> A.OrderItem:
        expr = self.expr()
        desc = bool(self.accept_kw("desc"))
        if not desc:
            self.accept_kw("asc")
        nulls_first = None
        if self.accept_kw("nulls"):
            nulls_first = self.expect_kw("first", "last").value == "first"
        return A.OrderItem(expr, desc, nulls_first)

    def select_item(self) -> A.SelectItem:
        start = self.tok
        if self.accept_op("*"):
            return A.SelectItem(None, None, "*")
        expr = self.expr()
        text = self.sql[start.pos:self.toks[self.i - 1].end]
        alias = self.ident() if self.accept_kw("as") or self.at_alias() else None
        return A.SelectItem(expr, alias, text)

    def at_alias(self) -> bool:
        """A bare identifier that is not a clause keyword is an alias (``SELECT v x FROM t``)."""
        return self.tok.kind == "id" and (self.tok.quoted or self.tok.value not in _CLAUSE_WORDS)

    # ------------------------------------------------------------ expressions

    def expr(self) -> A.Expr:
        left = self.and_expr()
        while self.tok.is_kw("or"):
            pos = self.next().pos
            left = A.Bin("or", left, self.and_expr(), pos=pos)
        return left

    def and_expr(self) -> A.Expr:
        left = self.not_expr()
        while self.tok.is_kw("and"):
            pos = self.next().pos
            left = A.Bin("and", left, self.not_expr(), pos=pos)
        return left

    def not_expr(self) -> A.Expr:
        if self.tok.is_kw("not"):
            pos = self.next().pos
            return A.Unary("not", self.not_expr(), pos=pos)
        return self.comparison()

    def comparison(self) -> A.Expr:
        left = self.additive()
        pos = self.tok.pos
        if self.tok.is_op(*_COMPARE):
            op = str(self.next().value)
            return A.Bin(op, left, self.additive(), pos=pos)
        if self.accept_kw("is"):
            negated = self.accept_kw("not")
            self.expect_kw("null")
            return A.IsNull(left, negated, pos=pos)
        negated = self.accept_kw("not")
        if self.accept_kw("like"):
            return A.Like(left, self.additive(), negated, pos=pos)
        if self.accept_kw("in"):
            return A.In(left, self.paren_list(self.additive), negated, pos=pos)
        if self.accept_kw("between"):
            low = self.additive()
            self.expect_kw("and")
            return A.Between(left, low, self.additive(), negated, pos=pos)
        if negated:
            raise self.error()
        return left

    def additive(self) -> A.Expr:
        left = self.multiplicative()
        while self.tok.is_op("+", "-"):
            tok = self.next()
            left = A.Bin(str(tok.value), left, self.multiplicative(), pos=tok.pos)
        return left

    def multiplicative(self) -> A.Expr:
        left = self.unary()
        while self.tok.is_op("*", "/", "%"):
            tok = self.next()
            left = A.Bin(str(tok.value), left, self.unary(), pos=tok.pos)
        return left

    def unary(self) -> A.Expr:
        if self.tok.is_op("-", "+"):
            tok = self.next()
            operand = self.unary()
            if tok.value == "+":
                return operand
            if isinstance(operand, A.Lit) and operand.kind in ("int", "float"):
                return A.Lit(-operand.value, operand.kind, pos=tok.pos)
            return A.Unary("neg", operand, pos=tok.pos)
        return self.primary()

    def primary(self) -> A.Expr:
        tok = self.tok
        if tok.kind in ("int", "float", "str"):
            self.next()
            return A.Lit(tok.value, tok.kind, pos=tok.pos)
        if tok.kind == "dur":
            self.next()
            n, unit = tok.value  # type: ignore[misc]
            return A.Dur(n, unit, pos=tok.pos)
        if tok.is_op("?"):
            return self.param()
        if tok.is_op("("):
            self.next()
            inner = self.expr()
            self.expect_op(")")
            return inner
        if tok.kind != "id":
            raise self.error()
        return self.identifier_expr()

    def identifier_expr(self) -> A.Expr:
        tok = self.next()
        word = str(tok.value)
        if not tok.quoted:
            if word in ("true", "false"):
                return A.Lit(word == "true", "bool", pos=tok.pos)
            if word == "null":
                return A.Lit(None, "null", pos=tok.pos)
            if word in ("now", "today") and not self.tok.is_op("("):
                if word == "today":
                    raise self.error(tok)
                return A.Now(pos=tok.pos)
            if self.tok.is_op("("):
                return self.function(word, tok)
        if self.accept_op("."):
            column = self.next()
            if column.kind != "id" and not column.is_op("*"):
                raise self.error(column)
            return A.Col(str(column.value), word, pos=tok.pos)
        return A.Col(word, pos=tok.pos)

    def function(self, name: str, tok: Token) -> A.Expr:
        self.expect_op("(")
        if name in ("now", "today"):
            self.expect_op(")")
            return A.Now(today=name == "today", pos=tok.pos)
        if name == "cast":
            operand = self.expr()
            self.expect_kw("as")
            target = self.type_spec()
            self.expect_op(")")
            return A.Cast(operand, target.type, target.length, pos=tok.pos)
        if self.accept_op("*"):
            self.expect_op(")")
            return A.Func(name, [], star=True, pos=tok.pos)
        args: list[A.Expr] = []
        if not self.tok.is_op(")"):
            args = self.expr_list()
        self.expect_op(")")
        return A.Func(name, args, pos=tok.pos)


def literal(value: Any, pos: int = -1) -> A.Lit:
    """A literal node for a bound parameter value."""
    if value is None:
        return A.Lit(None, "null", pos=pos)
    if isinstance(value, bool):
        return A.Lit(value, "bool", pos=pos)
    if isinstance(value, int):
        return A.Lit(value, "int", pos=pos)
    if isinstance(value, float):
        return A.Lit(value, "float", pos=pos)
    if isinstance(value, (bytes, bytearray)):
        return A.Lit(bytes(value), "bytes", pos=pos)
    return A.Lit(str(value), "str", pos=pos)


def parse(sql: str, params: list[Any] | None = None) -> tuple[A.Statement, int]:
    """Parse one statement; returns it with the number of ``?`` placeholders seen."""
    parser = Parser(sql, params)
    if parser.tok.kind == "eof":
        raise parser.error()
    stmt = parser.statement()
    return stmt, parser.nparams
