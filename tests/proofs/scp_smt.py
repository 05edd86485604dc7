"""An independent SMT encoding of "does the union of these SCP Deny statements deny the root user every
required action, for every request?" (z3's string theory), used as the oracle for
:mod:`rootguard_filters.decide.scp_coverage`.

Written from AWS's documentation, not from the pack's code: a request is an action name, a resource,
and for every condition key a presence bit and a string value. The semantics encoded:

* Action names (``service:Name``, letters, digits, ``-`` in the prefix) match case-insensitively with
  ``*``/``?``: the action is a lower-case string and the patterns are lower-cased.
* The resource is ``*`` (actions without a resource type) or an ARN of the ``aws`` partition,
  ``arn:aws:<service>:<region>:<account>:<resource>``. ``Resource`` patterns are case-sensitive;
  ``*``/``?`` stay inside one colon-separated segment, except a ``*`` that ends a segment, which
  AWS documents may expand past colons.
* Condition keys are free except those fixed for a root sign-in (``aws:PrincipalArn`` is the
  account's root ARN, ``aws:AssumedRoot`` absent). ``aws:RequestedRegion`` and
  ``aws:SecureTransport`` are always present; Bool keys take ``true``/``false``.
* String operators: Equals exact, Like with ``*``/``?`` over the whole value; negated forms hold
  when no value matches or the key is absent; ``IfExists`` holds for an absent key; ``Null: true``
  holds exactly when the key is absent. Values of one key are ORed; clauses are ANDed.

How it is solved: z3's string solver gives up ("unknown") on many negated regular memberships of one
variable, so each membership ``value in R`` is a Boolean atom; z3 solves the Boolean problem, and
every string variable's atoms are then checked for a real string (one membership in the intersection
of the regular expressions and complements, which z3 decides at once). An impossible combination is
blocked (reduced to a minimal impossible subset) and the Boolean problem solved again, until a real
request is found (sat) or none is left (unsat).
"""
from __future__ import annotations

import re

import z3

ACCOUNT = "111111111111"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
ALWAYS_PRESENT = {"aws:requestedregion", "aws:securetransport", "aws:principalarn"}
BOOL_KEYS = {"aws:securetransport", "aws:multifactorauthpresent"}
FIXED = {"aws:principalarn": ROOT_ARN, "aws:assumedroot": None}
TIMEOUT_MS = 20_000

_ALL = z3.AllChar(z3.ReSort(z3.StringSort()))
_NOT_COLON = z3.Intersect(_ALL, z3.Complement(z3.Re(":")))


def _concat(parts):
    if not parts:
        return z3.Re("")
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


def glob(pattern: str, lower: bool = False):
    """``*`` any run, ``?`` any one character, over the whole string (StringLike, Action)."""
    if lower:
        pattern = pattern.lower()
    parts, literal = [], ""
    for char in pattern:
        if char in "*?":
            if literal:
                parts.append(z3.Re(literal))
                literal = ""
            parts.append(z3.Star(_ALL) if char == "*" else _ALL)
        else:
            literal += char
    if literal:
        parts.append(z3.Re(literal))
    return _concat(parts)


def resource_glob(pattern: str):
    """A Resource element pattern: wildcards stay in their segment unless a ``*`` ends it."""
    parts, literal = [], ""
    for n, char in enumerate(pattern):
        if char in "*?":
            if literal:
                parts.append(z3.Re(literal))
                literal = ""
            ends_segment = n + 1 == len(pattern) or pattern[n + 1] == ":"
            if char == "*":
                parts.append(z3.Star(_ALL if ends_segment else _NOT_COLON))
            else:
                parts.append(_NOT_COLON)
        else:
            literal += char
    if literal:
        parts.append(z3.Re(literal))
    return _concat(parts)


def _chars(ranges, extra=""):
    options = [z3.Range(a, b) for a, b in ranges] + [z3.Re(c) for c in extra]
    return z3.Union(*options) if len(options) > 1 else options[0]


ACTION_DOMAIN = z3.Concat(z3.Plus(_chars([("a", "z"), ("0", "9")], "-")), z3.Re(":"),
                          z3.Plus(_chars([("a", "z"), ("0", "9")])))
ARN_DOMAIN = z3.Concat(z3.Re("arn:aws:"), z3.Plus(_NOT_COLON), z3.Re(":"), z3.Star(_NOT_COLON), z3.Re(":"),
                       z3.Star(_NOT_COLON), z3.Re(":"), _NOT_COLON, z3.Star(_ALL))
RESOURCE_DOMAIN = z3.Union(z3.Re("*"), ARN_DOMAIN)


def _as_list(value):
    return [value] if isinstance(value, str) else list(value)


def condition_keys(statements):
    return {key.lower() for s in statements for block in (s.get("Condition") or {}).values() for key in block}


def _text(value) -> str:
    """A z3 string value as Python text (z3 spells characters outside printable ASCII as \\u{..})."""
    return re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), value.as_string())


_REGEX = {}    # atom key -> z3 regular expression (one per pattern, shared by every question)
_DOMAINS = {
    "action": ACTION_DOMAIN, "resource": RESOURCE_DOMAIN, "boolean": z3.Union(z3.Re("true"), z3.Re("false")),
    "non-empty": z3.Plus(_ALL), "any": z3.Star(_ALL),
}
_STRINGS = {}  # (domain, literals) -> a string or None: the same combinations recur across questions


def string_in(domain, literals):
    """A string of ``domain`` whose membership in each atom's expression is as ``literals``
    (``(atom key, wanted)``) say, or None when no string is."""
    cache_key = (domain, frozenset(literals))
    if cache_key in _STRINGS:
        return _STRINGS[cache_key]
    base = z3.Re(domain[1]) if isinstance(domain, tuple) else _DOMAINS[domain]
    parts = [base] + [_REGEX[k] if wanted else z3.Complement(_REGEX[k]) for k, wanted in literals]
    value = z3.String("s")
    solver = z3.Solver()
    solver.set("timeout", TIMEOUT_MS)
    solver.add(z3.InRe(value, z3.Intersect(*parts) if len(parts) > 1 else parts[0]))
    result = solver.check()
    if result == z3.unknown:
        raise SolverGaveUp(f"a string in the intersection of {len(parts)} expressions")
    text = _text(solver.model().eval(value, model_completion=True)) if result == z3.sat else None
    if len(_STRINGS) < 200_000:
        _STRINGS[cache_key] = text
    return text


class Escape:
    """The question for one SCP set: is there a request for a required action that no Deny reaches?"""

    def __init__(self, statements, required):
        self.atoms = {}          # (variable, key) -> (z3 Bool, regular expression)
        self.present = {}        # condition key -> z3 Bool
        keys = condition_keys(statements) | set(FIXED)
        for key in sorted(keys):
            self.present[key] = z3.Bool(f"present[{key}]")
        self.domains = {"action": "action", "resource": "resource"}   # variable -> domain name
        facts = []
        for key in sorted(keys):
            variable = f"value[{key}]"
            if key in FIXED:
                fixed = FIXED[key]
                facts.append(self.present[key] == (fixed is not None))
                self.domains[variable] = ("exactly", fixed or "")
            elif key in BOOL_KEYS:
                self.domains[variable] = "boolean"
            else:
                self.domains[variable] = "non-empty" if key in ALWAYS_PRESENT else "any"
            if key in ALWAYS_PRESENT:
                facts.append(self.present[key])
        wanted = z3.Or(*[self._member("action", ("glob", p.lower()), glob(p, lower=True)) for p in required])
        denied = z3.Or(*[self._statement(s) for s in statements]) if statements else z3.BoolVal(False)
        self.formula = z3.And(*facts, wanted, z3.Not(denied))

    # ---------------------------------------------------------------- encoding

    def _member(self, variable, key, regex):
        if (variable, key) not in self.atoms:
            _REGEX.setdefault(key, regex)
            self.atoms[(variable, key)] = (z3.Bool(f"{variable} in {key}"), key)
        return self.atoms[(variable, key)][0]

    def _action(self, pattern):
        return self._member("action", ("glob", pattern.lower()), glob(pattern, lower=True))

    def _resource(self, pattern):
        return self._member("resource", ("resource", pattern), resource_glob(pattern))

    def _clause(self, operator, key, values):
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        present, variable = self.present[key], f"value[{key}]"
        if base == "Null":
            return z3.Or(*[z3.Not(present) if v.lower() == "true" else present for v in values])
        if base == "Bool":
            matched = z3.Or(*[self._member(variable, ("eq", v.lower()), z3.Re(v.lower())) for v in values])
            negated = False
        elif base in ("StringEquals", "StringNotEquals"):
            matched = z3.Or(*[self._member(variable, ("eq", v), z3.Re(v)) for v in values])
            negated = base == "StringNotEquals"
        elif base in ("StringLike", "StringNotLike"):
            matched = z3.Or(*[self._member(variable, ("glob", v), glob(v)) for v in values])
            negated = base == "StringNotLike"
        else:
            raise ValueError(f"operator {operator} is not encoded")
        holds_present = z3.Not(matched) if negated else matched
        return z3.If(present, holds_present, z3.BoolVal(if_exists or negated))

    def _statement(self, statement):
        if "Action" in statement:
            parts = [z3.Or(*[self._action(p) for p in _as_list(statement["Action"])])]
        else:
            parts = [z3.Not(z3.Or(*[self._action(p) for p in _as_list(statement["NotAction"])]))]
        if "Resource" in statement:
            parts.append(z3.Or(*[self._resource(p) for p in _as_list(statement["Resource"])]))
        else:
            parts.append(z3.Not(z3.Or(*[self._resource(p) for p in _as_list(statement["NotResource"])])))
        for operator, block in (statement.get("Condition") or {}).items():
            for key, values in block.items():
                parts.append(self._clause(operator, key.lower(), _as_list(values)))
        return z3.And(*parts)

    # ---------------------------------------------------------------- solving

    def _minimal_conflict(self, literals, domain):
        """Drop literals while the rest stays impossible: a small clause to block."""
        core = list(literals)
        for item in list(core):
            trial = [x for x in core if x is not item]
            if string_in(domain, tuple((k, w) for _, k, w in trial)) is None:
                core = trial
        return core

    def solve(self, values=None, limit=10_000):
        """``(z3.sat, request)`` or ``(z3.unsat, None)``. ``values`` fixes variables to strings
        (``None`` for an absent key): the question "does this very request escape?"."""
        values = values or {}
        boolean = z3.Solver()
        boolean.set("timeout", TIMEOUT_MS)
        boolean.add(self.formula)
        domains = dict(self.domains)
        for variable, value in values.items():
            if variable.startswith("value["):
                key = variable[len("value["):-1]
                if key not in self.present:
                    continue
                boolean.add(self.present[key] == (value is not None))
                if value is None:
                    continue
            domains[variable] = ("exactly", value)
        by_variable = {}
        for (variable, key), (atom, regex_key) in self.atoms.items():
            by_variable.setdefault(variable, []).append((atom, regex_key))
        for variable, atoms in by_variable.items():   # a fixed string decides its atoms outright
            if isinstance(domains[variable], tuple):
                text = domains[variable][1]
                for atom, regex_key in atoms:
                    boolean.add(atom == z3.is_true(z3.simplify(z3.InRe(z3.StringVal(text), _REGEX[regex_key]))))
        for _ in range(limit):
            result = boolean.check()
            if result == z3.unknown:
                raise SolverGaveUp("the Boolean abstraction")
            if result == z3.unsat:
                return z3.unsat, None
            model = boolean.model()
            request, blocked = {}, False
            for variable, atoms in sorted(by_variable.items()):
                literals = [(atom, regex_key, z3.is_true(model.eval(atom, model_completion=True)))
                            for atom, regex_key in atoms]
                text = string_in(domains[variable], tuple((k, w) for _, k, w in literals))
                if text is None:
                    core = self._minimal_conflict(literals, domains[variable])
                    boolean.add(z3.Or(*[atom != wanted for atom, _, wanted in core]) if core
                                else z3.BoolVal(False))
                    blocked = True
                    break
                request[variable] = text
            if blocked:
                continue
            for variable in set(domains) - set(request):   # variables no atom constrains
                request[variable] = string_in(domains[variable], ())
            conditions = {}
            for key, present in self.present.items():
                if key in FIXED:
                    continue
                on = z3.is_true(model.eval(present, model_completion=True))
                conditions[key] = request[f"value[{key}]"] if on else None
            return z3.sat, {"action": request["action"], "resource": request["resource"],
                            "conditions": conditions}
        raise SolverGaveUp(f"more than {limit} refinements")

    def counterexample(self):
        return self.solve()

    def admits(self, witness):
        """Is the pack's witness a request that escapes, under this encoding? (z3 result)"""
        values = {"action": witness["action"].lower()}
        if witness.get("resource") is not None:
            values["resource"] = witness["resource"]
        for key, value in (witness.get("conditions") or {}).items():
            values[f"value[{key}]"] = value
        return self.solve(values)[0]


class SolverGaveUp(RuntimeError):
    """z3 answered "unknown"."""
