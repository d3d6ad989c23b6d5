"""Skip-rule and level-condition expressions: tokenizer, recursive-descent parser, evaluator.

The language is deliberately small and never reaches Python's ``eval``::

    expr       := disjunct ("or" disjunct)*
    disjunct   := negation ("and" negation)*
    negation   := "not" negation | "(" expr ")" | comparison
    comparison := value ( ("=="|"!="|"<"|"<="|">"|">=") value | ["not"] "in" list )
    value      := NAME | STRING | NUMBER
    list       := "[" [literal ("," literal)*] "]"

Names are question ids (letters, digits, ``_`` and ``-``, starting with a letter). A missing answer
(unanswered, skipped or hidden) is ``None``: every comparison with it is false except ``!=`` and
``not in``, which are true. Must not import the bot, the database, any platform library or other
``conversations`` modules.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Value = str | float | None
Lookup = Callable[[str], Value]

KEYWORDS = frozenset({"and", "or", "not", "in"})
_ORDERING: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_COMPARE_OPS = frozenset({"==", "!=", *_ORDERING})
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      | (?P<name>[A-Za-z][A-Za-z0-9_-]*)""",
    re.VERBOSE,
)


class ExprError(ValueError):
    """A syntax error; ``str()`` says what was expected and at which 1-based column."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} at column {column}")
        self.column = column


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "number" | "string" | "op" | "name" | "keyword" | "end"
    text: str
    column: int


@dataclass(frozen=True, slots=True)
class Name:
    id: str


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | float


Operand = Name | Literal


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Member:
    operand: Operand
    items: tuple[str | float, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Junction:
    op: str  # "and" | "or"
    items: tuple[Node, ...]


Node = Compare | Member | Not | Junction


@dataclass(frozen=True)
class Expr:
    """A parsed expression with the text it came from (kept for diagrams and messages)."""

    source: str
    root: Node
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The engine asks for names on every step; the tree never changes, so walk it once.
        names = tuple(dict.fromkeys(name for _, name, _ in _pairs(self.root)))
        object.__setattr__(self, "_names", names)

    def names(self) -> list[str]:
        """Return the names referred to, once each, in order of appearance."""
        return list(self._names)

    def literals(self) -> Iterator[tuple[str, str, str | float]]:
        """Yield (operator, name, literal) for each name compared with a literal."""
        for op, name, literal in _pairs(self.root):
            if literal is not None:
                yield op, name, literal

    def evaluate(self, lookup: Lookup) -> bool:
        """Return whether the expression holds for the answers ``lookup`` gives."""
        return _eval(self.root, lookup)


def parse(source: str) -> Expr:
    """Parse ``source``; raise ExprError naming the column of the first problem."""
    parser = _Parser(tokenize(source))
    root = parser.expression()
    parser.expect_end()
    return Expr(source, root)


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens, ending with an "end" token."""
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            if source[position] in "'\"":
                raise ExprError("unterminated string", position + 1)
            raise ExprError(f"unexpected character {source[position]!r}", position + 1)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "name" and text in KEYWORDS:
            kind = "keyword"
        if kind != "space":
            tokens.append(Token(kind, text, position + 1))
        position = match.end()
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def accept(self, text: str) -> bool:
        if self.token.kind in ("op", "keyword") and self.token.text == text:
            self.take()
            return True
        return False

    def fail(self, expected: str) -> ExprError:
        found = "the end" if self.token.kind == "end" else repr(self.token.text)
        return ExprError(f"expected {expected}, found {found}", self.token.column)

    def expect_end(self) -> None:
        if self.token.kind != "end":
            raise self.fail("'and', 'or' or the end")

    def expression(self) -> Node:
        return self.junction("or", self.disjunct)

    def disjunct(self) -> Node:
        return self.junction("and", self.negation)

    def junction(self, op: str, part: Callable[[], Node]) -> Node:
        items = [part()]
        while self.accept(op):
            items.append(part())
        return items[0] if len(items) == 1 else Junction(op, tuple(items))

    def negation(self) -> Node:
        if self.accept("not"):
            return Not(self.negation())
        if self.accept("("):
            inner = self.expression()
            if not self.accept(")"):
                raise self.fail("')'")
            return inner
        return self.comparison()

    def comparison(self) -> Node:
        left = self.value()
        if self.token.kind == "op" and self.token.text in _COMPARE_OPS:
            op = self.take().text
            return Compare(op, left, self.value())
        negated = self.accept("not")
        if not self.accept("in"):
            raise self.fail("'in'" if negated else "a comparison operator or 'in'")
        return Member(left, self.items(), negated)

    def value(self) -> Operand:
        token = self.token
        if token.kind == "name":
            self.take()
            return Name(token.text)
        if token.kind in ("string", "number"):
            return Literal(self.literal())
        raise self.fail("a question id, a 'string' or a number")

    def literal(self) -> str | float:
        token = self.token
        if token.kind == "string":
            self.take()
            return token.text[1:-1]
        if token.kind == "number":
            self.take()
            return float(token.text)
        raise self.fail("a 'string' or a number")

    def items(self) -> tuple[str | float, ...]:
        if not self.accept("["):
            raise self.fail("'['")
        found: list[str | float] = []
        if self.accept("]"):
            return ()
        found.append(self.literal())
        while self.accept(","):
            found.append(self.literal())
        if not self.accept("]"):
            raise self.fail("',' or ']'")
        return tuple(found)


def _pairs(node: Node) -> Iterator[tuple[str, str, str | float | None]]:
    """Yield (operator, name, literal or None) for every name in the tree, left to right."""
    if isinstance(node, Compare):
        for mine, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(mine, Name):
                yield node.op, mine.id, other.value if isinstance(other, Literal) else None
    elif isinstance(node, Member):
        if isinstance(node.operand, Name):
            for literal in node.items or (None,):
                yield "in", node.operand.id, literal
    elif isinstance(node, Not):
        yield from _pairs(node.operand)
    else:
        for part in node.items:
            yield from _pairs(part)


def _eval(node: Node, lookup: Lookup) -> bool:
    if isinstance(node, Compare):
        return _compare(node.op, _resolve(node.left, lookup), _resolve(node.right, lookup))
    if isinstance(node, Member):
        value = _resolve(node.operand, lookup)
        found = value is not None and any(_equal(value, item) for item in node.items)
        return found != node.negated
    if isinstance(node, Not):
        return not _eval(node.operand, lookup)
    if node.op == "and":
        return all(_eval(item, lookup) for item in node.items)
    return any(_eval(item, lookup) for item in node.items)


def _resolve(operand: Operand, lookup: Lookup) -> Value:
    return lookup(operand.id) if isinstance(operand, Name) else operand.value


def _compare(op: str, left: Value, right: Value) -> bool:
    if left is None or right is None:
        return op == "!="
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    # Ordering is defined for numbers only; a text answer is never "less than" anything.
    if isinstance(left, float) and isinstance(right, float):
        return _ORDERING[op](left, right)
    return False


def _equal(left: str | float, right: str | float) -> bool:
    return type(left) is type(right) and left == right
