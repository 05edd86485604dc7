"""Values and lexing shared by the JSON, term and space-delimited filter-pattern parsers.

The lowest layer of the filter-pattern language beside ``pattern_errors``: ``filter_pattern`` (JSON)
and ``text_pattern`` (terms, ``[...]``) both build these values and read quoted strings the same way.
"""
import re
from dataclasses import dataclass

from rootguard_filters.logic import cwl_regex
from rootguard_filters.logic.pattern_errors import FilterPatternError

NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")

# The guide: at most two regular expressions in one JSON or space-delimited pattern.
MAX_REGEXES = 2


@dataclass(frozen=True)
class StringValue:
    """A quoted or bare string; ``*`` at its start or end is a wildcard."""
    text: str


@dataclass(frozen=True)
class RegexValue:
    """``%regex%``: matches a string field (or a number's text) anywhere unless anchored with ^ / $."""
    text: str

    @property
    def compiled(self):
        return cwl_regex.compile_regex(self.text)


@dataclass(frozen=True)
class NumberValue:
    """A numeric literal; ``text`` is kept because an unquoted number also compares with string fields."""
    value: float
    text: str


def read_quoted(body: str, start: int, offset: int):
    r"""Read a double-quoted string; ``\"`` and ``\\`` are the only escapes (the guide names none)."""
    chars = []
    i = start + 1
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in '"\\':
            chars.append(body[i + 1])
            i += 2
        elif char == '"':
            return "".join(chars), i + 1
        else:
            chars.append(char)
            i += 1
    raise FilterPatternError("unterminated quoted string", offset + start)


def wildcard_match(pattern: str, text: str) -> bool:
    # The guide: '*' matches any text before or after a term ("*Event", "Event*"), but "Ev*ent"
    # "will only match the actual string Ev*ent" - an inner '*' is literal.
    leading, trailing = pattern.startswith("*"), pattern.endswith("*")
    core = pattern[1 if leading else 0:len(pattern) - 1 if trailing else len(pattern)]
    if leading and trailing:
        return core in text
    if leading:
        return text.endswith(core)
    if trailing:
        return text.startswith(core)
    return text == core
