"""Is the root user denied every required action by the union of the SCP deny statements in effect?

Pure. The question is asked for *every* request the root user of one account could make: any
action, any resource, any value of the condition keys the statements test. A request is denied when
at least one Deny statement applies to it (its action matches ``Action`` or misses ``NotAction``,
its resource matches ``Resource`` or misses ``NotResource``, and every condition holds). Root is
covered when no request for a required action escapes; several statements and several policies may
share the work. Only explicit denies count: an action left out of every Allow is also blocked by
SCPs, but that is not credited here (a deny-root guardrail must say so itself).

How it is decided:

* Keys fixed for root (``aws:PrincipalArn``, ``aws:PrincipalType`` = ``Account``, ``aws:userid`` =
  the account id, ``aws:AssumedRoot`` absent...) are evaluated once: a statement false for root is
  dropped, one that holds regardless of the request is *unconditional*.
* Every other key, and the resource, is free. Each key gets a finite set of candidate values: for
  String/Like operators and Resource patterns one value per class of strings the patterns can tell
  apart (from their product automaton), for Bool and numeric operators the boundary values, plus a
  value none names, a real region, and "absent" where IAM may leave the key out. That is every
  distinguishable case for those operators. Each combination is tried; in each, the action sets of
  the applying statements are compared exactly (:mod:`rootguard_filters.logic.action_globs`).
* A combination whose required actions are not all denied is the witness: an action (and the
  condition values, resource) root can still use. Statements that cannot be evaluated (unknown
  operator, policy variable, Date operator) are counted as denying when a witness is looked for,
  so a witness is never one of them; if they alone stand in the way, or the candidate values are
  not exhaustive (Arn operators on free keys, IP ranges, multi-valued keys) and no witness was
  found, the answer is undecided with the reason — never covered.

AssumeRoot sessions carry ``aws:AssumedRoot``; a statement exempting them
(``Null: {aws:AssumedRoot: true}``, as in AWS's reference SCP) still covers root sign-ins, and the
result says those sessions are exempt.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from rootguard_filters.logic.action_globs import (
    RESOURCE_GLOB, ActionSearchTooLarge, DecisionTimeout, check_deadline, distinguishing_values,
    time_limit, uncovered_action)
from rootguard_filters.logic.iam_policy import (
    ABSENT,
    ALWAYS_PRESENT_KEYS,
    BOOLEAN_KEYS,
    ASSUMED_ROOT_KEY,
    ConditionClause,
    Statement,
    action_matches,
    date_seconds,
    evaluate_clause,
    resource_like,
    root_request_context,
    split_operator,
)

RESOURCE_KEY = "(resource)"       # pseudo condition key: the request's resource ARN
WITNESS_VALUE = "rootguard-witness-value"
# Real regions, tried in this order; one the policies do not name stands for "any other region".
WITNESS_REGIONS = (
    "us-east-1", "ap-south-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-northeast-1",
    "sa-east-1", "ca-central-1", "ap-southeast-2", "eu-north-1", "me-south-1", "af-south-1",
    "us-east-2", "us-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "ap-east-1",
    "ap-southeast-1", "ap-northeast-2", "ap-northeast-3", "il-central-1", "mx-central-1",
)
COMBINATION_LIMIT = 4096
# Default time one coverage decision may take; past it the answer is undecided, saying so.
DECISION_SECONDS = 5.0
NO_RESOURCE = "*"   # the resource of a request for an action that has no resource type
# Real requests root can make, tried (in this order) before a synthetic witness, so a hole reads
# like "kms:Decrypt on arn:aws:kms:...". ``{p}`` partition, ``{r}`` region, ``{a}`` account.
FAMILIAR_REQUESTS = (
    ("iam:CreateAccessKey", "arn:{p}:iam::{a}:user/rootguard-witness"),
    ("iam:UpdateAccountPasswordPolicy", NO_RESOURCE),
    ("organizations:LeaveOrganization", NO_RESOURCE),
    ("kms:Decrypt", "arn:{p}:kms:{r}:{a}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("lambda:InvokeFunction", "arn:{p}:lambda:{r}:{a}:function:rootguard-witness"),
    ("s3:GetObject", "arn:{p}:s3:::rootguard-witness/object"),
    ("ec2:TerminateInstances", "arn:{p}:ec2:{r}:{a}:instance/i-0123456789abcdef0"),
    ("cloudtrail:StopLogging", "arn:{p}:cloudtrail:{r}:{a}:trail/rootguard-witness"),
    ("sts:GetCallerIdentity", NO_RESOURCE),
    ("s3:ListAllMyBuckets", NO_RESOURCE),
    ("ec2:DescribeInstances", NO_RESOURCE),
    ("kms:CreateKey", NO_RESOURCE),
)
_EQUALITY_OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "Bool", "Null", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
}
_PATTERN_OPERATORS = {"StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike",
                      "ArnNotLike"}

COVERED, HOLE, UNDECIDED = "covered", "hole", "undecided"


@dataclass(frozen=True)
class DenyStatement:
    """One Deny statement of one SCP, with its Resource turned into a condition on the resource."""
    policy_id: str | None
    statement: Statement
    clauses: tuple[ConditionClause, ...]

    @property
    def label(self) -> str:
        return f"{self.policy_id} {self.statement.label}" if self.policy_id else self.statement.label

    def denies_action(self, action: str) -> bool:
        st = self.statement
        if st.not_actions is not None:
            return not any(action_matches(p, action) for p in st.not_actions)
        return any(action_matches(p, action) for p in st.actions or ())


@dataclass
class Coverage:
    status: str                        # covered | hole | undecided
    reason: str
    witness: dict | None = None        # {"action", "conditions": {key: value|None}, "resource"}
    contributing: list = field(default_factory=list)   # DenyStatements that deny something
    notes: dict = field(default_factory=dict)          # statement label -> why it falls short
    assumed_root_exempt: bool = False


def _principal_is_everyone(principal) -> bool:
    if principal is None or principal == "*":
        return True
    return isinstance(principal, dict) and set(principal) == {"AWS"} and principal["AWS"] in ("*", ["*"])


def deny_statements(document, policy_id: str | None = None) -> tuple[list, dict]:
    """The Deny statements of a parsed policy, and a note for each statement that can never deny."""
    denies, notes = [], {}
    for st in document.statements:
        label = f"{policy_id} {st.label}" if policy_id else st.label
        if st.effect != "Deny":
            notes[label] = f"Effect is {st.effect!r}, not 'Deny' (Allow statements do not deny)"
            continue
        if st.not_principal is not None or not _principal_is_everyone(st.principal):
            notes[label] = "names a Principal/NotPrincipal (SCPs support neither), so it is not counted"
            continue
        if st.resources is None and st.not_resources is None:
            notes[label] = "has no Resource or NotResource (AWS rejects such a policy), so it is not counted"
            continue
        clauses = list(st.conditions)
        if st.not_resources is not None:
            clauses.append(ConditionClause("StringNotLike", RESOURCE_KEY, st.not_resources))
        elif "*" not in st.resources:
            clauses.append(ConditionClause("StringLike", RESOURCE_KEY, st.resources))
        denies.append(DenyStatement(policy_id, st, tuple(clauses)))
    return denies, notes


def _describe(clause: ConditionClause) -> str:
    if clause.key == RESOURCE_KEY:
        element = "NotResource" if clause.operator == "StringNotLike" else "Resource"
        return f"{element} {list(clause.values)}"
    return f"{clause.operator} {clause.key} {list(clause.values)}"


def _describe_actions(st: Statement) -> str:
    if st.not_actions is not None:
        return f"NotAction {list(st.not_actions)} (denies every other action)"
    return f"Action {list(st.actions)}"


def _evaluate_resource(clause: ConditionClause, context: dict):
    """A Resource (``StringLike``) or NotResource (``StringNotLike``) element against the request."""
    described = _describe(clause)
    if any("${" in v for v in clause.values):
        return None, f"{described} uses a policy variable"
    if RESOURCE_KEY not in context:
        return None, f"{described} depends on the resource, unknown here"
    matched = any(resource_like(v, context[RESOURCE_KEY]) for v in clause.values)
    return matched != (clause.operator == "StringNotLike"), described


def _evaluate(deny: DenyStatement, context: dict):
    """True / False / None (undecidable) for the whole condition, plus the notes of unknowns."""
    outcome, unknown = True, []
    for clause in deny.clauses:
        if clause.key == RESOURCE_KEY:
            result, note = _evaluate_resource(clause, context)
        else:
            result, note = evaluate_clause(clause, context)
        if result is False:
            return False, [note]
        if result is None:
            outcome = None
            unknown.append(note)
    return outcome, unknown


def _numeric_candidates(values) -> list[str]:
    numbers = sorted({float(v) for v in values if _is_number(v)})
    out = []
    for n, low in enumerate(numbers):
        out += [low - 1, low, low + 1]
        if n + 1 < len(numbers):
            out.append((low + numbers[n + 1]) / 2)
    return [str(int(x)) if float(x).is_integer() else str(x) for x in out]


_CLOCK_KEYS = ("aws:currenttime", "aws:epochtime")


def _date_candidates(values, clock: bool) -> list[str]:
    """Boundary dates (as ISO 8601) around every date the clauses name: every case they tell apart.

    For the request clock (``aws:CurrentTime``) only now and later are requests root can still make:
    a deny that held in the past is no hole today, one that expires is.
    """
    seconds = sorted({date_seconds(v) for v in values} - {None})
    out = []
    for n, low in enumerate(seconds):
        out += [low - 1, low, low + 1]
        if n + 1 < len(seconds):
            out.append((low + seconds[n + 1]) / 2)
    if clock:
        now = time.time()
        out = [now] + [x for x in out if x > now]
    return [datetime.fromtimestamp(x, timezone.utc).isoformat().replace("+00:00", "Z") for x in out]


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _candidates(key: str, clauses, partition: str, account_id: str) -> tuple[list, bool]:
    """Values to try for one free key, and whether they cover every distinguishable case."""
    values, exhaustive = [], True
    bases = {getattr(split_operator(c.operator), "base", None) for c in clauses}
    named = {v.lower() for c in clauses for v in c.values}
    if key == RESOURCE_KEY:
        classes = _resource_classes(clauses, partition)
        if classes is not None:
            return classes, True
        # policy variables: the familiar resources and "*" are tried, which proves nothing
        values = [NO_RESOURCE] + [r.format(p=partition, r="us-east-1", a=account_id)
                                  for _, r in FAMILIAR_REQUESTS if r != NO_RESOURCE]
        return values, False
    if key in BOOLEAN_KEYS and all(split_operator(c.operator) is not None
                                   and not split_operator(c.operator).qualifier for c in clauses):
        # every value the key can take: whatever the operators, trying them all is exhaustive
        return ["true", "false"] + ([ABSENT] if key not in ALWAYS_PRESENT_KEYS else []), True
    if key == "aws:requestedregion":
        values += [r for r in WITNESS_REGIONS if r not in named][:1] + list(WITNESS_REGIONS[:3])
    elif not bases <= ({"Bool", "Null", "IpAddress", "NotIpAddress"}
                       | {b for b in bases if b and b.startswith(("Numeric", "Date"))}):
        values.append(WITNESS_VALUE)  # a string none of the statements names
    may_be_absent = key not in ALWAYS_PRESENT_KEYS and key != RESOURCE_KEY
    if may_be_absent and values:
        values.append(ABSENT)
    for clause in clauses:
        operator = split_operator(clause.operator)
        if operator is None:
            exhaustive = False
            continue
        if operator.qualifier:
            exhaustive = False  # multi-valued keys: single values are tried, not every set
        base = operator.base
        if base == "Null":
            continue  # presence only: "absent" is tried, and the present values come from the rest
        if base == "Bool":
            values += ["true", "false"]
        elif base.startswith("Numeric"):
            values += _numeric_candidates(clause.values)
        elif base.startswith("Date"):
            values += _date_candidates(clause.values, key in _CLOCK_KEYS)
        elif base in _EQUALITY_OPERATORS:
            for v in clause.values:
                values += [v, v.lower(), v.upper(), v.swapcase()]
        elif base in _PATTERN_OPERATORS:
            for v in clause.values:
                if "*" in v or "?" in v:
                    exhaustive = False
                    values += [v.replace("*", "").replace("?", "x"), v.replace("*", "x").replace("?", "x")]
                else:
                    values.append(v)
        elif base in ("IpAddress", "NotIpAddress"):
            exhaustive = False
            values += ["192.0.2.10", "2001:db8::10"]
            for v in clause.values:
                values.append(v.split("/")[0])
        else:
            exhaustive = False  # BinaryEquals: not evaluated
    exact = _string_classes(key, clauses)
    if exact is not None:
        values += exact
        exhaustive = True
    if may_be_absent and ABSENT not in values:
        values.append(ABSENT)  # after the Bool / numeric values: a present value reads better
    seen, unique = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            unique.append(v)
    return unique, exhaustive


def _resource_classes(clauses, partition):
    """One resource per class of resources the Resource/NotResource patterns tell apart, among the
    resources a request can carry: ``*`` and the ARNs of the partition. ``None`` when a pattern
    holds a policy variable or the classes are too many to list."""
    patterns = [v for c in clauses for v in c.values]
    if any("${" in v for v in patterns):
        return None
    domain = ((NO_RESOURCE, False, False), (f"arn:{partition}:?*:*:*:?*", RESOURCE_GLOB, False))
    try:
        values = distinguishing_values(
            tuple((v, RESOURCE_GLOB, False) for v in patterns) + domain, nonempty=True)
    except DecisionTimeout:
        raise
    except ActionSearchTooLarge:
        return None
    arns = [v for v in values if resource_like(domain[1][0], v)]
    return arns + [NO_RESOURCE] * (NO_RESOURCE in values)  # an ARN reads better as a witness


_STRING_ATOMS = {  # operator -> (wildcards, ignore case)
    "StringEquals": (False, False), "StringNotEquals": (False, False),
    "StringEqualsIgnoreCase": (False, True), "StringNotEqualsIgnoreCase": (False, True),
    "StringLike": (True, False), "StringNotLike": (True, False),
}


def _string_classes(key, clauses):
    """For a key tested only by String operators: one value per class of values the clauses can
    tell apart (wildcards included), so trying them is exhaustive. ``None`` when that does not apply."""
    atoms = []
    for clause in clauses:
        operator = split_operator(clause.operator)
        if operator is not None and operator.base == "Null":
            continue  # tests presence only; "absent" is tried beside these values
        if operator is None or operator.qualifier or operator.base not in _STRING_ATOMS:
            return None
        if any("${" in v for v in clause.values):
            return None
        atoms += [(v, *_STRING_ATOMS[operator.base]) for v in clause.values]
    try:
        # IAM never sends an empty region, organization id...
        values = distinguishing_values(tuple(atoms), nonempty=key in ALWAYS_PRESENT_KEYS)
    except DecisionTimeout:
        raise
    except ActionSearchTooLarge:
        return None
    return list(values)


def _action_gap(required, denies) -> str | None:
    denied = tuple(p for d in denies if d.statement.not_actions is None for p in d.statement.actions)
    kept = tuple(d.statement.not_actions for d in denies if d.statement.not_actions is not None)
    return uncovered_action(tuple(required), denied, kept)


def _witness(action, assignment) -> dict:
    conditions = {k: v for k, v in assignment.items() if k != RESOURCE_KEY}
    return {"action": action, "conditions": conditions, "resource": assignment.get(RESOURCE_KEY)}


def witness_text(witness: dict) -> str:
    """``iam:CreateAccessKey where aws:requestedregion = 'ap-south-1' on resource ...``."""
    parts = [witness["action"]]
    conditions = [f"{k} = {v!r}" if v is not None else f"{k} absent"
                  for k, v in sorted((witness.get("conditions") or {}).items())]
    if conditions:
        parts.append("where " + " and ".join(conditions))
    if witness.get("resource"):
        parts.append(f"on resource {witness['resource']}")
    return " ".join(parts)


def decide_coverage(denies, account_id: str, partition: str = "aws", required=("*",),
                    known=None, seconds: float = DECISION_SECONDS) -> Coverage:
    """Do these Deny statements together deny ``required`` to the account's root user sign-ins?

    ``known`` adds keys fixed for this root (e.g. ``aws:principalorgid``), lower-case. A decision
    not reached within ``seconds`` is undecided, saying so.
    """
    try:
        with time_limit(seconds):
            return _decide(denies, str(account_id), partition, tuple(required), known)
    except DecisionTimeout:
        return Coverage(UNDECIDED, f"not decided within the {seconds:g} s time limit (raise the "
                        f"filter's decision-seconds to allow more)", None, [], {})


def _decide(denies, account_id, partition, required, known) -> Coverage:
    context = {**root_request_context(account_id, partition), **(known or {}),
               **_absent_tags(c for d in denies for c in d.clauses)}
    fixed, conditional, notes = [], [], {}
    for deny in denies:
        free = [c for c in deny.clauses if c.key not in context]
        fixed_clauses = [c for c in deny.clauses if c.key in context]
        probe = DenyStatement(deny.policy_id, deny.statement, tuple(fixed_clauses))
        outcome, detail = _evaluate(probe, context)
        if outcome is False:
            notes[deny.label] = f"condition does not match the root user's sign-in: {detail[0]}"
            continue
        if free or outcome is None:
            conditional.append((deny, free))
            narrowing = [_describe(c) for c in free] + detail
            notes[deny.label] = "condition narrows the deny: " + "; ".join(narrowing)
        else:
            fixed.append(deny)
        if deny.statement.not_actions is not None:
            notes.setdefault(deny.label, _describe_actions(deny.statement))
    try:
        gap = _action_gap(required, fixed)
        if gap is None:
            return _covered(fixed, notes)
        if not conditional:
            return Coverage(HOLE, "", _witness(gap, {}), fixed, notes)
        return _enumerate(required, context, fixed, conditional, notes, partition)
    except DecisionTimeout:
        raise
    except ActionSearchTooLarge as error:
        return Coverage(UNDECIDED, f"the action patterns are too many to compare: {error}",
                        None, [], notes)


def _absent_tags(clauses) -> dict:
    return {c.key: ABSENT for c in clauses if c.key.startswith("aws:principaltag/")}


def _covered(contributing, notes) -> Coverage:
    exempt = any(c.key == ASSUMED_ROOT_KEY for d in contributing for c in d.clauses)
    return Coverage(COVERED, "", None, list(contributing), notes, exempt)


def _enumerate(required, context, fixed, conditional, notes, partition) -> Coverage:
    keys = sorted({c.key for _, free in conditional for c in free})
    per_key, exhaustive = [], True
    for key in keys:
        values, complete = _candidates(
            key, [c for _, free in conditional for c in free if c.key == key], partition,
            context["aws:principalaccount"])
        per_key.append(values)
        exhaustive = exhaustive and complete
    total = 1
    for values in per_key:
        total *= len(values)
    if total > COMBINATION_LIMIT:
        exhaustive = False
    undecidable, applied = [], set()
    for combo in itertools.islice(itertools.product(*per_key), COMBINATION_LIMIT):
        check_deadline()
        assignment = dict(zip(keys, combo))
        request = {**context, **assignment}
        applies, maybe = [], []
        for deny, _ in conditional:
            outcome, detail = _evaluate(deny, request)
            if outcome is True:
                applies.append(deny)
            elif outcome is None:
                maybe.append((deny, detail))
        gap = _action_gap(required, fixed + applies + [d for d, _ in maybe])
        if gap is not None:
            witness = _familiar_witness(required, request, fixed + [d for d, _ in conditional],
                                        assignment, partition) or _witness(gap, assignment)
            return Coverage(HOLE, "", witness, fixed + applies, notes)
        applied.update(id(d) for d in applies)
        if maybe and _action_gap(required, fixed + applies) is not None:
            undecidable += [f"{d.label}: {'; '.join(detail)}" for d, detail in maybe]
    if undecidable:
        reasons = "; ".join(dict.fromkeys(undecidable))
        return Coverage(UNDECIDED, f"coverage depends on conditions that cannot be evaluated: {reasons}",
                        None, [], notes)
    if not exhaustive:
        narrowing = sorted({k for k in keys})
        return Coverage(
            UNDECIDED,
            f"no request escaping the denies was found among {min(total, COMBINATION_LIMIT)} "
            f"combinations of {', '.join(narrowing)}, but ARN-pattern, IP, multi-valued or too many "
            "conditions make that search incomplete, so coverage is not proven", None, [], notes)
    contributing = fixed + [d for d, _ in conditional if id(d) in applied]
    return _covered(contributing, notes)


def _familiar_witness(required, request, denies, assignment, partition) -> dict | None:
    """A familiar real request (:data:`FAMILIAR_REQUESTS`) that escapes ``denies`` where the free
    keys take ``assignment``, or ``None``. Only the resource is changed, within its class or not:
    the request is checked on its own, so any one that escapes is a true witness."""
    if RESOURCE_KEY not in assignment:
        return None
    region = request.get("aws:requestedregion")
    region = region if region in WITNESS_REGIONS else "us-east-1"
    # requests in the resource's own kind first: ARNs for an ARN, actions without a resource for "*"
    ordered = sorted(FAMILIAR_REQUESTS,
                     key=lambda r: (r[1] == NO_RESOURCE) != (assignment[RESOURCE_KEY] == NO_RESOURCE))
    for action, template in ordered:
        if not any(action_matches(r, action) for r in required):
            continue
        resource = template.format(p=partition, r=region, a=request["aws:principalaccount"])
        if request_denied(denies, action, request, resource) is False:
            return _witness(action, {**assignment, RESOURCE_KEY: resource})
    return None


def request_denied(denies, action: str, context: dict, resource: str | None = None):
    """Is this one concrete request denied by any statement? ``None`` when one cannot be evaluated.

    Independent of the search above: used to check witnesses.
    """
    request = dict(context)
    if resource is not None:
        request[RESOURCE_KEY] = resource
    unknown = False
    for deny in denies:
        if not deny.denies_action(action):
            continue
        clauses = deny.clauses
        if resource is None:  # "any resource": only statements that ignore the resource decide
            clauses = tuple(c for c in clauses if c.key != RESOURCE_KEY)
        outcome, _ = _evaluate(DenyStatement(deny.policy_id, deny.statement, clauses), request)
        if outcome is False:
            continue
        if outcome is None or len(clauses) != len(deny.clauses):
            unknown = True
            continue
        return True
    return None if unknown else False
