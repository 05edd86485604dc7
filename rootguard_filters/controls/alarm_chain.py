"""Root-usage alarm chain on ``aws.account``: the ``root-usage-alarm`` filter (the
``create-root-usage-alarm`` action is in ``alarm_action.py``)."""
import logging
import os

from c7n.credentials import SessionFactory
from c7n.resources.account import Account
from c7n.utils import get_partition, type_schema

from rootguard_filters.plumbing.base import RootguardFilter
from rootguard_filters.decide.alarm_chain import arn_parts, decide_root_usage_alarm
from rootguard_filters.logic.root_usage import DEFAULT_DEADLINE_SECONDS
from rootguard_filters.plumbing.evidence import RUN_CACHE, AccountEvidence, Evidence, guarded, retry

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
    """The alarm chain's AWS reads for one account, each once per run (see decide.alarm_chain).

    ``owner_access`` (an :class:`OwnerAccess`) lets the walk read the chain of an organization trail in
    its owner account; ``scope`` keeps reads made through an owner role apart from the account's own.
    """

    def __init__(self, evidence, owner_access=None, scope=()):
        self.evidence = evidence
        self.owner_access = owner_access
        self.scope = tuple(scope)

    def _get(self, key, operation, call, expected_codes=()):
        return RUN_CACHE.get((self.evidence.account_id, *self.scope, *key),
                             lambda: guarded(operation, call, expected_codes=expected_codes))

    def for_account(self, account_id):
        """Evidence of a ChainReader for ``account_id`` (the owner of an organization trail)."""
        if account_id == self.evidence.account_id:
            return Evidence(value=self)
        if self.owner_access is None:
            return Evidence.failure(f"this run has no way to read account {account_id}")
        return self.owner_access.reader(account_id)

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


ROLE_ARN_PATTERN = "^arn:[^:]+:iam::({account_id}|[0-9]{12}):role/.+$"


class OwnerEvidence:
    """Reads in the owner account of an organization trail, through a role assumed there.

    Shaped like the part of :class:`AccountEvidence` a :class:`ChainReader` uses.
    """

    def __init__(self, account_id, region, session):
        self.account_id = account_id
        self.region = region
        self._session = session

    def client(self, service, region=None):
        region = region or self.region
        return RUN_CACHE.get((self.account_id, "owner-client", id(self._session), service, region),
                             lambda: self._session.client(service, region_name=region))


class OwnerAccess:
    """Which role reads an owner account's chain, and the session it gives (once per run and role).

    The role is, in order: the filter's ``owner-role`` (its account field set to the owner's id); the
    role of the same name as the one the run assumed in the member (c7n-org's account ``role``,
    custodian's ``--assume``, a Lambda policy's ``member-role``); in a Lambda function, the role of the
    same name as the function's execution role (``mode.role``). It is assumed from the run's base
    credentials (the profile, or the environment), like the member role was.
    """

    def __init__(self, manager, owner_role=None):
        self.manager = manager
        self.owner_role = owner_role
        config = manager.config
        self.region = config.region or "us-east-1"
        self.partition = get_partition(self.region)
        self.profile = config.get("profile")
        self.external_id = config.get("external_id")

    def run_role(self):
        """(role ARN the run assumed in the member, how it was found) or (None, None)."""
        assumed = getattr(self.manager.session_factory, "assume_role", None) or self.manager.config.get("assume_role")
        if assumed:
            return assumed, "the role this run assumed in the member"
        policy = getattr(getattr(self.manager, "ctx", None), "policy", None)
        mode = (getattr(policy, "data", None) or {}).get("mode") or {}
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and mode.get("role"):
            return mode["role"], "the function's execution role"
        return None, None

    def role_for(self, account_id):
        """(role ARN to assume in ``account_id``, None) or (None, the hint saying how to give one)."""
        if self.owner_role:
            # custodian expands {account_id} in policy text to the member's id before the filter sees
            # it, so the template's account field is replaced by the owner's id here.
            template = self.owner_role.replace("{account_id}", account_id)
            return _in_account(template, account_id), None
        role, _ = self.run_role()
        if role:
            try:
                return _in_account(role, account_id), None
            except ValueError:
                pass
        return None, (f"no role to read it: run with a member role (c7n-org accounts.yml `role`, custodian "
                      f"--assume) whose name also exists in account {account_id}, or set the filter's "
                      f"owner-role (e.g. arn:{self.partition}:iam::{{account_id}}:role/rootguard-audit)")

    def session(self, role_arn):
        factory = SessionFactory(self.region, profile=self.profile, assume_role=role_arn,
                                 external_id=self.external_id)
        factory.session_name = "rootguard-owner-chain"
        return factory()

    def reader(self, account_id):
        """Evidence of a ChainReader for ``account_id``; the failure names the role and what failed."""
        role_arn, hint = self.role_for(account_id)
        if role_arn is None:
            return Evidence.failure(hint, "NoOwnerRole")

        def assume():
            outcome = guarded("sts:AssumeRole", lambda: self.session(role_arn))
            if not outcome.ok:
                return Evidence.failure(
                    f"cannot assume {role_arn} ({outcome.error}); that role needs to trust the principal "
                    f"this run started from and allow the chain reads (iam/owner-chain-role.md)",
                    outcome.error_code)
            evidence = OwnerEvidence(account_id, self.region, outcome.value)
            return Evidence(value=ChainReader(evidence, scope=("via", role_arn)))
        return RUN_CACHE.get((account_id, "session", "owner-role", role_arn), assume)


def _in_account(role_arn, account_id):
    """``role_arn`` (a role ARN) with its account field set to ``account_id``."""
    partition, service, _, _, resource = arn_parts(role_arn)
    if service != "iam" or not resource.startswith("role/"):
        raise ValueError(f"not a role ARN: {role_arn!r}")
    return f"arn:{partition}:iam::{account_id}:{resource}"


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
    first broken link.

    A member whose trail is an organization trail (owned by the management account, also when a
    delegated administrator created it) is judged on that trail's chain in the owner account, read
    through a role there: ``owner-role`` (an ARN template, ``{account_id}`` being the owner), else the
    role of the same name as the one the run assumed in the member. Without either, or when that role
    cannot be assumed, the member is could-not-evaluate and the reason says what is missing. The
    owner's chain is read once per process and role, however many members rely on it.

    ``require-confirmed-subscription: false`` accepts an SNS topic action without looking at its
    subscriptions, only checking that the topic exists (sns:GetTopicAttributes).
    ``exclude-assumed-root-ok: false`` also requires the pattern to alarm on actions of AssumeRoot
    sessions (by default a pattern may leave out events carrying
    ``userIdentity.sessionContext.assumedRoot``).
    ``deadline-seconds`` (default 5) bounds the decision on each metric filter's pattern; one not
    decided by then makes the chain could-not-evaluate, saying so (raise it for very large patterns).

    :example:

    .. code-block:: yaml

        policies:
          - name: root-usage-alarm-missing
            resource: aws.account
            filters:
              - type: root-usage-alarm
                require-confirmed-subscription: true
                owner-role: arn:aws:iam::{account_id}:role/rootguard-audit
    """

    schema = type_schema(
        "root-usage-alarm",
        **{
            "require-confirmed-subscription": {"type": "boolean"},
            "exclude-assumed-root-ok": {"type": "boolean"},
            "owner-role": {"type": "string", "pattern": ROLE_ARN_PATTERN},
            "deadline-seconds": {"type": "number", "minimum": 0.01, "maximum": 600},
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
        owner_access = OwnerAccess(self.manager, self.data.get("owner-role"))
        return decide_root_usage_alarm(
            evidence.account_id, ChainReader(evidence, owner_access),
            require_confirmed_subscription=self.data.get("require-confirmed-subscription", True),
            exclude_assumed_root_ok=self.data.get("exclude-assumed-root-ok", True),
            deadline_seconds=self.data.get("deadline-seconds", DEFAULT_DEADLINE_SECONDS))
