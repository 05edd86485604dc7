"""Grouping root activity into sessions (decide/root_sessions.py), one test per rule."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rootguard_filters.decide.root_sessions import (
    ACCESS_KEY, ASSUME_ROOT, CONSOLE, group_sessions, parse_time, task_permits)
from rootguard_filters.sandbox import history as h

SAMPLES = Path(__file__).resolve().parents[2] / "rootguard_filters" / "data" / "cloudtrail"
ACCT, MGMT = "444455556666", "111122223333"
T0 = datetime(2026, 3, 4, 9, 15, tzinfo=timezone.utc)


def sample(name):
    for folder in ("must_alert", "must_not_alert", "either"):
        path = SAMPLES / folder / f"{name}.json"
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(name)


def by_kind(history, kind):
    return [s for s in history.sessions if s.kind == kind]


def test_console_sign_in_and_its_calls_form_one_session_with_mfa_and_duration():
    records = [h.console_login(ACCT, T0, "198.51.100.23"),
               h.root_call(ACCT, T0 + timedelta(minutes=5), "ListMFADevices", console_login_at=T0, read_only=True),
               h.root_call(ACCT, T0 + timedelta(minutes=9), "DeactivateMFADevice", console_login_at=T0)]
    history = group_sessions(records, ACCT)
    (session,) = history.sessions
    out = session.as_dict()
    assert out["kind"] == CONSOLE and out["signin"] == "success" and out["mfa_used"] is True
    assert out["start"] == "2026-03-04T09:15:00Z" and out["end"] == "2026-03-04T09:24:00Z"
    assert out["duration_seconds"] == 540
    assert out["calls"] == {"iam:DeactivateMFADevice": 1, "iam:ListMFADevices": 1}
    assert out["changed_credentials"] and out["credential_changes"][0]["event"] == "DeactivateMFADevice"
    assert out["source_ips"] == ["198.51.100.23"]


def test_documented_samples_sign_in_then_create_key_then_mfa_change_are_one_console_session():
    records = [sample("root-console-login-success-mfa"), sample("root-api-call-create-access-key"),
               sample("root-mfa-deactivate")]
    (session,) = group_sessions(records, MGMT).sessions
    out = session.as_dict()
    assert out["kind"] == CONSOLE and out["call_count"] == 2
    assert {c["event"] for c in out["credential_changes"]} == {"CreateAccessKey", "DeactivateMFADevice"}


def test_console_calls_join_the_sign_in_their_credentials_were_created_at():
    first, second = T0, T0 + timedelta(minutes=30)
    records = [h.console_login(ACCT, first, "198.51.100.1"), h.console_login(ACCT, second, "198.51.100.2"),
               # made after the second sign-in, with the first sign-in's credentials
               h.root_call(ACCT, second + timedelta(minutes=1), "GetUser", console_login_at=first, ip="198.51.100.1"),
               h.root_call(ACCT, second + timedelta(minutes=2), "ListUsers", console_login_at=second, ip="198.51.100.2")]
    sessions = group_sessions(records, ACCT).sessions
    assert [s.as_dict()["calls"] for s in sessions] == [{"iam:GetUser": 1}, {"iam:ListUsers": 1}]


def test_calls_after_the_console_session_expiry_do_not_join_it():
    records = [h.console_login(ACCT, T0, "198.51.100.1"),
               h.root_call(ACCT, T0 + timedelta(hours=13), "GetUser", console_login_at=T0)]
    sessions = group_sessions(records, ACCT, console_hours=12).sessions
    assert len(sessions) == 2
    assert sessions[0].as_dict()["call_count"] == 0
    assert sessions[1].as_dict()["signin"] == "not in history"


def test_console_calls_whose_sign_in_is_older_than_the_window_are_a_session_marked_so():
    old_login = T0 - timedelta(days=91)
    records = [h.root_call(ACCT, T0, "GetUser", console_login_at=T0 - timedelta(minutes=5))]
    (session,) = group_sessions(records, ACCT).sessions
    assert session.kind == CONSOLE and session.as_dict()["signin"] == "not in history"
    assert old_login < session.start


def test_access_key_activity_is_one_session_per_key_split_on_idle_gaps():
    key_a, key_b = "AKIAQXZ7EXAMPLEROOT1", "AKIAQXZ7EXAMPLEROOT2"
    records = [h.root_call(ACCT, T0 + timedelta(minutes=m), "ListBuckets", "s3.amazonaws.com", key=key)
               for m, key in ((0, key_a), (10, key_a), (5, key_b), (200, key_a))]
    sessions = by_kind(group_sessions(records, ACCT), ACCESS_KEY)
    assert sorted((s.key, s.as_dict()["call_count"]) for s in sessions) == [
        (key_a, 1), (key_a, 2), (key_b, 1)]


def test_root_get_session_token_credentials_belong_to_the_key_that_issued_them():
    key, temp = "AKIAQXZ7EXAMPLEROOT1", "ASIAQXZ7EXAMPLETEMP1"
    issue = h.root_call(ACCT, T0, "GetSessionToken", "sts.amazonaws.com", key=key)
    issue["responseElements"] = {"credentials": {"accessKeyId": temp, "expiration": "Mar 4, 2026, 10:15:00 AM"}}
    use = h.root_call(ACCT, T0 + timedelta(minutes=3), "ListBuckets", "s3.amazonaws.com", key=temp)
    use["userIdentity"]["sessionContext"] = {"attributes": {"creationDate": "2026-03-04T09:15:00Z",
                                                            "mfaAuthenticated": "false"}}
    (session,) = group_sessions([issue, use], ACCT).sessions
    assert session.kind == ACCESS_KEY and session.key == key and session.as_dict()["call_count"] == 2


def test_assume_root_session_in_the_member_is_apart_from_sign_ins_with_or_without_assumed_root():
    records = [sample("assume-root-session-action"), sample("assume-root-session-action-doc-variant"),
               h.console_login(ACCT, parse_time("2025-03-05T14:00:00Z"), "198.51.100.9")]
    history = group_sessions(records, ACCT)
    (assumed,) = by_kind(history, ASSUME_ROOT)
    assert assumed.side == "member" and assumed.task is None
    assert assumed.actions() == {"iam:DeleteAccessKey", "s3:DeleteBucketPolicy"}
    (console,) = by_kind(history, CONSOLE)
    assert console.as_dict()["call_count"] == 0


def test_assume_root_call_in_the_management_account_names_target_and_task():
    (session,) = group_sessions([sample("assume-root-call")], MGMT).sessions
    out = session.as_dict()
    assert out["kind"] == ASSUME_ROOT and out["side"] == "caller"
    assert out["target_account"] == ACCT and out["task"] == "IAMDeleteRootUserCredentials"
    assert out["duration_seconds"] == 900     # until the credentials' expiration


def test_refused_assume_root_call_opens_no_session():
    record = sample("assume-root-call")
    record["errorCode"] = "AccessDenied"
    assert group_sessions([record], MGMT).sessions == []


def test_failed_sign_ins_and_password_recovery_are_reported_without_a_session():
    records = [sample("root-console-login-failure"), sample("root-password-recovery"),
               sample("root-password-recovery-completed")]
    history = group_sessions(records, MGMT)
    assert history.sessions == []
    assert [e["event"] for e in history.signin_events] == [
        "PasswordRecoveryRequested", "PasswordRecoveryCompleted", "ConsoleLogin"]
    assert history.signin_events[-1]["result"] == "Failure"


def test_service_events_and_service_invoked_calls_are_not_sessions():
    records = [sample("aws-service-event-root"), sample("root-invoked-by-cloudformation")]
    history = group_sessions(records, MGMT)
    assert history.sessions == [] and history.skipped == 2


def test_console_invoked_call_joins_the_console_session():
    login = parse_time("2019-06-11T16:43:06Z")
    records = [h.console_login(MGMT, login, "198.51.100.23"), sample("root-invoked-by-service")]
    (session,) = group_sessions(records, MGMT).sessions
    assert session.as_dict()["calls"] == {"iam:AttachUserPolicy": 1}


def test_other_principals_and_iam_users_named_root_are_ignored():
    records = [sample("iam-user-named-root-api-call"), sample("iam-user-console-login"),
               sample("assumed-role-api-call")]
    assert group_sessions(records, ACCT).sessions == []


def test_errors_and_access_denied_are_counted():
    records = [h.console_login(ACCT, T0, "198.51.100.1"),
               h.root_call(ACCT, T0 + timedelta(minutes=1), "CreateUser", console_login_at=T0, error="AccessDenied"),
               h.root_call(ACCT, T0 + timedelta(minutes=2), "DescribeInstances", "ec2.amazonaws.com",
                           console_login_at=T0, error="Client.UnauthorizedOperation"),
               h.root_call(ACCT, T0 + timedelta(minutes=3), "CreateAccessKey", console_login_at=T0,
                           error="LimitExceeded")]
    out = group_sessions(records, ACCT).sessions[0].as_dict()
    assert out["errors"] == 3 and out["access_denied"] == 2
    assert out["denied_calls"] == ["ec2:DescribeInstances", "iam:CreateUser"]
    assert out["credential_changes"] == []      # a failed CreateAccessKey changed nothing


def test_uppercase_mfa_used_and_duplicate_events_across_lookups():
    login = h.console_login(ACCT, T0, "198.51.100.1")
    login["additionalEventData"]["MFAUsed"] = "YES"
    (session,) = group_sessions([login, login], ACCT).sessions
    assert session.as_dict()["mfa_used"] is True and len(session.events) == 1


def test_sessions_span_regions():
    records = [h.console_login(ACCT, T0, "198.51.100.1"),
               h.root_call(ACCT, T0 + timedelta(minutes=1), "DescribeInstances", "ec2.amazonaws.com",
                           region="eu-west-1", console_login_at=T0, read_only=True)]
    assert group_sessions(records, ACCT).sessions[0].as_dict()["regions"] == ["eu-west-1", "us-east-1"]


def test_task_permits_only_the_tasks_actions():
    assert task_permits("IAMDeleteRootUserCredentials", {"iam:DeleteAccessKey", "sts:GetCallerIdentity"})
    assert not task_permits("IAMAuditRootUserCredentials", {"iam:DeleteAccessKey"})
    assert not task_permits("NoSuchTask", set())
