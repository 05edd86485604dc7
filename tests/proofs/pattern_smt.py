"""An SMT encoding of JSON filter patterns (no %regex%), independent of the pack's parser and evaluator.

Patterns are built here as small trees (``Atom``, ``Check``, ``All``, ``Any``), rendered to the text the
pack parses, and encoded for z3 from the CloudWatch Logs guide's semantics as the pack documents them:
- a selector reaches a JSON value of one kind: missing, string, number, true, false, null, object,
  array; ``$.a.b`` exists only under an object ``$.a``, ``$.a[1]`` only in an array whose ``[0]`` exists;
- ``=`` / ``!=`` hold only on a string or number (never on missing, null, booleans, objects, arrays);
  ``"x*"``, ``"*x"``, ``"*x*"`` are prefix / suffix / infix wildcards, ``"*"`` matches any string or
  number; a quoted string compares with a number's text (here: never, the strings' letters being
  ones no number's text holds), an unquoted number compares with a string by its text and with a
  number by value;
- ``<`` ``<=`` ``>`` ``>=`` hold only on numbers; IS NULL, NOT EXISTS, IS TRUE, IS FALSE are kind tests.
The CloudTrail-record model of the root-usage question is encoded from the same definitions as the
pack's (``record_fields``): those fields are strings, non-empty, eventType in its documented set, the
wildcard parts of the source and root-ARN shapes.
"""
from dataclasses import dataclass
from fractions import Fraction
import re

import z3

MISSING, STRING, NUMBER, TRUE, FALSE, NULL, OBJECT, ARRAY = range(8)
# Characters a JSON number's text may hold (Python's repr included: inf, nan, e+).
NUMBER_TEXT_CHARS = set("0123456789.-+eEinfa")


@dataclass(frozen=True)
class Atom:
    path: tuple
    op: str            # = != < <= > >=
    text: str          # the literal as written inside the pattern (quoted strings without quotes)
    quoted: bool       # a "quoted" string (or a bare non-number) vs an unquoted number


@dataclass(frozen=True)
class Check:
    path: tuple
    check: str         # IS NULL, NOT EXISTS, IS TRUE, IS FALSE


@dataclass(frozen=True)
class All:
    terms: tuple


@dataclass(frozen=True)
class Any:
    terms: tuple


@dataclass(frozen=True)
class Neg:
    term: object


def selector(path):
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path)


def render(node, top=True):
    """The pattern text of a tree: ``{ ... }`` at the top, parentheses around every compound."""
    if isinstance(node, Atom):
        value = f'"{node.text}"' if node.quoted else node.text
        body = f"{selector(node.path)} {node.op} {value}"
    elif isinstance(node, Check):
        body = f"{selector(node.path)} {node.check}"
    else:
        joiner = " && " if isinstance(node, All) else " || "
        body = "(" + joiner.join(render(t, False) for t in node.terms) + ")"
    return "{ " + body + " }" if top else body


def paths_of(node):
    if isinstance(node, (Atom, Check)):
        return {node.path}
    if isinstance(node, Neg):
        return paths_of(node.term)
    return set().union(*(paths_of(t) for t in node.terms))


class Encoding:
    """z3 variables for every path of a formula (and their prefixes) with the structure constraints."""

    def __init__(self, paths, required=None):
        closed = {p[:n] for p in paths for n in range(1, len(p) + 1)} | {
            p[:n] for p in (required or {}) for n in range(1, len(p) + 1)}
        self.paths = sorted(closed, key=lambda p: (len(p), [str(s) for s in p]))
        self.kind = {p: z3.Int("k" + selector(p)) for p in self.paths}
        self.text = {p: z3.String("s" + selector(p)) for p in self.paths}
        self.number = {p: z3.Real("n" + selector(p)) for p in self.paths}
        self.facts = []
        for p in self.paths:
            k = self.kind[p]
            self.facts.append(z3.And(k >= MISSING, k <= ARRAY))
            if len(p) > 1:
                container = ARRAY if isinstance(p[-1], int) else OBJECT
                self.facts.append(z3.Implies(k != MISSING, self.kind[p[:-1]] == container))
            if isinstance(p[-1], int):
                for q in self.paths:
                    if q[:-1] == p[:-1] and isinstance(q[-1], int) and q[-1] < p[-1]:
                        self.facts.append(z3.Implies(k != MISSING, self.kind[q] != MISSING))
        for p, kind in (required or {}).items():
            self.facts.append(self.kind[p] == kind)

    def value_node(self, p):
        return z3.Or(self.kind[p] == STRING, self.kind[p] == NUMBER)

    def equals(self, atom):
        p = atom.path
        k, s, n = self.kind[p], self.text[p], self.number[p]
        if not atom.quoted:   # an unquoted number: by text on strings, by value on numbers
            return z3.Or(z3.And(k == STRING, s == z3.StringVal(atom.text)),
                         z3.And(k == NUMBER, n == z3.RealVal(str(Fraction(atom.text)))))
        text = atom.text
        leading, trailing = text.startswith("*"), text.endswith("*")
        core = text[1 if leading else 0:len(text) - 1 if trailing else len(text)]
        c = z3.StringVal(core)
        if leading and trailing:
            on_string = z3.Contains(s, c)
        elif leading:
            on_string = z3.SuffixOf(c, s)
        elif trailing:
            on_string = z3.PrefixOf(c, s)
        else:
            on_string = s == c
        if core == "" and (leading or trailing):
            on_number = z3.BoolVal(True)     # "*" : any number's text
        elif core == "":
            on_number = z3.BoolVal(False)    # no number's text is empty
        elif set(core) - NUMBER_TEXT_CHARS:
            on_number = z3.BoolVal(False)    # no number's text holds that letter
        else:
            raise ValueError(f"the oracle does not model {text!r} against a number's text")
        return z3.Or(z3.And(k == STRING, on_string), z3.And(k == NUMBER, on_number))

    def encode(self, node):
        if isinstance(node, Neg):
            return z3.Not(self.encode(node.term))
        if isinstance(node, All):
            return z3.And([self.encode(t) for t in node.terms])
        if isinstance(node, Any):
            return z3.Or([self.encode(t) for t in node.terms])
        k = self.kind[node.path]
        if isinstance(node, Check):
            return k == {"IS NULL": NULL, "NOT EXISTS": MISSING, "IS TRUE": TRUE, "IS FALSE": FALSE}[node.check]
        if node.op == "=":
            return self.equals(node)
        if node.op == "!=":
            return z3.And(self.value_node(node.path), z3.Not(self.equals(node)))
        n, v = self.number[node.path], z3.RealVal(str(Fraction(node.text)))
        relation = {"<": n < v, "<=": n <= v, ">": n > v, ">=": n >= v}[node.op]
        return z3.And(k == NUMBER, relation)

    def pin(self, event):
        """Constraints that fix every path to its value in ``event`` (a decoded JSON event)."""
        pins = []
        for p in self.paths:
            value = lookup(event, p)
            k = self.kind[p]
            if value is _ABSENT:
                pins.append(k == MISSING)
            elif value is True or value is False:
                pins.append(k == (TRUE if value else FALSE))
            elif value is None:
                pins.append(k == NULL)
            elif isinstance(value, str):
                pins += [k == STRING, self.text[p] == z3.StringVal(value)]
            elif isinstance(value, (int, float)):
                pins += [k == NUMBER, self.number[p] == z3.RealVal(str(Fraction(value)))]
            else:
                pins.append(k == (OBJECT if isinstance(value, dict) else ARRAY))
        return pins

    def event(self, model):
        """The JSON event a z3 model describes."""
        event = {}
        for p in self.paths:
            kind = model.eval(self.kind[p], model_completion=True).as_long()
            if kind == MISSING:
                continue
            if kind == STRING:
                node = _decode(model.eval(self.text[p], model_completion=True).as_string())
            elif kind == NUMBER:
                value = model.eval(self.number[p], model_completion=True)
                fraction = Fraction(value.numerator_as_long(), value.denominator_as_long())
                node = int(fraction) if fraction.denominator == 1 else float(fraction)
            else:
                node = {TRUE: True, FALSE: False, NULL: None, OBJECT: {}, ARRAY: []}[kind]
            parent = event
            for step in p[:-1]:
                parent = parent[step]
            if isinstance(p[-1], int):
                while len(parent) <= p[-1]:
                    parent.append(None)
            parent[p[-1]] = node
        return event


_ABSENT = object()


def lookup(event, path):
    node = event
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return _ABSENT
        elif not isinstance(node, dict) or step not in node:
            return _ABSENT
        node = node[step]
    return node


def _decode(text):
    return re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), text)


def solve(formula, required=None, timeout_ms=5000):
    """("sat", event) / ("unsat", None) / ("unknown", reason) for an oracle tree."""
    encoding = Encoding(paths_of(formula), required)
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*encoding.facts, encoding.encode(formula))
    answer = solver.check()
    if answer == z3.sat:
        return "sat", encoding.event(solver.model())
    if answer == z3.unsat:
        return "unsat", None
    return "unknown", solver.reason_unknown()


def holds(formula, event, required=None):
    """Whether ``event`` satisfies the tree under the oracle's semantics (z3 with every path pinned)."""
    encoding = Encoding(paths_of(formula), required)
    solver = z3.Solver()
    solver.add(*encoding.facts, *encoding.pin(event), encoding.encode(formula))
    return solver.check() == z3.sat


# --- the root-usage question, from the same definitions as the pack's model -----------------------

RECORD_FIELDS = ("eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "eventID", "eventType",
                 "recipientAccountId")
ROOT_IDENTITY_FIELDS = ("type", "arn", "accountId", "principalId")
EVENT_TYPES = ("AwsApiCall", "AwsServiceEvent", "AwsConsoleAction", "AwsConsoleSignIn", "AwsVpceEvent")


def record_required():
    kinds = {(name,): STRING for name in RECORD_FIELDS}
    kinds[("userIdentity",)] = OBJECT
    kinds.update({("userIdentity", name): STRING for name in ROOT_IDENTITY_FIELDS})
    return kinds


def string_atom(path, op, text):
    return Atom(path, op, text, True)


def record_model():
    fields = [(name,) for name in RECORD_FIELDS] + [("userIdentity", name) for name in ROOT_IDENTITY_FIELDS]
    return All(tuple(string_atom(p, "!=", "") for p in fields) + (
        Any(tuple(string_atom(("eventType",), "=", name) for name in EVENT_TYPES)),
        string_atom(("eventSource",), "=", "*.amazonaws.com"),
        string_atom(("userIdentity", "arn"), "=", "arn:aws*"),
        string_atom(("userIdentity", "arn"), "=", "*:iam::*"),
        string_atom(("userIdentity", "arn"), "=", "*:root"),
    ))


def root_usage(exclude_assumed_root_ok=True):
    terms = (string_atom(("userIdentity", "type"), "=", "Root"), Check(("userIdentity", "invokedBy"), "NOT EXISTS"),
             string_atom(("eventType",), "!=", "AwsServiceEvent"))
    if exclude_assumed_root_ok:
        terms += (Check(("userIdentity", "sessionContext", "assumedRoot"), "NOT EXISTS"),)
    return All(terms)
