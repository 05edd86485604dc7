"""Members whose trail is an organization trail: the chain is judged in the owner account (pure)."""
from chain_world import ACCOUNT, OTHER_ACCOUNT, REGION, World, alarm, error, metric_filter, subscription, trail
from rootguard_filters.decide.alarm_chain import decide_root_usage_alarm
from rootguard_filters.plumbing.evidence import Evidence
from rootguard_filters.verdict import COMPLIANT, COULD_NOT_EVALUATE, NON_COMPLIANT

OWNER = OTHER_ACCOUNT
ORG_TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{OWNER}:trail/organization-trail"
ORG_GROUP = "aws-controltower/CloudTrailLogs"
ORG_TOPIC = f"arn:aws:sns:{REGION}:{OWNER}:org-root-usage"


def org_trail():
    return trail(arn=ORG_TRAIL_ARN, organization=True,
                 log_group_arn=f"arn:aws:logs:{REGION}:{OWNER}:log-group:{ORG_GROUP}:*")


def owner_world():
    """The management account: its organization trail and a complete chain on its log group."""
    world = World()
    world.trail_list = [org_trail()]
    world.statuses = {ORG_TRAIL_ARN: {"IsLogging": True}}
    world.selectors = {ORG_TRAIL_ARN: {"TrailARN": ORG_TRAIL_ARN, "EventSelectors": [
        {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]}}
    world.filters = {(REGION, ORG_GROUP): [metric_filter(log_group=ORG_GROUP)]}
    world.alarms = {(REGION, "CISBenchmark", "RootAccountUsage"): [alarm(actions=(ORG_TOPIC,))]}
    world.subs = {ORG_TOPIC: [subscription(topic=ORG_TOPIC)]}
    return world


class Member(World):
    """A member whose only trail is the organization trail; ``owner`` answers for the owner account."""

    def __init__(self, owner=None, owner_error=None):
        super().__init__()
        self.trail_list = [org_trail()]
        # GetTrailStatus with the trail's ARN is documented for members; GetEventSelectors is not.
        self.statuses[ORG_TRAIL_ARN] = {"IsLogging": True}
        self.selectors[ORG_TRAIL_ARN] = error("cloudtrail:GetEventSelectors", "TrailNotFoundException")
        self.owner = owner
        self.owner_error = owner_error
        self.asked = []

    def for_account(self, account_id):
        self.asked.append(account_id)
        if self.owner is None:
            return Evidence.failure(self.owner_error or "no role", "NoOwnerRole")
        return Evidence(value=self.owner)


def decide(member):
    return decide_root_usage_alarm(ACCOUNT, member)


def test_complete_owner_chain_makes_the_member_compliant_and_names_it():
    owner = owner_world()
    member = Member(owner)
    verdict = decide(member)
    assert verdict.status == COMPLIANT
    assert f"organization trail {ORG_TRAIL_ARN}, chain in owner account {OWNER}" in verdict.reason
    assert ORG_GROUP in verdict.reason and ORG_TOPIC in verdict.reason
    assert verdict.details["chain"]["owner_account"] == OWNER
    assert member.asked == [OWNER]
    # the owner's links are read in the owner account, not the member
    assert {call for call, _ in owner.calls} >= {"GetTrailStatus", "GetEventSelectors", "DescribeMetricFilters",
                                                 "DescribeAlarmsForMetric", "ListSubscriptionsByTopic"}
    assert [call for call, _ in member.calls] == ["DescribeTrails"]


def test_each_broken_owner_link_is_non_compliant_naming_link_and_owner():
    cases = {
        "subscription": lambda w: w.subs.update({ORG_TOPIC: [subscription(topic=ORG_TOPIC, confirmed=False)]}),
        "logging": lambda w: w.statuses.update({ORG_TRAIL_ARN: {"IsLogging": False}}),
        "metric-filter": lambda w: w.filters.update({(REGION, ORG_GROUP): [metric_filter(
            log_group=ORG_GROUP, pattern='{ $.userIdentity.type = "IAMUser" }')]}),
        "alarm": lambda w: w.alarms.update({(REGION, "CISBenchmark", "RootAccountUsage"): [
            alarm(namespace="Other", actions=(ORG_TOPIC,))]}),
        "management-events": lambda w: w.selectors.update({ORG_TRAIL_ARN: {"EventSelectors": [
            {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}}),
    }
    for link, breaks in cases.items():
        owner = owner_world()
        breaks(owner)
        verdict = decide(Member(owner))
        assert verdict.status == NON_COMPLIANT, link
        (report,) = verdict.details["trails"]
        assert report["link"] == link
        assert report["owner_account"] == OWNER and report["organization_trail"]
        assert f"(chain in owner account {OWNER})" in verdict.reason


def test_unreadable_owner_link_is_could_not_evaluate():
    owner = owner_world()
    owner.filters = {(REGION, ORG_GROUP): error("logs:DescribeMetricFilters", "ThrottlingException")}
    verdict = decide(Member(owner))
    assert verdict.status == COULD_NOT_EVALUATE
    assert "ThrottlingException" in verdict.reason


def test_owner_unreadable_is_could_not_evaluate_with_what_is_missing():
    member = Member(owner_error="no role to read it: set the filter's owner-role")
    verdict = decide(member)
    assert verdict.status == COULD_NOT_EVALUATE
    assert f"in owner account {OWNER}: no role to read it: set the filter's owner-role" in verdict.reason


def test_owner_unreadable_but_member_sees_the_trail_stopped_is_non_compliant():
    member = Member(owner_error="no role")
    member.statuses[ORG_TRAIL_ARN] = {"IsLogging": False}
    verdict = decide(member)
    assert verdict.status == NON_COMPLIANT
    assert verdict.details["trails"][0]["link"] == "logging"
    assert f"owner account {OWNER}" in verdict.reason


def test_owner_unreadable_and_member_status_denied_is_could_not_evaluate():
    member = Member(owner_error="no role")
    member.statuses[ORG_TRAIL_ARN] = error("cloudtrail:GetTrailStatus")
    assert decide(member).status == COULD_NOT_EVALUATE


def test_members_own_complete_chain_counts_beside_a_broken_organization_chain():
    owner = owner_world()
    owner.statuses = {ORG_TRAIL_ARN: {"IsLogging": False}}
    member = Member(owner)
    member.trail_list = [org_trail(), trail()]
    verdict = decide(member)
    assert verdict.status == COMPLIANT
    assert verdict.details["chain"]["owner_account"] is None


def test_broken_own_trail_and_unreadable_owner_is_could_not_evaluate():
    member = Member(owner_error="no role")
    member.trail_list = [org_trail(), trail(multi_region=False)]
    verdict = decide(member)
    assert verdict.status == COULD_NOT_EVALUATE
