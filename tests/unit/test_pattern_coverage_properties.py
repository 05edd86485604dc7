"""Property-based tests of the coverage decision: random patterns from the grammar, random events.

- "covers" implies no generated root-usage event escapes the pattern;
- every reported counterexample is a root-usage event that really escapes it (evaluator check);
- the decision procedure's SAT witnesses satisfy their formula, and UNSAT is never contradicted by a
  generated event.
"""
import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rootguard_filters.logic.filter_pattern import And, FilterPatternError, Not, evaluate, event_text, parse
from rootguard_filters.logic.pattern_coverage import SAT, UNSAT, find_event
from rootguard_filters.logic.root_usage import (
    COVERS, DOES_NOT_COVER, EVENT_TYPES, is_cloudtrail_record, is_root_usage, judge_root_usage_pattern,
    root_usage_formula,
)
from rootguard_filters.logic.text_pattern import SEMANTICS

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SELECTORS = ("$.userIdentity.type", "$.userIdentity.invokedBy", "$.eventType", "$.eventName", "$.awsRegion",
             "$.userIdentity", "$.userIdentity.sessionContext.assumedRoot", "$.a", "$.a.b", "$.a[0]", "$.a[1]",
             "$.n", "$.eventSource", "$.recipientAccountId", "$.userIdentity.arn", "$.eventID")
STRING_VALUES = ('"Root"', "Root", '"AwsServiceEvent"', "AwsApiCall", '"us-*"', '"*-1"', '"*Ro*"', '"R*"',
                 '"*"', '"x"', "%^R%", "%Event$%", "%[0-9]%", '""', '"*:root"', '"arn:aws:*"',
                 '"*.amazonaws.com"', '"444455556666"', '"~"', '"*~*"', '"*|*"', '"*^*"')
NUMBER_VALUES = ("0", "1", "5", "-2.5", "1e1")
CHECKS = ("IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE")


@st.composite
def atoms(draw):
    selector = draw(st.sampled_from(SELECTORS))
    kind = draw(st.sampled_from(("eq", "eq", "rel", "check")))
    if kind == "check":
        return f"{selector} {draw(st.sampled_from(CHECKS))}"
    if kind == "rel":
        return f"{selector} {draw(st.sampled_from(('<', '>', '<=', '>=')))} {draw(st.sampled_from(NUMBER_VALUES))}"
    value = draw(st.sampled_from(STRING_VALUES + NUMBER_VALUES))
    return f"{selector} {draw(st.sampled_from(('=', '!=')))} {value}"


def formulas(depth=3):
    if depth == 0:
        return atoms()
    inner = formulas(depth - 1)
    return st.one_of(
        atoms(),
        st.tuples(inner, st.sampled_from(("&&", "||")), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"))


CIS_CORE = ('$.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
            '&& $.eventType != "AwsServiceEvent"')


@st.composite
def json_patterns(draw):
    body = draw(formulas())
    # Half of them around CIS's own clauses, so covering patterns come up often.
    shape = draw(st.sampled_from(("free", "and", "or")))
    if shape == "and":
        body = f"{CIS_CORE} && {body}"
    elif shape == "or":
        body = f"({CIS_CORE}) || {body}"
    pattern = "{ " + body + " }"
    try:
        parse(pattern)
    except FilterPatternError:   # more than two %regex% in one pattern: CloudWatch rejects it too
        assume(False)
    return pattern


LEAVES = st.one_of(
    st.sampled_from(("Root", "AwsServiceEvent", "AwsApiCall", "us-east-1", "ap-south-1", "x", "R", "Event", "")),
    st.integers(-3, 10), st.floats(allow_nan=False, allow_infinity=False, width=32), st.booleans(), st.none(),
    st.text(max_size=4))
MAYBE = object()


def optional(strategy):
    return st.one_of(st.just(MAYBE), strategy)


def shaped(strategy, shapes):
    return st.one_of(st.sampled_from(shapes), strategy)


@st.composite
def events(draw):
    """Mostly CloudTrail-shaped records (the fields every record carries, with real shapes, some
    values drawn from the leaves), sometimes any JSON; the covering checks keep the records."""
    identity = {"type": draw(optional(st.one_of(st.just("Root"), st.just("Root"), LEAVES))),
                "arn": draw(shaped(LEAVES, ("arn:aws:iam::444455556666:root", "arn:aws-cn:iam::111122223333:root"))),
                "accountId": draw(shaped(LEAVES, ("444455556666", "111122223333"))),
                "principalId": draw(shaped(LEAVES, ("444455556666",))),
                "invokedBy": draw(st.one_of(st.just(MAYBE), st.just(MAYBE), LEAVES)),
                "sessionContext": draw(optional(st.fixed_dictionaries(
                    {}, optional={"assumedRoot": st.sampled_from(("true", "false"))})))}
    event = {
        "eventVersion": draw(shaped(LEAVES, ("1.10", "1.08"))),
        "eventTime": draw(shaped(LEAVES, ("2026-03-04T09:21:44Z",))),
        "eventID": draw(shaped(LEAVES, ("3f1c2b9e-7a44-4a6d-9d2e-0b5f6c7d8e9f",))),
        "eventSource": draw(shaped(LEAVES, ("iam.amazonaws.com", "signin.amazonaws.com", "sts.amazonaws.com"))),
        "recipientAccountId": draw(shaped(LEAVES, ("444455556666", "111122223333"))),
        "userIdentity": draw(st.one_of(st.just({k: v for k, v in identity.items() if v is not MAYBE}), LEAVES)),
        "eventType": draw(optional(st.one_of(st.sampled_from(EVENT_TYPES), LEAVES))),
        "eventName": draw(optional(shaped(LEAVES, ("ConsoleLogin", "RunInstances", "x", "R")))),
        "awsRegion": draw(optional(shaped(LEAVES, ("us-east-1", "ap-south-1", "us-gov-west-1")))),
        "a": draw(optional(st.one_of(LEAVES, st.fixed_dictionaries({}, optional={"b": LEAVES}),
                                     st.lists(LEAVES, max_size=3)))),
        "n": draw(optional(LEAVES)),
    }
    return {k: v for k, v in event.items() if v is not MAYBE}


def real_root_usage(event, exclude_ok=True):
    return is_cloudtrail_record(event) and is_root_usage(event, exclude_ok)


@SETTINGS
@given(json_patterns(), st.lists(events(), min_size=1, max_size=25), st.booleans())
def test_covering_json_pattern_lets_no_root_usage_event_escape(pattern, sample, exclude_ok):
    judgement = judge_root_usage_pattern(pattern, exclude_ok)
    ast = parse(pattern)
    escaped = [e for e in sample if real_root_usage(e, exclude_ok) and not evaluate(ast, e)]
    if judgement.status == COVERS:
        assert not escaped, (pattern, escaped[0])
    if judgement.status == DOES_NOT_COVER:
        counterexample = json.loads(json.dumps(judgement.counterexample))   # survives a JSON round trip
        assert real_root_usage(counterexample, exclude_ok)
        assert not evaluate(ast, counterexample)


@SETTINGS
@given(json_patterns(), st.lists(events(), min_size=1, max_size=25))
def test_decision_procedure_witnesses_hold_and_unsat_is_never_contradicted(pattern, sample):
    formula = And((root_usage_formula(True), Not(parse(pattern))))
    outcome = find_event(formula)
    if outcome.status == SAT:
        assert evaluate(formula, outcome.event)
    if outcome.status == UNSAT:
        assert not any(evaluate(formula, e) for e in sample)


TERMS = ("Root", "userIdentity", "type", "eventType", "AwsApiCall", "ConsoleLogin", "x", "Ro", '"Root"',
         '"type"', "%Ro+t%", "%^x%", "%Api%")


@st.composite
def term_patterns(draw):
    terms = draw(st.lists(st.tuples(st.sampled_from(("", "", "?", "-")), st.sampled_from(TERMS)),
                          min_size=0, max_size=4))
    pattern = " ".join(prefix + term for prefix, term in terms)
    try:
        parse(pattern)
    except FilterPatternError:
        assume(False)
    return pattern


@SETTINGS
@given(term_patterns(), st.lists(events(), min_size=1, max_size=25))
def test_covering_term_pattern_lets_no_root_usage_event_escape_under_either_semantics(pattern, sample):
    judgement = judge_root_usage_pattern(pattern)
    ast = parse(pattern)
    roots = [e for e in sample if real_root_usage(e)]
    if judgement.status == COVERS:
        for event in roots:
            assert all(ast.matches_text(event_text(event), semantics) for semantics in SEMANTICS), (pattern, event)
    if judgement.status == DOES_NOT_COVER:
        text = event_text(judgement.counterexample)
        assert real_root_usage(judgement.counterexample)
        assert not any(ast.matches_text(text, semantics) for semantics in SEMANTICS)


FIELD_SPECS = ("a", "b", "...", "a = *", 'a = "{*"', "a = %Root%", "a != x", "a > 1", "a = x || a = y")


@st.composite
def delimited_patterns(draw):
    fields = draw(st.lists(st.sampled_from(FIELD_SPECS), min_size=1, max_size=4))
    pattern = "[" + ", ".join(fields) + "]"
    try:
        parse(pattern)
    except FilterPatternError:
        assume(False)
    return pattern


@SETTINGS
@given(delimited_patterns(), st.lists(events(), min_size=1, max_size=25))
def test_covering_delimited_pattern_lets_no_root_usage_event_escape(pattern, sample):
    judgement = judge_root_usage_pattern(pattern)
    ast = parse(pattern)
    if judgement.status == COVERS:
        for event in sample:
            if real_root_usage(event):
                assert ast.matches_text(event_text(event)), (pattern, event)
    if judgement.status == DOES_NOT_COVER:
        assert real_root_usage(judgement.counterexample)
        assert not ast.matches_text(event_text(judgement.counterexample))
