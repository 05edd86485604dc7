"""An in-memory account for the pure alarm-chain tests: a complete chain, one link at a time broken."""
import copy

from rootguard_filters.controls.alarm_chain import CIS_PATTERN
from rootguard_filters.plumbing.evidence import Evidence

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "999988887777"
REGION = "us-east-1"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"
LOG_GROUP = "aws-cloudtrail-logs-main"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}:*"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:security-alerts"


def trail(arn=TRAIL_ARN, log_group_arn=LOG_GROUP_ARN, multi_region=True, home=REGION, organization=False):
    data = {"Name": arn.rsplit("/", 1)[-1], "S3BucketName": "trail-bucket", "IncludeGlobalServiceEvents": True,
            "IsMultiRegionTrail": multi_region, "HomeRegion": home, "TrailARN": arn,
            "LogFileValidationEnabled": True, "HasCustomEventSelectors": False, "HasInsightSelectors": False,
            "IsOrganizationTrail": organization}
    if log_group_arn:
        data["CloudWatchLogsLogGroupArn"] = log_group_arn
        data["CloudWatchLogsRoleArn"] = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs"
    return data


def metric_filter(name="root-usage", pattern=CIS_PATTERN, metric="RootAccountUsage", namespace="CISBenchmark",
                  log_group=LOG_GROUP):
    return {"filterName": name, "filterPattern": pattern, "logGroupName": log_group,
            "metricTransformations": [{"metricName": metric, "metricNamespace": namespace, "metricValue": "1"}]}


def alarm(name="root-usage", metric="RootAccountUsage", namespace="CISBenchmark", actions=(TOPIC_ARN,), **extra):
    data = {"AlarmName": name, "ActionsEnabled": True, "AlarmActions": list(actions), "OKActions": [],
            "InsufficientDataActions": [], "StateValue": "OK", "MetricName": metric, "Namespace": namespace,
            "Statistic": "Sum", "Dimensions": [], "Period": 300, "EvaluationPeriods": 1, "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}
    data.update(extra)
    return data


def subscription(protocol="email", confirmed=True, topic=TOPIC_ARN):
    arn = f"{topic}:0b6941c4-f150-4d4c-a4d3-6f1a5c1c1d1e" if confirmed else "PendingConfirmation"
    return {"SubscriptionArn": arn, "Owner": ACCOUNT, "Protocol": protocol,
            "Endpoint": "security@example.com", "TopicArn": topic}


def error(operation, code="AccessDenied"):
    return Evidence.failure(f"{operation} failed: {code}: User is not authorized", code)


class World:
    """A ChainReader over dicts; a value that is an Evidence failure is returned as the call's error."""

    def __init__(self):
        self.trail_list = [trail()]
        self.statuses = {TRAIL_ARN: {"IsLogging": True}}
        self.selectors = {TRAIL_ARN: {"TrailARN": TRAIL_ARN, "EventSelectors": [
            {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]}}
        self.filters = {(REGION, LOG_GROUP): [metric_filter()]}
        self.alarms = {(REGION, "CISBenchmark", "RootAccountUsage"): [alarm()]}
        self.subs = {TOPIC_ARN: [subscription()]}
        self.topics = {TOPIC_ARN: {"TopicArn": TOPIC_ARN}}
        self.calls = []

    def copy(self):
        return copy.deepcopy(self)

    def _answer(self, call, table, key, missing=()):
        """The table's value for key; absent keys answer ``missing`` (a list call) or an error."""
        self.calls.append((call, key))
        value = table.get(key, missing)
        if isinstance(value, Evidence):
            return value
        if value is None:
            return error(call, "TrailNotFoundException")
        return Evidence(value=list(value) if isinstance(value, tuple) else value)

    def trails(self):
        self.calls.append(("DescribeTrails", None))
        return self.trail_list if isinstance(self.trail_list, Evidence) else Evidence(value=self.trail_list)

    def trail_status(self, trail):
        return self._answer("GetTrailStatus", self.statuses, trail["TrailARN"], missing=None)

    def event_selectors(self, trail):
        return self._answer("GetEventSelectors", self.selectors, trail["TrailARN"], missing=None)

    def metric_filters(self, region, log_group_name):
        return self._answer("DescribeMetricFilters", self.filters, (region, log_group_name))

    def alarms_for_metric(self, region, metric_name, namespace):
        return self._answer("DescribeAlarmsForMetric", self.alarms, (region, namespace, metric_name))

    def subscriptions(self, topic_arn):
        if topic_arn not in self.topics and topic_arn not in self.subs:
            self.calls.append(("ListSubscriptionsByTopic", topic_arn))
            return error("sns:ListSubscriptionsByTopic", "NotFound")
        return self._answer("ListSubscriptionsByTopic", self.subs, topic_arn)

    def topic_attributes(self, topic_arn):
        self.calls.append(("GetTopicAttributes", topic_arn))
        if topic_arn not in self.topics and topic_arn not in self.subs:
            return error("sns:GetTopicAttributes", "NotFound")
        return Evidence(value=self.topics[topic_arn])
