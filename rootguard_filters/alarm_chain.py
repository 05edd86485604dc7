"""Root-usage alarm chain on ``aws.account``: the ``root-usage-alarm`` filter and the
``create-root-usage-alarm`` action."""
import logging

from botocore.exceptions import BotoCoreError, ClientError
from c7n.actions import BaseAction
from c7n.exceptions import PolicyExecutionError
from c7n.resources.account import Account
from c7n.utils import type_schema

from rootguard_filters import evidence as run_evidence
from rootguard_filters.base import RootguardFilter
from rootguard_filters.decide.alarm_chain import (
    arn_parts, decide_root_usage_alarm, parse_log_group_arn, trail_problem)
from rootguard_filters.evidence import RUN_CACHE, AccountEvidence, describe_error, guarded, retry
from rootguard_filters.options import CheckedOptions

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

    def _get(self, key, operation, call):
        return RUN_CACHE.get((self.evidence.account_id, *key), lambda: guarded(operation, call))

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
                         lambda: retry(call))


@Account.filter_registry.register("root-usage-alarm")
class RootUsageAlarm(RootguardFilter):
    """Flags the account when no complete chain alarms on root usage, or when it cannot be evaluated.

    The chain: a multi-region, logging trail recording read and write management events and delivering
    to a CloudWatch Logs group; a metric filter on that group whose pattern covers root usage (judged by
    running it against root and non-root CloudTrail records, so reordered or re-quoted CIS patterns pass
    and look-alikes that miss failed sign-ins fail); an alarm on the filter's metric that one root action
    triggers; an SNS topic action; a confirmed subscription on that topic.

    The annotation ``c7n:rootguard.root-usage-alarm`` names the complete chain, or for each trail its
    first broken link. Organization trails owned by another account and log groups in another account
    are could-not-evaluate (the chain must be checked in that account).

    ``require-confirmed-subscription: false`` accepts an SNS topic action without looking at its
    subscriptions (e.g. a topic in another account whose subscriptions cannot be listed).
    ``exclude-assumed-root-ok: false`` also requires the pattern to alarm on actions of AssumeRoot
    sessions (by default a pattern may leave them out).

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
            return list(CHAIN_READ_PERMISSIONS)
        return list(self.permissions)

    def verdict(self, resource):
        evidence = AccountEvidence(self.manager)
        return decide_root_usage_alarm(
            evidence.account_id, ChainReader(evidence),
            require_confirmed_subscription=self.data.get("require-confirmed-subscription", True),
            exclude_assumed_root_ok=self.data.get("exclude-assumed-root-ok", True))


def aws_call(operation, method, **params):
    """Call AWS with retries; an error stops the action with PolicyExecutionError naming the call."""
    try:
        return retry(method, **params)
    except (ClientError, BotoCoreError) as error:
        raise PolicyExecutionError(describe_error(operation, error)[0]) from error


class _Plan:
    """The writes an account needs, described before any is made (dryrun shows the list)."""

    def __init__(self):
        self.steps = []

    def add(self, description, operation, method, **params):
        self.steps.append((description, operation, method, params))

    @property
    def descriptions(self):
        return [description for description, *_ in self.steps]

    def apply(self):
        for _, operation, method, params in self.steps:
            aws_call(operation, method, **params)


@Account.action_registry.register("create-root-usage-alarm")
class CreateRootUsageAlarm(CheckedOptions, BaseAction):
    """Completes the root-usage alarm chain on the log group of the account's existing trail.

    Picks the first trail that is multi-region, logging, records read and write management events and
    delivers to a CloudWatch Logs group of this account, then makes sure that group has the metric
    filter ``rootguard-root-usage`` (``tier: cis``, the CIS pattern; ``tier: real-root`` also leaves out
    actions of AssumeRoot sessions), the alarm ``rootguard-root-usage`` on metric
    ``rootguard/RootUsage`` (Sum >= 1 over 300 s, missing data not breaching) and an SNS topic action:
    ``topic-arn``, or the topic ``rootguard-root-usage`` it creates. ``email`` subscribes an address
    (the owner must confirm it). ``assume-root-alarm: true`` adds, in the organization's management
    account only, the filter and alarm ``rootguard-assume-root-issued`` on every sts:AssumeRoot call.

    Only resources named ``rootguard-...`` are created or updated, each only when it differs from what
    is wanted, so a second run makes no write call. With ``dryrun`` (as in Lambda modes'
    execution-options) the writes are listed in the annotation ``c7n:rootguard-actions``, not made.
    When no trail can carry the chain (none delivers to CloudWatch Logs, or those that do are
    single-region, not logging, or incomplete) the action stops with PolicyExecutionError naming the
    reason; it never creates or changes trails.

    :example:

    .. code-block:: yaml

        policies:
          - name: root-usage-alarm-create
            resource: aws.account
            filters:
              - type: root-usage-alarm
            actions:
              - type: create-root-usage-alarm
                tier: real-root
                email: security@example.com
    """

    schema = type_schema(
        "create-root-usage-alarm",
        tier={"enum": list(TIER_PATTERNS)},
        email={"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
        **{
            "topic-arn": {"type": "string", "pattern": "^arn:[^:]+:sns:[^:]+:[0-9]{12}:[^:]+$"},
            "assume-root-alarm": {"type": "boolean"},
        },
    )
    schema_alias = False
    permissions = CHAIN_READ_PERMISSIONS + (
        "logs:PutMetricFilter", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm",
        "cloudwatch:TagResource", "sns:GetTopicAttributes", "sns:CreateTopic", "sns:TagResource",
        "sns:ListSubscriptionsByTopic", "sns:Subscribe", "organizations:DescribeOrganization",
    )

    def get_permissions(self):
        perms = set(self.permissions)
        if "topic-arn" in self.data:
            perms -= {"sns:GetTopicAttributes", "sns:CreateTopic", "sns:TagResource"}
        if "email" not in self.data:
            perms -= {"sns:ListSubscriptionsByTopic", "sns:Subscribe"}
        if not self.data.get("assume-root-alarm"):
            perms.discard("organizations:DescribeOrganization")
        return sorted(perms)

    def process(self, resources):
        for resource in resources:
            resource.setdefault(ACTIONS_ANNOTATION, {})[self.type] = self.complete_chain()
        return resources

    def complete_chain(self):
        evidence = AccountEvidence(self.manager)
        trail = self.chain_trail(evidence)
        log_group = parse_log_group_arn(trail["CloudWatchLogsLogGroupArn"])
        session = evidence.session()
        clients = {name: session.client(name, region_name=log_group.region)
                   for name in ("logs", "cloudwatch", "sns")}
        plan, notes = _Plan(), []
        topic = self.plan_topic(plan, clients["sns"], evidence, log_group.region)
        pattern = TIER_PATTERNS[self.data.get("tier", "cis")]
        self.plan_metric_alarm(plan, clients, log_group.name, "root-usage", "RootUsage", pattern, topic,
                               "Root user activity (sign-in or API call) recorded by CloudTrail")
        if self.data.get("assume-root-alarm"):
            if self.is_management_account(session, evidence.account_id):
                self.plan_metric_alarm(plan, clients, log_group.name, "assume-root-issued", "AssumeRootIssued",
                                       ASSUME_ROOT_PATTERN, topic,
                                       "sts:AssumeRoot issued: a privileged root session on a member account")
            else:
                notes.append("not the organization's management account: no AssumeRoot alarm")
        dryrun = bool(self.manager.config.dryrun)
        if plan.steps and not dryrun:
            plan.apply()
            # Later policies of this run must see the new chain, not the evidence read before it.
            run_evidence.RUN_CACHE.forget_account(evidence.account_id)
        status = "dryrun" if dryrun else ("changed" if plan.steps else "unchanged")
        log.info("rootguard: create-root-usage-alarm %s on %s: %s", evidence.account_id, status,
                 "; ".join(plan.descriptions) or "nothing to do")
        return {"status": status, "trail": trail["TrailARN"], "log_group": log_group.name,
                "region": log_group.region, "topic": topic,
                ("would" if dryrun else "done"): plan.descriptions, "notes": notes}

    def chain_trail(self, evidence):
        """The first trail whose own links hold; PolicyExecutionError when there is none."""
        reader = ChainReader(evidence)
        trails = reader.trails()
        if not trails.ok:
            raise PolicyExecutionError(f"create-root-usage-alarm: {trails.error}")
        problems = []
        for trail in trails.value:
            problem = trail_problem(trail, evidence.account_id, reader)
            if problem is None:
                return trail
            problems.append(f"{trail.get('TrailARN')}: {problem.reason}")
        if not any(t.get("CloudWatchLogsLogGroupArn") for t in trails.value):
            raise PolicyExecutionError(
                f"create-root-usage-alarm: no trail of account {evidence.account_id} delivers to "
                f"CloudWatch Logs; send a multi-region trail to a log group first")
        raise PolicyExecutionError(
            f"create-root-usage-alarm: no trail of account {evidence.account_id} can carry the chain: "
            + "; ".join(problems))

    def plan_topic(self, plan, sns, evidence, region):
        """The alarm's topic ARN, creating the rootguard topic (and the email subscription) if needed."""
        topic = self.data.get("topic-arn")
        exists = True
        if topic and arn_parts(topic)[2] != region:
            raise PolicyExecutionError(
                f"create-root-usage-alarm: topic-arn {topic} is not in {region}, the log group's region; "
                f"alarm actions must be in the alarm's region {region}")
        if topic is None:
            topic = f"arn:{evidence.partition}:sns:{region}:{evidence.account_id}:{TOPIC_NAME}"
            exists = self.topic_exists(sns, topic)
            if not exists:
                plan.add(f"create SNS topic {topic}", "sns:CreateTopic", sns.create_topic,
                         Name=TOPIC_NAME, Tags=TAGS)
        email = self.data.get("email")
        if email and not (exists and self.has_email_subscription(sns, topic, email)):
            plan.add(f"subscribe {email} to {topic} (pending until confirmed)", "sns:Subscribe",
                     sns.subscribe, TopicArn=topic, Protocol="email", Endpoint=email)
        return topic

    @staticmethod
    def topic_exists(sns, topic):
        try:
            retry(sns.get_topic_attributes, TopicArn=topic)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NotFound":
                return False
            raise PolicyExecutionError(describe_error("sns:GetTopicAttributes", error)[0]) from error
        return True

    @staticmethod
    def has_email_subscription(sns, topic, email):
        paginator = sns.get_paginator("list_subscriptions_by_topic")
        pages = aws_call("sns:ListSubscriptionsByTopic", lambda: list(paginator.paginate(TopicArn=topic)))
        return any(s.get("Protocol") == "email" and (s.get("Endpoint") or "").lower() == email.lower()
                   for page in pages for s in page.get("Subscriptions", []))

    @staticmethod
    def is_management_account(session, account_id):
        client = session.client("organizations")
        try:
            organization = retry(client.describe_organization)["Organization"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "AWSOrganizationsNotInUseException":
                return False
            raise PolicyExecutionError(describe_error("organizations:DescribeOrganization", error)[0]) from error
        return organization.get("MasterAccountId") == account_id

    def plan_metric_alarm(self, plan, clients, log_group, suffix, metric_name, pattern, topic, description):
        """Plan the ``rootguard-<suffix>`` metric filter and alarm where they differ from what is wanted."""
        name = NAME_PREFIX + suffix
        transformation = {"metricName": metric_name, "metricNamespace": METRIC_NAMESPACE, "metricValue": "1"}
        logs = clients["logs"]
        existing = aws_call("logs:DescribeMetricFilters", logs.describe_metric_filters,
                            logGroupName=log_group, filterNamePrefix=name)["metricFilters"]
        current = next((f for f in existing if f.get("filterName") == name), None)
        if not (current and current.get("filterPattern") == pattern and
                [_pick(t, transformation) for t in current.get("metricTransformations", [])] == [transformation]):
            plan.add(f"{'update' if current else 'create'} metric filter {name} on {log_group}",
                     "logs:PutMetricFilter", logs.put_metric_filter, logGroupName=log_group,
                     filterName=name, filterPattern=pattern, metricTransformations=[transformation])

        cloudwatch = clients["cloudwatch"]
        wanted = {
            "AlarmName": name, "AlarmDescription": f"rootguard: {description}", "ActionsEnabled": True,
            "AlarmActions": [topic], "MetricName": metric_name, "Namespace": METRIC_NAMESPACE,
            "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
            "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        }
        alarms = aws_call("cloudwatch:DescribeAlarms", cloudwatch.describe_alarms,
                          AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
        if not (alarms and _pick(alarms[0], wanted) == wanted):
            plan.add(f"{'update' if alarms else 'create'} alarm {name} on {METRIC_NAMESPACE}/{metric_name} "
                     f"notifying {topic}", "cloudwatch:PutMetricAlarm", cloudwatch.put_metric_alarm,
                     Tags=TAGS, **wanted)


def _pick(mapping, keys):
    return {key: mapping.get(key) for key in keys}
