"""CloudWatch Logs filter patterns that match an event's text: term patterns and ``[...]`` patterns.

Term patterns (the guide's "Matching terms in unstructured log events"): words and ``"quoted
phrases"`` that must all appear, ``-term`` exclusions, ``?term`` alternatives (any one must
appear), ``%regex%`` terms; the empty pattern matches every event. Matching is case-sensitive.

Space-delimited patterns ``[f1, f2 = value, ..., fn]``: the event's text splits on spaces into
fields ("..." and [...] groups count as one field); each named field may carry a condition
(=, !=, <, <=, >, >= with numbers, wildcards or %regex%, joined by && or ||); ``...`` stands for any
number of fields.

Where the guide is silent - whether a term must be a whole word or any substring - ``semantics``
chooses: ``"substring"`` (the default) or ``"word"`` (bounded by non-alphanumerics). The coverage
decision only proves what holds under both, and checks every counterexample under both.
"""
import re
from dataclasses import dataclass

from rootguard_filters.logic import cwl_regex
from rootguard_filters.logic.pattern_errors import FilterPatternError
from rootguard_filters.logic.pattern_values import (
    MAX_REGEXES, NUMBER, NumberValue, RegexValue, StringValue, read_quoted, wildcard_match,
)

SEMANTICS = ("substring", "word")


@dataclass(frozen=True)
class Term:
    """One term: ``kind`` is word, phrase or regex; ``mode`` is required, optional (?) or excluded (-)."""
    text: str
    kind: str
    mode: str

    def found_in(self, text, semantics="substring"):
        if self.kind == "regex":
            return cwl_regex.compile_regex(self.text).search(text) is not None
        if semantics == "word":
            return re.search(r"(?<![A-Za-z0-9])" + re.escape(self.text) + r"(?![A-Za-z0-9])", text) is not None
        return self.text in text

    def spelled(self):
        core = {"regex": f"%{self.text}%", "phrase": f'"{self.text}"'}.get(self.kind, self.text)
        return {"optional": "?", "excluded": "-"}.get(self.mode, "") + core


@dataclass(frozen=True)
class TermPattern:
    terms: tuple

    def of_mode(self, mode):
        return tuple(term for term in self.terms if term.mode == mode)

    def matches_text(self, text, semantics="substring"):
        required, optional = self.of_mode("required"), self.of_mode("optional")
        if any(term.found_in(text, semantics) for term in self.of_mode("excluded")):
            return False
        if not all(term.found_in(text, semantics) for term in required):
            return False
        return not optional or any(term.found_in(text, semantics) for term in optional)


def parse_terms(pattern):
    """Parse a term pattern (the empty pattern included); FilterPatternError on what AWS rejects."""
    terms, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char.isspace():
            i += 1
            continue
        mode = {"?": "optional", "-": "excluded"}.get(char, "required")
        start = i + (mode != "required")
        if start >= len(pattern) or pattern[start].isspace():
            raise FilterPatternError(f"{char!r} must be followed by a term", i)
        if pattern[start] == '"':
            text, i = read_quoted(pattern, start, 0)
            if not text:
                raise FilterPatternError("empty quoted phrase", start)
            terms.append(Term(text, "phrase", mode))
        elif pattern[start] == "%":
            text, i = cwl_regex.read_regex(pattern, start, 0)
            terms.append(Term(text, "regex", mode))
        else:
            end = start
            while end < len(pattern) and not pattern[end].isspace():
                if pattern[end] == '"':
                    raise FilterPatternError("a quote inside a term: quote the whole phrase", end)
                end += 1
            terms.append(Term(pattern[start:end], "word", mode))
            i = end
    return TermPattern(tuple(terms))


@dataclass(frozen=True)
class FieldCondition:
    operator: str
    value: object   # StringValue, NumberValue or RegexValue

    def holds(self, field):
        if isinstance(self.value, RegexValue):
            return self.value.compiled.search(field) is not None if self.operator == "=" else (
                self.value.compiled.search(field) is None)
        if self.operator in ("=", "!="):
            if isinstance(self.value, NumberValue) and NUMBER.match(field):
                equal = float(field) == self.value.value
            else:
                equal = wildcard_match(self.value.text, field)
            return equal if self.operator == "=" else not equal
        if not NUMBER.match(field):
            return False
        number, limit = float(field), self.value.value
        return {"<": number < limit, ">": number > limit, "<=": number <= limit,
                ">=": number >= limit}[self.operator]


@dataclass(frozen=True)
class DelimitedField:
    """A named field (``name``) with conditions in disjunctive form, or ``...`` (``ellipsis``)."""
    name: str
    any_of: tuple = ()      # tuple of tuples of FieldCondition: OR of ANDs; () is unconstrained
    ellipsis: bool = False

    def accepts(self, field):
        return not self.any_of or any(all(c.holds(field) for c in group) for group in self.any_of)


@dataclass(frozen=True)
class DelimitedPattern:
    fields: tuple

    def matches_text(self, text, semantics="substring"):
        return _match_fields(self.fields, split_fields(text))

    @property
    def unconstrained(self):
        return all(f.ellipsis or not f.any_of for f in self.fields)


def split_fields(text):
    """Split on spaces; a "quoted" or [bracketed] run is one field (without its delimiters)."""
    fields, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        closing = {'"': '"', "[": "]"}.get(text[i])
        end = text.find(closing, i + 1) if closing else -1
        if closing and end > 0:
            fields.append(text[i + 1:end])
            i = end + 1
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            fields.append(text[i:end])
            i = end
    return fields


def _match_fields(pattern_fields, fields):
    """Whether the fields match; memoised on (pattern field, text field) so that many ``...`` stay
    polynomial (a 1,024-character pattern holds up to ~200 of them)."""
    memo = {}

    def match(i, j):
        if (i, j) not in memo:
            if i == len(pattern_fields):
                memo[i, j] = j == len(fields)
            elif pattern_fields[i].ellipsis:
                memo[i, j] = any(match(i + 1, k) for k in range(j, len(fields) + 1))
            else:
                memo[i, j] = j < len(fields) and pattern_fields[i].accepts(fields[j]) and match(i + 1, j + 1)
        return memo[i, j]
    return match(0, 0)


_CONDITION = re.compile(r"\s*([A-Za-z0-9_\-.$]+)\s*(!=|<=|>=|=|<|>)\s*")


def parse_delimited(pattern):
    stripped = pattern.strip()
    start = len(pattern) - len(pattern.lstrip())
    if not stripped.endswith("]"):
        raise FilterPatternError("missing closing ']'", start + len(stripped))
    body, offset = stripped[1:-1], start + 1
    fields, regexes = [], 0
    for text, position in _split_top(body, ",", offset):
        spec = text.strip()
        if not spec:
            raise FilterPatternError("empty field in a space-delimited pattern", position)
        if spec == "...":
            fields.append(DelimitedField("...", ellipsis=True))
            continue
        if re.fullmatch(r"[A-Za-z0-9_\-]+", spec):
            fields.append(DelimitedField(spec))
            continue
        name, groups = None, []
        for alternative, alt_position in _split_top(spec, "||", position):
            group = []
            for clause, clause_position in _split_top(alternative, "&&", alt_position):
                match = _CONDITION.match(clause)
                if not match:
                    raise FilterPatternError(f"malformed field condition {clause.strip()!r}", clause_position)
                if name not in (None, match.group(1)):
                    raise FilterPatternError(f"condition names {match.group(1)!r} in field {name!r}",
                                             clause_position)
                name = match.group(1)
                value = _field_value(clause[match.end():].strip(), clause_position + match.end())
                regexes += isinstance(value, RegexValue)
                if match.group(2) in ("<", ">", "<=", ">=") and not isinstance(value, NumberValue):
                    raise FilterPatternError(f"{match.group(2)!r} needs a number", clause_position)
                group.append(FieldCondition(match.group(2), value))
            groups.append(tuple(group))
        fields.append(DelimitedField(name, tuple(groups)))
    if regexes > MAX_REGEXES:
        raise FilterPatternError(f"more than {MAX_REGEXES} regular expressions in one pattern", start)
    if not fields:
        raise FilterPatternError("empty space-delimited pattern", start)
    return DelimitedPattern(tuple(fields))


def _field_value(text, position):
    if not text:
        raise FilterPatternError("missing value", position)
    if text.startswith('"'):
        value, end = read_quoted(text, 0, position)
        if text[end:].strip():
            raise FilterPatternError("unexpected text after a quoted value", position + end)
        return StringValue(value)
    if text.startswith("%") and text.endswith("%") and len(text) > 1:
        cwl_regex.validate(text[1:-1], position + 1)
        return RegexValue(text[1:-1])
    if any(c.isspace() or c in '"%' for c in text):
        raise FilterPatternError(f"malformed value {text!r}", position)
    return NumberValue(float(text), text) if NUMBER.match(text) else StringValue(text)


def _split_top(text, separator, offset):
    """Split on ``separator`` outside quotes and %regex%; (piece, absolute position) pairs."""
    pieces, start, i, quote = [], 0, 0, None
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 2
                continue
            if char == quote:
                quote = None
        elif char in '"%':
            quote = char
        elif text.startswith(separator, i):
            pieces.append((text[start:i], offset + start))
            i += len(separator)
            start = i
            continue
        i += 1
    if quote:
        raise FilterPatternError("unterminated quote or %regex%", offset + start)
    pieces.append((text[start:], offset + start))
    return pieces
