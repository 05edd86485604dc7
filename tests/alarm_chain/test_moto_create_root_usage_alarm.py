"""create-root-usage-alarm end to end against moto: builds the chain, then stays quiet; merges an existing
alarm, records every write (planned ones under --dryrun) and leaves a resumable state when a write fails.

moto confirms every SNS subscription (email included) at once; the tests that end in "compliant"
therefore add an SQS subscription, which real SNS also confirms at once for a queue of the same
account, and check that it is the SQS subscription the filter relies on.
"""
import json

import boto3
import pytest
from c7n.exceptions import PolicyExecutionError
from moto import mock_aws
from placebo.pill import FakeHttpResponse

from alarm_helpers import CallCounter, run_policy
from rootguard_filters.plumbing import evidence
from rootguard_filters.controls.alarm_chain import ACTIONS_ANNOTATION, CIS_PATTERN, REAL_ROOT_PATTERN
from rootguard_filters.plumbing.base import ANNOTATION_KEY, VERDICTS_FILE

ACCOUNT = "123456789012"   # moto's default account
REGION = "us-east-1"
LOG_GROUP = "aws-cloudtrail-logs-main"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:rootguard-root-usage"
AUDIT = {"name": "root-usage-alarm-missing", "resource": "aws.account", "filters": [{"type": "root-usage-alarm"}]}


def remediation(**options):
    return {"name": "root-usage-alarm-create", "resource": "aws.account",
            "actions": [{"type": "create-root-usage-alarm", **options}]}


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        yield session, CallCounter(session)


def make_trail(aws, cloudwatch_logs=True, region=REGION):
    session, counter = aws
    session.client("s3", region_name=region).create_bucket(
        Bucket="rootguard-trail-bucket",
        **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    params = {"Name": "main", "S3BucketName": "rootguard-trail-bucket", "IsMultiRegionTrail": True}
    if cloudwatch_logs:
        logs = session.client("logs", region_name=region)
        logs.create_log_group(logGroupName=LOG_GROUP)
        params["CloudWatchLogsLogGroupArn"] = logs.describe_log_groups()["logGroups"][0]["arn"]
        params["CloudWatchLogsRoleArn"] = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs"
    cloudtrail = session.client("cloudtrail", region_name=region)
    cloudtrail.create_trail(**params)
    # Real CloudTrail reports a new trail's default selector; moto reports none, so set it explicitly.
    cloudtrail.put_event_selectors(TrailName="main", EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True}])
    cloudtrail.start_logging(Name="main")
    counter.reset()


def annotation(resources):
    """The action's summary record (the last one without a call)."""
    (account,) = resources
    return summary(account)


def summary(resource):
    return [r for r in resource[ACTIONS_ANNOTATION]
            if r["action"] == "create-root-usage-alarm" and r["call"] is None][-1]


def test_creates_the_chain_on_the_trail_log_group(aws, tmp_path):
    session, counter = aws
    make_trail(aws)
    done = annotation(run_policy(remediation(email="security@rootguard-alerts.net"), session, tmp_path, ACCOUNT))
    assert done["result"] == "changed" and done["log_group"] == LOG_GROUP and done["topic"] == TOPIC
    (metric_filter,) = session.client("logs").describe_metric_filters(logGroupName=LOG_GROUP)["metricFilters"]
    assert (metric_filter["filterName"], metric_filter["filterPattern"]) == ("rootguard-root-usage", CIS_PATTERN)
    (alarm,) = session.client("cloudwatch").describe_alarms(AlarmNames=["rootguard-root-usage"])["MetricAlarms"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"], alarm["Period"], alarm["Threshold"],
            alarm["ComparisonOperator"], alarm["TreatMissingData"], alarm["AlarmActions"]) == (
        "rootguard", "RootUsage", "Sum", 300, 1.0, "GreaterThanOrEqualToThreshold", "notBreaching", [TOPIC])
    (sub,) = session.client("sns").list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]
    assert (sub["Protocol"], sub["Endpoint"]) == ("email", "security@rootguard-alerts.net")
    assert counter.writes == {("logs", "PutMetricFilter"): 1, ("sns", "CreateTopic"): 1,
                              ("sns", "Subscribe"): 1, ("cloudwatch", "PutMetricAlarm"): 1}


def test_second_run_makes_no_write_call(aws, tmp_path):
    session, counter = aws
    make_trail(aws)
    options = {"tier": "real-root", "email": "security@rootguard-alerts.net"}
    run_policy(remediation(**options), session, tmp_path / "first", ACCOUNT)
    evidence.reset()
    counter.reset()
    done = annotation(run_policy(remediation(**options), session, tmp_path / "second", ACCOUNT))
    assert done["result"] == "unchanged" and done["writes"] == []
    assert counter.writes == {}
    assert counter.calls[("logs", "DescribeMetricFilters")] == 1


def test_changed_tier_updates_only_the_metric_filter(aws, tmp_path):
    session, counter = aws
    make_trail(aws)
    run_policy(remediation(), session, tmp_path / "first", ACCOUNT)
    evidence.reset()
    counter.reset()
    run_policy(remediation(tier="real-root"), session, tmp_path / "second", ACCOUNT)
    assert counter.writes == {("logs", "PutMetricFilter"): 1}
    # moto 5.2.1 keeps the replaced filter beside the new one (AWS replaces it): look at the newest.
    filters = session.client("logs").describe_metric_filters(logGroupName=LOG_GROUP)["metricFilters"]
    assert (filters[-1]["filterName"], filters[-1]["filterPattern"]) == ("rootguard-root-usage", REAL_ROOT_PATTERN)


def test_dryrun_run_writes_nothing(aws, tmp_path):
    session, counter = aws
    make_trail(aws)
    run_policy(remediation(email="security@rootguard-alerts.net"), session, tmp_path, ACCOUNT, dryrun=True)
    assert counter.writes == {}
    assert session.client("logs").describe_metric_filters(logGroupName=LOG_GROUP)["metricFilters"] == []


def test_dryrun_seen_by_the_action_lists_planned_writes_without_making_them(aws, tmp_path):
    # Lambda modes call actions even with execution-options dryrun: the action checks it itself.
    session, counter = aws
    make_trail(aws)
    from c7n.config import Config
    from c7n.policy import Policy
    config = Config.empty(account_id=ACCOUNT, region=REGION, output_dir=str(tmp_path), dryrun=True)
    policy = Policy(remediation(email="security@rootguard-alerts.net"), config, session_factory=lambda *a, **k: session)
    (action,) = policy.resource_manager.actions
    resource = {"account_id": ACCOUNT}
    records = action.process([resource])
    assert [(r["call"], r["result"]) for r in records if r["call"]] == [
        ("sns:CreateTopic", "planned"), ("sns:Subscribe", "planned"), ("logs:PutMetricFilter", "planned"),
        ("cloudwatch:PutMetricAlarm", "planned")]
    planned = summary(resource)
    assert planned["result"] == "planned"
    assert [step.split(" ")[0:2] for step in planned["writes"]] == [
        ["create", "SNS"], ["subscribe", "security@rootguard-alerts.net"], ["create", "metric"], ["create", "alarm"]]
    assert counter.writes == {}


def test_refuses_when_no_trail_delivers_to_cloudwatch_logs(aws, tmp_path):
    session, counter = aws
    make_trail(aws, cloudwatch_logs=False)
    with pytest.raises(PolicyExecutionError, match="no trail of account 123456789012 delivers to CloudWatch Logs"):
        run_policy(remediation(), session, tmp_path, ACCOUNT)
    assert counter.writes == {}


def test_filter_finds_the_created_chain_compliant(aws, tmp_path):
    session, _ = aws
    make_trail(aws)
    run_policy(remediation(), session, tmp_path / "fix", ACCOUNT)
    before = run_policy(AUDIT, session, tmp_path / "audit-before", ACCOUNT)
    assert before[0][ANNOTATION_KEY]["root-usage-alarm"]["details"]["trails"][0]["link"] == "subscription"

    add_confirmed_sqs_subscription(session, TOPIC)
    evidence.reset()
    assert run_policy(AUDIT, session, tmp_path / "audit-after", ACCOUNT) == []
    written = json.loads(next((tmp_path / "audit-after").rglob(VERDICTS_FILE)).read_text())
    chain = written["verdicts"][ACCOUNT]["root-usage-alarm"]["details"]["chain"]
    assert (chain["filter_name"], chain["alarm_name"], chain["topic_arn"]) == (
        "rootguard-root-usage", "rootguard-root-usage", TOPIC)
    assert "sqs" in chain["subscription_protocols"]


def test_remediation_then_audit_in_one_run_sees_the_new_chain(aws, tmp_path):
    session, _ = aws
    make_trail(aws)
    topic = session.client("sns").create_topic(Name="security-alerts")["TopicArn"]
    add_confirmed_sqs_subscription(session, topic)
    fix = {**remediation(**{"topic-arn": topic}), "filters": [{"type": "root-usage-alarm"}]}
    assert len(run_policy(fix, session, tmp_path / "fix", ACCOUNT)) == 1
    assert run_policy(AUDIT, session, tmp_path / "audit", ACCOUNT) == []


def test_assume_root_alarm_only_in_the_management_account(aws, tmp_path):
    session, _ = aws
    make_trail(aws)
    done = annotation(run_policy(remediation(**{"assume-root-alarm": True}), session, tmp_path / "a", ACCOUNT))
    assert "not the organization's management account" in done["notes"][0]
    session.client("organizations").create_organization(FeatureSet="ALL")
    evidence.reset()
    done = annotation(run_policy(remediation(**{"assume-root-alarm": True}), session, tmp_path / "b", ACCOUNT))
    assert done["notes"] == []
    filters = session.client("logs").describe_metric_filters(logGroupName=LOG_GROUP)["metricFilters"]
    assert {f["filterName"] for f in filters} == {"rootguard-root-usage", "rootguard-assume-root-issued"}
    assert session.client("cloudwatch").describe_alarms(
        AlarmNames=["rootguard-assume-root-issued"])["MetricAlarms"][0]["AlarmActions"] == [TOPIC]


def add_confirmed_sqs_subscription(session, topic, region=REGION):
    sqs = session.client("sqs", region_name=region)
    queue_url = sqs.create_queue(QueueName="security-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    session.client("sns", region_name=region).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)


def test_trail_homed_in_another_region_is_read_and_completed_there(aws, tmp_path):
    # Run in us-east-1 against a trail homed in eu-west-1: the trail is read through eu-west-1
    # (moto, like CloudTrail, cannot find it from us-east-1 for GetEventSelectors).
    session, counter = aws
    make_trail(aws, region="eu-west-1")
    done = annotation(run_policy(remediation(), session, tmp_path / "fix", ACCOUNT))
    eu_topic = TOPIC.replace(REGION, "eu-west-1")
    assert (done["region"], done["topic"]) == ("eu-west-1", eu_topic)
    add_confirmed_sqs_subscription(session, eu_topic, region="eu-west-1")
    evidence.reset()
    assert run_policy(AUDIT, session, tmp_path / "audit", ACCOUNT) == []


def test_topic_in_another_region_than_the_log_group_is_refused(aws, tmp_path):
    session, counter = aws
    make_trail(aws)
    elsewhere = f"arn:aws:sns:eu-west-1:{ACCOUNT}:security-alerts"
    with pytest.raises(PolicyExecutionError, match="alarm actions must be in the alarm's region us-east-1"):
        run_policy(remediation(**{"topic-arn": elsewhere}), session, tmp_path, ACCOUNT)
    assert counter.writes == {}


# ------------------------------------------------------------------ merge, records, faults

WRITES = ("sns:CreateTopic", "sns:Subscribe", "logs:PutMetricFilter", "cloudwatch:PutMetricAlarm")


def fail(session, call):
    service, operation = call.split(":")

    def respond(**_):
        return FakeHttpResponse(500), {"Error": {"Code": "InternalFailure", "Message": "injected"},
                                       "ResponseMetadata": {"HTTPStatusCode": 500}}
    session.events.register(f"before-call.{service}.{operation}", respond)
    return respond


def writes(resource):
    return [(r["call"], r["result"]) for r in resource[ACTIONS_ANNOTATION] if r["call"]]


def chain_state(session):
    sns = session.client("sns")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    return {
        "sns:CreateTopic": TOPIC in topics,
        "sns:Subscribe": TOPIC in topics and bool(sns.list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]),
        "logs:PutMetricFilter": bool(session.client("logs").describe_metric_filters(
            logGroupName=LOG_GROUP)["metricFilters"]),
        "cloudwatch:PutMetricAlarm": bool(session.client("cloudwatch").describe_alarms(
            AlarmNames=["rootguard-root-usage"])["MetricAlarms"]),
    }


def test_existing_alarm_is_merged_keeping_actions_someone_added(aws, tmp_path):
    make_trail(aws)
    session, _ = aws
    cloudwatch = session.client("cloudwatch")
    pager = f"arn:aws:sns:{REGION}:{ACCOUNT}:pager"
    recovered = f"arn:aws:sns:{REGION}:{ACCOUNT}:all-clear"
    cloudwatch.put_metric_alarm(
        AlarmName="rootguard-root-usage", AlarmDescription="root usage, pages the on-call",
        AlarmActions=[pager], OKActions=[recovered], MetricName="RootUsage", Namespace="rootguard",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold")

    run_policy(remediation(), session, tmp_path, ACCOUNT)

    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["rootguard-root-usage"])["MetricAlarms"]
    assert set(alarm["AlarmActions"]) == {pager, TOPIC}
    assert alarm["OKActions"] == [recovered]
    assert alarm["AlarmDescription"] == "root usage, pages the on-call"
    assert (alarm["Period"], alarm["TreatMissingData"]) == (300, "notBreaching")


def test_dryrun_run_records_the_planned_writes_in_the_action_file(aws, tmp_path):
    make_trail(aws)
    session, counter = aws

    (resource,) = run_policy(remediation(email="security@rootguard-alerts.net"), session, tmp_path, ACCOUNT, dryrun=True)

    assert counter.writes == {}
    assert writes(resource) == [(call, "planned") for call in WRITES]
    (action_file,) = (tmp_path / "root-usage-alarm-create").glob("action-*")
    recorded = json.loads(action_file.read_text())
    assert [(r["call"], r["result"]) for r in recorded if r["call"]] == [(c, "planned") for c in WRITES]
    assert all(r["account"] == ACCOUNT for r in recorded)
    assert not any(chain_state(session).values())


@pytest.mark.parametrize("failing", WRITES)
def test_a_failure_at_any_write_is_recorded_stops_the_rest_and_the_next_run_completes(aws, tmp_path, failing):
    make_trail(aws)
    session, _ = aws
    handler = fail(session, failing)

    (resource,) = run_policy(remediation(email="security@rootguard-alerts.net"), session, tmp_path / "first", ACCOUNT)

    position = WRITES.index(failing)
    assert writes(resource) == ([(c, "done") for c in WRITES[:position]] + [(failing, "failed")]
                                + [(c, "not-attempted") for c in WRITES[position + 1:]])
    summary = resource[ACTIONS_ANNOTATION][-1]
    assert summary["result"] == "partial" and "InternalFailure" in summary["detail"]
    named = {"sns:CreateTopic": "create SNS topic", "sns:Subscribe": "subscribe security@rootguard-alerts.net",
             "logs:PutMetricFilter": "create metric filter", "cloudwatch:PutMetricAlarm": "create alarm"}
    made_part = summary["detail"].split("already made before it:")[1]
    assert [c for c in WRITES if named[c] in made_part] == list(WRITES[:position])
    # The account's posture is exactly what the records say.
    state = chain_state(session)
    assert [c for c in WRITES if state[c]] == list(WRITES[:position])
    # Nothing read before the writes survives in the run cache for this account.
    assert not [k for k in evidence.RUN_CACHE._values if k[0] == ACCOUNT and "session" not in k
                and "client" not in k]

    session.events.unregister(f"before-call.{failing.split(':')[0]}.{failing.split(':')[1]}", handler)
    evidence.reset()
    (resource,) = run_policy(remediation(email="security@rootguard-alerts.net"), session, tmp_path / "second", ACCOUNT)
    assert [c for c, result in writes(resource) if result == "done"] == list(WRITES[position:])
    assert all(chain_state(session).values())
