"""Decide, over every possible JSON event, whether one filter pattern matches all events another does.

``find_event(formula, required, deadline)`` is a decision procedure for JSON filter-pattern formulas
(the parser's AST plus ``Not``): it answers SAT with a concrete witness event, UNSAT (a proof: no JSON
event satisfies the formula), or UNKNOWN naming what it cannot settle (a %regex% whose constraints
defeat the witness search, more than MAX_CONJUNCTS cases, or the deadline passing first).
``required`` maps paths to the one kind they must have (a CloudTrail record always carries
``eventName`` as a string): the search gives them that kind and the witness holds them.

How: the formula's disjunctive normal form is generated lazily, as a DPLL-style tableau: negations
are pushed to the atoms, every literal added is checked against the others on its top-level field
(memoised), a disjunction whose alternatives all clash closes the branch, one with a single live
alternative is taken without branching, and the search branches on the disjunction with the fewest
live alternatives. Each conjunct is a set of literals on selectors; its top-level fields are
independent (``$.a...`` never constrains ``$.b...``), so each field's group of paths is solved on its
own, once per distinct group of literals (memoised), by a backtracking search that gives every path
(and each of its prefixes) a JSON kind - missing, string, number, true, false, null, object, array -
consistent along the path (``$.a.b`` exists only under an object ``$.a``; ``$.a[1]`` only in an array
that also holds ``$.a[0]``), and then a value for string and number paths that satisfies that path's
literals:
- strings: exact values, ``pre*``/``*suf``/``*in*`` wildcards and exclusions are solved exactly
  (the candidate ``prefix + f + infix... + f + suffix`` with a filler ``f`` absent from every literal
  - one always exists, the literals being finite - satisfies the positive literals, and every
  negative one unless it is implied by them; fillers of several lengths escape exact exclusions);
- numbers: intervals from <, <=, >, >= with = and != points, solved exactly;
- %regex% values: candidates are built from strings the regex matches; when none fits, UNKNOWN.
Every witness is re-checked with the evaluator before it is returned.
"""
import time
from dataclasses import dataclass
from typing import Optional

from rootguard_filters.logic import cwl_regex
from rootguard_filters.logic.filter_pattern import (
    IS_FALSE, IS_NULL, IS_TRUE, NOT_EXISTS, And, Check, Comparison, Not, NumberValue, Or, RegexValue,
    StringValue, _equals, _number_text, evaluate,
)

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"
# Beyond this many conjuncts the search stops (UNKNOWN unless a witness was found).
MAX_CONJUNCTS = 20000
# Once a witness is found, this many more conjuncts are tried for a smaller one.
SMALLER_WITNESS_TRIES = 16

MISSING, STRING, NUMBER, TRUE, FALSE, NULL, OBJECT, ARRAY = (
    "missing", "string", "number", "true", "false", "null", "object", "array")
_CONSTANTS = {TRUE: True, FALSE: False, NULL: None}
_ALL_KINDS = (MISSING, STRING, NUMBER, TRUE, FALSE, NULL, OBJECT, ARRAY)

# Values a real CloudTrail record carries, tried first so counterexamples read like real events.
REALISTIC = {
    ("eventType",): ("AwsApiCall", "AwsConsoleSignIn"),
    ("eventName",): ("RunInstances", "ConsoleLogin", "CreateAccessKey"),
    ("eventSource",): ("ec2.amazonaws.com", "signin.amazonaws.com", "iam.amazonaws.com"),
    ("awsRegion",): ("ap-south-1", "eu-west-1", "us-east-1"),
    ("recipientAccountId",): ("444455556666", "111122223333"),
    ("eventVersion",): ("1.10", "1.08"),
    ("eventTime",): ("2026-03-04T09:21:44Z", "2025-11-30T23:59:59Z"),
    ("eventID",): ("3f1c2b9e-7a44-4a6d-9d2e-0b5f6c7d8e9f", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"),
    ("sourceIPAddress",): ("198.51.100.7",),
    ("userAgent",): ("aws-cli/2.15.0",),
    ("errorCode",): ("AccessDenied",),
    ("userIdentity", "type"): ("Root", "IAMUser", "AssumedRole"),
    ("userIdentity", "arn"): ("arn:aws:iam::444455556666:root", "arn:aws:iam::111122223333:root"),
    ("userIdentity", "accountId"): ("444455556666", "111122223333"),
    ("userIdentity", "principalId"): ("444455556666", "111122223333"),
    ("userIdentity", "invokedBy"): ("cloudformation.amazonaws.com",),
    ("userIdentity", "sessionContext", "assumedRoot"): ("true",),
}
# Kinds tried first for fields CloudTrail records usually carry (a smaller-looking, real witness).
PREFERRED_KIND = {("readOnly",): FALSE, ("managementEvent",): TRUE, ("sourceIPAddress",): STRING,
                  ("userAgent",): STRING}
# Fillers tried first; any other character absent from the literals serves as well.
_FILLERS = "~^`!|"
_FILLER_POOL = _FILLERS + "#&'*+,-./:;<=>?@[]_{}" + "".join(chr(c) for c in range(0x21, 0x7f)) + "".join(
    chr(c) for c in range(0xa1, 0x250))


@dataclass(frozen=True)
class Outcome:
    status: str
    event: Optional[dict] = None
    reason: str = ""
    deadline_passed: bool = False


class Undecidable(Exception):
    """Raised inside the search; becomes an UNKNOWN outcome naming the construct."""


class DeadlinePassed(Exception):
    """The search ran past its deadline; the caller's verdict is could-not-evaluate."""


def filler_for(texts):
    """A character absent from every text (the literals are finite, so one always exists)."""
    joined = "".join(texts)
    for char in _FILLER_POOL:
        if char not in joined:
            return char
    present = set(joined)
    return next(chr(c) for c in range(0x250, 0x110000) if chr(c) not in present)


def _is_atom(node):
    return isinstance(node, (Comparison, Check))


class _Solver:
    """One find_event call: the tableau, the per-field memo and the deadline."""

    def __init__(self, required, deadline):
        self.required = dict(required or {})
        self.deadline = deadline
        self.memo = {}

    def check_time(self):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlinePassed()

    def group(self, literals, field):
        return frozenset(lit for lit in literals if lit[0].selector.path[0] == field)

    def solve_group(self, group, field):
        """The assignment of one top-level field's paths (memoised), None when impossible; raises
        Undecidable when the values cannot be settled."""
        key = (field, group)
        if key not in self.memo:
            try:
                self.memo[key] = _Search(group, field, self.required, self).run()
            except Undecidable as error:
                self.memo[key] = error
        result = self.memo[key]
        if isinstance(result, Undecidable):
            raise result
        return result

    def possible(self, literals, field):
        """False only when the field's literals are proved contradictory."""
        try:
            return self.solve_group(self.group(literals, field), field) is not None
        except Undecidable:
            return True

    def conjuncts(self, formula):
        """The conjuncts of the formula's disjunctive normal form that survive the field checks, each
        a frozenset of (atom, positive) literals."""
        return self._expand(frozenset(), ((formula, True),), ())

    def _expand(self, literals, pending, choices):
        self.check_time()
        while pending:
            (node, positive), pending = pending[0], pending[1:]
            if isinstance(node, Not):
                pending = ((node.term, not positive),) + pending
            elif _is_atom(node):
                if (node, not positive) in literals:
                    return
                if (node, positive) not in literals:
                    literals = literals | {(node, positive)}
                    if not self.possible(literals, node.selector.path[0]):
                        return
            elif isinstance(node, And) == positive:
                pending = tuple((term, positive) for term in node.terms) + pending
            else:
                choices = choices + (tuple((term, positive) for term in node.terms),)
        remaining, best = [], None
        for alternatives in choices:
            live = []
            for node, positive in alternatives:
                if _is_atom(node):
                    if (node, positive) in literals:
                        live = None   # already holds: the disjunction is satisfied
                        break
                    if (node, not positive) in literals or not self.possible(
                            literals | {(node, positive)}, node.selector.path[0]):
                        continue
                live.append((node, positive))
            if live is None:
                continue
            if not live:
                return
            remaining.append(tuple(live))
            if best is None or len(live) < len(remaining[best]):
                best = len(remaining) - 1
        if best is None:
            yield literals
            return
        chosen = remaining.pop(best)
        for alternative in chosen:
            yield from self._expand(literals, (alternative,), tuple(remaining))

    def solve(self, literals):
        """The witness event of one conjunct, or None when it is contradictory."""
        fields = {lit[0].selector.path[0] for lit in literals} | {p[0] for p in self.required}
        assignment = {}
        for field in sorted(fields, key=str):
            part = self.solve_group(self.group(literals, field), field)
            if part is None:
                return None
            assignment.update(part)
        return _build(assignment)


def find_event(formula, required=None, deadline=None):
    """Outcome SAT (with a witness event that the evaluator confirms), UNSAT, or UNKNOWN.

    ``required``: {path: kind} every witness must give those paths (their prefixes being objects);
    ``deadline``: a ``time.monotonic()`` instant past which the answer is UNKNOWN saying so."""
    solver = _Solver(required, deadline)
    best, unknown, seen, since_best = None, [], set(), 0
    try:
        for count, conjunct in enumerate(solver.conjuncts(formula)):
            if count >= MAX_CONJUNCTS:
                unknown.append(f"the pattern expands to more than {MAX_CONJUNCTS} cases")
                break
            if best is not None:
                since_best += 1
                if since_best > SMALLER_WITNESS_TRIES:
                    break
            if conjunct in seen:
                continue
            seen.add(conjunct)
            try:
                event = solver.solve(conjunct)
            except Undecidable as error:
                unknown.append(str(error))
                continue
            if event is None:
                continue
            if not evaluate(formula, event):   # never report an event the evaluator disagrees with
                unknown.append(f"internal check failed for witness {event!r}")
                continue
            if best is None or _size(event) < _size(best):
                best = event
    except DeadlinePassed:
        if best is None:
            return Outcome(UNKNOWN, reason="the search passed its deadline", deadline_passed=True)
    if best is not None:
        return Outcome(SAT, best)
    if unknown:
        return Outcome(UNKNOWN, reason="; ".join(sorted(set(unknown))))
    return Outcome(UNSAT)


def _size(event):
    if isinstance(event, dict):
        return sum(_size(v) for v in event.values()) or 1
    if isinstance(event, list):
        return sum(_size(v) for v in event) or 1
    return 1


class _Search:
    """Backtracking over the kinds of the paths of one top-level field's literals."""

    def __init__(self, literals, field, required, solver):
        self.solver = solver
        self.required = {p: k for p, k in required.items() if p[0] == field}
        self.by_path = {}
        for atom, positive in literals:
            self.by_path.setdefault(atom.selector.path, []).append((atom, positive))
        paths = set()
        for path in list(self.by_path) + list(self.required):
            paths.update(path[:n] for n in range(1, len(path) + 1))
        key = lambda path: (len(path), tuple((0, s) if isinstance(s, int) else (1, s) for s in path))
        self.paths = sorted(paths, key=key)
        self.children = {p: [q for q in self.paths if len(q) == len(p) + 1 and q[:-1] == p] for p in self.paths}
        self.must_exist = {p for p in self.paths if self._needs_existence(p)}
        self.unknown = []

    def _needs_existence(self, path):
        if any(other[:len(path)] == path for other in self.required):
            return True
        for other, literals in self.by_path.items():
            if other[:len(path)] != path:
                continue
            for atom, positive in literals:
                if isinstance(atom, Comparison) and positive:
                    return True
                if isinstance(atom, Check) and (atom.check == NOT_EXISTS) != positive:
                    return True
        return False

    def run(self):
        assignment = {}
        if self._assign(0, assignment):
            return dict(assignment)
        if self.unknown:
            raise Undecidable("; ".join(sorted(set(self.unknown))))
        return None

    def _kinds(self, path, parent_kind):
        step = path[-1]
        container = ARRAY if isinstance(step, int) else OBJECT
        if parent_kind != container:
            return [MISSING]
        if path in self.required:
            return [self.required[path]]
        kinds = list(_ALL_KINDS)
        preferred = PREFERRED_KIND.get(path)
        if self.children[path]:
            # absent first (the smallest event), then the container its children need
            needs = {ARRAY if isinstance(c[-1], int) else OBJECT for c in self.children[path]}
            kinds.sort(key=lambda k: (k != MISSING, k not in needs, _ALL_KINDS.index(k)))
        if preferred in kinds:
            kinds.remove(preferred)
            kinds.insert(0, preferred)
        if path in self.must_exist:
            kinds = [k for k in kinds if k != MISSING]
        return kinds

    def _assign(self, index, assignment):
        self.solver.check_time()
        if index == len(self.paths):
            return True
        path = self.paths[index]
        parent_kind = OBJECT if len(path) == 1 else assignment[path[:-1]][0]
        needs = {ARRAY if isinstance(c[-1], int) else OBJECT for c in self.children[path]}
        tried = set()
        for kind in self._kinds(path, parent_kind):
            # Kinds with the same effect beyond this path (absent / present / the container its
            # children need) are interchangeable: one that satisfies this path's literals is enough.
            effect = (kind != MISSING, kind if kind in needs else None)
            if effect in tried or not self._array_consistent(path, kind, assignment):
                continue
            for value in self._values(path, kind):
                tried.add(effect)
                assignment[path] = (kind, value)
                if self._assign(index + 1, assignment):
                    return True
                del assignment[path]
        return False

    def _array_consistent(self, path, kind, assignment):
        step = path[-1]
        if not isinstance(step, int):
            return True
        for other, (other_kind, _) in assignment.items():
            if len(other) == len(path) and other[:-1] == path[:-1] and isinstance(other[-1], int):
                if kind != MISSING and other[-1] < step and other_kind == MISSING:
                    return False
                if kind == MISSING and other[-1] > step and other_kind != MISSING:
                    return False
        return True

    def _values(self, path, kind):
        """Values of ``kind`` that satisfy the path's literals: [] when none, [None] for valueless kinds."""
        literals = self.by_path.get(path, ())
        if kind in (STRING, NUMBER):
            solver = _solve_string if kind == STRING else _solve_number
            try:
                value = solver(path, literals)
            except Undecidable as error:
                self.unknown.append(str(error))
                return []
            return [] if value is _NONE else [value]
        probe = {MISSING: _ABSENT, OBJECT: {}, ARRAY: []}.get(kind, _CONSTANTS.get(kind))
        return [None] if all(_literal_holds(atom, positive, probe) for atom, positive in literals) else []


_NONE = object()
_ABSENT = object()


def _literal_holds(atom, positive, value):
    """Truth of one literal for the value at its path (``_ABSENT`` when the path is missing)."""
    if isinstance(atom, Check):
        truth = {NOT_EXISTS: value is _ABSENT, IS_NULL: value is None,
                 IS_TRUE: value is True, IS_FALSE: value is False}[atom.check]
    else:
        event = {} if value is _ABSENT else {"v": value}
        truth = evaluate(Comparison(_V, atom.operator, atom.value), event)
    return truth == positive


class _Selector:
    path = ("v",)
    text = "$.v"


_V = _Selector()


def _passes(literals, value):
    return all(_literal_holds(atom, positive, value) for atom, positive in literals)


def _path_text(path):
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path)


def _solve_string(path, literals):
    comparisons = [(a, p) for a, p in literals if isinstance(a, Comparison)]
    for atom, positive in literals:
        if isinstance(atom, Check):
            if positive:
                return _NONE      # IS NULL / IS TRUE / IS FALSE / NOT EXISTS never hold for a string
        elif atom.operator not in ("=", "!=") and positive:
            return _NONE      # relational operators compare numbers only
    must, must_not = [], []
    for atom, positive in comparisons:
        if atom.operator in ("=", "!="):
            (must if (atom.operator == "=") == positive else must_not).append(atom.value)
    if any(isinstance(v, RegexValue) and cwl_regex.matches_everything(v.text) for v in must_not):
        return _NONE      # a regex every text matches cannot be avoided
    finite = {v.text: cwl_regex.finite_language(v.text) for v in must + must_not if isinstance(v, RegexValue)}
    # Regexes the candidates settle: anchored finite languages (enumerated), and positive regexes
    # every text matches (no constraint at all). Any other regex leaves a failed search unsettled.
    unsettled = [v for v in must + must_not if isinstance(v, RegexValue) and finite[v.text] is None
                 and not (v in must and cwl_regex.matches_everything(v.text))]
    for candidate in _string_candidates(path, must, must_not, finite):
        if _passes(literals, candidate):
            return candidate
    exact = any(isinstance(v, NumberValue) or (isinstance(v, StringValue) and not v.text.startswith("*")
                                               and not v.text.endswith("*")) for v in must)
    if unsettled and not exact:   # with an exact value the one candidate settled it
        raise Undecidable(f"%{unsettled[0].text}% on {_path_text(path)}")
    return _NONE


def _string_candidates(path, must, must_not, finite):
    yield from REALISTIC.get(path, ())
    for value in must:
        if isinstance(value, RegexValue) and finite[value.text] is not None:
            yield from sorted(finite[value.text])   # the value is one of these: complete
            return
    exact = [v.text for v in must if isinstance(v, NumberValue) or (
        isinstance(v, StringValue) and not v.text.startswith("*") and not v.text.endswith("*"))]
    if exact:
        yield from exact[:1]
        return
    prefixes, suffixes, infixes = [], [], []
    for value in must:
        if isinstance(value, StringValue):
            leading, trailing = value.text.startswith("*"), value.text.endswith("*")
            core = value.text[1 if leading else 0:len(value.text) - 1 if trailing else len(value.text)]
            if leading and trailing:
                infixes.append(core)
            elif trailing:
                prefixes.append(core)
            else:
                suffixes.append(core)
    prefix = max(prefixes, key=len, default="")
    suffix = max(suffixes, key=len, default="")
    filler = filler_for(v.text for v in must + must_not)
    regex_samples = [s for v in must if isinstance(v, RegexValue) for s in cwl_regex.samples(v.text)] or [""]
    if not must:
        yield ""
        yield "x"
    # enough filler lengths to step past every excluded exact text and finite regex language
    lengths = len(must_not) + sum(len(language or ()) for language in finite.values()) + 2
    for sample in regex_samples:
        yield sample
        for length in range(1, lengths):
            f = filler * length
            yield prefix + f + f.join(infixes + [sample]) + f + suffix
            yield prefix + f.join(infixes) + sample + suffix


def _solve_number(path, literals):
    textual = []
    points, excluded = [], []
    low, high = (float("-inf"), False), (float("inf"), False)   # (bound, inclusive)
    for atom, positive in literals:
        if isinstance(atom, Check):
            if positive:
                return _NONE
            continue
        value, operator = atom.value, atom.operator
        if not isinstance(value, NumberValue):
            must_match = positive == (operator == "=")
            if isinstance(value, StringValue):
                fate = _text_fate(value.text)
                if fate is not None:   # settled for every number
                    if fate != must_match:
                        return _NONE
                    continue
            if isinstance(value, RegexValue):
                if not must_match and cwl_regex.matches_everything(value.text):
                    return _NONE
                language = cwl_regex.finite_language(value.text)
                if language is not None and not any(_numeric_text(text) for text in language):
                    if must_match:
                        return _NONE   # no number's text is in the regex's language
                    continue           # no number's text is excluded by it
            textual.append(value)
            continue
        if operator in ("=", "!="):
            (points if (operator == "=") == positive else excluded).append(value.value)
            continue
        if not positive:
            operator = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[operator]
        if operator in (">", ">="):
            low = max(low, (value.value, operator == ">="), key=lambda b: (b[0], not b[1]))
        else:
            high = min(high, (value.value, operator == "<="), key=lambda b: (b[0], b[1]))
    candidates = list(points[:1]) if points else _interval_points(low, high, len(excluded))
    if textual:
        candidates = [c for v in textual for c in _numbers_from_text(v)] + candidates
    for candidate in candidates:
        # 1 and 1.0 are equal numbers with different texts ("1", "1.0"): both for text comparisons
        forms = [int(candidate)] if float(candidate).is_integer() and abs(candidate) < 1e15 else []
        for number in forms + [float(candidate)]:
            if _passes(literals, number):
                return number
    exact_texts = [v.text for v in textual if isinstance(v, StringValue) and v in _positive_values(literals)
                   and not v.text.startswith("*") and not v.text.endswith("*")]
    if textual and not exact_texts and not points:
        raise Undecidable(f"text or %regex% comparison on number field {_path_text(path)}")
    # an '=' number, or an exact text (the only numbers with text T are int(T) and float(T), both
    # tried), left one or two candidates: the search was complete
    return _NONE


def _positive_values(literals):
    return [a.value for a, p in literals if isinstance(a, Comparison) and p == (a.operator == "=")]


# Characters a number's text may hold (Python's repr of floats included: "1e+20", "inf", "nan").
_NUMBER_TEXT_CHARS = frozenset("0123456789.eE+-infa")


def _text_fate(text):
    """Whether a quoted string matches every number's text (True), none (False), or it depends (None)."""
    leading, trailing = text.startswith("*"), text.endswith("*")
    core = text[1 if leading else 0:len(text) - 1 if trailing else len(text)]
    if core == "":
        return leading or trailing     # "*" matches any text; "" no number's text
    if set(core) - _NUMBER_TEXT_CHARS:
        return False                   # no number's text holds that character
    return None


def _numeric_text(text):
    core = text.strip("*")
    return all(c in "0123456789.eE+-" for c in core)   # "" too: a wildcard alone fits any number


def _numbers_from_text(value):
    texts = cwl_regex.samples(value.text) if isinstance(value, RegexValue) else [value.text.strip("*")]
    numbers = []
    for text in texts:
        for variant in (text, text + "0", text + "1", "1" + text):
            try:
                numbers.append(float(variant))
            except ValueError:
                pass
    return numbers


def _interval_points(low, high, excluded_count):
    (lo, lo_in), (hi, hi_in) = low, high
    if lo > hi or (lo == hi and not (lo_in and hi_in)):
        return []
    count = excluded_count + 1
    points = [lo] if lo_in else []
    points += [hi] if hi_in else []
    if lo == float("-inf") and hi == float("inf"):
        points += [0, 1] + [float(i) for i in range(2, count + 2)]
    elif lo == float("-inf"):
        points += [hi - i for i in range(1, count + 2)]
    elif hi == float("inf"):
        points += [lo + i for i in range(1, count + 2)]
    else:
        points += [lo + (hi - lo) * i / (count + 1) for i in range(1, count + 1)]
    return points


def _build(assignment):
    event = {}
    for path in sorted(assignment, key=len):
        kind, value = assignment[path]
        if kind == MISSING:
            continue
        node = {OBJECT: {}, ARRAY: []}.get(kind, value if kind in (STRING, NUMBER) else _CONSTANTS.get(kind))
        parent = event
        for step in path[:-1]:
            parent = parent[step]
        step = path[-1]
        if isinstance(step, int):
            while len(parent) <= step:
                parent.append(None)
            parent[step] = node
        else:
            parent[step] = node
    return event


def describe_event(event, mentioned=()):
    """A short human description of a CloudTrail-like event, e.g. "root RunInstances in ap-south-1";
    ``mentioned`` paths the event leaves out are named ("without $.awsRegion")."""
    identity = event.get("userIdentity") if isinstance(event.get("userIdentity"), dict) else {}
    who = identity.get("type")
    who = "root" if who == "Root" else (f"{who} identity" if who else "an event")
    kinds = {"AwsApiCall": "API call", "AwsConsoleSignIn": "console sign-in"}
    what = event.get("eventName") or kinds.get(event.get("eventType")) or (
        f"event of type {event['eventType']!r}" if "eventType" in event else "event")
    parts = [f"{who} {what}"]
    if event.get("eventSource"):
        parts.append(f"to {event['eventSource']}")
    if event.get("awsRegion") is not None:
        parts.append(f"in {event['awsRegion']}")
    if event.get("recipientAccountId") is not None:
        parts.append(f"in account {event['recipientAccountId']}")
    shown = {("userIdentity", "type"), ("eventName",), ("eventType",), ("eventSource",), ("awsRegion",),
             ("recipientAccountId",)}
    # fields every CloudTrail record carries are named only when the pattern mentions them
    extra = [f"{_path_text(p)}={v!r}" for p, v in _leaves(event)
             if p not in shown and (p in mentioned or p not in REALISTIC)]
    if extra:
        parts.append("with " + ", ".join(extra))
    absent = [_path_text(p) for p in mentioned if _lookup(event, p) is _ABSENT]
    if absent:
        parts.append("without " + ", ".join(sorted(set(absent))))
    return " ".join(parts)


def _lookup(event, path):
    node = event
    for step in path:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
        elif isinstance(step, str) and isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return _ABSENT
    return node


def selector_paths(node):
    """Every selector path a JSON pattern AST mentions."""
    if isinstance(node, Not):
        return selector_paths(node.term)
    if isinstance(node, (And, Or)):
        return [p for term in node.terms for p in selector_paths(term)]
    return [node.selector.path]


def _leaves(node, path=()):
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from _leaves(value, path + (index,))
    else:
        yield path, node




