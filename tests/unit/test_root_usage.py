"""Judging whether a metric-filter pattern covers root usage, against the packaged CloudTrail corpora."""
import dataclasses
import itertools

import pytest

from rootguard_filters.logic.root_usage import (
    EITHER, MUST_ALERT, MUST_NOT_ALERT, PatternJudgement, judge_root_usage_pattern, load_corpus,
)

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


class TestCisPatterns:
    @pytest.mark.parametrize("pattern", CIS_SPELLINGS)
    def test_cis_spelling_covers_root_usage(self, pattern):
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers, judgement.reason
        assert judgement.missed == () and judgement.false_alarms == () and judgement.error is None
        assert str(len(names(MUST_ALERT))) in judgement.reason

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
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != AwsServiceEvent }',
        '{ ($.eventType != AwsServiceEvent) && (($.userIdentity.type = Root'
        ' && ($.userIdentity.invokedBy NOT EXISTS))) }',
    ])
    def test_spacing_parentheses_and_quoting_do_not_change_the_verdict(self, pattern):
        assert judge_root_usage_pattern(pattern).covers

    def test_plain_cis_pattern_alarms_on_assume_root_sessions(self):
        assert judge_root_usage_pattern(CIS_SPELLINGS[0]).excludes_assumed_root is False

    def test_excluding_assumed_root_sessions_still_covers(self):
        pattern = CIS_SPELLINGS[0][:-1] + f"&& {ASSUMED_ROOT_EXCLUSION} }}"
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers, judgement.reason
        assert judgement.excludes_assumed_root is True


class TestPatternsThatDoNotCover:
    def test_console_login_only_pattern_misses_every_other_root_action(self):
        judgement = judge_root_usage_pattern('{ $.userIdentity.type = "Root" && $.eventName = "ConsoleLogin" }')
        assert not judgement.covers
        expected_missed = {name for name, r in load_corpus(MUST_ALERT) if r["eventName"] != "ConsoleLogin"}
        assert set(judgement.missed) == expected_missed
        assert "root-api-call-s3.json" in judgement.missed
        assert "misses" in judgement.reason

    def test_iam_user_pattern_misses_all_root_usage_and_alarms_on_iam_users(self):
        judgement = judge_root_usage_pattern('{ $.userIdentity.type = "IAMUser" }')
        assert not judgement.covers
        assert set(judgement.missed) == names(MUST_ALERT)
        assert "iam-user-console-login.json" in judgement.false_alarms

    def test_root_type_alone_alarms_on_service_events_and_service_invoked_calls(self):
        judgement = judge_root_usage_pattern('{ $.userIdentity.type = "Root" }')
        assert not judgement.covers
        assert judgement.missed == ()
        assert {"aws-service-event-root.json", "root-invoked-by-service.json",
                "root-invoked-by-cloudformation.json"} == set(judgement.false_alarms)
        assert "alarms on" in judgement.reason

    def test_or_with_inequality_alarms_on_every_non_service_event(self):
        judgement = judge_root_usage_pattern('{ $.userIdentity.type = "Root" || $.eventType != "AwsServiceEvent" }')
        assert not judgement.covers
        assert {"iam-user-api-call.json", "assumed-role-api-call.json", "assume-root-call.json"} <= set(
            judgement.false_alarms)

    def test_excluding_errors_misses_failed_logins_and_denied_calls(self):
        pattern = CIS_SPELLINGS[0][:-1] + "&& $.errorMessage NOT EXISTS }"
        judgement = judge_root_usage_pattern(pattern)
        expected_missed = {name for name, r in load_corpus(MUST_ALERT) if "errorMessage" in r}
        assert expected_missed and set(judgement.missed) == expected_missed
        assert not judgement.covers

    def test_inequality_on_a_login_only_field_drops_api_calls(self):
        # '!=' on a missing field is false, so this silently narrows the pattern to sign-in events.
        pattern = CIS_SPELLINGS[0][:-1] + '&& $.responseElements.ConsoleLogin != "Failure" }'
        judgement = judge_root_usage_pattern(pattern)
        assert not judgement.covers
        assert "root-api-call-kms-schedule-key-deletion.json" in judgement.missed
        assert "root-console-login-success-mfa.json" not in judgement.missed


class TestArnWildcards:
    def test_inner_wildcard_in_arn_matches_nothing_because_it_is_literal(self):
        # CloudWatch treats an inner '*' literally ("Ev*ent will only match the actual string Ev*ent").
        pattern = ('{ $.userIdentity.arn = "arn:aws:iam::*:root" && $.userIdentity.invokedBy NOT EXISTS'
                   ' && $.eventType != "AwsServiceEvent" }')
        judgement = judge_root_usage_pattern(pattern)
        assert not judgement.covers
        assert set(judgement.missed) == names(MUST_ALERT)

    def test_leading_wildcard_on_root_arn_suffix_covers(self):
        pattern = ('{ $.userIdentity.arn = "*:root" && $.userIdentity.invokedBy NOT EXISTS'
                   ' && $.eventType != "AwsServiceEvent" }')
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers, judgement.reason

    def test_too_loose_arn_wildcard_alarms_on_an_iam_user_named_root(self):
        pattern = ('{ $.userIdentity.arn = "*root" && $.userIdentity.invokedBy NOT EXISTS'
                   ' && $.eventType != "AwsServiceEvent" }')
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.false_alarms == ("iam-user-named-root-api-call.json",)


class TestMalformed:
    @pytest.mark.parametrize("pattern", [
        "", "{ $.userIdentity.type = ", '{ $.userIdentity.type = "Root" && }', "{ $.userIdentity.type ~ Root }",
        "Root ConsoleLogin", '{ ($.userIdentity.type = "Root" }',
    ])
    def test_malformed_pattern_does_not_cover_and_reports_the_error(self, pattern):
        judgement = judge_root_usage_pattern(pattern)
        assert judgement.covers is False
        assert judgement.error
        assert judgement.error in judgement.reason
        assert judgement.missed == () and judgement.false_alarms == ()

    def test_judgement_is_immutable(self):
        judgement = judge_root_usage_pattern(CIS_SPELLINGS[0])
        assert isinstance(judgement, PatternJudgement)
        with pytest.raises(dataclasses.FrozenInstanceError):
            judgement.covers = False
