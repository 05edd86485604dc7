"""create-root-usage-alarm writes safely: merges an existing alarm, records every write (planned
ones under --dryrun), and a failure at any write leaves a recorded, resumable state."""
import json

import boto3
import pytest
from moto import mock_aws
from placebo.pill import FakeHttpResponse

from alarm_helpers import CallCounter, run_policy
from rootguard_filters import evidence
from rootguard_filters.alarm_chain import ACTIONS_ANNOTATION

ACCOUNT = "123456789012"
REGION = "us-east-1"
LOG_GROUP = "aws-cloudtrail-logs-main"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:rootguard-root-usage"
WRITES = ("sns:CreateTopic", "sns:Subscribe", "logs:PutMetricFilter", "cloudwatch:PutMetricAlarm")


def remediation(**options):
    return {"name": "root-usage-alarm-create", "resource": "aws.account",
            "actions": [{"type": "create-root-usage-alarm", **options}]}


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        logs = session.client("logs")
        logs.create_log_group(logGroupName=LOG_GROUP)
        session.client("s3").create_bucket(Bucket="trail-bucket")
        cloudtrail = session.client("cloudtrail")
        cloudtrail.create_trail(Name="main", S3BucketName="trail-bucket", IsMultiRegionTrail=True,
                                CloudWatchLogsLogGroupArn=logs.describe_log_groups()["logGroups"][0]["arn"],
                                CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ct")
        cloudtrail.put_event_selectors(TrailName="main", EventSelectors=[
            {"ReadWriteType": "All", "IncludeManagementEvents": True}])
        cloudtrail.start_logging(Name="main")
        yield session


def fail(session, call):
    service, operation = call.split(":")
    service = {"cloudwatch": "cloudwatch", "logs": "logs", "sns": "sns"}[service]

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
    cloudwatch = aws.client("cloudwatch")
    pager = f"arn:aws:sns:{REGION}:{ACCOUNT}:pager"
    recovered = f"arn:aws:sns:{REGION}:{ACCOUNT}:all-clear"
    cloudwatch.put_metric_alarm(
        AlarmName="rootguard-root-usage", AlarmDescription="root usage, pages the on-call",
        AlarmActions=[pager], OKActions=[recovered], MetricName="RootUsage", Namespace="rootguard",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold")

    run_policy(remediation(), aws, tmp_path, ACCOUNT)

    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["rootguard-root-usage"])["MetricAlarms"]
    assert set(alarm["AlarmActions"]) == {pager, TOPIC}
    assert alarm["OKActions"] == [recovered]
    assert alarm["AlarmDescription"] == "root usage, pages the on-call"
    assert (alarm["Period"], alarm["TreatMissingData"]) == (300, "notBreaching")


def test_dryrun_run_records_the_planned_writes_in_the_action_file(aws, tmp_path):
    counter = CallCounter(aws)

    (resource,) = run_policy(remediation(email="security@corp.test"), aws, tmp_path, ACCOUNT, dryrun=True)

    assert counter.writes == {}
    assert writes(resource) == [(call, "planned") for call in WRITES]
    (action_file,) = (tmp_path / "root-usage-alarm-create").glob("action-*")
    recorded = json.loads(action_file.read_text())
    assert [(r["call"], r["result"]) for r in recorded if r["call"]] == [(c, "planned") for c in WRITES]
    assert all(r["account"] == ACCOUNT for r in recorded)
    assert not any(chain_state(aws).values())


@pytest.mark.parametrize("failing", WRITES)
def test_a_failure_at_any_write_is_recorded_stops_the_rest_and_the_next_run_completes(aws, tmp_path, failing):
    handler = fail(aws, failing)

    (resource,) = run_policy(remediation(email="security@corp.test"), aws, tmp_path / "first", ACCOUNT)

    position = WRITES.index(failing)
    assert writes(resource) == ([(c, "done") for c in WRITES[:position]] + [(failing, "failed")]
                                + [(c, "not-attempted") for c in WRITES[position + 1:]])
    summary = resource[ACTIONS_ANNOTATION][-1]
    assert summary["result"] == "partial" and "InternalFailure" in summary["detail"]
    named = {"sns:CreateTopic": "create SNS topic", "sns:Subscribe": "subscribe security@corp.test",
             "logs:PutMetricFilter": "create metric filter", "cloudwatch:PutMetricAlarm": "create alarm"}
    made_part = summary["detail"].split("already made before it:")[1]
    assert [c for c in WRITES if named[c] in made_part] == list(WRITES[:position])
    # The account's posture is exactly what the records say.
    state = chain_state(aws)
    assert [c for c in WRITES if state[c]] == list(WRITES[:position])
    # Nothing read before the writes survives in the run cache for this account.
    assert not [k for k in evidence.RUN_CACHE._values if k[0] == ACCOUNT and "session" not in k
                and "client" not in k]

    aws.events.unregister(f"before-call.{failing.split(':')[0]}.{failing.split(':')[1]}", handler)
    evidence.reset()
    (resource,) = run_policy(remediation(email="security@corp.test"), aws, tmp_path / "second", ACCOUNT)
    assert [c for c, result in writes(resource) if result == "done"] == list(WRITES[position:])
    assert all(chain_state(aws).values())
