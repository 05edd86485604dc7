"""`custodian run` deploys deploy/realtime.yml and a periodic policy: the EventBridge rules it creates."""
import json

import boto3
import pytest
from c7n.cli import main as custodian

import rootguard_filters
from lambda_support import MANAGEMENT_ACCOUNT, REPO
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS

# deploy/realtime.yml and periodic.yml use filters of the whole pack: register it.
rootguard_filters.register()

SIGNIN_TYPES = ["AWS Console Sign In via CloudTrail", "AWS Console Signin via CloudTrail"]
LAMBDA_ROLE_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def deployed(sandbox, tmp_path_factory):
    """The sandbox after `custodian run` of realtime.yml and of periodic.yml's root-mfa-missing."""
    tmp = tmp_path_factory.mktemp("deploy")
    env = pytest.MonkeyPatch()
    # Module scope runs before the autouse per-test environment: set the sandbox's own.
    for name, value in {"AWS_ENDPOINT_URL": sandbox.endpoint_url, **FAKE_CREDENTIALS,
                        "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none")}.items():
        env.setenv(name, value)
    for name in ("C7N_USE_STS_REGIONAL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.delenv(name, raising=False)
    vars_file = tmp / "vars.yml"
    vars_file.write_text(f"rootguard_notify_queue: arn:aws:sqs:us-east-1:{MANAGEMENT_ACCOUNT}:rootguard-alerts\n"
                         "rootguard_notify_to: security@example.com\n")
    boto3.client("iam").create_role(RoleName="rootguard-lambda", AssumeRolePolicyDocument=json.dumps(LAMBDA_ROLE_TRUST))
    common = ["run", "-s", str(tmp / "out"), "-r", "us-east-1", "--cache-period", "0"]
    for args in (["--vars-file", str(vars_file), str(REPO / "deploy/realtime.yml")],
                 ["--vars-file", str(vars_file), "-p", "root-mfa-missing", str(REPO / "deploy/periodic.yml")]):
        env.setattr("sys.argv", ["custodian", *common, *args])
        custodian()
    events = boto3.client("events", region_name="us-east-1")
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    targets = {name: events.list_targets_by_rule(Rule=name)["Targets"] for name in rules}
    yield rules, targets, boto3.client("lambda", region_name="us-east-1")
    env.undo()


def pattern(rules, name):
    return json.loads(rules[name]["EventPattern"])


def test_every_realtime_policy_and_the_periodic_one_got_a_rule_targeting_its_function(deployed):
    rules, targets, _ = deployed
    import yaml
    realtime = [p["name"] for p in yaml.safe_load((REPO / "deploy/realtime.yml").read_text())["policies"]]
    expected = set(realtime) | {"rootguard-root-mfa-missing"}
    assert expected <= set(rules)
    for name in expected:
        assert [t["Arn"] for t in targets[name]] == [
            f"arn:aws:lambda:us-east-1:{MANAGEMENT_ACCOUNT}:function:{name}"]


def test_periodic_rule_is_daily_and_its_function_runs_the_pack_handler(deployed):
    rules, _, lam = deployed
    config = lam.get_function(FunctionName="rootguard-root-mfa-missing")["Configuration"]
    assert rules["rootguard-root-mfa-missing"]["ScheduleExpression"] == "rate(1 day)"
    assert config["Handler"] == "rootguard_filters.lambda_handler.run"
    assert config["Role"] == f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/rootguard-lambda"


def test_console_signin_rule_has_both_signin_detail_types_and_only_root(deployed):
    rules, _, _ = deployed
    p = pattern(rules, "rootguard-root-console-signin")
    assert sorted(p["detail-type"]) == sorted(SIGNIN_TYPES)
    assert p["detail"] == {"eventSource": ["signin.amazonaws.com"], "eventName": ["ConsoleLogin"],
                           "userIdentity": {"type": ["Root"]}}


def test_signin_and_iam_credential_events_are_in_separate_rules(deployed):
    rules, _, _ = deployed
    signin = pattern(rules, "rootguard-root-password-change")
    iam = pattern(rules, "rootguard-root-credential-change")
    assert signin["detail"]["eventSource"] == ["signin.amazonaws.com"]
    assert set(signin["detail"]["eventName"]) == {"PasswordRecoveryRequested", "PasswordRecoveryCompleted",
                                                  "PasswordUpdated"}
    assert iam["detail"]["eventSource"] == ["iam.amazonaws.com"]
    assert iam["detail-type"] == ["AWS API Call via CloudTrail"]
    assert {"CreateAccessKey", "EnableMFADevice", "DeactivateMFADevice", "CreateVirtualMFADevice"} <= set(
        iam["detail"]["eventName"])


def test_root_api_rule_excludes_service_calls_service_events_and_assume_root_sessions(deployed):
    rules, _, _ = deployed
    identity = pattern(rules, "rootguard-root-api-activity")["detail"]["userIdentity"]
    detail = pattern(rules, "rootguard-root-api-activity")["detail"]
    assert identity == {"type": ["Root"], "invokedBy": [{"exists": False}],
                        "sessionContext": {"assumedRoot": [{"exists": False}]}}
    assert detail["eventType"] == [{"anything-but": "AwsServiceEvent"}]
    session = pattern(rules, "rootguard-assume-root-session")["detail"]["userIdentity"]
    assert session == {"type": ["Root"], "sessionContext": {"assumedRoot": ["true"]}}


def test_assume_root_call_and_drift_rules_watch_the_right_calls(deployed):
    rules, _, _ = deployed
    assert pattern(rules, "rootguard-assume-root-call")["detail"] == {
        "eventSource": ["sts.amazonaws.com"], "eventName": ["AssumeRoot"]}
    chain = pattern(rules, "rootguard-alarm-chain-weakened")["detail"]
    assert set(chain["eventSource"]) == {"cloudtrail.amazonaws.com", "logs.amazonaws.com",
                                         "monitoring.amazonaws.com", "sns.amazonaws.com"}
    assert {"StopLogging", "DeleteMetricFilter", "DeleteAlarms", "DisableAlarmActions", "Unsubscribe",
            "DeleteTopic"} <= set(chain["eventName"])
    scp = pattern(rules, "rootguard-root-scp-weakened")
    assert scp["detail"]["eventName"][:4] == ["DetachPolicy", "UpdatePolicy", "DeletePolicy", "DisablePolicyType"]
    assert "ScheduleExpression" not in rules["rootguard-root-scp-weakened"]


def test_scp_drift_rule_also_rechecks_on_account_moves_creations_and_arrivals(deployed):
    rules, _, _ = deployed
    scp = pattern(rules, "rootguard-root-scp-weakened")
    # CreateAccountResult and AccountJoinedOrganization are service events, not API calls.
    assert sorted(scp["detail-type"]) == ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"]
    assert {"MoveAccount", "CreateAccountResult", "AccountJoinedOrganization", "AcceptHandshake"} <= set(
        scp["detail"]["eventName"])


READ_ONLY_RULES = {"rootguard-root-api-activity", "rootguard-assume-root-call"}


def test_rules_that_must_see_read_only_calls_get_all_management_events_the_others_stay_enabled(deployed):
    rules, _, _ = deployed
    states = {name: rule["State"] for name, rule in rules.items() if name.startswith("rootguard-")}
    assert {n for n, s in states.items() if s == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"} == READ_ONLY_RULES
    assert {s for n, s in states.items() if n not in READ_ONLY_RULES} == {"ENABLED"}


@pytest.fixture
def sandbox_env(sandbox, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def test_redeploy_keeps_the_rule_state_and_writes_no_rule(deployed, sandbox, sandbox_env, tmp_path, monkeypatch):
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(f"rootguard_notify_queue: arn:aws:sqs:us-east-1:{MANAGEMENT_ACCOUNT}:rootguard-alerts\n"
                         "rootguard_notify_to: security@example.com\n")
    sandbox.reset_calls()
    monkeypatch.setattr("sys.argv", ["custodian", "run", "-s", str(tmp_path / "out"), "-r", "us-east-1",
                                     "--cache-period", "0", "--vars-file", str(vars_file),
                                     "-p", "rootguard-root-api-activity", str(REPO / "deploy/realtime.yml")])
    custodian()
    events = boto3.client("events", region_name="us-east-1")
    assert events.describe_rule(Name="rootguard-root-api-activity")["State"] == \
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    calls = {op for (_, service, op) in sandbox.calls() if service == "events"}
    assert "DescribeRule" in calls and "PutRule" not in calls  # c7n compared the rule and left it as it is


def test_pause_and_resume_of_a_read_only_rule_come_back_in_its_state(deployed, sandbox_env):
    from types import SimpleNamespace

    from rootguard_filters.deployment.lambda_modes import RuleSource
    mode = {"rule-state": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", "pattern": {"source": ["aws.sts"]}}
    source = RuleSource(mode, boto3.Session, "periodic", mode["rule-state"])
    func = SimpleNamespace(event_name="rootguard-assume-root-call")
    events = boto3.client("events", region_name="us-east-1")
    before = events.describe_rule(Name=func.event_name)
    source.pause(func)
    assert events.describe_rule(Name=func.event_name)["State"] == "DISABLED"
    source.resume(func)
    after = events.describe_rule(Name=func.event_name)
    assert after["State"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    assert after["EventPattern"] == before["EventPattern"]  # resume rewrites the state only
