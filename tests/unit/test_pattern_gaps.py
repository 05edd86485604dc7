"""Issue 21's pattern gaps, each pinned at the decision: fillers used up, regex constructs the
CloudWatch Logs guide does not document, CloudTrail-shaped counterexamples, bounded time."""
import time

import pytest

from rootguard_filters.logic import cwl_regex, pattern_coverage
from rootguard_filters.logic.filter_pattern import evaluate, parse
from rootguard_filters.logic.root_usage import (
    COVERS, DOES_NOT_COVER, EVENT_TYPES, UNDECIDED, is_cloudtrail_record, is_root_usage,
    judge_root_usage_pattern, record_formula, record_kinds,
)

CIS_CORE = ('$.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
            '&& $.eventType != "AwsServiceEvent"')


def assert_escapes(pattern, judgement):
    assert judgement.status == DOES_NOT_COVER, judgement.reason
    event = judgement.counterexample
    assert is_cloudtrail_record(event) and is_root_usage(event)
    assert not evaluate(parse(pattern), event)
    return event


class TestFillersUsedUp:
    def test_wildcard_exclusions_naming_every_preferred_filler_still_find_the_escaping_record(self):
        fillers = " || ".join(f'$.eventName = "*{c}*"' for c in "~^`!|")
        pattern = f"{{ {CIS_CORE} && ({fillers} || $.eventName = RunInstances || $.eventName = ConsoleLogin " \
                  f"|| $.eventName = CreateAccessKey) }}"
        event = assert_escapes(pattern, judge_root_usage_pattern(pattern))
        assert event["eventName"] not in ("RunInstances", "ConsoleLogin", "CreateAccessKey")

    def test_the_filler_is_any_character_absent_from_the_literals(self):
        texts = ["~^`!|#&'*+,-./:;<=>?@[]_{}"]
        filler = pattern_coverage.filler_for(texts)
        assert filler not in texts[0]
        assert pattern_coverage.filler_for(["".join(chr(c) for c in range(0x21, 0x250))]) == chr(0x250)

    def test_exact_exclusions_of_every_filler_run_are_stepped_past(self):
        excluded = " && ".join(f'$.a != "{c * n}"' for c in "~^`!|" for n in range(1, 4))
        outcome = pattern_coverage.find_event(parse(f'{{ $.a = "*" && {excluded} && $.a != "" && $.a != "x" }}'))
        assert outcome.status == pattern_coverage.SAT


class TestOnlyTheGuidesRegexes:
    @pytest.mark.parametrize("regex, construct", [
        (r"\x52oot", r"the escape \x"), (r"\bRoot", r"the escape \b"), (r"\ARoot", r"the escape \A"),
        (r"Root\Z", r"the escape \Z"), ("Ro*?t", "the quantifier *?"), ("Ro+?t", "the quantifier +?"),
        ("Roo??t", "the quantifier ??"), ("R[^x]ot", "a negated class"), ("Ro{2}t", "the repeat {2}"),
        ("Ro{2,}t", "the repeat {2,}"), ("a^Root", "a ^ that is not at the start"),
        ("Root$x", "a $ that is not at the end"), (r"R[\b]ot", r"the escape \b in a class"),
    ])
    def test_undocumented_construct_is_undecided_naming_it(self, regex, construct):
        assert construct in cwl_regex.undocumented(regex)
        judgement = judge_root_usage_pattern(f"{{ $.userIdentity.type = %{regex}% }}")
        assert judgement.status == UNDECIDED and not judgement.covers
        assert construct in judgement.reason and "does not document" in judgement.reason

    @pytest.mark.parametrize("regex", [
        "^Root$", r"\d{1,3}\.\d{1,3}", "[Ee]rror|[Ff]ail", "colou?r", "a{3,5}", "^[hc]at", "[hc]at$",
        "^a|^b$", r"[\d-]+", r"\w\W\s\S\D", r"10\.10\.0\.1", "a.c*", "AUTHORIZED",
    ])
    def test_documented_regexes_are_decided(self, regex):
        assert cwl_regex.undocumented(regex) is None

    def test_term_and_delimited_patterns_are_held_to_the_same_subset(self):
        assert judge_root_usage_pattern(r"%\bRoot%").status == UNDECIDED
        assert judge_root_usage_pattern(r"[a, b = %Ro*?t%]").status == UNDECIDED

    def test_where_cloudwatch_rejects_the_regex_it_is_malformed(self):
        assert judge_root_usage_pattern("{ $.userIdentity.type = %(Root)% }").status == "malformed"
        assert judge_root_usage_pattern("{ $.userIdentity.type = %Root!% }").status == "malformed"


class TestCloudTrailShapedModel:
    def test_a_pattern_requiring_only_fields_every_record_carries_covers(self):
        for field in ("eventName", "eventVersion", "eventTime", "eventSource", "awsRegion", "eventID",
                      "recipientAccountId", "userIdentity.arn", "userIdentity.accountId",
                      "userIdentity.principalId"):
            judgement = judge_root_usage_pattern(f"{{ {CIS_CORE} && $.{field} = * }}")
            assert judgement.status == COVERS, (field, judgement.reason)

    def test_eventtype_ranges_over_its_documented_values_only(self):
        listed = " || ".join(f"$.eventType = {name}" for name in EVENT_TYPES if name != "AwsServiceEvent")
        assert judge_root_usage_pattern(f"{{ {CIS_CORE} && ({listed}) }}").status == COVERS
        fewer = " || ".join(f"$.eventType = {name}" for name in ("AwsApiCall", "AwsConsoleSignIn"))
        pattern = f"{{ {CIS_CORE} && ({fewer}) }}"
        event = assert_escapes(pattern, judge_root_usage_pattern(pattern))
        assert event["eventType"] in ("AwsConsoleAction", "AwsVpceEvent")

    def test_root_arns_all_end_in_root(self):
        pattern = f'{{ {CIS_CORE} && $.userIdentity.arn = "*:root" }}'
        assert judge_root_usage_pattern(pattern).status == COVERS

    def test_counterexamples_never_lack_a_record_field_nor_carry_an_odd_kind(self):
        for extra in ('$.eventType = "AwsApiCall"', "$.awsRegion = us-east-1", '$.eventName != "ConsoleLogin"',
                      "$.recipientAccountId = 111122223333", '$.eventSource = "iam.amazonaws.com"'):
            pattern = f"{{ {CIS_CORE} && {extra} }}"
            event = assert_escapes(pattern, judge_root_usage_pattern(pattern))
            assert all(isinstance(event[k], str) and event[k] for k in ("eventName", "eventType", "awsRegion"))

    def test_an_escape_only_through_a_shape_cloudtrail_never_writes_is_undecided_not_a_fake_record(self):
        # an eventName holding every filler: no CloudTrail eventName has that shape
        pattern = "{ " + CIS_CORE + " && (" + " || ".join(f'$.eventName != "*{c}*"' for c in "~^`!|") + ") }"
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.status == UNDECIDED and "not a shape CloudTrail writes" in judgement.reason

    def test_the_model_is_what_real_records_satisfy(self):
        from rootguard_filters.logic.root_usage import load_corpus
        for name, record in load_corpus("must_alert"):
            assert is_cloudtrail_record(record), name
            assert evaluate(record_formula(True), record), name
        assert not is_cloudtrail_record({"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall"})
        assert set(record_kinds(False)) < set(record_kinds(True))


class TestBoundedTime:
    def test_or_of_distinct_fields_is_decided_fast(self):
        clauses = " || ".join(f"$.f{i} = {i}" for i in range(40))
        pattern = "{ " + clauses + ' || $.userIdentity.type = "Ro*" }'
        assert len(pattern) > 300
        started = time.monotonic()
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.status == COVERS
        assert time.monotonic() - started < 5   # the deadline; the bench records the real figure

    def test_past_the_deadline_the_verdict_is_undecided_saying_so(self, monkeypatch):
        real = pattern_coverage.find_event

        def slow(formula, required=None, deadline=None):
            return real(formula, required, time.monotonic() - 1)
        monkeypatch.setattr("rootguard_filters.logic.root_usage.find_event", slow)
        judgement = judge_root_usage_pattern(f"{{ {CIS_CORE} && $.eventName = * }}", deadline_seconds=0.5)
        assert judgement.status == UNDECIDED and not judgement.covers
        assert "within the 0.5 s deadline" in judgement.reason and "deadline-seconds" in judgement.reason

    def test_many_ellipses_stay_polynomial(self):
        pattern = parse("[" + ", ".join(["..."] * 150) + ", d = zzz]")
        started = time.monotonic()
        assert not pattern.matches_text(" ".join(["w"] * 100))
        assert time.monotonic() - started < 5


class TestNumbersExactly:
    """The number solver against the exact answer over the reals: an interval with finitely many points
    excluded is satisfiable iff it holds more than one point, or its one point is not excluded."""

    BOUNDS = [None, (">", 1), (">=", 1)], [None, ("<", 4), ("<=", 4), ("<", 1), ("<=", 1)]

    @staticmethod
    def exact(low, high, excluded):
        lo, lo_in = (low[1], low[0] == ">=") if low else (float("-inf"), False)
        hi, hi_in = (high[1], high[0] == "<=") if high else (float("inf"), False)
        if lo < hi:
            return True
        return lo == hi and lo_in and hi_in and lo not in excluded

    @pytest.mark.parametrize("low", BOUNDS[0])
    @pytest.mark.parametrize("high", BOUNDS[1])
    @pytest.mark.parametrize("excluded", [(), (1,), (4,), (0, 1, 2, 3), (-1, -2, -3, 0, 1, 2), (5, 6, 7, 2, 3),
                                          (2.5,), (1.75, 2.5, 3.25), (0, 1, 2, 3, 4, 5, 6)])
    def test_intervals_with_exclusions(self, low, high, excluded):
        terms = [f"$.n {low[0]} {low[1]}"] if low else []
        terms += [f"$.n {high[0]} {high[1]}"] if high else []
        terms += [f"$.n != {value}" for value in excluded] or ["$.n = *"]
        formula = parse("{ " + " && ".join(terms) + " && $.n != \"*x*\" }")
        outcome = pattern_coverage.find_event(formula)
        assert outcome.status == (pattern_coverage.SAT if self.exact(low, high, excluded) else pattern_coverage.UNSAT)

    @pytest.mark.parametrize("pattern, status", [
        ('{ $.a > 0 && $.a = "x*" }', "unsat"), ('{ $.a > 0 && $.a = "*x" }', "unsat"),
        ('{ $.a > 0 && $.a != "*" }', "unsat"), ('{ $.a > 0 && $.a = "" }', "unsat"),
        ('{ $.a > 0 && $.a != "" }', "sat"), ('{ $.a > 0 && $.a != "*x*" }', "sat"),
        ('{ $.a > 0 && $.a = "*" }', "sat"), ('{ $.a > 0 && $.a = "*5" }', "sat"),
        ('{ $.a > 0 && $.a != "x" }', "sat"), ('{ $.a > 0 && $.a = "5*" }', "sat"),
    ])
    def test_quoted_strings_against_numbers(self, pattern, status):
        assert pattern_coverage.find_event(parse(pattern)).status == status


def test_describe_event_names_the_fields_a_pattern_mentions():
    event = {"userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}, "eventType": "AwsConsoleSignIn",
             "eventSource": "signin.amazonaws.com", "awsRegion": "us-east-1", "recipientAccountId": "1",
             "requestParameters": {"x": [1]}}
    text = pattern_coverage.describe_event(event, [("userIdentity", "arn"), ("errorCode",)])
    assert text == ("root console sign-in to signin.amazonaws.com in us-east-1 in account 1 with "
                    "$.userIdentity.arn='arn:aws:iam::1:root', $.requestParameters.x[0]=1 without $.errorCode")
    assert pattern_coverage.describe_event({"eventType": "Other", "userIdentity": {"type": "IAMUser"}}) == \
        "IAMUser identity event of type 'Other'"


class TestSearchCorners:
    @pytest.mark.parametrize("pattern, status", [
        ("{ $.a[0] NOT EXISTS && $.a[1] NOT EXISTS && $.a[2] = 1 }", "unsat"),
        ("{ $.a[2] NOT EXISTS && $.a[0] = 1 }", "sat"),
        ("{ $.b[0] = 1 && $.a[1] = 1 && $.a[0] NOT EXISTS }", "unsat"),
        ("{ $.a[0][1] = 1 && $.a[1] NOT EXISTS }", "sat"),
        ("{ $.a[1] = 1 && $.a[0].b NOT EXISTS }", "sat"),
        ("{ $.a[1] = 1 && $.b[0] NOT EXISTS && $.b[1] = 2 }", "unsat"),
        ("{ $.a[1] IS NULL && $.a[3] NOT EXISTS && $.a[2] = 1 }", "sat"),
        ("{ $.a[2] = 1 && $.a[1] NOT EXISTS }", "unsat"),
    ])
    def test_arrays_hold_every_lower_index(self, pattern, status):
        assert pattern_coverage.find_event(parse(pattern)).status == status

    def test_a_literal_twice_is_one_literal(self):
        from rootguard_filters.logic.filter_pattern import And, Or
        twice = And((parse("{ $.a = 1 }"), parse("{ $.a = 1 && $.b = 2 }")))
        assert pattern_coverage.find_event(twice).status == "sat"
        satisfied = And((parse("{ $.a = 1 }"), Or((parse("{ $.a = 1 }"), parse("{ $.a = 2 }")))))
        assert pattern_coverage.find_event(satisfied).status == "sat"

    @pytest.mark.parametrize("pattern", ["{ $.n < 5 }", "{ $.n > 5 }", "{ $.n != 1 }", "{ $.n < 5 && $.n != 4 }"])
    def test_number_witnesses_are_finite_json_numbers(self, pattern):
        import math
        outcome = pattern_coverage.find_event(parse(pattern))
        value = outcome.event["n"] if isinstance(outcome.event.get("n"), (int, float)) else None
        forced = pattern_coverage.find_event(parse(pattern[:-1] + " && $.n >= -1e9 && $.n <= 1e9 }"))
        for candidate in (value, forced.event["n"]):
            assert candidate is None or math.isfinite(candidate)
        assert forced.status == "sat" and isinstance(forced.event["n"], (int, float))
