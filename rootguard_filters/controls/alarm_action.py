"""The ``create-root-usage-alarm`` action on ``aws.account``: completes the root-usage alarm chain
that the ``root-usage-alarm`` filter (``alarm_chain.py``) checks."""
import logging

from botocore.exceptions import BotoCoreError, ClientError
from c7n.exceptions import PolicyExecutionError, PolicyValidationError
from c7n.resources.account import Account
from c7n.utils import type_schema

from rootguard_filters.controls.alarm_chain import (
    ASSUME_ROOT_PATTERN, CHAIN_READ_PERMISSIONS, METRIC_NAMESPACE, NAME_PREFIX, TAGS,
    TIER_PATTERNS, TOPIC_NAME, ChainReader)
from rootguard_filters.decide.alarm_chain import arn_parts, parse_log_group_arn, trail_problem
from rootguard_filters.plumbing.evidence import AccountEvidence, describe_error, retry
from rootguard_filters.plumbing.addresses import placeholder_email, unexpanded
from rootguard_filters.plumbing.writes import RecordedAction, WriteFailed

log = logging.getLogger("custodian.rootguard")


def aws_call(operation, method, **params):
    """Call AWS with retries; an error stops the action with PolicyExecutionError naming the call."""
    try:
        return retry(method, **params)
    except (ClientError, BotoCoreError) as error:
        raise PolicyExecutionError(describe_error(operation, error)[0]) from error


class _Plan:
    """The writes an account needs, described before any is made (dryrun records the list)."""

    def __init__(self):
        self.steps = []

    def add(self, description, operation, method, target=None, **params):
        self.steps.append((description, operation, method, target, params))

    @property
    def descriptions(self):
        return [description for description, *_ in self.steps]

    def apply(self, journal, resources, account):
        """Make (or, dryrun, record) each write in order; the first failure stops the rest.

        ``(descriptions of the writes made before the failure, the failure)``, or ``(None, None)``.
        """
        for index, (description, operation, method, target, params) in enumerate(self.steps):
            try:
                journal.write(resources, account, operation, target, description, method, **params)
            except WriteFailed as failure:
                later = [(op, t, d) for d, op, _, t, _ in self.steps[index + 1:]]
                journal.not_attempted(resources, account, later, f"stopped at the first failure ({operation})")
                return [d for d, *_ in self.steps[:index]], str(failure)
        return None, None


@Account.action_registry.register("create-root-usage-alarm")
class CreateRootUsageAlarm(RecordedAction):
    """Completes the root-usage alarm chain on the log group of the account's existing trail.

    Picks the first trail that is multi-region, logging, records read and write management events and
    delivers to a CloudWatch Logs group of this account, then makes sure that group has the metric
    filter ``rootguard-root-usage`` (``tier: cis``, the CIS pattern; ``tier: real-root`` also leaves out
    actions of AssumeRoot sessions), the alarm ``rootguard-root-usage`` on metric
    ``rootguard/RootUsage`` (Sum >= 1 over 300 s, missing data not breaching) and an SNS topic action:
    ``topic-arn``, or the topic ``rootguard-root-usage`` it creates. ``email`` subscribes an address
    (the owner must confirm it); an address at a reserved example domain (example.com, ``*.invalid``...)
    fails ``custodian validate``, and a policy variable left unset (``{rootguard_alarm_email}`` without a
    ``--vars-file`` value) stops the action before any write. ``assume-root-alarm: true`` adds, in the organization's management
    account only, the filter and alarm ``rootguard-assume-root-issued`` on every sts:AssumeRoot call.

    Only resources named ``rootguard-...`` are created or updated, each only when it differs from what
    is wanted, so a second run makes no write call. An existing ``rootguard-...`` alarm is merged,
    not replaced: alarm, OK and insufficient-data actions someone added and its description are
    kept, the topic is added. Every write is a record (account, call, target, result) under
    ``c7n:rootguard-actions`` and in the ``action-*`` file, followed by a summary record; with
    ``--dryrun`` (or dryrun in Lambda modes' execution-options) the records say what would be
    written. A failed write stops the later ones, and the summary names what was already created
    (e.g. topic, subscription and metric filter before a failed PutMetricAlarm). When no trail
    can carry the chain (none delivers to CloudWatch Logs, or those that do are single-region, not
    logging, or incomplete) the action stops with PolicyExecutionError naming the
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
                email: "{rootguard_alarm_email}"
    """

    schema = type_schema(
        "create-root-usage-alarm",
        tier={"enum": list(TIER_PATTERNS)},
        email={"type": "string", "pattern": "^([^@\\s{}]+@[^@\\s]+|\\{[A-Za-z_][A-Za-z0-9_]*\\})$"},
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

    def validate(self):
        email = self.data.get("email", "")
        if email and not unexpanded(email) and placeholder_email(email):
            raise PolicyValidationError(
                f"{self.type}: email {email!r} is a placeholder (reserved example domain): the alarm would "
                "notify no one; set the address that must hear of root use")
        return self

    def process(self, resources):
        evidence = AccountEvidence(self.manager)
        journal = self.write_log(evidence.account_id)
        if resources and unexpanded(self.data.get("email", "")):
            raise PolicyExecutionError(
                f"{self.type}: email {self.data['email']} is not set: pass the policy variable (--vars-file); "
                "nothing was written")
        if resources:
            self.complete_chain(evidence, journal, resources)
        return journal.records

    def complete_chain(self, evidence, journal, resources):
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
        made, error = plan.apply(journal, resources, evidence.account_id)
        if error:
            status = "partial"
            detail = (f"{error}; already made before it: {'; '.join(made) or 'nothing'}; "
                      "the next run completes the chain")
        else:
            status = "planned" if self.dryrun else ("changed" if plan.steps else "unchanged")
            detail = "; ".join(plan.descriptions) or "chain already complete"
        log.info("rootguard: create-root-usage-alarm %s on %s: %s", evidence.account_id, status, detail)
        journal.note(resources, evidence.account_id, status, detail, target=log_group.name,
                     trail=trail["TrailARN"], log_group=log_group.name, region=log_group.region,
                     topic=topic, notes=notes, writes=plan.descriptions)

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
                plan.add(f"create SNS topic {topic}", "sns:CreateTopic", sns.create_topic, topic,
                         Name=TOPIC_NAME, Tags=TAGS)
        email = self.data.get("email")
        if email and not (exists and self.has_email_subscription(sns, topic, email)):
            plan.add(f"subscribe {email} to {topic} (pending until confirmed)", "sns:Subscribe",
                     sns.subscribe, topic, TopicArn=topic, Protocol="email", Endpoint=email)
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
                     "logs:PutMetricFilter", logs.put_metric_filter, f"{log_group}:{name}", logGroupName=log_group,
                     filterName=name, filterPattern=pattern, metricTransformations=[transformation])

        cloudwatch = clients["cloudwatch"]
        owned = {
            "AlarmName": name, "ActionsEnabled": True,
            "MetricName": metric_name, "Namespace": METRIC_NAMESPACE,
            "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
            "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        }
        alarms = aws_call("cloudwatch:DescribeAlarms", cloudwatch.describe_alarms,
                          AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
        current = alarms[0] if alarms else None
        if current and _pick(current, owned) == owned and topic in (current.get("AlarmActions") or []):
            return
        # PutMetricAlarm replaces the whole alarm: carry over what someone else added (other alarm,
        # OK and insufficient-data actions, their description) so the update only adds ours.
        merged = merge_alarm(current, owned, topic, f"rootguard: {description}")
        plan.add(f"{'update' if current else 'create'} alarm {name} on {METRIC_NAMESPACE}/{metric_name} "
                 f"notifying {topic}" + (" (existing actions kept)" if current else ""),
                 "cloudwatch:PutMetricAlarm", cloudwatch.put_metric_alarm, name,
                 **({} if current else {"Tags": TAGS}), **merged)


def merge_alarm(current, owned, topic, description):
    """PutMetricAlarm parameters: ``owned`` settings, ``topic`` added to the alarm actions, and
    everything of ``current`` (the alarm as DescribeAlarms shows it, or None) the pack does not own."""
    current = current or {}
    merged = dict(owned)
    merged["AlarmDescription"] = current.get("AlarmDescription") or description
    merged["AlarmActions"] = list(dict.fromkeys([*(current.get("AlarmActions") or []), topic]))
    for key in ("OKActions", "InsufficientDataActions"):
        if current.get(key):
            merged[key] = list(current[key])
    return merged


def _pick(mapping, keys):
    return {key: mapping.get(key) for key in keys}
