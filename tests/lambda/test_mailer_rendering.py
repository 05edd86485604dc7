"""Every real-time alert, end to end: sample CloudTrail event → the policy's rule → its Lambda archive → the
queued message → c7n-mailer's own rendering (subject and body) with deploy/mailer-templates.

The message must carry the event: call, time, source IP, identity, MFA and result reach the person.
"""
import json
import re

import boto3
import pytest
from moto.events.models import EventPattern

from lambda_support import (MANAGEMENT_ACCOUNT, REPO, build_archive, envelope, invoke, lambda_env,
                            read_notifications, realtime_policy, render_with_mailer)
from rootguard_filters.deployment.lambda_modes import RuleSource

pytest.importorskip("c7n_mailer.utils_email")  # the test extra installs c7n-mailer

HANDLER = "rootguard_filters.lambda_handler.run"
PACK_SAMPLES = REPO / "rootguard_filters" / "data" / "cloudtrail"
SIGNIN = "AWS Console Sign In via CloudTrail"
API = "AWS API Call via CloudTrail"
SERVICE_EVENT = "AWS Service Event via CloudTrail"


def drift_record(source, name, detail_type=API, **fields):
    """A CloudTrail record for a drift event, shaped like the pack's API-call sample (same identity, IP...)."""
    record = json.loads((PACK_SAMPLES / "must_alert" / "root-api-call-create-access-key.json").read_text())
    record.update({"eventSource": source, "eventName": name, "readOnly": False, "eventType": "AwsApiCall",
                   "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:admin",
                                    "arn": f"arn:aws:sts::{MANAGEMENT_ACCOUNT}:assumed-role/Admin/admin",
                                    "accountId": MANAGEMENT_ACCOUNT,
                                    "sessionContext": {"attributes": {"mfaAuthenticated": "true"}}},
                   "recipientAccountId": MANAGEMENT_ACCOUNT, **fields})
    return record


MOVE_ACCOUNT = drift_record("organizations.amazonaws.com", "MoveAccount", requestParameters={
    "accountId": "210987654321", "sourceParentId": "ou-ab12-11111111", "destinationParentId": "ou-ab12-22222222"})
# CreateAccount's end is a service event: no caller IP, the result in serviceEventDetails.
CREATE_ACCOUNT_RESULT = drift_record(
    "organizations.amazonaws.com", "CreateAccountResult", eventType="AwsServiceEvent", sourceIPAddress=None,
    userIdentity={"accountId": MANAGEMENT_ACCOUNT, "invokedBy": "AWS Internal"},
    serviceEventDetails={"createAccountStatus": {"id": "car-0123456789abcdef", "state": "SUCCEEDED",
                                                 "accountName": "new-member", "accountId": "210987654321"}})
DELETE_METRIC_FILTER = drift_record("logs.amazonaws.com", "DeleteMetricFilter", requestParameters={
    "logGroupName": "cloudtrail-logs", "filterName": "root-usage"})

# (policy, CloudTrail record, detail-type): at least one per alert policy of deploy/realtime.yml.
CASES = [
    ("rootguard-root-console-signin", "must_alert/root-console-login-success-mfa.json", SIGNIN),
    ("rootguard-root-console-signin", "must_alert/root-console-login-failure.json", SIGNIN),
    ("rootguard-root-password-change", "must_alert/root-password-recovery.json", SIGNIN),
    ("rootguard-root-credential-change", "must_alert/root-api-call-create-access-key.json", API),
    ("rootguard-root-credential-change", "must_alert/root-mfa-deactivate.json", API),
    ("rootguard-root-api-activity", "must_alert/root-api-call-s3.json", API),
    ("rootguard-root-api-activity", "must_alert/root-api-call-iam-list-users-read-only.json", API),
    ("rootguard-root-api-activity", "must_alert/root-api-call-denied-by-scp.json", API),
    ("rootguard-assume-root-session", "either/assume-root-session-action.json", API),
    ("rootguard-assume-root-call", "must_not_alert/assume-root-call.json", API),
    ("rootguard-alarm-chain-weakened", DELETE_METRIC_FILTER, API),
    ("rootguard-root-scp-weakened", MOVE_ACCOUNT, API),
    ("rootguard-root-scp-weakened", CREATE_ACCOUNT_RESULT, SERVICE_EVENT),
]


def case_id(case):
    record = case[1] if isinstance(case[1], str) else case[1]["eventName"]
    return f"{case[0]}:{record.rsplit('/', 1)[-1]}"


def event_for(record, detail_type):
    detail = record if isinstance(record, dict) else json.loads((PACK_SAMPLES / record).read_text())
    event = envelope("eventbridge-api-call-envelope.json")
    event.update({"detail-type": detail_type, "source": "aws." + detail["eventSource"].split(".")[0], "account": detail["recipientAccountId"],
                  "time": detail["eventTime"], "detail": detail})
    return event


def rule_pattern(policy):
    mode = policy["mode"]
    c7n_type = {"rootguard-periodic": "periodic", "rootguard-cloudtrail": "cloudtrail"}[mode["type"]]
    return RuleSource(mode, None, c7n_type).render_event_pattern()


def test_every_alert_policy_of_realtime_yml_is_rendered_here():
    policies = {p["name"] for p in __import__("yaml").safe_load((REPO / "deploy/realtime.yml").read_text())["policies"]
                if any(a.get("type") == "notify" for a in p.get("actions", []))}
    assert policies == {case[0] for case in CASES}


@pytest.fixture
def organization(sandbox, monkeypatch):
    """An organization whose member account no SCP denies root: the SCP re-check flags it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    org = boto3.client("organizations", region_name="us-east-1")
    try:
        org.describe_organization()
    except org.exceptions.AWSOrganizationsNotInUseException:
        org.create_organization(FeatureSet="ALL")
        org.create_account(AccountName="member", Email="member@example.com")
    return org


def event_values(subject_template, event):
    """The values of the ``{{ event.a.b }}`` expressions of a notify subject, read from the event."""
    values = []
    for path in re.findall(r"{{\s*event\.([\w.]+)[^}]*}}", subject_template):
        value = event
        for key in path.split("."):
            value = value[key]
        values.append(str(value))
    return values


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_alert_reaches_the_mailer_with_the_event_and_renders_with_c7n_mailer(
        sandbox, organization, alert_queue, lambda_runtime, tmp_path, case):
    name, record, detail_type = case
    queue_url, queue_arn = alert_queue
    policy = realtime_policy(name, queue_arn)
    event = event_for(record, detail_type)
    # the deployed rule delivers this event to the function (EventBridge's matching, as moto implements it)
    assert EventPattern.load(rule_pattern(policy)).matches_event(event)

    _, path = build_archive(policy, tmp_path / "archive", tmp_path / "out")
    lambda_variables = policy["mode"].get("environment", {}).get("Variables", {})
    result = invoke(path, lambda_runtime, HANDLER, event, lambda_env(sandbox.endpoint_url, tmp_path),
                    lambda_variables)
    assert result.returncode == 0, result.stderr
    [message] = read_notifications(queue_url)
    assert message["event"]["detail"] == event["detail"]  # c7n adds "debug" to the envelope

    subject, body = render_with_mailer(message)
    assert "{{" not in subject and "None" not in subject
    for value in event_values(policy["actions"][0]["subject"], event):
        assert value in subject
    detail = event["detail"]
    identity = detail["userIdentity"]
    expected = [f"{detail['eventSource']} {detail['eventName']}", detail["eventTime"],
                identity.get("arn") or identity.get("principalId") or identity["invokedBy"]]
    if detail.get("sourceIPAddress"):
        expected.append(f"source IP</th><td>{detail['sourceIPAddress']}")
    mfa = (detail.get("additionalEventData") or {}).get("MFAUsed") or \
        identity.get("sessionContext", {}).get("attributes", {}).get("mfaAuthenticated")
    if mfa:
        expected.append(f"</th><td>{mfa}</td>")
    if detail.get("errorCode"):
        expected.append(f"failed: {detail['errorCode']}")
    elif (detail.get("responseElements") or {}).get("ConsoleLogin"):
        expected.append(f"result</th><td>{detail['responseElements']['ConsoleLogin']}")
    else:
        expected.append("result</th><td>succeeded")
    missing = [text for text in expected if text not in body]
    assert not missing, body
    assert "No CloudTrail event reached this message" not in body
