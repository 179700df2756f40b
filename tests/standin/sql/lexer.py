"""Tokenizer for the TDengine SQL subset the stand-in understands.

Every token remembers its offset in the statement because TDengine's syntax errors quote the
rest of the SQL text from the offending token (``syntax error near "<rest>"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import syntax_error

DURATION_UNITS = "bmuasdhw"  # TDengine units usable outside INTERVAL (n, y are INTERVAL-only)

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+|--[^\n]*)
  | (?P<dur>\d+[bmuasdhw](?![A-Za-z0-9_]))
  | (?P<float>(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<int>0[xX][0-9a-fA-F]+|\d+)
  | (?P<id>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<bq>`(?:[^`]|``)*`)
  | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<op><=|>=|!=|<>|\|\||[-+*/%=<>(),.;?])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


@dataclass(frozen=True)
class Token:
    """``kind`` is one of id, str, int, float, dur, op, eof; ``quoted`` marks a backticked id."""

    kind: str
    value: object
    pos: int
    end: int
    quoted: bool = False

    def is_kw(self, *words: str) -> bool:
        """True for an unquoted identifier spelling one of ``words`` (keywords are case-insensitive)."""
        return self.kind == "id" and not self.quoted and self.value in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops


def _unquote_string(text: str) -> str:
    """Strip quotes and resolve backslash escapes and doubled quotes the way TDengine's trimString does."""
    delim, body, out, i = text[0], text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == delim and i + 1 < len(body) and body[i + 1] == delim:
            out.append(delim)
            i += 2
        elif ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append("\\" + nxt if nxt in "%_" else _ESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def tokenize(sql: str) -> list[Token]:
    """Split ``sql`` into tokens; identifiers are folded to lower case unless backticked."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(sql):
        m = _TOKEN_RE.match(sql, pos)
        if m is None:
            raise syntax_error(sql[pos:])
        kind, text, end = m.lastgroup, m.group(), m.end()
        if kind == "ws":
            pass
        elif kind == "dur":
            tokens.append(Token("dur", (int(text[:-1]), text[-1]), pos, end))
        elif kind == "float":
            tokens.append(Token("float", float(text), pos, end))
        elif kind == "int":
            tokens.append(Token("int", int(text, 0), pos, end))
        elif kind == "id":
            tokens.append(Token("id", text.lower(), pos, end))
        elif kind == "bq":
            tokens.append(Token("id", text[1:-1].replace("``", "`"), pos, end, quoted=True))
        elif kind == "str":
            tokens.append(Token("str", _unquote_string(text), pos, end))
        else:
            tokens.append(Token("op", "!=" if text == "<>" else text, pos, end))
        pos = end
    tokens.append(Token("eof", None, len(sql), len(sql)))
    return tokens

