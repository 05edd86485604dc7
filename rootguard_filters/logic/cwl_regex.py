"""The regular-expression subset CloudWatch Logs filter patterns accept (``%regex%``).

The guide ("Supported regular expressions (regex) syntax"): alphanumerics, the symbols
``: _ # = @ / ; , -``, the operators ``^ $ ? [ ] { } | \\ * + .``; no parentheses, no multi-byte
characters. A regex matches anywhere in the text unless anchored with ``^`` / ``$``.

``samples`` builds strings a regex matches, so the coverage decision can construct witnesses.
"""
import re
import string
from functools import lru_cache

try:   # Python 3.11+
    from re import _constants as sre_constants, _parser as sre_parse
except ImportError:   # pragma: no cover - older Pythons
    import sre_constants
    import sre_parse

from rootguard_filters.logic.pattern_errors import FilterPatternError

ALLOWED = frozenset(string.ascii_letters + string.digits + ":_#=@/;,-" + "^$?[]{}|\\*+.")


def read_regex(text, start, offset):
    """``(regex, end)`` of the ``%...%`` starting at ``text[start]``; FilterPatternError if it is
    unterminated or uses a character CloudWatch Logs rejects."""
    end = text.find("%", start + 1)
    if end < 0:
        raise FilterPatternError("unterminated %regex%", offset + start)
    body = text[start + 1:end]
    validate(body, offset + start + 1)
    return body, end + 1


def validate(body, position):
    if not body:
        raise FilterPatternError("empty %regex%", position)
    for index, char in enumerate(body):
        if char not in ALLOWED:
            what = "parentheses are" if char in "()" else f"{char!r} is"
            raise FilterPatternError(f"{what} not supported in a CloudWatch Logs %regex%", position + index)
    try:
        compile_regex(body)
    except re.error as error:
        raise FilterPatternError(f"invalid %regex%: {error}", position) from error


@lru_cache(maxsize=512)
def compile_regex(body):
    """``$`` ends the text (as in RE2 and CloudWatch's other engines), not "before a final newline"."""
    return re.compile(_end_anchors(body), re.ASCII)


def _end_anchors(body):
    out, in_class, i = [], False, 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            out.append(body[i:i + 2])
            i += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append("\\Z" if char == "$" and not in_class else char)
        i += 1
    return "".join(out)


# Escapes the guide documents: \d \D \s \S \w \W, and a backslash before an operator or symbol
# for its literal meaning. Other escapes (\b, \A, \Z, \x52, \n...) have no documented meaning.
_CLASS_ESCAPES = frozenset("dDsSwW")
_LITERAL_ESCAPES = frozenset(":_#=@/;,-^$?[]{}|\\*+.")
_REPEAT = re.compile(r"\{(\d+),(\d+)\}")


def undocumented(body):
    """The first construct of ``body`` that the CloudWatch Logs guide's regex section does not
    document (named for the reader), or None. Python would give such constructs a meaning (\b a
    word boundary, *? a lazy repeat, [^...] a negated class); CloudWatch's is unknown, so the
    coverage decision must not rely on Python's."""
    i, previous = 0, None   # previous: None at the start or after |, "atom", "repeat", "anchor"
    while i < len(body):
        char = body[i]
        if char == "\\":
            escaped = body[i + 1:i + 2]
            if escaped not in _CLASS_ESCAPES and escaped not in _LITERAL_ESCAPES:
                return f"the escape \\{escaped}" if escaped else "a trailing backslash"
            i, previous = i + 2, "atom"
        elif char == "[":
            end, problem = _class_end(body, i)
            if problem:
                return problem
            i, previous = end, "atom"
        elif char in "*+?":
            if previous == "repeat":
                return f"the quantifier {body[i - 1]}{char} (lazy or stacked)"
            if previous in (None, "anchor"):
                return f"a {char} with nothing before it to repeat"
            i, previous = i + 1, "repeat"
        elif char == "{":
            match = _REPEAT.match(body, i)
            if not match:
                close = body.find("}", i)
                return f"the repeat {body[i:close + 1] if close > 0 else body[i:]} (only {{m,n}} is documented)"
            if previous in (None, "anchor", "repeat"):
                return f"the repeat {match.group()} after {'nothing' if previous != 'repeat' else 'a quantifier'}"
            i, previous = match.end(), "repeat"
        elif char == "^":
            if previous is not None:
                return "a ^ that is not at the start of the regex or of an alternative"
            i, previous = i + 1, "anchor"
        elif char == "$":
            if i + 1 < len(body) and body[i + 1] != "|":
                return "a $ that is not at the end of the regex or of an alternative"
            i, previous = i + 1, "anchor"
        elif char == "|":
            i, previous = i + 1, None
        elif char == "]" or char == "}":
            return f"a lone {char!r}"
        else:
            i, previous = i + 1, "atom"
    return None


def _class_end(body, start):
    """(index after the class's ']', None) or (_, the undocumented construct inside it)."""
    i = start + 1
    if body[i:i + 1] == "^":
        return i, "a negated class [^...]"
    if body[i:i + 1] == "]":
        return i, "an empty class []"
    while i < len(body) and body[i] != "]":
        if body[i] == "\\":
            escaped = body[i + 1:i + 2]
            if escaped not in _CLASS_ESCAPES and escaped not in _LITERAL_ESCAPES:
                return i, f"the escape \\{escaped} in a class"
            i += 2
        elif body[i] == "[":
            return i, "a '[' inside a class"
        else:
            i += 1
    if i >= len(body):
        return i, "an unterminated class"
    return i + 1, None


def matches_everything(body):
    """True when the regex matches every text (a position-free regex that matches the empty text)."""
    return is_position_free(body) and compile_regex(body).search("") is not None


_FINITE_LIMIT = 64


def finite_language(body):
    """Every text the regex matches, when it is anchored at both ends and its language is small and
    finite (e.g. ``^Root$``, ``^(Root|IAMUser)$`` without the parentheses); None otherwise."""
    try:
        parsed = list(sre_parse.parse(_end_anchors(body), re.ASCII))
    except re.error:
        return None
    if parsed and parsed[0][0] == sre_constants.BRANCH and len(parsed) == 1:
        branches = [list(branch) for branch in parsed[0][1][1]]
    else:
        branches = [parsed]
    language = set()
    for branch in branches:
        if len(branch) < 2 or branch[0] != (sre_constants.AT, sre_constants.AT_BEGINNING) or \
                branch[-1] != (sre_constants.AT, sre_constants.AT_END_STRING):
            return None
        texts = _enumerate(branch[1:-1])
        if texts is None:
            return None
        language |= texts
        if len(language) > _FINITE_LIMIT:
            return None
    return language


def _enumerate(items):
    texts = {""}
    for op, arg in items:
        if op == sre_constants.LITERAL:
            options = {chr(arg)}
        elif op == sre_constants.IN and all(o in (sre_constants.LITERAL, sre_constants.RANGE) for o, _ in arg):
            options = set()
            for o, a in arg:
                options |= {chr(a)} if o == sre_constants.LITERAL else {chr(c) for c in range(a[0], a[1] + 1)}
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and arg[1] <= 4:
            inner = _enumerate(list(arg[2]))
            if inner is None:
                return None
            options, power = set(), {""}
            for count in range(arg[1] + 1):
                if count >= arg[0]:
                    options |= power
                power = {p + i for p in power for i in inner}
                if len(power) > _FINITE_LIMIT:
                    return None
        else:
            return None
        texts = {t + o for t in texts for o in options}
        if len(texts) > _FINITE_LIMIT:
            return None
    return texts


def is_position_free(body):
    """True when a match in a piece of text implies a match in any text containing that piece
    (no anchors, no word boundaries)."""
    return not re.search(r"\\[bBAZ]|[$^]", body.replace("\\\\", "").replace("\\$", "").replace("\\^", ""))


_CATEGORY_SAMPLES = {
    sre_constants.CATEGORY_DIGIT: "0", sre_constants.CATEGORY_NOT_DIGIT: "a",
    sre_constants.CATEGORY_WORD: "a", sre_constants.CATEGORY_NOT_WORD: "-",
    sre_constants.CATEGORY_SPACE: " ", sre_constants.CATEGORY_NOT_SPACE: "a",
}
_MAX_SAMPLES = 16


def samples(body):
    """Up to a few strings the regex matches (each checked with ``search``), shortest first."""
    try:
        parsed = sre_parse.parse(_end_anchors(body), re.ASCII)
    except re.error:
        return []
    found = {s for s in _expand(list(parsed)) if compile_regex(body).search(s)}
    return sorted(found, key=lambda s: (len(s), s))[:_MAX_SAMPLES]


def _expand(items):
    results = [""]
    for op, arg in items:
        options = _options(op, arg)
        results = [r + o for r in results for o in options][:_MAX_SAMPLES * 4]
    return results


def _options(op, arg):
    if op == sre_constants.LITERAL:
        return [chr(arg)]
    if op == sre_constants.NOT_LITERAL:
        return ["a" if chr(arg) != "a" else "b"]
    if op == sre_constants.ANY:
        return ["a"]
    if op == sre_constants.AT:
        return [""]
    if op == sre_constants.IN:
        return _class_options(arg)
    if op == sre_constants.BRANCH:
        return [s for branch in arg[1] for s in _expand(list(branch))]
    if op == sre_constants.SUBPATTERN:
        return _expand(list(arg[-1]))
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        low, high, item = arg
        inner = _expand(list(item)) or [""]
        counts = {low, min(low + 1, high if high != sre_constants.MAXREPEAT else low + 1)}
        return [inner[0] * count for count in sorted(counts)] + [s * max(low, 1) for s in inner[1:3]]
    return ["a"]


def _class_options(items):
    negate = any(op == sre_constants.NEGATE for op, _ in items)
    allowed = set()
    for op, arg in items:
        if op == sre_constants.LITERAL:
            allowed.add(chr(arg))
        elif op == sre_constants.RANGE:
            allowed.update(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 3) + 1))
        elif op == sre_constants.CATEGORY:
            allowed.add(_CATEGORY_SAMPLES.get(arg, "a"))
    if negate:
        return [next(c for c in "aZ0-_~x" if c not in allowed)] if set("aZ0-_~x") - allowed else ["\x01"]
    return sorted(allowed)[:3] or ["a"]
