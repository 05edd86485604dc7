"""Does a CloudWatch Logs metric-filter pattern cover root-user usage - for every possible event?

Root usage is what CIS's pattern matches: ``userIdentity.type = "Root"``, no ``invokedBy``, not an
``AwsServiceEvent``; with ``exclude_assumed_root_ok`` the actions of AssumeRoot sessions
(``userIdentity.sessionContext.assumedRoot`` present) may be left out. A pattern covers when it
matches every such event; it may match more (the judgement lists what: service-invoked root calls,
AWS service events, other identities, AssumeRoot sessions).

The events range over CloudTrail records, not any JSON: the fields every record carries
(``RECORD_FIELDS``, ``eventType`` from its documented set, and for a root identity ``ROOT_IDENTITY_FIELDS``)
are present as non-empty strings, so ``{ CIS && $.eventName = * }`` covers; a counterexample must also
give them the shapes CloudTrail writes (``SHAPES``: 12-digit account ids, a root ARN...), else the
verdict is undecided rather than a record CloudTrail never writes.

JSON patterns are decided by ``pattern_coverage`` (a proof, or a counterexample event the evaluator
confirms). Term and space-delimited patterns match the event's text: a counterexample is searched
among root records built to avoid their terms or field counts, and coverage is proved only when every
required term is a word every root record's JSON text necessarily holds (``NECESSARY_WORDS``).
A %regex% using a construct the CloudWatch Logs guide does not document (``\b``, ``\x52``, a lazy
quantifier...) is undecided naming it. Every judgement ends within ``deadline_seconds`` (undecided
past it). Anything else is undecided, never "covers".

The packaged CloudTrail corpora (``data/cloudtrail``) remain as regression samples for the tests.
"""
import json
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Optional

from rootguard_filters.logic import cwl_regex
from rootguard_filters.logic.filter_pattern import (
    And, Comparison, FilterPatternError, Not, Or, RegexValue, evaluate, event_text, parse,
)
from rootguard_filters.logic.pattern_coverage import (
    OBJECT, REALISTIC, SAT, STRING, UNSAT, describe_event, find_event, selector_paths,
)
from rootguard_filters.logic.text_pattern import SEMANTICS, DelimitedPattern, TermPattern

MUST_ALERT = "must_alert"
MUST_NOT_ALERT = "must_not_alert"
EITHER = "either"

COVERS, DOES_NOT_COVER, UNDECIDED, MALFORMED = "covers", "does-not-cover", "undecided", "malformed"

CIS_PATTERN = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
               '&& $.eventType != "AwsServiceEvent" }')
NO_ASSUMED_ROOT = "{ $.userIdentity.sessionContext.assumedRoot NOT EXISTS }"
ROOT_TYPE = '{ $.userIdentity.type = "Root" }'
NOT_INVOKED = "{ $.userIdentity.invokedBy NOT EXISTS }"
# Fields every CloudTrail record carries (CloudTrail "record contents"), and those of a root identity.
RECORD_FIELDS = ("eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "eventID", "eventType",
                 "recipientAccountId")
ROOT_IDENTITY_FIELDS = ("type", "arn", "accountId", "principalId")
# eventType's documented values for records with a userIdentity (Insights records, AwsCloudTrailInsight,
# carry none, so no root usage is among them).
EVENT_TYPES = ("AwsApiCall", "AwsServiceEvent", "AwsConsoleAction", "AwsConsoleSignIn", "AwsVpceEvent")
# The shapes CloudTrail writes; a counterexample must fit them (checked, not part of the search).
_ACCOUNT = r"\d{12}"
SHAPES = {
    ("eventVersion",): r"1\.\d{2}", ("eventTime",): r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z",
    ("eventSource",): r"[a-z0-9.-]+\.amazonaws\.com", ("eventName",): r"[A-Za-z0-9]+",
    ("awsRegion",): r"[a-z]{2}(-[a-z]+)+-\d", ("eventID",): r"[0-9A-Za-z]{8}(-[0-9A-Za-z]{4}){3}-[0-9A-Za-z]{12}",
    ("recipientAccountId",): _ACCOUNT, ("userIdentity", "accountId"): _ACCOUNT,
    ("userIdentity", "principalId"): _ACCOUNT, ("userIdentity", "arn"): rf"arn:aws(-cn|-us-gov)?:iam::{_ACCOUNT}:root",
}
# Words every root-usage record's JSON text holds: the keys every record carries and "Root".
NECESSARY_WORDS = ("Root", "userIdentity", "type") + RECORD_FIELDS + ROOT_IDENTITY_FIELDS[1:]
# Every judgement ends by then; past it the verdict is undecided (the alarm filter's deadline-seconds).
DEFAULT_DEADLINE_SECONDS = 5.0


@dataclass(frozen=True)
class PatternJudgement:
    status: str
    reason: str
    counterexample: Optional[dict] = None   # a root-usage event the pattern does not match
    also_alarms_on: tuple = ()              # ({"what", "example"}, ...) beyond root usage
    error: Optional[str] = None             # why the pattern is malformed
    excludes_assumed_root: bool = False     # no AssumeRoot-session action matches
    details: dict = field(default_factory=dict)

    @property
    def covers(self):
        return self.status == COVERS


@lru_cache(maxsize=None)
def load_corpus(folder: str) -> tuple:
    """``(file name, record)`` pairs of one corpus folder, sorted by name (regression samples)."""
    directory = files("rootguard_filters").joinpath("data", "cloudtrail", folder)
    entries = sorted((entry for entry in directory.iterdir() if entry.name.endswith(".json")),
                     key=lambda entry: entry.name)
    return tuple((entry.name, json.loads(entry.read_text(encoding="utf-8"))) for entry in entries)


@lru_cache(maxsize=None)
def root_usage_formula(exclude_assumed_root_ok=True):
    """The JSON formula of the events that must alarm (CIS's pattern; any JSON event)."""
    cis = parse(CIS_PATTERN)
    return And((cis, parse(NO_ASSUMED_ROOT))) if exclude_assumed_root_ok else cis


@lru_cache(maxsize=None)
def record_formula(root_identity=True):
    """What every CloudTrail record satisfies beyond its fields' kinds (``record_kinds``): non-empty
    fields, a documented eventType."""
    fields = ["$." + name for name in RECORD_FIELDS]
    if root_identity:
        fields += ["$.userIdentity." + name for name in ROOT_IDENTITY_FIELDS]
    types = " || ".join(f'$.eventType = "{name}"' for name in EVENT_TYPES)
    # the parts of SHAPES that wildcards state (every real value has them; digits they cannot say)
    shapes = '$.eventSource = "*.amazonaws.com"'
    if root_identity:
        shapes += ' && $.userIdentity.arn = "arn:aws*" && $.userIdentity.arn = "*:iam::*" && ' \
                  '$.userIdentity.arn = "*:root"'
    return parse("{ " + " && ".join(f'{field} != ""' for field in fields) + f" && ({types}) && {shapes} }}")


def record_kinds(root_identity=True):
    """{path: kind} of the fields every CloudTrail record (with a root identity) carries."""
    kinds = {(name,): STRING for name in RECORD_FIELDS}
    if root_identity:
        kinds[("userIdentity",)] = OBJECT
        kinds.update({("userIdentity", name): STRING for name in ROOT_IDENTITY_FIELDS})
    return kinds


def is_cloudtrail_record(event, root_identity=True):
    """True when ``event`` has the fields, kinds and shapes the model gives every CloudTrail record."""
    if not isinstance(event, dict) or not evaluate(record_formula(root_identity), event):
        return False
    for path, kind in record_kinds(root_identity).items():
        value = _lookup(event, path)
        if not (isinstance(value, dict) if kind == OBJECT else isinstance(value, str)):
            return False
    return not _misshapen(event, root_identity)


def _lookup(event, path):
    for step in path:
        if not isinstance(event, dict) or step not in event:
            return None
        event = event[step]
    return event


def _misshapen(event, root_identity=True):
    """Paths whose value does not have the shape CloudTrail writes."""
    return [path for path, shape in SHAPES.items() if (root_identity or path[0] != "userIdentity")
            and isinstance(_lookup(event, path), str) and not re.fullmatch(shape, _lookup(event, path))]


def _reshape(formula, event, root_identity=True):
    """``event`` with misshapen values swapped for real ones while it still satisfies ``formula``;
    None when no such swap is found."""
    event = json.loads(json.dumps(event))
    for path in _misshapen(event, root_identity):
        parent = _lookup(event, path[:-1]) if len(path) > 1 else event
        original = parent[path[-1]]
        for value in REALISTIC.get(path, ()):
            parent[path[-1]] = value
            if evaluate(formula, event):
                break
        else:
            parent[path[-1]] = original
    return None if _misshapen(event, root_identity) else event


@lru_cache(maxsize=None)
def _beyond():
    """What a pattern may alarm on besides root usage: (what, JSON formula, has a root identity)."""
    root = parse(ROOT_TYPE)
    return (("service-invoked root calls", And((root, Not(parse(NOT_INVOKED)))), True),
            ("AWS service events", parse('{ $.eventType = "AwsServiceEvent" }'), False),
            ("events of other identities", Not(root), False))


def is_root_usage(event, exclude_assumed_root_ok=True):
    """CIS's meaning of root usage, for any JSON event (``is_cloudtrail_record`` checks the shape)."""
    return evaluate(root_usage_formula(exclude_assumed_root_ok), event)


def _path_text(path):
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path)


def judge_root_usage_pattern(pattern: str, exclude_assumed_root_ok=True,
                             deadline_seconds=DEFAULT_DEADLINE_SECONDS) -> PatternJudgement:
    """Judge whether ``pattern`` alarms on every root-usage record (see the module docstring), within
    ``deadline_seconds``."""
    if not isinstance(pattern, str):
        return PatternJudgement(MALFORMED, "pattern is malformed: not a string", error="not a string")
    return _judge(pattern, bool(exclude_assumed_root_ok), float(deadline_seconds))


@lru_cache(maxsize=1024)   # pure: an organization's accounts mostly share one pattern
def _judge(pattern, exclude_assumed_root_ok, deadline_seconds):
    try:
        ast = parse(pattern)
    except FilterPatternError as error:
        return PatternJudgement(MALFORMED, f"pattern is malformed: {error}", error=str(error))
    for text in regex_texts(ast):
        construct = cwl_regex.undocumented(text)
        if construct:
            return PatternJudgement(UNDECIDED, f"coverage cannot be decided: %{text}% uses {construct}, which the "
                                               f"CloudWatch Logs guide does not document")
    if isinstance(ast, TermPattern):
        return _judge_terms(ast, exclude_assumed_root_ok)
    if isinstance(ast, DelimitedPattern):
        return _judge_delimited(ast, exclude_assumed_root_ok)
    return _judge_json(ast, exclude_assumed_root_ok, deadline_seconds)


def regex_texts(ast):
    """The bodies of every %regex% of a parsed pattern (JSON, term or space-delimited)."""
    if isinstance(ast, TermPattern):
        return [term.text for term in ast.terms if term.kind == "regex"]
    if isinstance(ast, DelimitedPattern):
        return [c.value.text for f in ast.fields for group in f.any_of for c in group
                if isinstance(c.value, RegexValue)]
    if isinstance(ast, Not):
        return regex_texts(ast.term)
    if isinstance(ast, (And, Or)):
        return [text for term in ast.terms for text in regex_texts(term)]
    return [ast.value.text] if isinstance(ast, Comparison) and isinstance(ast.value, RegexValue) else []


def _deadline_reason(deadline_seconds):
    return (f"coverage could not be decided within the {deadline_seconds:g} s deadline "
            f"(the root-usage-alarm option deadline-seconds allows more)")


def _judge_json(ast, exclude_assumed_root_ok, deadline_seconds):
    deadline = time.monotonic() + deadline_seconds
    root_kinds = record_kinds(True)
    records = record_formula(True)
    formula = And((root_usage_formula(exclude_assumed_root_ok), records, Not(ast)))
    outcome = find_event(formula, root_kinds, deadline)
    if outcome.deadline_passed:
        return PatternJudgement(UNDECIDED, _deadline_reason(deadline_seconds))
    sessions = find_event(And((root_usage_formula(False), records, Not(parse(NO_ASSUMED_ROOT)), ast)),
                          root_kinds, deadline)
    excludes_sessions = sessions.status == UNSAT
    if outcome.status == SAT:
        event = _reshape(formula, outcome.event)
        if event is None:
            odd = ", ".join(f"{_path_text(p)}={_lookup(outcome.event, p)!r}" for p in _misshapen(outcome.event))
            return PatternJudgement(UNDECIDED, f"coverage cannot be decided: the only escaping events found have "
                                               f"{odd}, not a shape CloudTrail writes",
                                    excludes_assumed_root=excludes_sessions)
        session = not exclude_assumed_root_ok and not evaluate(parse(NO_ASSUMED_ROOT), event)
        note = " (an AssumeRoot session action; exclude-assumed-root-ok is false)" if session else ""
        # fields the pattern names that the event leaves out, except those root usage must lack
        must_lack = {("userIdentity", "invokedBy"), ("userIdentity", "sessionContext", "assumedRoot")}
        mentioned = [p for p in selector_paths(ast) if p not in must_lack]
        reason = (f"{describe_event(event, mentioned)}{note} would not alarm: "
                  f"{json.dumps(event, sort_keys=True)}")
        return PatternJudgement(DOES_NOT_COVER, reason, counterexample=event,
                                excludes_assumed_root=excludes_sessions)
    if outcome.status != UNSAT:
        return PatternJudgement(UNDECIDED, f"coverage cannot be decided: {outcome.reason}",
                                excludes_assumed_root=excludes_sessions)
    beyond, late = [], sessions.deadline_passed
    for what, other, root_identity in _beyond():
        found = find_event(And((ast, other, record_formula(root_identity))), record_kinds(root_identity), deadline)
        late = late or found.deadline_passed
        if found.status == SAT:
            beyond.append({"what": what, "example": found.event})
    if late:   # covering is proved, but the judgement (what else alarms) did not finish in time
        return PatternJudgement(UNDECIDED, _deadline_reason(deadline_seconds))
    if exclude_assumed_root_ok and sessions.status == SAT:
        beyond.append({"what": "AssumeRoot session actions", "example": sessions.event})
    reason = "matches every root-usage event"
    if beyond:
        reason += "; also alarms on " + ", ".join(b["what"] for b in beyond)
    return PatternJudgement(COVERS, reason, also_alarms_on=tuple(beyond),
                            excludes_assumed_root=excludes_sessions)


def _root_record(event_type, name, source, region, account="444455556666"):
    return {"eventVersion": "1.10",
            "userIdentity": {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
                             "accountId": account},
            "eventTime": "2026-03-04T09:21:44Z", "eventSource": source, "eventName": name, "awsRegion": region,
            "eventID": "3f1c2b9e-7a44-4a6d-9d2e-0b5f6c7d8e9f", "eventType": event_type,
            "recipientAccountId": account}


def _root_events(exclude_assumed_root_ok, extra_texts=(), spaces=0):
    """Root-usage CloudTrail records to try as counterexamples to a text pattern."""
    padding = {"userAgent": " ".join(["a"] * (spaces + 1))} if spaces else {}
    bases = [
        _root_record("AwsApiCall", "RunInstances", "ec2.amazonaws.com", "ap-south-1"),
        _root_record("AwsConsoleSignIn", "ConsoleLogin", "signin.amazonaws.com", "us-east-1"),
        _root_record("AwsApiCall", "GetCallerIdentity", "sts.amazonaws.com", "eu-west-1", "111122223333"),
    ]
    if not exclude_assumed_root_ok:
        session = _root_record("AwsApiCall", "DeleteAccessKey", "iam.amazonaws.com", "us-east-1")
        session["userIdentity"]["sessionContext"] = {"assumedRoot": "true"}
        bases.append(session)
    for base in bases:
        event = dict(base, **padding)
        if extra_texts:
            event["requestParameters"] = {"value": " ".join(extra_texts)}
        yield event


def _escapes(ast, event):
    text = event_text(event)
    return not any(ast.matches_text(text, semantics) for semantics in SEMANTICS)


def _text_counterexample(ast, candidates, exclude_assumed_root_ok):
    for event in candidates:
        if is_root_usage(event, exclude_assumed_root_ok) and _escapes(ast, event):
            return PatternJudgement(
                DOES_NOT_COVER, f"{describe_event(event)} would not alarm: {json.dumps(event, sort_keys=True)}",
                counterexample=event)
    return None


def _necessarily_present(term):
    if term.kind == "regex":
        return cwl_regex.is_position_free(term.text) and any(
            cwl_regex.compile_regex(term.text).search(word) for word in NECESSARY_WORDS)
    return term.text in NECESSARY_WORDS


def _judge_terms(ast, exclude_assumed_root_ok):
    required, optional, excluded = ast.of_mode("required"), ast.of_mode("optional"), ast.of_mode("excluded")
    if not ast.terms:
        return PatternJudgement(COVERS, "the empty pattern matches every event; also alarms on every "
                                        "other event of the log group",
                                also_alarms_on=({"what": "every event", "example": {}},))
    spelled = " ".join(t.spelled() for t in ast.terms)
    if optional and (required or excluded):
        # neither a verdict nor a counterexample: either would rest on a guess at the meaning
        return PatternJudgement(UNDECIDED, f"term pattern {spelled!r} mixes ?term alternatives with other "
                                           f"terms, which the CloudWatch Logs guide does not define")
    candidates = list(_root_events(exclude_assumed_root_ok))
    for term in excluded:
        # A root call may carry any text in its parameters (a tag value, a bucket policy...).
        texts = [t.text for t in required + optional[:1] if t.kind != "regex"] + [term.text]
        candidates += list(_root_events(exclude_assumed_root_ok, texts))
    found = _text_counterexample(ast, candidates, exclude_assumed_root_ok)
    if found:
        return found
    spelled = " ".join(t.spelled() for t in ast.terms)
    if excluded:
        return PatternJudgement(UNDECIDED, f"no root-usage event found that escapes {spelled!r}, "
                                           f"but its exclusions cannot be proved harmless")
    if (optional and any(_necessarily_present(t) for t in optional)) or (
            required and all(_necessarily_present(t) for t in required)):
        return PatternJudgement(COVERS, f"every root-usage event's text holds {spelled!r}; as a text "
                                        f"pattern it also alarms on any other event containing it",
                                also_alarms_on=({"what": "any event whose text holds the terms",
                                                 "example": {"userIdentity": {"type": "Root"},
                                                             "eventType": "AwsServiceEvent"}},))
    return PatternJudgement(UNDECIDED, f"term pattern {spelled!r}: no escaping root-usage event found and "
                                       f"coverage cannot be proved for its terms")


def _judge_delimited(ast, exclude_assumed_root_ok):
    named = [f for f in ast.fields if not f.ellipsis]
    candidates = [event for spaces in range(len(named) + 2)
                  for event in _root_events(exclude_assumed_root_ok, spaces=spaces)]
    found = _text_counterexample(ast, candidates, exclude_assumed_root_ok)
    if found:
        return found
    if ast.unconstrained and len(named) <= 1 and any(f.ellipsis for f in ast.fields):
        return PatternJudgement(COVERS, "the space-delimited pattern accepts any text: it alarms on every "
                                        "event of the log group",
                                also_alarms_on=({"what": "every event", "example": {}},))
    return PatternJudgement(UNDECIDED, "space-delimited pattern: no escaping root-usage event found, and "
                                       "coverage of JSON text split on spaces cannot be proved")
