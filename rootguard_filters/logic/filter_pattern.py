"""CloudWatch Logs filter patterns: parse them and evaluate them against a log event.

``{ ... }`` JSON patterns are parsed here; term patterns (words, quoted phrases, ``?term``, ``-term``,
``%regex%``) and space-delimited ``[...]`` patterns are parsed in ``text_pattern`` and match the
event's text. ``parse`` accepts every form; only syntax CloudWatch Logs rejects raises
FilterPatternError.

Semantics follow the AWS CloudWatch Logs guide ("Filter pattern syntax", JSON log events section) and,
where it is silent, behaviour observed on real AWS; each choice is noted where it is made.
"""
import json
import re
from dataclasses import dataclass
from typing import Union

from rootguard_filters.logic import cwl_regex, text_pattern
from rootguard_filters.logic.pattern_errors import FilterPatternError
from rootguard_filters.logic.pattern_values import (
    MAX_REGEXES, NUMBER, NumberValue, RegexValue, StringValue, read_quoted, wildcard_match,
)

# PutMetricFilter rejects longer patterns; also bounds parser work on hostile input.
MAX_PATTERN_LENGTH = 1024
# Keeps recursion far below Python's limit whatever the nesting.
MAX_NESTING = 50

RELATIONAL_OPERATORS = ("<", ">", "<=", ">=")
IS_NULL, NOT_EXISTS, IS_TRUE, IS_FALSE = "IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE"

# Property names: the guide allows alphanumerics, '-' and '_'.
_PROPERTY = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"\[(\d+)\]")
# Characters that end a bare (unquoted) value.
_BARE_STOP = set(" \t\r\n(){}\"&|=!<>")


@dataclass(frozen=True)
class Selector:
    """``$.a.b[0]``: ``path`` holds property names (str) and array indexes (int)."""
    path: tuple
    text: str


@dataclass(frozen=True)
class Comparison:
    selector: Selector
    operator: str
    value: Union[StringValue, NumberValue, RegexValue]


@dataclass(frozen=True)
class Check:
    """A unary test: IS NULL, NOT EXISTS, IS TRUE or IS FALSE."""
    selector: Selector
    check: str


@dataclass(frozen=True)
class And:
    terms: tuple


@dataclass(frozen=True)
class Or:
    terms: tuple


@dataclass(frozen=True)
class Not:
    """Negation; never produced by the parser (the syntax has none), used by the coverage decision."""
    term: object


Node = Union[Comparison, Check, And, Or, Not]


@dataclass(frozen=True)
class _Token:
    kind: str  # selector, string, bare, op, keyword, and, or, lparen, rparen
    text: str
    position: int


def _tokenize(body: str, offset: int) -> list:
    """Split the inside of ``{ ... }``; ``offset`` makes positions refer to the whole pattern."""
    tokens = []
    i = 0
    while i < len(body):
        char = body[i]
        position = offset + i
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token("lparen" if char == "(" else "rparen", char, position))
            i += 1
        elif body.startswith("&&", i) or body.startswith("||", i):
            tokens.append(_Token("and" if char == "&" else "or", body[i:i + 2], position))
            i += 2
        elif char in "=!<>":
            operator = body[i:i + 2] if body[i:i + 2] in ("!=", "<=", ">=") else char
            if operator == "!":
                raise FilterPatternError("'!' must be followed by '='", position)
            tokens.append(_Token("op", operator, position))
            i += len(operator)
        elif char == '"':
            text, i = read_quoted(body, i, offset)
            tokens.append(_Token("string", text, position))
        elif char == "%":
            text, i = cwl_regex.read_regex(body, i, offset)
            tokens.append(_Token("regex", text, position))
        elif char in "&|{}":
            raise FilterPatternError(f"unexpected {char!r}", position)
        else:
            end = i + 1
            while end < len(body) and body[end] not in _BARE_STOP:
                end += 1
            tokens.append(_Token("selector" if char == "$" else "bare", body[i:end], position))
            i = end
    return tokens


def _parse_selector(token: _Token) -> Selector:
    text = token.text
    path = []
    i = 1
    while i < len(text):
        if text[i] == "." and (match := _PROPERTY.match(text, i + 1)):
            path.append(match.group())
        elif text[i] == "[" and path and (match := _INDEX.match(text, i)):
            path.append(int(match.group(1)))
        else:
            raise FilterPatternError(f"malformed selector {text!r}", token.position + i)
        i = match.end()
    if not path:
        raise FilterPatternError(f"selector {text!r} names no property", token.position)
    return Selector(tuple(path), text)


class _Parser:
    """Recursive descent; precedence is ( ) over && over ||, as the guide states."""

    def __init__(self, tokens: list, end_position: int):
        self.tokens = tokens
        self.index = 0
        self.end_position = end_position
        self.depth = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def position(self) -> int:
        token = self.peek()
        return token.position if token else self.end_position

    def take(self):
        token = self.peek()
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterPatternError("empty JSON pattern", self.end_position)
        node = self.parse_or()
        if self.peek() is not None:
            token = self.peek()
            raise FilterPatternError(f"unexpected {token.text!r}", token.position)
        return node

    def parse_or(self) -> Node:
        terms = [self.parse_and()]
        while self.peek() and self.peek().kind == "or":
            self.take()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def parse_and(self) -> Node:
        terms = [self.parse_primary()]
        while self.peek() and self.peek().kind == "and":
            self.take()
            terms.append(self.parse_primary())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def parse_primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise FilterPatternError("expected a condition", self.end_position)
        if token.kind == "lparen":
            if self.depth >= MAX_NESTING:
                raise FilterPatternError("parentheses nested too deeply", token.position)
            self.take()
            self.depth += 1
            node = self.parse_or()
            self.depth -= 1
            closing = self.take()
            if closing is None or closing.kind != "rparen":
                raise FilterPatternError("missing ')'", closing.position if closing else self.end_position)
            return node
        if token.kind != "selector":
            raise FilterPatternError(f"expected a selector such as $.field, found {token.text!r}", token.position)
        selector = _parse_selector(self.take())
        return self.parse_condition(selector)

    def parse_condition(self, selector: Selector) -> Node:
        token = self.take()
        if token is None:
            raise FilterPatternError(f"missing operator after {selector.text}", self.end_position)
        if token.kind == "bare" and token.text in ("IS", "NOT"):
            return self.parse_keyword_check(selector, token)
        if token.kind != "op":
            raise FilterPatternError(f"unknown operator {token.text!r}", token.position)
        value_token = self.take()
        if value_token is None or value_token.kind not in ("string", "bare", "regex"):
            position = value_token.position if value_token else self.end_position
            raise FilterPatternError(f"missing value after {token.text!r}", position)
        value = _value(value_token)
        if token.text in RELATIONAL_OPERATORS and not isinstance(value, NumberValue):
            raise FilterPatternError(f"{token.text!r} needs a number, found {value_token.text!r}",
                                     value_token.position)
        return Comparison(selector, token.text, value)

    def parse_keyword_check(self, selector: Selector, first: _Token) -> Node:
        # Keywords are matched in upper case only, as AWS documents them.
        second = self.take()
        phrase = f"{first.text} {second.text}" if second and second.kind == "bare" else first.text
        if phrase not in (IS_NULL, NOT_EXISTS, IS_TRUE, IS_FALSE):
            raise FilterPatternError(f"unknown operator {phrase!r}", first.position)
        return Check(selector, phrase)


def _value(token: _Token):
    if token.kind == "regex":
        return RegexValue(token.text)
    # Only an unquoted literal can be a number: "400" in quotes stays a string.
    if token.kind == "bare" and NUMBER.match(token.text):
        return NumberValue(float(token.text), token.text)
    return StringValue(token.text)


def parse(pattern: str):
    """Parse any filter pattern: a JSON AST (And/Or/Comparison/Check), or a ``text_pattern``
    TermPattern / DelimitedPattern; FilterPatternError for syntax CloudWatch Logs rejects."""
    if not isinstance(pattern, str):
        raise FilterPatternError("pattern must be a string", 0)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterPatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters", MAX_PATTERN_LENGTH)
    stripped = pattern.strip()
    if stripped.startswith("{"):
        return parse_json(pattern)
    if stripped.startswith("["):
        return text_pattern.parse_delimited(pattern)
    return text_pattern.parse_terms(pattern)


def parse_json(pattern: str) -> Node:
    """Parse a ``{ ... }`` JSON filter pattern into an AST, or raise FilterPatternError."""
    if not isinstance(pattern, str):
        raise FilterPatternError("pattern must be a string", 0)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterPatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters", MAX_PATTERN_LENGTH)
    stripped = pattern.strip()
    start = len(pattern) - len(pattern.lstrip())
    if not stripped or stripped[0] != "{":
        raise FilterPatternError("not a JSON pattern: it must start with '{'", start)
    end = start + len(stripped) - 1
    if stripped[-1] != "}":
        last_brace = pattern.rfind("}")
        if last_brace > start:
            raise FilterPatternError("unexpected text after the closing '}'", last_brace + 1)
        raise FilterPatternError("missing closing '}'", end + 1)
    body = pattern[start + 1:end]
    tokens = _tokenize(body, start + 1)
    regexes = [token for token in tokens if token.kind == "regex"]
    if len(regexes) > MAX_REGEXES:
        raise FilterPatternError(f"more than {MAX_REGEXES} regular expressions in one pattern",
                                 regexes[MAX_REGEXES].position)
    return _Parser(tokens, end).parse()


_MISSING = object()


def _resolve(event, path: tuple):
    """Follow ``path``; _MISSING when a step is absent, out of range or of the wrong container type."""
    node = event
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return _MISSING
        elif not isinstance(node, dict) or step not in node:
            return _MISSING
        node = node[step]
    return node


def _number_text(value) -> str:
    return str(value) if isinstance(value, int) else repr(value)


def _equals(value, literal) -> bool:
    if isinstance(literal, RegexValue):
        return literal.compiled.search(value if isinstance(value, str) else _number_text(value)) is not None
    if isinstance(value, str):
        # An unquoted number compares with a string field by its text: { $.recipientAccountId = 123456789012 }.
        return wildcard_match(literal.text, value)
    if isinstance(literal, NumberValue):
        return value == literal.value
    # { $.latency = * } is documented to match a number; other wildcards see the number's JSON text.
    return wildcard_match(literal.text, _number_text(value))


def _is_value_node(value) -> bool:
    # The guide: the selector must reach a string or number; on an array or object both '=' and '!='
    # fail. We treat null and booleans the same (they have IS NULL / IS TRUE / IS FALSE instead),
    # and a missing property too: real AWS does not match '!=' on an absent field (a TestMetricFilter
    # run is reported in github.com/DataBiosphere/azul issue 5884; the guide is silent).
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _compare(node: Comparison, event) -> bool:
    value = _resolve(event, node.selector.path)
    if not _is_value_node(value):
        return False
    if node.operator == "=":
        return _equals(value, node.value)
    if node.operator == "!=":
        return not _equals(value, node.value)
    # Relational operators compare numbers only; a numeric-looking string field does not count.
    if isinstance(value, str):
        return False
    limit = node.value.value
    return {"<": value < limit, ">": value > limit, "<=": value <= limit, ">=": value >= limit}[node.operator]


def _check(node: Check, event) -> bool:
    value = _resolve(event, node.selector.path)
    if node.check == NOT_EXISTS:
        return value is _MISSING
    if node.check == IS_NULL:
        # Only an explicit null; a missing property is NOT EXISTS, not IS NULL.
        return value is None
    # Booleans only: the string "true" is not IS TRUE.
    return value is True if node.check == IS_TRUE else value is False


def evaluate(ast, event) -> bool:
    """True when ``event`` (a decoded JSON log event, or raw text) matches the parsed pattern."""
    if hasattr(ast, "matches_text"):   # term and space-delimited patterns read the event's text
        return ast.matches_text(event_text(event))
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError:
            return False   # a JSON pattern matches JSON events only
    return _evaluate_json(ast, event)


def event_text(event) -> str:
    """The text CloudWatch Logs holds for an event: CloudTrail delivers compact JSON."""
    return event if isinstance(event, str) else json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _evaluate_json(ast: Node, event) -> bool:
    if isinstance(ast, Not):
        return not _evaluate_json(ast.term, event)
    if isinstance(ast, And):
        return all(_evaluate_json(term, event) for term in ast.terms)
    if isinstance(ast, Or):
        return any(_evaluate_json(term, event) for term in ast.terms)
    if isinstance(ast, Comparison):
        return _compare(ast, event)
    return _check(ast, event)


def matches(pattern: str, event: dict) -> bool:
    """Parse ``pattern`` and evaluate it against ``event``."""
    return evaluate(parse(pattern), event)
