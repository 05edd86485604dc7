"""The decision procedure over all JSON events: SAT with a checked witness, UNSAT as a proof, UNKNOWN."""
import time

import pytest

from rootguard_filters.logic import cwl_regex, pattern_coverage
from rootguard_filters.logic.filter_pattern import And, Not, Or, evaluate, parse
from rootguard_filters.logic.pattern_coverage import SAT, UNKNOWN, UNSAT, describe_event, find_event


def outcome(pattern, negated=None):
    formula = parse(pattern)
    if negated:
        formula = And((formula, Not(parse(negated))))
    return find_event(formula)


@pytest.mark.parametrize("pattern", [
    # overlapping selectors: $.a as a value and $.a.b below it
    "{ $.a = 1 && $.a.b = 2 }",
    "{ $.a.b = 1 && $.a[0] = 1 }",
    "{ $.a IS NULL && $.a.b = 1 }",
    "{ $.a NOT EXISTS && $.a IS NULL }",
    "{ $.a IS TRUE && $.a IS FALSE }",
    '{ $.a = "x" && $.a > 1 }',
    "{ $.a > 5 && $.a < 5 }",
    "{ $.a >= 5 && $.a <= 5 && $.a != 5 }",
    '{ $.a = "us-*" && $.a != "u*" }',
    '{ $.a = "*east*" && $.a != "*st*" }',
    '{ $.a = "x" && $.a = "y" }',
    "{ $.a[1] = 1 && $.a[0] NOT EXISTS }",
    '{ $.a = %^Root$% && $.a != "Root" }',
    '{ $.a = %^R[o]{2}t$% && $.a != "Root" }',
    "{ $.a != %.*% && $.a = * }",
    '{ $.a = "1" && $.a != 1 }',             # only the string "1" and the number 1 have the text "1"
])
def test_contradictions_are_unsat(pattern):
    assert outcome(pattern).status == UNSAT


@pytest.mark.parametrize("pattern", [
    "{ $.a NOT EXISTS && $.a.b NOT EXISTS }",
    "{ $.a = 1 && $.a.b NOT EXISTS }",       # below a number nothing exists
    "{ $.a.b = 1 && $.a.c IS NULL }",
    "{ $.a[2] = 3 }",                         # the array holds [0] and [1] too
    "{ $.a[0][1] IS TRUE && $.a[1] NOT EXISTS }",
    '{ $.a = "us-*" && $.a = "*-1" && $.a != "us-1" && $.a != "us--1" }',
    '{ $.a = "*Ro*" && $.a != "Ro*" && $.a != "*Ro" }',
    "{ $.a > 1 && $.a < 2 && $.a != 1.5 }",
    "{ $.a >= 1 && $.a <= 1 }",
    '{ $.a = 1 && $.a = "*.0" }',             # 1.0: numerically 1, its text ends in .0
    '{ $.a = 1 && $.a != "1" }',
    '{ $.a = 123 && $.a = "123" }',
    "{ $.a = %^Con% && $.a != ConsoleLogin }",
    "{ $.a IS NULL || $.b IS FALSE }",
    "{ $.a != x && $.a != y }",
    "{ $.a IS NULL && $.b NOT EXISTS && $.c = * }",
])
def test_satisfiable_formulas_get_a_witness_the_evaluator_confirms(pattern):
    result = outcome(pattern)
    assert result.status == SAT
    assert evaluate(parse(pattern), result.event)


def test_witness_array_fills_lower_indexes():
    assert outcome("{ $.a[2] = 3 }").event == {"a": [None, None, "3"]}   # the text "3" matches 3 too


def test_witness_leaves_out_what_it_can():
    assert outcome("{ $.a NOT EXISTS || $.b = 1 }").event == {}


def test_number_and_string_fields_compare_by_text_and_by_value():
    result = outcome("{ $.account = 111122223333 }", "{ $.account != 111122223333 }")
    assert result.status == SAT


def test_regex_the_search_cannot_settle_is_unknown_naming_it():
    result = outcome("{ $.a = %^a% && $.a = %^b% }")
    assert result.status == UNKNOWN and ("%^a%" in result.reason or "%^b%" in result.reason)


def test_too_many_cases_is_unknown_not_a_verdict(monkeypatch):
    monkeypatch.setattr(pattern_coverage, "MAX_CONJUNCTS", 50)
    # 60 cases, each with a regex pair the search cannot settle: none is a witness, none a proof
    cases = Or(tuple(parse(f"{{ $.a{i} = %^a% && $.a{i} = %^b% }}") for i in range(60)))
    result = find_event(cases)
    assert result.status == UNKNOWN and "more than 50 cases" in result.reason


def test_contradictions_are_cut_per_field_before_the_cases_multiply():
    # not(big) has 3^12 cases; each contradicts the fixed values on its own field, so none is expanded
    big = " || ".join(f"($.a{i} = 1 && $.b{i} = 2 && $.c{i} = 3)" for i in range(12))
    fixed = " && ".join(f'$.a{i} = "1" && $.b{i} = "2" && $.c{i} = "3"' for i in range(12))
    assert outcome("{ " + fixed + " }", "{ " + big + " }").status == UNSAT


def test_past_the_deadline_the_answer_is_unknown_saying_so():
    big = " || ".join(f"($.a{i} = 1 && $.b{i} = 2)" for i in range(12))
    result = find_event(Not(parse("{ " + big + " }")), deadline=time.monotonic() - 1)
    assert result.status == UNKNOWN and "deadline" in result.reason


def test_fillers_used_up_by_the_literals_do_not_hide_a_witness():
    # the exclusions name every one of the five preferred fillers: another character must serve
    excluded = " && ".join(f'$.a != "*{c}*"' for c in "~^`!|")
    result = outcome(f'{{ $.a = "x*" && {excluded} && $.a != "x" }}')
    assert result.status == SAT and isinstance(result.event["a"], str)


def test_required_kinds_are_given_and_kept_in_the_witness():
    result = find_event(parse("{ $.b = 1 }"), required={("eventName",): pattern_coverage.STRING,
                                                       ("userIdentity",): pattern_coverage.OBJECT,
                                                       ("userIdentity", "arn"): pattern_coverage.STRING})
    assert result.status == SAT
    assert isinstance(result.event["eventName"], str) and isinstance(result.event["userIdentity"]["arn"], str)
    assert find_event(parse("{ $.eventName NOT EXISTS }"),
                      required={("eventName",): pattern_coverage.STRING}).status == UNSAT


def test_large_patterns_still_get_a_counterexample_without_expanding_everything():
    big = " || ".join(f"($.a{i} = 1 && $.b{i} = 2 && $.c{i} = 3)" for i in range(12))
    result = find_event(Not(parse("{ " + big + " }")))
    assert result.status == SAT and result.event == {}


class TestRegexSubset:
    @pytest.mark.parametrize("body, language", [
        ("^Root$", {"Root"}), ("^R[o]{2}t$", {"Root"}), ("^a|^b$", None), ("^ab?$", {"a", "ab"}),
        ("Root", None), ("^Ro+t$", None), ("^[ab]c$", {"ac", "bc"}),
    ])
    def test_finite_languages_of_anchored_regexes(self, body, language):
        assert cwl_regex.finite_language(body) == language

    def test_dollar_ends_the_text_not_a_line(self):
        assert cwl_regex.compile_regex("^Root$").search("Root\n") is None

    @pytest.mark.parametrize("body", ["[0-9]{1,3}", "colou?r", "^Con", "a|b", "\\d+\\.\\d+"])
    def test_samples_match_their_regex(self, body):
        samples = cwl_regex.samples(body)
        assert samples and all(cwl_regex.compile_regex(body).search(s) for s in samples)

    def test_matches_everything(self):
        assert cwl_regex.matches_everything(".*") and cwl_regex.matches_everything("a?")
        assert not cwl_regex.matches_everything("^$") and not cwl_regex.matches_everything("a")


def test_describe_event_reads_like_cloudtrail():
    event = {"userIdentity": {"type": "Root"}, "eventName": "RunInstances", "awsRegion": "ap-south-1"}
    assert describe_event(event) == "root RunInstances in ap-south-1"
    assert describe_event(event, [("recipientAccountId",)]) == (
        "root RunInstances in ap-south-1 without $.recipientAccountId")
