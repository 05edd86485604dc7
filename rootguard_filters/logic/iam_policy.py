"""Pure IAM policy grammar: parsing, wildcard matching and condition evaluation.

No boto3, no c7n: everything here works on plain data so it can be tested exhaustively.

Semantics follow the IAM policy reference:

* Action names match case-insensitively, with ``*`` (any run) and ``?`` (one character).
* ``StringLike``/``StringEquals`` are case-sensitive; only the ``Like`` forms expand wildcards.
* ``ArnLike`` and ``ArnEquals`` are documented together: case-sensitive, the six colon-separated
  ARN parts compared one by one, each part may use ``*``/``?``. A ``*`` never crosses a colon in the
  first five parts; the sixth part (resource) is everything after the fifth colon.
* Condition keys are case-insensitive; operator names are case-sensitive.
* Several values for one key are ORed; negated operators (``...Not...``) require that no value
  matches. Several keys, and several operators, are ANDed.
* A key absent from the request makes a positive operator false and a negated operator true;
  ``...IfExists`` makes any operator true for an absent key; ``Null: true`` is true only when absent.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

PRINCIPAL_ARN_KEY = "aws:principalarn"
ASSUMED_ROOT_KEY = "aws:assumedroot"

# Marker for "this key is known to be missing from the request" in a request context.
ABSENT = None

_STRING_OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike",
}
_ARN_OPERATORS = {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}
# Known to IAM but not evaluated here (their keys are never in our contexts' string form).
_OTHER_OPERATORS = {
    "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals",
    "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
    "DateGreaterThan", "DateGreaterThanEquals",
    "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
}
_NEGATED = {
    "StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
    "NumericNotEquals", "DateNotEquals", "NotIpAddress",
}
_SET_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")


class PolicyDocumentError(ValueError):
    """The policy document is not valid IAM policy JSON."""


# --------------------------------------------------------------------------- wildcard matching

@lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def string_like(pattern: str, value: str) -> bool:
    """IAM ``StringLike``: case-sensitive, ``*`` any run, ``?`` one character."""
    return _wildcard_regex(pattern, False).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """IAM Action matching: like ``StringLike`` but case-insensitive (``IAM:create*`` matches)."""
    return _wildcard_regex(pattern, True).fullmatch(action) is not None


@lru_cache(maxsize=4096)
def _resource_regex(pattern: str) -> re.Pattern:
    parts = []
    for n, char in enumerate(pattern):
        if char == "*":
            segment_end = n + 1 == len(pattern) or pattern[n + 1] == ":"
            parts.append(".*" if segment_end else "[^:]*")
        elif char == "?":
            parts.append("[^:]")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def resource_like(pattern: str, resource: str) -> bool:
    """Does a ``Resource`` element pattern match the request's resource?

    Case-sensitive; ``*`` and ``?`` stay inside one colon-separated ARN segment, except a ``*``
    that ends a segment, which AWS documents may expand past the colons (``arn:aws:*`` matches
    every ``aws`` ARN). A request for an action without a resource type carries the resource
    ``*``, which only the pattern ``*`` (or one made of segment-ending stars) matches.
    """
    return _resource_regex(pattern).fullmatch(resource) is not None


def _split_arn(arn: str):
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 else None


def arn_like(pattern: str, value: str) -> bool:
    """IAM ``ArnLike``/``ArnEquals``: the six ARN parts are matched one by one, case-sensitively.

    A pattern or value that does not have six parts never matches (``arn:*:root`` matches nothing).
    """
    pattern_parts, value_parts = _split_arn(pattern), _split_arn(value)
    if pattern_parts is None or value_parts is None:
        return False
    return all(string_like(p, v) for p, v in zip(pattern_parts, value_parts))


def pattern_covers(pattern: str, required: str) -> bool:
    """True when every action matched by ``required`` is also matched by ``pattern``.

    Sound glob containment (case-insensitive): a ``*`` in ``required`` can only be absorbed by a
    ``*`` in ``pattern``; a ``?`` in ``required`` by ``?`` or ``*``. For a plain action name this is
    exactly :func:`action_matches`.
    """
    pattern, required = pattern.lower(), required.lower()

    @lru_cache(maxsize=None)
    def covers(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(required)
        head = pattern[i]
        if head == "*":
            # absorb nothing, or one more symbol of ``required`` (wildcards included)
            return covers(i + 1, j) or (j < len(required) and covers(i, j + 1))
        if j == len(required) or required[j] == "*":
            return False
        if head == "?" or head == required[j]:
            return covers(i + 1, j + 1)
        return False

    return covers(0, 0)


# --------------------------------------------------------------------------- parsing

@dataclass(frozen=True)
class ConditionClause:
    """One ``operator: {key: values}`` entry; ``key`` is lower-cased (keys are case-insensitive)."""
    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """A normalized statement: every list element is a tuple, ``None`` when absent."""
    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: object
    not_principal: object
    conditions: tuple[ConditionClause, ...]

    @property
    def label(self) -> str:
        """How a reason refers to this statement: its Sid, else its position."""
        return f"statement {self.sid!r}" if self.sid else f"statement #{self.index}"


@dataclass(frozen=True)
class PolicyDocument:
    version: str | None
    statements: tuple[Statement, ...]


def _string_list(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyDocumentError(f"{where} must be a string or a non-empty list of strings")


def _condition_value(value, where: str) -> str:
    # IAM accepts JSON booleans and numbers as condition values and compares their text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise PolicyDocumentError(f"{where} values must be strings, numbers or booleans")


def parse_condition(condition, where: str = "Condition") -> tuple[ConditionClause, ...]:
    """Normalize a Condition block into ANDed clauses; ``None`` means no condition."""
    if condition is None:
        return ()
    if not isinstance(condition, dict):
        raise PolicyDocumentError(f"{where} must be an object")
    clauses = []
    for operator, block in condition.items():
        if not isinstance(block, dict):
            raise PolicyDocumentError(f"{where}.{operator} must be an object of key: values")
        for key, raw in block.items():
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise PolicyDocumentError(f"{where}.{operator}.{key} has no values")
            values = tuple(_condition_value(v, f"{where}.{operator}.{key}") for v in items)
            clauses.append(ConditionClause(operator, str(key).lower(), values))
    return tuple(clauses)


def parse_statement(raw, index: int = 0) -> Statement:
    """Normalize one statement object; raise :class:`PolicyDocumentError` when malformed."""
    where = f"Statement[{index}]"
    if not isinstance(raw, dict):
        raise PolicyDocumentError(f"{where} must be an object")
    effect = raw.get("Effect")
    if not isinstance(effect, str):
        raise PolicyDocumentError(f"{where}.Effect is missing or not a string")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyDocumentError(f"{where} needs exactly one of Action or NotAction")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyDocumentError(f"{where} has both Resource and NotResource")
    sid = raw.get("Sid")

    def optional_list(name):
        return _string_list(raw[name], f"{where}.{name}") if name in raw else None

    return Statement(
        index=index,
        sid=sid if isinstance(sid, str) and sid else None,
        effect=effect,
        actions=optional_list("Action"),
        not_actions=optional_list("NotAction"),
        resources=optional_list("Resource"),
        not_resources=optional_list("NotResource"),
        principal=raw.get("Principal"),
        not_principal=raw.get("NotPrincipal"),
        conditions=parse_condition(raw.get("Condition"), f"{where}.Condition"),
    )


def _no_duplicate_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise PolicyDocumentError(
                f"policy repeats the JSON key {key!r}; AWS's documented policy grammar has no "
                f"meaning for a repeated key, so the document is not evaluated")
        seen[key] = value
    return seen


def strict_json_loads(text):
    """``json.loads`` that refuses a repeated object key (Python would keep the last silently).

    Raises :class:`PolicyDocumentError` for a repeated key or text that is not JSON.
    """
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except PolicyDocumentError:
        raise
    except (ValueError, UnicodeDecodeError) as error:
        raise PolicyDocumentError(f"policy is not valid JSON: {error}") from None


def parse_policy(document) -> PolicyDocument:
    """Parse a policy (JSON text or already-decoded dict) into normalized statements.

    Raises :class:`PolicyDocumentError` for text that is not JSON or repeats an object key, a
    document that is not an object, a missing or mistyped ``Statement``, or a malformed statement.
    """
    if isinstance(document, (str, bytes, bytearray)):
        document = strict_json_loads(document)
    if not isinstance(document, dict):
        raise PolicyDocumentError(
            f"policy must be a JSON object, got {type(document).__name__}")
    if "Statement" not in document:
        raise PolicyDocumentError("policy has no Statement")
    raw_statements = document["Statement"]
    if isinstance(raw_statements, dict):  # a single statement object is valid IAM
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyDocumentError("Statement must be an object or a list of objects")
    version = document.get("Version")
    return PolicyDocument(
        version=version if isinstance(version, str) else None,
        statements=tuple(parse_statement(s, i) for i, s in enumerate(raw_statements)),
    )


# --------------------------------------------------------------------------- condition evaluation

@dataclass(frozen=True)
class _Operator:
    base: str
    qualifier: str | None  # "ForAnyValue" / "ForAllValues"
    if_exists: bool


def split_operator(operator: str) -> _Operator | None:
    """Split ``ForAnyValue:StringLikeIfExists`` into its parts; ``None`` if IAM has no such operator."""
    qualifier = None
    for prefix in _SET_QUALIFIERS:
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix):]
            break
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base == "Null":
        return None if (if_exists or qualifier) else _Operator(base, None, False)
    if base in _STRING_OPERATORS or base in _ARN_OPERATORS or base in _OTHER_OPERATORS:
        return _Operator(base, qualifier, if_exists)
    return None


_NUMERIC_TESTS = {
    "NumericEquals": lambda a, b: a == b, "NumericNotEquals": lambda a, b: a == b,
    "NumericLessThan": lambda a, b: a < b, "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b, "NumericGreaterThanEquals": lambda a, b: a >= b,
}
_DATE_TESTS = {name.replace("Numeric", "Date"): test for name, test in _NUMERIC_TESTS.items()}
# Evaluated by _value_matches; BinaryEquals stays undecidable here.
EVALUATED_OPERATORS = (_STRING_OPERATORS | _ARN_OPERATORS | set(_NUMERIC_TESTS) | set(_DATE_TESTS)
                       | {"Bool", "IpAddress", "NotIpAddress", "Null"})


def date_seconds(text: str):
    """An IAM date value (ISO 8601, or epoch seconds) as epoch seconds; None if it is neither."""
    number = _number(text)
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def _ip_in(cidr: str, value: str):
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def _value_matches(base: str, policy_value: str, value: str):
    """Positive comparison of one request value with one policy value (``None``: cannot compare)."""
    if base in _NUMERIC_TESTS:
        left, right = _number(value), _number(policy_value)
        return None if left is None or right is None else _NUMERIC_TESTS[base](left, right)
    if base in _DATE_TESTS:
        left, right = date_seconds(value), date_seconds(policy_value)
        return None if left is None or right is None else _DATE_TESTS[base](left, right)
    if base == "Bool":
        return value.lower() == policy_value.lower()
    if base in ("IpAddress", "NotIpAddress"):
        return _ip_in(policy_value, value)
    if base in ("StringEquals", "StringNotEquals"):
        return policy_value == value
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return policy_value.casefold() == value.casefold()
    if base in ("StringLike", "StringNotLike"):
        return string_like(policy_value, value)
    return arn_like(policy_value, value)  # Arn* operators (Equals and Like behave alike)


def evaluate_clause(clause: ConditionClause, context: dict) -> tuple[bool | None, str]:
    """Decide one clause against ``context``.

    ``context`` maps lower-case keys to a string, a list of strings, or :data:`ABSENT` (known to be
    missing). A key not in ``context`` at all is unknown. Returns ``(outcome, note)`` where outcome
    is ``None`` when the context cannot decide it.
    """
    operator = split_operator(clause.operator)
    described = f"{clause.operator} {clause.key} {list(clause.values)}"
    if operator is None:
        return None, f"unsupported condition operator {clause.operator!r}"
    if any("${" in value for value in clause.values):
        return None, f"{described} uses a policy variable"
    if clause.key not in context:
        return None, f"{described} depends on {clause.key}, unknown here"
    present = context[clause.key] is not ABSENT
    if operator.base == "Null":
        wants_absent = {v.lower() for v in clause.values}
        if not wants_absent <= {"true", "false"}:
            return None, f"{described}: Null takes true or false"
        return ("true" if not present else "false") in wants_absent, described
    if not present:
        if operator.if_exists:
            return True, f"{described}: key absent, IfExists holds"
        if operator.qualifier == "ForAllValues":
            return True, f"{described}: key absent, ForAllValues holds"
        if operator.qualifier == "ForAnyValue":
            return False, f"{described}: key absent"
        return operator.base in _NEGATED, f"{described}: key absent"
    if operator.base not in EVALUATED_OPERATORS:
        return None, f"{described}: operator not evaluated here"
    raw = context[clause.key]
    request_values = [raw] if isinstance(raw, str) else list(raw)
    negated = operator.base in _NEGATED

    def holds_for(value):
        outcomes = [_value_matches(operator.base, p, value) for p in clause.values]
        if True in outcomes:
            return not negated
        if None in outcomes:
            return None
        return negated

    results = [holds_for(v) for v in request_values]
    if None in results:
        return None, f"{described}: value {raw!r} cannot be compared"
    if operator.qualifier == "ForAllValues":
        return all(results), described
    return any(results), described


def condition_satisfied(clauses, context: dict) -> bool | None:
    """AND of every clause: ``False`` if one fails, ``None`` if one is undecidable, else ``True``."""
    outcome = True
    for clause in clauses:
        result, _ = evaluate_clause(clause, context)
        if result is False:
            return False
        if result is None:
            outcome = None
    return outcome


# Keys IAM fills in for every request, so "absent" is never a real value for them.
ALWAYS_PRESENT_KEYS = frozenset({
    "aws:requestedregion", "aws:currenttime", "aws:epochtime", "aws:securetransport",
    "aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:userid",
    "aws:principalisawsservice", "aws:viaawsservice",
    # every member account is in an organization
    "aws:principalorgid", "aws:principalorgpaths",
})


# Keys whose value is a boolean: IAM sends "true" or "false" (or leaves the key out), nothing else.
BOOLEAN_KEYS = frozenset({
    "aws:multifactorauthpresent", "aws:securetransport", "aws:viaawsservice",
    "aws:principalisawsservice", "aws:assumedroot",
})


def root_request_context(account_id: str, partition: str = "aws") -> dict:
    """What IAM puts in the request context when the root user signs in and acts itself.

    Root-identifying keys carry their values (``aws:PrincipalType`` is ``Account``, ``aws:userid``
    the account id). ``aws:AssumedRoot`` is absent: it is set only for ``sts:AssumeRoot`` sessions,
    which AWS's reference SCP exempts on purpose. ``aws:username`` and principal tags do not exist
    for root. Every other key depends on the request and is left out (unknown).
    """
    account_id = str(account_id)
    return {
        PRINCIPAL_ARN_KEY: f"arn:{partition}:iam::{account_id}:root",
        "aws:principaltype": "Account",
        "aws:userid": account_id,
        "aws:principalaccount": account_id,
        "aws:principalisawsservice": "false",
        ASSUMED_ROOT_KEY: ABSENT,
        "aws:username": ABSENT,
    }
