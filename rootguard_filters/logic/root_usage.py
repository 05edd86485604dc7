"""Does a CloudWatch Logs metric-filter pattern cover root-user usage - for every possible event?

Root usage is what CIS's pattern matches: ``userIdentity.type = "Root"``, no ``invokedBy``, not an
``AwsServiceEvent``; with ``exclude_assumed_root_ok`` the actions of AssumeRoot sessions
(``userIdentity.sessionContext.assumedRoot`` present) may be left out. A pattern covers when it
matches every such event; it may match more (the judgement lists what: service-invoked root calls,
AWS service events, other identities, AssumeRoot sessions).

JSON patterns are decided by ``pattern_coverage`` (a proof, or a counterexample event the evaluator
confirms). Term and space-delimited patterns match the event's text: a counterexample is searched
among root events built to avoid their terms or field counts, and coverage is proved only when every
required term is a word every root event's JSON text necessarily holds ("Root", "userIdentity",
"type", "eventType"). Anything else is undecided, never "covers".

The packaged CloudTrail corpora (``data/cloudtrail``) remain as regression samples for the tests.
"""
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Optional

from rootguard_filters.logic import cwl_regex
from rootguard_filters.logic.filter_pattern import And, FilterPatternError, Not, evaluate, event_text, parse
from rootguard_filters.logic.pattern_coverage import SAT, UNSAT, describe_event, find_event, selector_paths
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
# Words every root-usage event's JSON text holds: the keys and value CIS's pattern requires.
NECESSARY_WORDS = ("Root", "userIdentity", "type", "eventType")


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
    """The JSON formula of the events that must alarm."""
    cis = parse(CIS_PATTERN)
    return And((cis, parse(NO_ASSUMED_ROOT))) if exclude_assumed_root_ok else cis


@lru_cache(maxsize=None)
def _beyond():
    """What a pattern may alarm on besides root usage, each as a JSON formula."""
    root = parse(ROOT_TYPE)
    return (("service-invoked root calls", And((root, Not(parse(NOT_INVOKED))))),
            ("AWS service events", parse('{ $.eventType = "AwsServiceEvent" }')),
            ("events of other identities", Not(root)))


def is_root_usage(event, exclude_assumed_root_ok=True):
    return evaluate(root_usage_formula(exclude_assumed_root_ok), event)


def judge_root_usage_pattern(pattern: str, exclude_assumed_root_ok=True) -> PatternJudgement:
    """Judge whether ``pattern`` alarms on every root-usage event (see the module docstring)."""
    if not isinstance(pattern, str):
        return PatternJudgement(MALFORMED, "pattern is malformed: not a string", error="not a string")
    return _judge(pattern, bool(exclude_assumed_root_ok))


@lru_cache(maxsize=1024)   # pure: an organization's accounts mostly share one pattern
def _judge(pattern, exclude_assumed_root_ok):
    try:
        ast = parse(pattern)
    except FilterPatternError as error:
        return PatternJudgement(MALFORMED, f"pattern is malformed: {error}", error=str(error))
    if isinstance(ast, TermPattern):
        return _judge_terms(ast, exclude_assumed_root_ok)
    if isinstance(ast, DelimitedPattern):
        return _judge_delimited(ast, exclude_assumed_root_ok)
    return _judge_json(ast, exclude_assumed_root_ok)


def _judge_json(ast, exclude_assumed_root_ok):
    target = root_usage_formula(exclude_assumed_root_ok)
    outcome = find_event(And((target, Not(ast))))
    sessions = find_event(And((root_usage_formula(False), Not(parse(NO_ASSUMED_ROOT)), ast)))
    excludes_sessions = sessions.status == UNSAT
    if outcome.status == SAT:
        event = outcome.event
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
    beyond = []
    for what, formula in _beyond():
        found = find_event(And((ast, formula)))
        if found.status == SAT:
            beyond.append({"what": what, "example": found.event})
    if exclude_assumed_root_ok and sessions.status == SAT:
        beyond.append({"what": "AssumeRoot session actions", "example": sessions.event})
    reason = "matches every root-usage event"
    if beyond:
        reason += "; also alarms on " + ", ".join(b["what"] for b in beyond)
    return PatternJudgement(COVERS, reason, also_alarms_on=tuple(beyond),
                            excludes_assumed_root=excludes_sessions)


def _root_events(exclude_assumed_root_ok, extra_texts=(), spaces=0):
    """Root-usage events to try as counterexamples to a text pattern, smallest first."""
    padding = {"userAgent": " ".join(["a"] * (spaces + 1))} if spaces else {}
    bases = [
        {"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall"},
        {"userIdentity": {"type": "Root"}, "eventType": "AwsConsoleSignIn"},
        {"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall", "eventName": "RunInstances",
         "awsRegion": "ap-south-1"},
        {"userIdentity": {"type": "Root"}, "eventType": 0},
    ]
    if not exclude_assumed_root_ok:
        bases.append({"userIdentity": {"type": "Root", "sessionContext": {"assumedRoot": "true"}},
                      "eventType": "AwsApiCall"})
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
