"""Root-usage alarm chain on ``aws.account``: the ``root-usage-alarm`` filter (the
``create-root-usage-alarm`` action is in ``alarm_action.py``)."""
import logging

from c7n.resources.account import Account
from c7n.utils import type_schema

from rootguard_filters.base import RootguardFilter
from rootguard_filters.decide.alarm_chain import arn_parts, decide_root_usage_alarm
from rootguard_filters.evidence import RUN_CACHE, AccountEvidence, guarded, retry

log = logging.getLogger("custodian.rootguard")

CIS_PATTERN = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
               '&& $.eventType != "AwsServiceEvent" }')
# Leaves out actions of AssumeRoot sessions (approved, centrally issued root tasks); the AssumeRoot
# call itself is watched in the management account by the assume-root alarm.
REAL_ROOT_PATTERN = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
                     '&& $.eventType != "AwsServiceEvent" '
                     '&& $.userIdentity.sessionContext.assumedRoot NOT EXISTS }')
ASSUME_ROOT_PATTERN = '{ $.eventSource = "sts.amazonaws.com" && $.eventName = "AssumeRoot" }'
TIER_PATTERNS = {"cis": CIS_PATTERN, "real-root": REAL_ROOT_PATTERN}

NAME_PREFIX = "rootguard-"
METRIC_NAMESPACE = "rootguard"
TOPIC_NAME = NAME_PREFIX + "root-usage"
TAGS = [{"Key": "rootguard:control", "Value": "root-usage-alarm-missing"}]
ACTIONS_ANNOTATION = "c7n:rootguard-actions"

CHAIN_READ_PERMISSIONS = (
    "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
    "logs:DescribeMetricFilters", "cloudwatch:DescribeAlarmsForMetric",
)


class ChainReader:
    """The alarm chain's AWS reads for one account, each once per run (see decide.alarm_chain)."""

    def __init__(self, evidence):
        self.evidence = evidence

    def _get(self, key, operation, call, expected_codes=()):
        return RUN_CACHE.get((self.evidence.account_id, *key),
                             lambda: guarded(operation, call, expected_codes=expected_codes))

    def trails(self):
        region = self.evidence.region
        client = self.evidence.client("cloudtrail", region)
        return self._get(("cloudtrail", "DescribeTrails", region), "cloudtrail:DescribeTrails",
                         lambda: retry(client.describe_trails, includeShadowTrails=True)["trailList"])

    def _trail_client(self, trail):
        # Shadow trails are read through their home region: elsewhere CloudTrail may not find them.
        return self.evidence.client("cloudtrail", trail.get("HomeRegion") or self.evidence.region)

    def trail_status(self, trail):
        arn = trail["TrailARN"]
        return self._get(("cloudtrail", "GetTrailStatus", arn), "cloudtrail:GetTrailStatus",
                         lambda: retry(self._trail_client(trail).get_trail_status, Name=arn))

    def event_selectors(self, trail):
        arn = trail["TrailARN"]
        return self._get(("cloudtrail", "GetEventSelectors", arn), "cloudtrail:GetEventSelectors",
                         lambda: retry(self._trail_client(trail).get_event_selectors, TrailName=arn))

    def metric_filters(self, region, log_group_name):
        def call():
            paginator = self.evidence.client("logs", region).get_paginator("describe_metric_filters")
            # always in a real answer: a page without it is unreadable, not "no metric filter"
            return [f for page in paginator.paginate(logGroupName=log_group_name)
                    for f in page["metricFilters"]]
        return self._get(("logs", "DescribeMetricFilters", region, log_group_name),
                         "logs:DescribeMetricFilters", lambda: retry(call))

    def alarms_for_metric(self, region, metric_name, namespace):
        client = self.evidence.client("cloudwatch", region)
        return self._get(("cloudwatch", "DescribeAlarmsForMetric", region, namespace, metric_name),
                         "cloudwatch:DescribeAlarmsForMetric",
                         lambda: retry(client.describe_alarms_for_metric, MetricName=metric_name,
                                       Namespace=namespace)["MetricAlarms"])

    def subscriptions(self, topic_arn):
        def call():
            # A topic is read in its own region (alarm actions name a topic of the alarm's region).
            client = self.evidence.client("sns", arn_parts(topic_arn)[2])
            paginator = client.get_paginator("list_subscriptions_by_topic")
            # always in a real answer: a page without it is unreadable, not "no subscriptions"
            return [s for page in paginator.paginate(TopicArn=topic_arn) for s in page["Subscriptions"]]
        return self._get(("sns", "ListSubscriptionsByTopic", topic_arn), "sns:ListSubscriptionsByTopic",
                         lambda: retry(call), expected_codes=("NotFound",))

    def topic_attributes(self, topic_arn):
        """GetTopicAttributes: does the alarm's topic exist (read when subscriptions are not)."""
        client = self.evidence.client("sns", arn_parts(topic_arn)[2])
        return self._get(("sns", "GetTopicAttributes", topic_arn), "sns:GetTopicAttributes",
                         lambda: retry(client.get_topic_attributes, TopicArn=topic_arn)["Attributes"],
                         expected_codes=("NotFound",))


@Account.filter_registry.register("root-usage-alarm")
class RootUsageAlarm(RootguardFilter):
    """Flags the account when no complete chain alarms on root usage, or when it cannot be evaluated.

    The chain: a multi-region, logging trail recording read and write management events and delivering
    to a CloudWatch Logs group; a metric filter on that group whose pattern matches every event CIS's
    root-usage pattern matches (decided over all possible events, for JSON, term and space-delimited
    patterns; a pattern that misses some is reported with a counterexample event, one that cannot be
    decided is could-not-evaluate); an alarm on the filter's metric that one root action makes fire and
    notify (metric value and defaultValue, statistic, threshold, datapoints, dimensions, actions
    enabled); an existing SNS topic action; a confirmed subscription on that topic.

    The annotation ``c7n:rootguard.root-usage-alarm`` names the complete chain, or for each trail its
    first broken link. Organization trails owned by another account and log groups in another account
    are could-not-evaluate (the chain must be checked in that account).

    ``require-confirmed-subscription: false`` accepts an SNS topic action without looking at its
    subscriptions, only checking that the topic exists (sns:GetTopicAttributes).
    ``exclude-assumed-root-ok: false`` also requires the pattern to alarm on actions of AssumeRoot
    sessions (by default a pattern may leave out events carrying
    ``userIdentity.sessionContext.assumedRoot``).

    :example:

    .. code-block:: yaml

        policies:
          - name: root-usage-alarm-missing
            resource: aws.account
            filters:
              - type: root-usage-alarm
                require-confirmed-subscription: true
    """

    schema = type_schema(
        "root-usage-alarm",
        **{
            "require-confirmed-subscription": {"type": "boolean"},
            "exclude-assumed-root-ok": {"type": "boolean"},
        },
    )
    schema_alias = False
    permissions = CHAIN_READ_PERMISSIONS + ("sns:ListSubscriptionsByTopic",)

    def get_permissions(self):
        if not self.data.get("require-confirmed-subscription", True):
            return list(CHAIN_READ_PERMISSIONS) + ["sns:GetTopicAttributes"]
        return list(self.permissions)

    def verdict(self, resource):
        evidence = AccountEvidence(self.manager)
        return decide_root_usage_alarm(
            evidence.account_id, ChainReader(evidence),
            require_confirmed_subscription=self.data.get("require-confirmed-subscription", True),
            exclude_assumed_root_ok=self.data.get("exclude-assumed-root-ok", True))
