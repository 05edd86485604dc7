"""The root-usage alarm chain and the ``root-usage-alarm`` verdict (pure: API data in, Verdict out).

A chain holds when every link holds: a multi-region, logging trail that records read and write
management events and delivers to a CloudWatch Logs group; a metric filter on that group whose
pattern matches every root-usage event (decided over all events, ``logic.root_usage``); an alarm on
the filter's metric that one root action makes fire and notify (``alarm_fire_problem``); an existing
SNS topic among the alarm's actions; a confirmed subscription on that topic.

The walk reads lazily through a ``ChainReader`` (any object with the methods below returning
evidence with ``ok``/``value``/``error``), so a trail broken at its first link costs no further calls:

- ``trails()``: DescribeTrails(includeShadowTrails=True) ``trailList``
- ``trail_status(trail)``, ``event_selectors(trail)``: GetTrailStatus / GetEventSelectors responses
- ``metric_filters(region, log_group_name)``: DescribeMetricFilters ``metricFilters``
- ``alarms_for_metric(region, metric_name, namespace)``: DescribeAlarmsForMetric ``MetricAlarms``
- ``subscriptions(topic_arn)``: ListSubscriptionsByTopic ``Subscriptions`` (NotFound: no such topic)
- ``topic_attributes(topic_arn)``: GetTopicAttributes, only when subscriptions are not read

- ``for_account(account_id)`` (optional): Evidence whose value is a reader of the same shape for
  another account (the owner of an organization trail), or the failure saying what access is missing

The first complete chain wins. Otherwise each trail reports its first broken link (for a trail with
several filters or alarms, the link reached furthest along the chain); an unreadable link (API error,
an owner account that cannot be read) makes the trail, and then the account, could-not-evaluate.

A trail owned by another account (an organization trail: its ARN and log group carry the management
account's id) is judged by the same walk in the owner account, through ``for_account``. When the owner
cannot be read, what the member itself may read of the trail (GetTrailStatus with the trail's ARN is
documented for members) still proves a broken trail; anything else is could-not-evaluate.
"""
import re
from dataclasses import asdict, dataclass, replace
from typing import Optional

from rootguard_filters.logic.root_usage import (
    DEFAULT_DEADLINE_SECONDS, MALFORMED, UNDECIDED, judge_root_usage_pattern,
)
from rootguard_filters.verdict import compliant, could_not_evaluate, non_compliant

# The links in chain order; a broken link further along is closer to a working chain.
LINKS = ("trail", "cloudwatch-logs", "logging", "management-events", "metric-filter", "alarm",
         "sns-topic", "subscription")
READ_VALUES = frozenset({"true", "false"})   # CloudTrail's readOnly: read events "true", writes "false"
BASIC_READ_WRITE = {"All": READ_VALUES, "ReadOnly": {"true"}, "WriteOnly": {"false"}}


@dataclass(frozen=True)
class Broken:
    """The link of one trail's chain that does not hold; ``unknown`` when it could not be read."""

    link: str
    reason: str
    unknown: bool = False
    counterexample: Optional[dict] = None   # a root-usage event the metric filter's pattern misses

    @property
    def rank(self):
        return LINKS.index(self.link)


@dataclass(frozen=True)
class LogGroup:
    region: str
    account_id: str
    name: str


@dataclass(frozen=True)
class Chain:
    trail_arn: str
    log_group: str
    log_group_region: str
    filter_name: str
    filter_pattern: str
    metric_namespace: str
    metric_name: str
    alarm_name: str
    topic_arn: str
    subscription_protocols: Optional[tuple]   # None when confirmation was not required
    pattern_also_alarms_on: tuple = ()        # what the pattern matches beyond root usage
    owner_account: Optional[str] = None       # the account holding the chain, when not the one judged


def arn_parts(arn):
    """``(partition, service, region, account, resource)`` of an ARN; ValueError if it is not one."""
    parts = (arn or "").split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return tuple(parts[1:])


def parse_log_group_arn(arn):
    """The LogGroup of a trail's ``CloudWatchLogsLogGroupArn`` (``...:log-group:NAME:*``)."""
    _, service, region, account, resource = arn_parts(arn)
    prefix = "log-group:"
    if service != "logs" or not resource.startswith(prefix):
        raise ValueError(f"not a log group ARN: {arn!r}")
    name = resource[len(prefix):]
    if name.endswith(":*"):
        name = name[:-2]
    if not name:
        raise ValueError(f"log group ARN has no name: {arn!r}")
    return LogGroup(region, account, name)


def is_sns_topic_arn(arn):
    try:
        return arn_parts(arn)[1] == "sns"
    except ValueError:
        return False


def management_read_values(selectors):
    """(readOnly values of management events recorded, notes on selectors that restrict sources).

    Basic selectors: ``IncludeManagementEvents`` with ``ReadWriteType``; advanced selectors:
    ``eventCategory = Management`` with an optional ``readOnly`` field. Several selectors add up (a
    read-only one beside a write-only one records both). A selector that leaves out event sources
    (``ExcludeManagementEventSources``, an ``eventSource`` field) drops root calls to those services
    and counts for nothing.
    """
    recorded, notes = set(), []
    for selector in selectors.get("EventSelectors") or ():
        if not selector.get("IncludeManagementEvents", True):
            continue
        if selector.get("ExcludeManagementEventSources"):
            notes.append("excludes management events from "
                         + ", ".join(selector["ExcludeManagementEventSources"]))
            continue
        recorded |= BASIC_READ_WRITE.get(selector.get("ReadWriteType", "All"), set())
    for selector in selectors.get("AdvancedEventSelectors") or ():
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors") or ()}
        if "Management" not in (fields.get("eventCategory") or {}).get("Equals", ()):
            continue
        if set(fields) - {"eventCategory", "readOnly"}:
            notes.append(f"advanced selector {selector.get('Name') or ''!r} restricts "
                         + ", ".join(sorted(set(fields) - {"eventCategory", "readOnly"})))
            continue
        recorded |= _read_only_values(fields.get("readOnly"))
    return recorded, notes


def _read_only_values(field):
    if field is None:
        return set(READ_VALUES)
    if field.get("Equals"):
        return READ_VALUES & {v.lower() for v in field["Equals"]}
    if field.get("NotEquals"):
        return READ_VALUES - {v.lower() for v in field["NotEquals"]}
    return set(READ_VALUES)


def _describe_recorded(recorded):
    if not recorded:
        return "no management events"
    return "only read-only management events" if recorded == {"true"} else "only write management events"


def trail_location(trail):
    """(Broken | None, trail owner account, LogGroup) from the trail's own description."""
    arn = trail.get("TrailARN") or trail.get("Name")
    if not trail.get("IsMultiRegionTrail"):
        return Broken("trail", "trail is single-region: root usage in other regions (and us-east-1 "
                               "console sign-ins, unless it lives there) is not recorded"), None, None
    if not trail.get("CloudWatchLogsLogGroupArn"):
        return Broken("cloudwatch-logs", "trail does not deliver to CloudWatch Logs"), None, None
    try:
        owner = arn_parts(arn)[3]
        log_group = parse_log_group_arn(trail["CloudWatchLogsLogGroupArn"])
    except ValueError as error:
        return Broken("cloudwatch-logs", f"unreadable trail: {error}", unknown=True), None, None
    return None, owner, log_group


def trail_problem(trail, account_id, reader):
    """The first broken link of the trail itself (up to its log group), or None when it holds.

    Only for a chain held in ``account_id``: a trail or log group of another account is unknown here
    (``decide_root_usage_alarm`` reads those in their owner account).
    """
    problem, owner, log_group = trail_location(trail)
    if problem:
        return problem
    if owner != account_id:
        kind = "organization trail" if trail.get("IsOrganizationTrail") else "trail"
        return Broken("trail", f"{kind} owned by account {owner}: its status, log group, metric filters "
                               f"and alarms must be read in that account", unknown=True)
    if log_group.account_id != account_id:
        return Broken("cloudwatch-logs", f"log group {log_group.name} is in account {log_group.account_id}: "
                                         f"its metric filters and alarms must be read there", unknown=True)
    return recording_problem(trail, reader)


def recording_problem(trail, reader):
    """Whether the trail logs and records read and write management events, read through ``reader``."""
    status = reader.trail_status(trail)
    if not status.ok:
        return Broken("logging", status.error, unknown=True)
    # Real answers always carry IsLogging, and EventSelectors or AdvancedEventSelectors (an empty
    # list when the trail has none): without them the answer says nothing, so it is unreadable.
    if "IsLogging" not in status.value:
        return Broken("logging", "cloudtrail:GetTrailStatus: unreadable response: no IsLogging", unknown=True)
    if not status.value["IsLogging"]:
        return Broken("logging", "trail is not logging")
    selectors = reader.event_selectors(trail)
    if not selectors.ok:
        return Broken("management-events", selectors.error, unknown=True)
    if not {"EventSelectors", "AdvancedEventSelectors"} & set(selectors.value):
        return Broken("management-events", "cloudtrail:GetEventSelectors: unreadable response: neither "
                                           "EventSelectors nor AdvancedEventSelectors", unknown=True)
    recorded, notes = management_read_values(selectors.value)
    if recorded != READ_VALUES:
        reason = f"trail records {_describe_recorded(recorded)}"
        return Broken("management-events", "; ".join([reason, *notes]))
    return None


# A datapoint count standing for "many other events in the same period".
_MANY = 10 ** 6
_OPERATORS = {
    "GreaterThanOrEqualToThreshold": (">=", lambda value, threshold: value >= threshold),
    "GreaterThanThreshold": (">", lambda value, threshold: value > threshold),
    "LessThanThreshold": ("<", lambda value, threshold: value < threshold),
    "LessThanOrEqualToThreshold": ("<=", lambda value, threshold: value <= threshold),
}


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _period_value(statistic, root_value, default, others, with_root=True):
    """The statistic over one period holding one root event (``with_root``) and ``others`` other log
    events, which publish ``default`` when the metric filter has a defaultValue and nothing otherwise;
    None when the period has no datapoint."""
    count = others if default is not None else 0
    values = ([root_value] if with_root else []) + ([default] if count else [])
    if not values:
        return None
    total = root_value * with_root + (default * count if count else 0)
    return {"Sum": total, "SampleCount": float(with_root + count), "Maximum": max(values),
            "Minimum": min(values), "Average": total / (with_root + count)}[statistic]


def alarm_fire_problem(alarm, transformation, filter_dimensions_forced=None):
    """Why a root-usage event would not make this alarm fire and notify — the first one, or any
    later one: ``(reason, unknown)``, or None when every one does. ``unknown`` marks a setting that
    cannot be judged (not a broken link).

    One event adds the metric filter's ``metricValue`` to one period; the alarm fires when that
    period's statistic crosses the threshold for every count of other events in the period (they add
    ``defaultValue`` when it is set), needs one breaching datapoint (``DatapointsToAlarm`` or
    ``EvaluationPeriods`` of 1), and does not already breach without root usage (an alarm that stays
    in ALARM sends no new notification). After it, the alarm must leave ALARM by itself while root
    is quiet, so the next root action notifies again (:func:`_rearm_problem`). Dimensions must be
    those the metric filter publishes. ``filter_dimensions_forced`` maps a dimension name to the value
    every root-usage event gives it.
    """
    name = alarm.get("AlarmName")
    if alarm.get("ActionsEnabled") is False:
        return f"alarm '{name}' has its actions disabled", False
    needed = alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods") or 1
    if needed > 1:
        return (f"alarm '{name}' needs {needed} breaching datapoints: a single root action "
                f"does not trigger it"), False
    problem = _dimension_problem(name, alarm, transformation, filter_dimensions_forced or {})
    if problem:
        return problem, False
    published_unit = transformation.get("unit") or "None"
    if alarm.get("Unit") and alarm["Unit"] != published_unit:
        return (f"alarm '{name}' watches unit {alarm['Unit']} but the metric filter publishes {published_unit}: "
                f"the alarm sees no datapoint"), False
    operator = _OPERATORS.get(alarm.get("ComparisonOperator"))
    threshold = _number(alarm.get("Threshold"))
    if operator is None or threshold is None:
        return (f"alarm '{name}' uses {alarm.get('ComparisonOperator')!r} "
                f"(an anomaly-detection band or no static threshold): whether one root action fires it "
                f"cannot be decided"), True
    symbol, breaches = operator
    raw_value = transformation.get("metricValue", "1")
    value = _number(raw_value)
    if value is None:
        return (f"metric filter publishes metricValue {raw_value!r} taken from the event: a root event "
                f"where it is 0 or absent does not reach alarm '{name}''s threshold"), False
    default = _number(transformation.get("defaultValue")) if transformation.get("defaultValue") is not None else None
    statistic = alarm.get("Statistic")
    low_sample = alarm.get("EvaluateLowSampleCountPercentile")
    if statistic not in ("Sum", "SampleCount", "Maximum", "Minimum", "Average") and low_sample is not None:
        if low_sample == "ignore":
            return (f"alarm '{name}' uses percentile statistic {alarm.get('ExtendedStatistic')!r} with "
                    f"EvaluateLowSampleCountPercentile 'ignore': a period holding one root action has too "
                    f"few samples to be evaluated, so the alarm never changes state on it"), False
        if low_sample != "evaluate":
            return (f"alarm '{name}' has EvaluateLowSampleCountPercentile {low_sample!r} (CloudWatch "
                    f"knows 'evaluate' and 'ignore'): whether one root action fires it cannot be "
                    f"decided"), True
    if statistic not in ("Sum", "SampleCount", "Maximum", "Minimum", "Average"):
        extended = alarm.get("ExtendedStatistic") or statistic
        if default is None and re.fullmatch(r"(p|tm|wm)[0-9.:%]*|iqm", str(extended), re.IGNORECASE):
            statistic = "Maximum"   # every datapoint is the root event's value: percentiles and means are it
        else:
            return (f"alarm '{name}' uses statistic {extended!r}"
                    + (f" over a metric with defaultValue {default:g}" if default is not None else "")
                    + ": whether one root action fires it cannot be decided"), True
    rule = f"{statistic} {symbol} {threshold:g}"
    for others in (0, 1, _MANY):
        period = _period_value(statistic, value, default, others)
        if not breaches(period, threshold):
            context = "" if not others else (f" with {'another event' if others == 1 else 'many other events'}"
                                             f" in the period publishing defaultValue {default:g}")
            return (f"alarm '{name}' fires when {rule}; one root action gives {period:g}{context}"), False
    if alarm.get("TreatMissingData") == "breaching":
        return (f"alarm '{name}' treats missing data as breaching: it sits in ALARM without root usage "
                f"and a root action sends no new notification"), False
    for others in (1, _MANY):
        quiet = _period_value(statistic, value, default, others, with_root=False)
        if quiet is not None and breaches(quiet, threshold):
            return (f"alarm '{name}' fires when {rule} and other events alone give {quiet:g} (defaultValue "
                    f"{default:g}): it sits in ALARM without root usage and a root action sends no new "
                    f"notification"), False
    return _rearm_problem(name, alarm, default)


# TreatMissingData values CloudWatch accepts; absent means "missing".
_MISSING_DATA = ("missing", "notBreaching", "breaching", "ignore")


def _rearm_problem(name, alarm, default):
    """Why the alarm would stay in ALARM after a root action while root is quiet (so every later
    root action notifies nobody), or None when it leaves ALARM within its evaluation range.

    While root is quiet the metric gets no datapoint, or — with a ``defaultValue`` — a
    non-breaching one only when other events are logged (checked by the caller). ``missing`` moves
    the alarm to INSUFFICIENT_DATA and ``notBreaching`` to OK once the breaching datapoint leaves
    the range; ``ignore`` keeps the state while datapoints are missing.
    """
    treat = alarm.get("TreatMissingData") or "missing"
    if treat not in _MISSING_DATA:
        return (f"alarm '{name}' has TreatMissingData {treat!r} (CloudWatch knows "
                f"{', '.join(_MISSING_DATA)}): whether it leaves ALARM after a root action cannot be "
                f"decided"), True
    if treat == "ignore":
        if default is None:
            return (f"alarm '{name}' has TreatMissingData 'ignore' and the metric filter has no "
                    f"defaultValue: after the first root action no datapoint arrives while root is "
                    f"quiet, the alarm stays in ALARM, and every later root action notifies nobody"), False
        return (f"alarm '{name}' has TreatMissingData 'ignore': it leaves ALARM after a root action "
                f"only if other events are logged in between (defaultValue {default:g}); when none "
                f"are, it stays in ALARM and the next root action notifies nobody"), False
    period, periods = alarm.get("Period"), alarm.get("EvaluationPeriods")
    periods = 1 if periods is None else periods
    if not isinstance(period, int) or isinstance(period, bool) or period <= 0 or not (
            period in (10, 20, 30) or period % 60 == 0):
        return (f"alarm '{name}' has Period {period!r} (CloudWatch accepts 10, 20, 30 or a multiple "
                f"of 60 seconds): when it leaves ALARM after a root action cannot be decided"), True
    if not isinstance(periods, int) or isinstance(periods, bool) or periods < 1:
        return (f"alarm '{name}' has EvaluationPeriods {periods!r}: when it leaves ALARM after a root "
                f"action cannot be decided"), True
    return None



def _dimension_problem(name, alarm, transformation, forced):
    published = transformation.get("dimensions") or {}
    watched = {d.get("Name"): d.get("Value") for d in alarm.get("Dimensions") or ()}
    if set(watched) != set(published):
        return (f"alarm '{name}' watches dimensions {sorted(watched) or 'none'} but the metric filter "
                f"publishes {sorted(published) or 'none'}: the alarm's metric never receives root usage")
    for dimension, value in watched.items():
        if forced.get(published[dimension]) != value:
            return (f"alarm '{name}' watches {dimension}={value!r} but the metric filter takes {dimension} "
                    f"from {published[dimension]}: a root event with another value does not reach it")
    return None


# Dimension values every root-usage event has, by the metric filter's dimension field.
FORCED_DIMENSION_VALUES = {"$.userIdentity.type": "Root"}


def pattern_judgement(metric_filter, exclude_assumed_root_ok=True, deadline_seconds=DEFAULT_DEADLINE_SECONDS):
    """Whether the filter's pattern matches every root-usage event (a PatternJudgement), decided
    within ``deadline_seconds`` (undecided past it)."""
    return judge_root_usage_pattern(metric_filter.get("filterPattern") or "", exclude_assumed_root_ok,
                                    deadline_seconds)


def pattern_problem(metric_filter, judgement):
    """The metric-filter link of one filter: None when its pattern matches every root-usage event,
    else a Broken link (``unknown`` when coverage cannot be decided) carrying the counterexample."""
    name = metric_filter.get("filterName")
    if judgement.status == MALFORMED:
        return Broken("metric-filter", f"metric filter '{name}' pattern is malformed: {judgement.error}")
    if judgement.status == UNDECIDED:
        return Broken("metric-filter", f"metric filter '{name}': {judgement.reason}", unknown=True)
    if not judgement.covers:
        return Broken("metric-filter", f"metric filter '{name}' pattern does not cover root usage: "
                                       f"{judgement.reason}", counterexample=judgement.counterexample)
    return None


class _Walk:
    """One account's walk along the chain; collects every broken link it meets."""

    def __init__(self, account_id, reader, require_confirmed_subscription, exclude_assumed_root_ok,
                 deadline_seconds=DEFAULT_DEADLINE_SECONDS):
        self.account_id = account_id
        self.reader = reader
        self.require_confirmed = require_confirmed_subscription
        self.exclude_assumed_root_ok = exclude_assumed_root_ok
        self.deadline_seconds = deadline_seconds

    def trail(self, trail):
        """(Chain, [], owner) or (None, [Broken, ...], owner) for one trail; ``owner`` is the other
        account whose chain was judged (an organization trail), else None."""
        problem, owner, log_group = trail_location(trail)
        if problem:
            return None, [problem], None
        if owner == self.account_id and log_group.account_id == self.account_id:
            problem = recording_problem(trail, self.reader)
            if problem:
                return None, [problem], None
            return (*self.log_group_chain(trail, log_group), None)
        return (*self.owner_chain(trail, owner, log_group), log_group.account_id)

    def owner_chain(self, trail, owner, log_group):
        """The chain of a trail owned by another account, walked in that account."""
        if owner != log_group.account_id:
            # CloudTrail delivers only to a log group of the trail's own account: unreadable as stated.
            return None, [Broken("cloudwatch-logs", f"log group {log_group.name} is in account "
                                                    f"{log_group.account_id}, not in the trail's account {owner}: "
                                                    f"its metric filters and alarms must be read there",
                                 unknown=True)]
        owner_reader, missing = _owner_reader(self.reader, owner)
        if owner_reader is None:
            # The member may still read the trail's status: a trail that does not log is broken for sure.
            problem = recording_problem(trail, self.reader)
            if problem and not problem.unknown:
                return None, [problem]
            return None, [Broken("metric-filter", f"log group {log_group.name} and its metric filters, alarms "
                                                  f"and topics are in owner account {owner}: {missing}",
                                 unknown=True)]
        walk = _Walk(owner, owner_reader, self.require_confirmed, self.exclude_assumed_root_ok,
                     self.deadline_seconds)
        problem = recording_problem(trail, owner_reader)
        if problem:
            return None, [problem]
        chain, problems = walk.log_group_chain(trail, log_group)
        if chain:
            chain = replace(chain, owner_account=owner)
        return chain, problems

    def log_group_chain(self, trail, log_group):
        """(Chain, []) or (None, [Broken, ...]) from the trail's log group on, read in this walk's account."""
        filters = self.reader.metric_filters(log_group.region, log_group.name)
        if not filters.ok:
            return None, [Broken("metric-filter", filters.error, unknown=True)]
        if not filters.value:
            return None, [Broken("metric-filter", f"log group {log_group.name} has no metric filter")]
        problems = []
        for metric_filter in filters.value:
            judgement = pattern_judgement(metric_filter, self.exclude_assumed_root_ok, self.deadline_seconds)
            problem = pattern_problem(metric_filter, judgement)
            if problem:
                problems.append(problem)
                continue
            transformations = metric_filter.get("metricTransformations") or ()
            if not transformations:
                problems.append(Broken("alarm", f"metric filter '{metric_filter.get('filterName')}' "
                                                f"publishes no metric"))
            for transformation in transformations:
                chain, more = self.metric(trail, log_group, metric_filter, transformation)
                if chain:
                    return replace(chain, pattern_also_alarms_on=tuple(
                        extra["what"] for extra in judgement.also_alarms_on)), []
                problems.extend(more)
        return None, problems

    def metric(self, trail, log_group, metric_filter, transformation):
        name, namespace = transformation.get("metricName"), transformation.get("metricNamespace")
        alarms = self.reader.alarms_for_metric(log_group.region, name, namespace)
        if not alarms.ok:
            return None, [Broken("alarm", alarms.error, unknown=True)]
        on_metric = [a for a in alarms.value if a.get("MetricName") == name and a.get("Namespace") == namespace]
        if not on_metric:
            return None, [Broken("alarm", f"no alarm on metric {namespace}/{name} of metric filter "
                                          f"'{metric_filter.get('filterName')}'")]
        problems = []
        for alarm in on_metric:
            problem = alarm_fire_problem(alarm, transformation, FORCED_DIMENSION_VALUES)
            if problem:
                problems.append(Broken("alarm", problem[0], unknown=problem[1]))
                continue
            topics = [action for action in alarm.get("AlarmActions") or () if is_sns_topic_arn(action)]
            if not topics:
                problems.append(Broken("sns-topic", f"alarm '{alarm.get('AlarmName')}' has no SNS topic action"))
            for topic in topics:
                protocols, problem = self.subscribers(topic)
                if problem:
                    problems.append(problem)
                    continue
                return Chain(trail["TrailARN"], log_group.name, log_group.region,
                             metric_filter.get("filterName"), metric_filter.get("filterPattern"),
                             namespace, name, alarm.get("AlarmName"), topic, protocols), []
        return None, problems

    def subscribers(self, topic_arn):
        """(confirmed subscription protocols | None, Broken | None) of one topic."""
        if not self.require_confirmed:
            exists = self.reader.topic_attributes(topic_arn)
            if not exists.ok:
                return None, _topic_read_problem(topic_arn, exists)
            return None, None
        subscriptions = self.reader.subscriptions(topic_arn)
        if not subscriptions.ok:
            return None, _topic_read_problem(topic_arn, subscriptions, link="subscription")
        # A confirmed subscription has an ARN; pending ones read "PendingConfirmation".
        confirmed = [s for s in subscriptions.value if (s.get("SubscriptionArn") or "").startswith("arn:")]
        if confirmed:
            return tuple(sorted({s.get("Protocol") for s in confirmed})), None
        if not subscriptions.value:
            return None, Broken("subscription", f"SNS topic {topic_arn} has no subscriptions")
        pending = ", ".join(sorted({s.get("Protocol") or "?" for s in subscriptions.value}))
        return None, Broken("subscription", f"SNS topic {topic_arn} has only subscriptions pending "
                                            f"confirmation ({pending})")


def _topic_read_problem(topic_arn, evidence, link="sns-topic"):
    # SNS answers NotFound for a deleted topic: the alarm notifies no one.
    if getattr(evidence, "error_code", None) == "NotFound":
        return Broken("sns-topic", f"SNS topic {topic_arn} does not exist: the alarm notifies no one")
    return Broken(link, evidence.error, unknown=True)


def headline(problems):
    """The broken link a trail reports: unreadable links first (the trail may yet hold), then the
    link reached furthest along the chain."""
    unknown = [p for p in problems if p.unknown]
    return max(unknown or problems, key=lambda p: p.rank)


def decide_root_usage_alarm(account_id, reader, require_confirmed_subscription=True,
                            exclude_assumed_root_ok=True, deadline_seconds=DEFAULT_DEADLINE_SECONDS):
    """Verdict of the ``root-usage-alarm`` filter for one account; each metric filter's pattern is
    decided within ``deadline_seconds``."""
    trails = reader.trails()
    if not trails.ok:
        return could_not_evaluate(f"no trail could be read: {trails.error}", link="trail")
    if not trails.value:
        return non_compliant("no CloudTrail trail: root usage is not recorded", link="trail", trails=[])
    walk = _Walk(account_id, reader, require_confirmed_subscription, exclude_assumed_root_ok, deadline_seconds)
    reports = []
    for trail in trails.value:
        chain, problems, owner = walk.trail(trail)
        arn = trail.get("TrailARN") or trail.get("Name")
        if chain:
            return compliant(_describe_chain(chain), chain=asdict(chain))
        first = headline(problems)
        reports.append({"trail": arn, "home_region": trail.get("HomeRegion"),
                        "organization_trail": bool(trail.get("IsOrganizationTrail")), "owner_account": owner,
                        "link": first.link, "reason": first.reason, "unknown": first.unknown,
                        "problems": [asdict(p) for p in problems]})
    reason = "no complete root-usage alarm chain: " + "; ".join(
        f"{_describe_trail(r)}: {r['reason']}" for r in reports)
    if any(r["unknown"] for r in reports):
        return could_not_evaluate(reason, trails=reports)
    return non_compliant(reason, trails=reports)


def _owner_reader(reader, account_id):
    """(reader of ``account_id``, None) or (None, what access is missing)."""
    for_account = getattr(reader, "for_account", None)
    if for_account is None:
        return None, f"this run has no way to read account {account_id}"
    access = for_account(account_id)
    return (access.value, None) if access.ok else (None, access.error)


def _describe_trail(report):
    kind = "organization trail" if report["organization_trail"] else "trail"
    owner = f" (chain in owner account {report['owner_account']})" if report["owner_account"] else ""
    return f"{kind} {report['trail']}{owner}"


def _describe_chain(chain):
    subscribers = (f"confirmed {', '.join(chain.subscription_protocols)} subscription(s)"
                   if chain.subscription_protocols else "subscriptions not checked")
    if chain.owner_account:
        return (f"root usage alarms through the organization trail {chain.trail_arn}, chain in owner account "
                f"{chain.owner_account}: log group {chain.log_group} "
                f"({chain.log_group_region}) -> metric filter '{chain.filter_name}' "
                f"[{chain.filter_pattern}] -> alarm '{chain.alarm_name}' on "
                f"{chain.metric_namespace}/{chain.metric_name} -> SNS topic {chain.topic_arn} with {subscribers}")
    return (f"root usage alarms through trail {chain.trail_arn} -> log group {chain.log_group} "
            f"({chain.log_group_region}) -> metric filter '{chain.filter_name}' "
            f"[{chain.filter_pattern}] -> alarm '{chain.alarm_name}' on "
            f"{chain.metric_namespace}/{chain.metric_name} -> SNS topic {chain.topic_arn} with {subscribers}"
            + (f"; the pattern also alarms on {', '.join(chain.pattern_also_alarms_on)}"
               if chain.pattern_also_alarms_on else ""))
