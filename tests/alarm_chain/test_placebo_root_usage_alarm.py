"""The root-usage-alarm filter through c7n, replaying recorded API responses (placebo)."""
import json
import shutil
import time
from pathlib import Path

import boto3
import placebo
import pytest

from chain_world import ACCOUNT, TOPIC_ARN, TRAIL_ARN
from alarm_helpers import CallCounter, run_policy
from rootguard_filters.plumbing.base import ANNOTATION_KEY, VERDICTS_FILE
from rootguard_filters.logic.root_usage import is_cloudtrail_record

FLIGHT_DATA = Path(__file__).parent / "placebo"
POLICY = {"name": "root-usage-alarm-missing", "resource": "aws.account",
          "filters": [{"type": "root-usage-alarm"}]}


def replay(scenario):
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                            aws_secret_access_key="secret")
    counter = CallCounter(session)   # registered before placebo, so it sees every call
    pill = placebo.attach(session, data_path=str(FLIGHT_DATA / scenario))
    pill.playback()
    return session, counter


def complete_chain_with(tmp_path, name, answers):
    """The complete_chain flight data with ``name``'s answers replaced by ``[(status, data), ...]``."""
    flight = tmp_path / "flight"
    shutil.copytree(FLIGHT_DATA / "complete_chain", flight)
    for index, (status, data) in enumerate(answers, start=1):
        data = {**data, "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": f"req-{index}"}}
        (flight / f"{name}_{index}.json").write_text(json.dumps({"status_code": status, "data": data}))
    return flight


def recorded(name):
    return json.loads((FLIGHT_DATA / "complete_chain" / f"{name}_1.json").read_text())["data"]


def verdict_of(resources):
    (account,) = resources
    return account[ANNOTATION_KEY]["root-usage-alarm"]


def test_complete_chain_is_not_flagged_and_recorded_compliant(tmp_path):
    session, _ = replay("complete_chain")
    assert run_policy(POLICY, session, tmp_path, ACCOUNT) == []
    written = json.loads(next(tmp_path.rglob(VERDICTS_FILE)).read_text())
    verdict = written["verdicts"][ACCOUNT]["root-usage-alarm"]
    assert verdict["status"] == "compliant"
    assert verdict["details"]["chain"]["trail_arn"] == TRAIL_ARN
    assert verdict["details"]["chain"]["subscription_protocols"] == ["email"]


def test_complete_chain_costs_one_call_per_link_however_many_policies(tmp_path):
    session, counter = replay("complete_chain")
    run_policy(POLICY, session, tmp_path / "a", ACCOUNT)
    run_policy(dict(POLICY, name="second-policy"), session, tmp_path / "b", ACCOUNT)
    chain_calls = {call: n for call, n in counter.calls.items() if call[1] != "ListAccountAliases"}
    assert chain_calls == {
        ("cloudtrail", "DescribeTrails"): 1, ("cloudtrail", "GetTrailStatus"): 1,
        ("cloudtrail", "GetEventSelectors"): 1, ("logs", "DescribeMetricFilters"): 1,
        ("cloudwatch", "DescribeAlarmsForMetric"): 1, ("sns", "ListSubscriptionsByTopic"): 1}


def test_pending_subscription_only_is_flagged_non_compliant(tmp_path):
    session, _ = replay("pending_subscription_only")
    verdict = verdict_of(run_policy(POLICY, session, tmp_path, ACCOUNT))
    assert verdict["status"] == "non-compliant"
    assert f"SNS topic {TOPIC_ARN} has only subscriptions pending confirmation (email)" in verdict["reason"]
    assert verdict["details"]["trails"][0]["link"] == "subscription"


def test_pending_subscription_passes_when_confirmation_not_required(tmp_path):
    session, counter = replay("pending_subscription_only")
    policy = {**POLICY, "filters": [{"type": "root-usage-alarm", "require-confirmed-subscription": False}]}
    assert run_policy(policy, session, tmp_path, ACCOUNT) == []
    assert ("sns", "ListSubscriptionsByTopic") not in counter.calls


def test_access_denied_on_metric_filters_is_flagged_could_not_evaluate(tmp_path):
    session, counter = replay("metric_filters_access_denied")
    verdict = verdict_of(run_policy(POLICY, session, tmp_path, ACCOUNT))
    assert verdict["status"] == "could-not-evaluate"
    assert "logs:DescribeMetricFilters failed: AccessDeniedException" in verdict["reason"]
    assert verdict["details"]["trails"][0]["link"] == "metric-filter"
    assert ("cloudwatch", "DescribeAlarmsForMetric") not in counter.calls


PAGINATED_LINKS = [
    ("logs.DescribeMetricFilters", "logs:DescribeMetricFilters", "metric-filter"),
    ("sns.ListSubscriptionsByTopic", "sns:ListSubscriptionsByTopic", "subscription"),
]
THROTTLE_CODES = {"logs": "ThrottlingException", "sns": "Throttling"}   # JSON and query protocols


@pytest.mark.parametrize("name, operation, link", PAGINATED_LINKS)
def test_page_without_its_list_is_unreadable_not_an_empty_link(tmp_path, name, operation, link):
    session, _ = replay(complete_chain_with(tmp_path, name, [(200, {})]))
    verdict = verdict_of(run_policy(POLICY, session, tmp_path / "out", ACCOUNT))
    assert verdict["status"] == "could-not-evaluate"
    assert f"{operation}: unreadable response" in verdict["reason"]
    assert verdict["details"]["trails"][0]["link"] == link


@pytest.mark.parametrize("name, operation, link", PAGINATED_LINKS)
def test_throttled_page_is_retried_through(tmp_path, monkeypatch, name, operation, link):
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    service, _ = name.split(".")
    throttled = (400, {"Error": {"Code": THROTTLE_CODES[service], "Message": "Rate exceeded"}})
    session, counter = replay(complete_chain_with(tmp_path, name, [throttled, (200, recorded(name))]))
    assert run_policy(POLICY, session, tmp_path / "out", ACCOUNT) == []
    assert counter.calls[tuple(name.split("."))] == 2


NARROWED = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
            '&& $.eventType != "AwsServiceEvent" && $.awsRegion = "us-*" }')


def test_narrowed_pattern_is_flagged_with_a_counterexample_in_the_recorded_verdict(tmp_path):
    answer = recorded("logs.DescribeMetricFilters")
    answer["metricFilters"][0]["filterPattern"] = NARROWED
    session, counter = replay(complete_chain_with(tmp_path, "logs.DescribeMetricFilters", [(200, answer)]))
    flagged = run_policy(POLICY, session, tmp_path / "out", ACCOUNT)
    verdict = verdict_of(flagged)
    assert verdict["status"] == "non-compliant"
    assert "root RunInstances to ec2.amazonaws.com in ap-south-1 in account 444455556666 would not alarm" \
        in verdict["reason"]
    written = json.loads(next((tmp_path / "out").rglob(VERDICTS_FILE)).read_text())
    [problem] = written["verdicts"][ACCOUNT]["root-usage-alarm"]["details"]["trails"][0]["problems"]
    assert problem["link"] == "metric-filter"
    assert is_cloudtrail_record(problem["counterexample"])
    assert problem["counterexample"]["awsRegion"] == "ap-south-1"
    assert problem["counterexample"]["userIdentity"]["type"] == "Root"
    assert ("cloudwatch", "DescribeAlarmsForMetric") not in counter.calls


def test_alarm_topic_that_no_longer_exists_is_flagged_naming_it(tmp_path):
    not_found = (404, {"Error": {"Type": "Sender", "Code": "NotFound", "Message": "Topic does not exist"}})
    session, _ = replay(complete_chain_with(tmp_path, "sns.ListSubscriptionsByTopic", [not_found]))
    verdict = verdict_of(run_policy(POLICY, session, tmp_path / "out", ACCOUNT))
    assert verdict["status"] == "non-compliant"
    assert f"SNS topic {TOPIC_ARN} does not exist" in verdict["reason"]
    assert verdict["details"]["trails"][0]["link"] == "sns-topic"
