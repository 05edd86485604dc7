"""Whether a metric-filter pattern matches every root-usage event: decided over all events, with the
packaged CloudTrail corpora kept as regression samples."""
import dataclasses
import itertools
import json

import pytest

from rootguard_filters.logic.filter_pattern import evaluate, parse
from rootguard_filters.logic.root_usage import (
    COVERS, DOES_NOT_COVER, EITHER, MALFORMED, MUST_ALERT, MUST_NOT_ALERT, UNDECIDED, PatternJudgement,
    is_cloudtrail_record, is_root_usage, judge_root_usage_pattern, load_corpus,
)
from rootguard_filters.logic.text_pattern import SEMANTICS

CIS_SPELLINGS = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
    '{ $.userIdentity.type = Root && $.userIdentity.invokedBy NOT EXISTS && $.eventType != AwsServiceEvent }',
)
CIS_CLAUSES = ('$.userIdentity.type = "Root"', "$.userIdentity.invokedBy NOT EXISTS",
               '$.eventType != "AwsServiceEvent"')
ASSUMED_ROOT_EXCLUSION = "$.userIdentity.sessionContext.assumedRoot NOT EXISTS"


def names(folder):
    return {name for name, _ in load_corpus(folder)}


def records(folder):
    return [record for _, record in load_corpus(folder)]


class TestCorpora:
    def test_corpora_load_from_package_resources(self):
        for folder in (MUST_ALERT, MUST_NOT_ALERT, EITHER):
            corpus = load_corpus(folder)
            assert corpus, folder
            assert all(name.endswith(".json") and isinstance(record, dict) for name, record in corpus)

    def test_must_alert_holds_every_kind_of_root_usage(self):
        alerts = records(MUST_ALERT)
        assert all(record["userIdentity"]["type"] == "Root" for record in alerts)
        logins = [r for r in alerts if r["eventName"] == "ConsoleLogin"]
        assert {r["responseElements"]["ConsoleLogin"] for r in logins} == {"Success", "Failure"}
        assert {r["additionalEventData"]["MFAUsed"] for r in logins} >= {"Yes", "No", "YES"}
        assert any(r["responseElements"]["ConsoleLogin"] == "Failure" and r["additionalEventData"]["MFAUsed"] == "Yes"
                   for r in logins)
        event_names = {r["eventName"] for r in alerts}
        assert {"PasswordRecoveryRequested", "DeactivateMFADevice"} <= event_names
        api_sources = {r["eventSource"] for r in alerts if r["eventType"] == "AwsApiCall"}
        assert {"iam.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com", "organizations.amazonaws.com",
                "kms.amazonaws.com"} <= api_sources

    def test_must_alert_records_are_plain_root_activity(self):
        for record in records(MUST_ALERT):
            assert "invokedBy" not in record["userIdentity"]
            assert "assumedRoot" not in record["userIdentity"].get("sessionContext", {})
            assert record["eventType"] != "AwsServiceEvent"

    def test_must_not_alert_holds_the_lookalikes(self):
        quiet = records(MUST_NOT_ALERT)
        identity_types = {r["userIdentity"].get("type") for r in quiet}
        assert {"IAMUser", "AssumedRole", None} <= identity_types  # None: documented service-event identity
        assert any(r["userIdentity"].get("type") == "Root" and r["eventType"] == "AwsServiceEvent" for r in quiet)
        assert any(r["userIdentity"].get("type") == "Root" and "invokedBy" in r["userIdentity"] for r in quiet)
        assert any(r["userIdentity"].get("type") == "IAMUser" and r["eventName"] == "ConsoleLogin" for r in quiet)

    def test_either_holds_assume_root_sessions_with_and_without_the_marker(self):
        sessions = records(EITHER)
        assert all(r["userIdentity"]["type"] == "Root" for r in sessions)
        markers = {"assumedRoot" in r["userIdentity"]["sessionContext"] for r in sessions}
        assert markers == {True, False}




CIS = CIS_SPELLINGS[0]


def narrowed(clause):
    return CIS[:-1] + f"&& {clause} }}"


def assert_real_counterexample(pattern, judgement, exclude_assumed_root_ok=True):
    """The counterexample is a root-usage event the pattern does not match (under every term semantics)."""
    assert judgement.status == DOES_NOT_COVER, judgement.reason
    event = judgement.counterexample
    assert is_root_usage(event, exclude_assumed_root_ok)
    ast = parse(pattern)
    if hasattr(ast, "matches_text"):
        text = json.dumps(event, separators=(",", ":"))
        assert not any(ast.matches_text(text, semantics) for semantics in SEMANTICS)
    else:
        assert not evaluate(ast, event)
    assert "would not alarm" in judgement.reason
    assert json.dumps(event, sort_keys=True) in judgement.reason
    return event


def corpus_regression(pattern, judgement, exclude_assumed_root_ok=True):
    """A covering pattern matches every packaged root-usage record."""
    records = [r for _, r in load_corpus(MUST_ALERT)] + [r for _, r in load_corpus(EITHER)]
    for record in records:
        if is_root_usage(record, exclude_assumed_root_ok):
            assert evaluate(parse(pattern), record), (pattern, record.get("eventName"))


class TestCisPatterns:
    @pytest.mark.parametrize("pattern", CIS_SPELLINGS)
    def test_cis_spelling_covers_root_usage(self, pattern):
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers and judgement.status == COVERS, judgement.reason
        assert judgement.counterexample is None and judgement.error is None
        corpus_regression(pattern, judgement)

    @pytest.mark.parametrize("order", list(itertools.permutations(CIS_CLAUSES)))
    def test_clause_order_does_not_change_the_verdict(self, order):
        assert judge_root_usage_pattern("{ " + " && ".join(order) + " }").covers

    @pytest.mark.parametrize("pattern", [
        '{   $.userIdentity.type   =   "Root"   &&$.userIdentity.invokedBy   NOT   EXISTS'
        '&&$.eventType!="AwsServiceEvent"}',
        '\n{\n\t$.userIdentity.type = "Root"\n\t&& $.userIdentity.invokedBy NOT EXISTS'
        '\n\t&& $.eventType != "AwsServiceEvent"\n}\n',
        '{ (($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS))'
        ' && (($.eventType != "AwsServiceEvent")) }',
        '{ ($.eventType != AwsServiceEvent) && (($.userIdentity.type = Root'
        ' && ($.userIdentity.invokedBy NOT EXISTS))) }',
        '{ $.userIdentity.type = %^Root$% && $.userIdentity.invokedBy NOT EXISTS && $.eventType != AwsServiceEvent }',
        '{ $.userIdentity.type = "Ro*" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != AwsServiceEvent }',
    ])
    def test_equivalent_spellings_cover(self, pattern):
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers, judgement.reason
        corpus_regression(pattern, judgement)

    def test_plain_cis_pattern_alarms_on_assume_root_sessions(self):
        judgement = judge_root_usage_pattern(CIS)
        assert judgement.excludes_assumed_root is False
        assert [extra["what"] for extra in judgement.also_alarms_on] == ["AssumeRoot session actions"]

    def test_excluding_assumed_root_sessions_covers_when_allowed(self):
        pattern = narrowed(ASSUMED_ROOT_EXCLUSION)
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers, judgement.reason
        assert judgement.excludes_assumed_root is True
        assert judgement.also_alarms_on == ()

    def test_excluding_assumed_root_sessions_does_not_cover_when_not_allowed(self):
        pattern = narrowed(ASSUMED_ROOT_EXCLUSION)
        judgement = judge_root_usage_pattern(pattern, exclude_assumed_root_ok=False)
        event = assert_real_counterexample(pattern, judgement, exclude_assumed_root_ok=False)
        assert event["userIdentity"]["sessionContext"]["assumedRoot"] == "true"
        assert "exclude-assumed-root-ok is false" in judgement.reason


class TestNarrowedPatternsFromTheIssue:
    def test_region_restriction_misses_root_use_in_other_regions(self):
        pattern = narrowed('$.awsRegion = "us-*"')
        judgement = judge_root_usage_pattern(pattern)
        event = assert_real_counterexample(pattern, judgement)
        assert event["awsRegion"] == "ap-south-1"
        assert "root RunInstances to ec2.amazonaws.com in ap-south-1 in account 444455556666 would not alarm" \
            in judgement.reason

    def test_account_restriction_misses_root_use_in_other_accounts(self):
        pattern = narrowed("$.recipientAccountId = 111122223333")
        judgement = judge_root_usage_pattern(pattern)
        event = assert_real_counterexample(pattern, judgement)
        assert event["recipientAccountId"] != "111122223333"
        assert "in account 444455556666" in judgement.reason

    def test_sts_exclusion_misses_root_use_through_sts(self):
        pattern = narrowed('$.eventSource != "sts.amazonaws.com"')
        judgement = judge_root_usage_pattern(pattern)
        event = assert_real_counterexample(pattern, judgement)
        assert event["eventSource"] == "sts.amazonaws.com"
        assert "to sts.amazonaws.com in ap-south-1 in account 444455556666 would not alarm" in judgement.reason

    def test_counterexample_is_a_record_cloudtrail_could_write(self):
        judgement = judge_root_usage_pattern(narrowed('$.awsRegion = "us-*"'))
        event = judgement.counterexample
        assert is_cloudtrail_record(event)
        assert set(event) == {"eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "eventID",
                              "eventType", "recipientAccountId", "userIdentity"}
        assert event["userIdentity"] == {"type": "Root", "arn": "arn:aws:iam::444455556666:root",
                                         "accountId": "444455556666", "principalId": "444455556666"}


class TestBroaderPatternsCover:
    def test_leaving_out_a_cis_exclusion_covers_and_says_what_else_alarms(self):
        judgement = judge_root_usage_pattern('{ $.userIdentity.type = "Root" }')
        assert judgement.covers, judgement.reason
        whats = [extra["what"] for extra in judgement.also_alarms_on]
        assert whats[:2] == ["service-invoked root calls", "AWS service events"]
        assert "also alarms on service-invoked root calls, AWS service events" in judgement.reason
        invoked = judgement.also_alarms_on[0]["example"]
        assert "invokedBy" in invoked["userIdentity"] and not is_root_usage(invoked)

    def test_or_with_inequality_covers_and_alarms_on_other_identities(self):
        pattern = '{ $.userIdentity.type = "Root" || $.eventType != "AwsServiceEvent" }'
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers, judgement.reason
        other = next(e["example"] for e in judgement.also_alarms_on if e["what"] == "events of other identities")
        assert evaluate(parse(pattern), other) and other.get("userIdentity", {}).get("type") != "Root"

    def test_empty_pattern_matches_every_event(self):
        judgement = judge_root_usage_pattern("")
        assert judgement.covers and "every event" in judgement.reason


class TestNarrowerPatternsDoNotCover:
    @pytest.mark.parametrize("pattern, field", [
        ('{ $.userIdentity.type = "Root" && $.eventName = "ConsoleLogin" }', ("eventName",)),
        ('{ $.userIdentity.type = "IAMUser" }', ("userIdentity", "type")),
        (narrowed("$.errorMessage NOT EXISTS"), ("errorMessage",)),
        (narrowed('$.responseElements.ConsoleLogin != "Failure"'), ()),
        ('{ $.userIdentity.arn = "arn:aws:iam::*:root" && $.userIdentity.invokedBy NOT EXISTS'
         ' && $.eventType != "AwsServiceEvent" }', ()),
        (narrowed("$.eventName = %^Con%"), ("eventName",)),
        (narrowed("$.readOnly IS FALSE"), ()),
        (narrowed("$.requestParameters.x IS NULL"), ()),
        (narrowed("$.resources[1].ARN = *"), ()),
        (narrowed("$.errorCode < 5"), ()),
    ])
    def test_counterexample_is_a_root_event_the_pattern_misses(self, pattern, field):
        judgement = judge_root_usage_pattern(pattern)
        event = assert_real_counterexample(pattern, judgement)
        if field == ("eventName",):
            assert event.get("eventName") not in (None, "ConsoleLogin")
        if field == ("errorMessage",):
            assert "errorMessage" in event

    def test_a_pattern_requiring_a_field_no_record_carries_is_missed_by_a_root_event_without_it(self):
        pattern = ('{ $.userIdentity.userName = "*" && $.userIdentity.invokedBy NOT EXISTS'
                   ' && $.eventType != "AwsServiceEvent" }')
        judgement = judge_root_usage_pattern(pattern)
        assert_real_counterexample(pattern, judgement)
        assert "without $.userIdentity.userName" in judgement.reason


class TestUndecided:
    def test_regexes_whose_constraints_defeat_the_search_are_undecided_not_covering(self):
        pattern = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
                   '($.eventName != %^a% || $.eventName != %^b%) }')
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.status == UNDECIDED and not judgement.covers
        assert "%^a%" in judgement.reason or "%^b%" in judgement.reason


class TestTermPatterns:
    def test_term_every_root_event_holds_covers(self):
        judgement = judge_root_usage_pattern("Root")
        assert judgement.covers, judgement.reason

    @pytest.mark.parametrize("pattern", [
        "Root ConsoleLogin", '"ConsoleLogin"', "Root -AwsApiCall", "?ConsoleLogin ?RunInstances", "%Login%",
        "Root -Mallory", "[ip, user, status]", "[a, b, ...]",
    ])
    def test_text_pattern_counterexample_escapes_under_both_term_semantics(self, pattern):
        assert_real_counterexample(pattern, judge_root_usage_pattern(pattern))

    @pytest.mark.parametrize("pattern", ["?Root ?x", "%Ro+t%", "userIdentity eventType", "[...]", "[a, ...]"])
    def test_text_patterns_that_every_root_event_matches_cover(self, pattern):
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers, judgement.reason
        corpus_regression(pattern, judgement)

    @pytest.mark.parametrize("pattern", ["Roo", "?Root ConsoleLogin"])
    def test_text_patterns_that_cannot_be_settled_are_undecided(self, pattern):
        assert judge_root_usage_pattern(pattern).status == UNDECIDED


class TestMalformed:
    @pytest.mark.parametrize("pattern", [
        "{ $.userIdentity.type = ", '{ $.userIdentity.type = "Root" && }', "{ $.userIdentity.type ~ Root }",
        '{ ($.userIdentity.type = "Root" }', "{ $.a = %x!% }", "[a, b",
    ])
    def test_malformed_pattern_does_not_cover_and_reports_the_error(self, pattern):
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.status == MALFORMED and judgement.covers is False
        assert judgement.error and judgement.error in judgement.reason

    def test_judgement_is_immutable(self):
        judgement = judge_root_usage_pattern(CIS)
        assert isinstance(judgement, PatternJudgement)
        with pytest.raises(dataclasses.FrozenInstanceError):
            judgement.status = DOES_NOT_COVER
