"""The alarm-chain verdict, one broken link at a time (pure: no AWS, no c7n)."""
import pytest

from chain_world import (
    ACCOUNT, LOG_GROUP, LOG_GROUP_ARN, OTHER_ACCOUNT, REGION, TOPIC_ARN, TRAIL_ARN, World, alarm, error,
    metric_filter, subscription, trail)
from rootguard_filters.controls.alarm_chain import CIS_PATTERN, REAL_ROOT_PATTERN
from rootguard_filters.decide.alarm_chain import (
    decide_root_usage_alarm, management_read_values, parse_log_group_arn)
from rootguard_filters.logic.root_usage import is_cloudtrail_record
from rootguard_filters.verdict import COMPLIANT, COULD_NOT_EVALUATE, NON_COMPLIANT


def decide(world, **options):
    return decide_root_usage_alarm(ACCOUNT, world, **options)


def only_trail(verdict):
    (report,) = verdict.details["trails"]
    return report


class TestCompleteChain:
    def test_complete_chain_is_compliant_and_named_link_by_link(self):
        verdict = decide(World())
        assert verdict.status == COMPLIANT
        chain = verdict.details["chain"]
        assert chain == {
            "trail_arn": TRAIL_ARN, "log_group": LOG_GROUP, "log_group_region": REGION,
            "filter_name": "root-usage", "filter_pattern": CIS_PATTERN,
            "metric_namespace": "CISBenchmark", "metric_name": "RootAccountUsage",
            "alarm_name": "root-usage", "topic_arn": TOPIC_ARN, "subscription_protocols": ("email",),
            "pattern_also_alarms_on": ("AssumeRoot session actions",), "owner_account": None}
        assert TRAIL_ARN in verdict.reason and "'root-usage'" in verdict.reason

    def test_reordered_requoted_pattern_covers(self):
        world = World()
        world.filters[(REGION, LOG_GROUP)] = [metric_filter(
            pattern='{($.eventType!=AwsServiceEvent)&&($.userIdentity.invokedBy NOT EXISTS)&&'
                    '($.userIdentity.type=Root)}')]
        assert decide(world).status == COMPLIANT

    def test_complete_chain_costs_one_call_per_link(self):
        world = World()
        decide(world)
        assert [call for call, _ in world.calls] == [
            "DescribeTrails", "GetTrailStatus", "GetEventSelectors", "DescribeMetricFilters",
            "DescribeAlarmsForMetric", "ListSubscriptionsByTopic"]


class TestTrailLinks:
    def test_no_trail_is_non_compliant(self):
        world = World()
        world.trail_list = []
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert "no CloudTrail trail" in verdict.reason

    def test_single_region_trail_is_broken_without_further_calls(self):
        world = World()
        world.trail_list = [trail(multi_region=False)]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert only_trail(verdict)["link"] == "trail"
        assert "single-region" in verdict.reason
        assert [call for call, _ in world.calls] == ["DescribeTrails"]

    def test_trail_not_logging(self):
        world = World()
        world.statuses[TRAIL_ARN] = {"IsLogging": False}
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert only_trail(verdict)["link"] == "logging"
        assert "not logging" in verdict.reason

    def test_status_without_is_logging_is_unreadable_not_not_logging(self):
        world = World()
        world.statuses[TRAIL_ARN] = {"LatestDeliveryTime": "2026-01-05T10:00:00Z"}
        verdict = decide(world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert only_trail(verdict)["link"] == "logging"
        assert "cloudtrail:GetTrailStatus: unreadable response: no IsLogging" in verdict.reason
        assert "not logging" not in verdict.reason

    def test_selectors_answer_without_either_selector_list_is_unreadable(self):
        world = World()
        world.selectors[TRAIL_ARN] = {"TrailARN": TRAIL_ARN}
        verdict = decide(world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert only_trail(verdict)["link"] == "management-events"
        assert "cloudtrail:GetEventSelectors: unreadable response" in verdict.reason

    def test_empty_event_selector_list_records_no_management_events(self):
        # AWS answers an empty list for a trail whose selectors were all removed: a real finding
        world = World()
        world.selectors[TRAIL_ARN] = {"TrailARN": TRAIL_ARN, "EventSelectors": []}
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert "trail records no management events" in verdict.reason

    @pytest.mark.parametrize("read_write, text", [
        ("WriteOnly", "only write management events"),
        ("ReadOnly", "only read-only management events"),
    ])
    def test_basic_selector_recording_half_the_management_events(self, read_write, text):
        world = World()
        world.selectors[TRAIL_ARN]["EventSelectors"][0]["ReadWriteType"] = read_write
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert only_trail(verdict)["link"] == "management-events"
        assert text in verdict.reason

    def test_basic_selector_without_management_events(self):
        world = World()
        world.selectors[TRAIL_ARN]["EventSelectors"][0]["IncludeManagementEvents"] = False
        verdict = decide(world)
        assert "records no management events" in verdict.reason

    def test_advanced_selector_with_read_only_restriction_is_broken(self):
        world = World()
        world.selectors[TRAIL_ARN] = {"TrailARN": TRAIL_ARN, "AdvancedEventSelectors": [{
            "Name": "writes", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "readOnly", "Equals": ["false"]}]}]}
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert "only write management events" in verdict.reason

    def test_advanced_management_selector_without_read_only_holds(self):
        world = World()
        world.selectors[TRAIL_ARN] = {"TrailARN": TRAIL_ARN, "AdvancedEventSelectors": [{
            "Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]}
        assert decide(world).status == COMPLIANT

    def test_read_only_and_write_only_selectors_together_record_everything(self):
        recorded, _ = management_read_values({"AdvancedEventSelectors": [
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                {"Field": "readOnly", "Equals": ["true"]}]},
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                {"Field": "readOnly", "NotEquals": ["true"]}]}]})
        assert recorded == {"true", "false"}

    def test_excluded_management_event_source_counts_for_nothing(self):
        world = World()
        world.selectors[TRAIL_ARN]["EventSelectors"][0]["ExcludeManagementEventSources"] = ["kms.amazonaws.com"]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert "excludes management events from kms.amazonaws.com" in verdict.reason

    def test_trail_without_cloudwatch_logs(self):
        world = World()
        world.trail_list = [trail(log_group_arn=None)]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert only_trail(verdict)["link"] == "cloudwatch-logs"
        assert "does not deliver to CloudWatch Logs" in verdict.reason

    def test_organization_trail_without_a_way_into_the_owner_is_could_not_evaluate(self):
        world = World()
        org_arn = f"arn:aws:cloudtrail:{REGION}:{OTHER_ACCOUNT}:trail/org"
        world.trail_list = [trail(arn=org_arn, organization=True,
                                  log_group_arn=f"arn:aws:logs:{REGION}:{OTHER_ACCOUNT}:log-group:org:*")]
        world.statuses = {org_arn: {"IsLogging": True}}
        verdict = decide(world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert f"organization trail {org_arn} (chain in owner account {OTHER_ACCOUNT})" in verdict.reason
        assert f"in owner account {OTHER_ACCOUNT}: this run has no way to read account" in verdict.reason
        # the member reads what it may of the trail, and nothing of the owner's log group
        assert "DescribeMetricFilters" not in [call for call, _ in world.calls]

    def test_organization_trail_owned_by_this_account_is_evaluated(self):
        world = World()
        world.trail_list = [trail(organization=True)]
        assert decide(world).status == COMPLIANT

    def test_log_group_in_another_account_is_could_not_evaluate(self):
        world = World()
        world.trail_list = [trail(log_group_arn=f"arn:aws:logs:{REGION}:{OTHER_ACCOUNT}:log-group:central:*")]
        verdict = decide(world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert f"log group central is in account {OTHER_ACCOUNT}" in verdict.reason

    def test_trail_homed_elsewhere_reads_its_log_group_in_the_log_group_region(self):
        world = World()
        arn = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/eu"
        world.trail_list = [trail(arn=arn, home="eu-west-1",
                                  log_group_arn=f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:eu-trail:*")]
        world.statuses[arn] = {"IsLogging": True}
        world.selectors[arn] = world.selectors[TRAIL_ARN]
        world.filters[("eu-west-1", "eu-trail")] = [metric_filter(log_group="eu-trail")]
        world.alarms[("eu-west-1", "CISBenchmark", "RootAccountUsage")] = [alarm()]
        verdict = decide(world)
        assert verdict.status == COMPLIANT
        assert verdict.details["chain"]["log_group_region"] == "eu-west-1"
        assert ("DescribeMetricFilters", ("eu-west-1", "eu-trail")) in world.calls

    def test_unreadable_trail_list_is_could_not_evaluate_naming_the_call(self):
        world = World()
        world.trail_list = error("cloudtrail:DescribeTrails")
        verdict = decide(world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert "cloudtrail:DescribeTrails failed: AccessDenied" in verdict.reason


class TestMetricFilterLink:
    def test_no_metric_filter(self):
        world = World()
        world.filters[(REGION, LOG_GROUP)] = []
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert only_trail(verdict)["link"] == "metric-filter"
        assert f"log group {LOG_GROUP} has no metric filter" in verdict.reason

    def test_pattern_missing_failed_sign_ins_does_not_cover(self):
        world = World()
        world.filters[(REGION, LOG_GROUP)] = [metric_filter(
            name="x", pattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
                              '$.eventType != "AwsServiceEvent" && $.responseElements.ConsoleLogin != "Failure" }')]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert "metric filter 'x' pattern does not cover root usage: root RunInstances" in verdict.reason
        assert "without $.responseElements.ConsoleLogin would not alarm" in verdict.reason
        # '!=' on an absent field is false: any root API call (no ConsoleLogin response) escapes
        counterexample = only_trail(verdict)["problems"][0]["counterexample"]
        assert is_cloudtrail_record(counterexample) and "responseElements" not in counterexample
        assert counterexample["eventType"] == "AwsApiCall" and counterexample["userIdentity"]["type"] == "Root"
        assert not [call for call, _ in world.calls if call == "DescribeAlarmsForMetric"]

    def test_malformed_pattern_is_reported_and_does_not_count(self):
        world = World()
        world.filters[(REGION, LOG_GROUP)] = [metric_filter(name="broken", pattern='{ $.userIdentity.type = ')]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert "metric filter 'broken' pattern is malformed" in verdict.reason

    def test_malformed_pattern_beside_a_good_filter_is_compliant(self):
        world = World()
        world.filters[(REGION, LOG_GROUP)].insert(0, metric_filter(name="broken", pattern="{ $.a = "))
        assert decide(world).status == COMPLIANT

    def test_pattern_leaving_out_assume_root_sessions_is_ok_by_default(self):
        world = World()
        world.filters[(REGION, LOG_GROUP)] = [metric_filter(pattern=REAL_ROOT_PATTERN)]
        assert decide(world).status == COMPLIANT
        verdict = decide(world.copy(), exclude_assumed_root_ok=False)
        assert verdict.status == NON_COMPLIANT
        assert "(an AssumeRoot session action; exclude-assumed-root-ok is false) would not alarm" in verdict.reason
        assert only_trail(verdict)["problems"][0]["counterexample"]["userIdentity"]["sessionContext"] == {
            "assumedRoot": "true"}

    def test_denied_metric_filter_listing_is_could_not_evaluate(self):
        world = World()
        world.filters[(REGION, LOG_GROUP)] = error("logs:DescribeMetricFilters", "AccessDeniedException")
        verdict = decide(world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert "logs:DescribeMetricFilters failed: AccessDeniedException" in verdict.reason


class TestAlarmLinks:
    def test_alarm_on_another_metric_name_does_not_count(self):
        world = World()
        world.alarms[(REGION, "CISBenchmark", "RootAccountUsage")] = [alarm(metric="SomethingElse")]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert only_trail(verdict)["link"] == "alarm"
        assert "no alarm on metric CISBenchmark/RootAccountUsage of metric filter 'root-usage'" in verdict.reason

    def test_alarm_on_another_namespace_does_not_count(self):
        world = World()
        world.alarms[(REGION, "CISBenchmark", "RootAccountUsage")] = [alarm(namespace="Other")]
        assert decide(world).status == NON_COMPLIANT

    def test_alarm_without_sns_action(self):
        world = World()
        world.alarms[(REGION, "CISBenchmark", "RootAccountUsage")] = [
            alarm(actions=[f"arn:aws:automate:{REGION}:ec2:stop"])]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert only_trail(verdict)["link"] == "sns-topic"
        assert "alarm 'root-usage' has no SNS topic action" in verdict.reason

    def test_alarm_with_actions_disabled(self):
        world = World()
        world.alarms[(REGION, "CISBenchmark", "RootAccountUsage")] = [alarm(ActionsEnabled=False)]
        assert "has its actions disabled" in decide(world).reason

    @pytest.mark.parametrize("extra, text", [
        ({"Threshold": 5.0}, "fires when Sum >= 5; one root action gives 1"),
        ({"ComparisonOperator": "GreaterThanThreshold"}, "fires when Sum > 1; one root action gives 1"),
        ({"EvaluationPeriods": 3}, "needs 3 breaching datapoints"),
        ({"ComparisonOperator": "LessThanThreshold"}, "fires when Sum < 1; one root action gives 1"),
    ])
    def test_alarm_that_one_root_action_does_not_trigger(self, extra, text):
        world = World()
        world.alarms[(REGION, "CISBenchmark", "RootAccountUsage")] = [alarm(**extra)]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert text in verdict.reason

    def test_denied_alarm_listing_is_could_not_evaluate(self):
        world = World()
        world.alarms[(REGION, "CISBenchmark", "RootAccountUsage")] = error("cloudwatch:DescribeAlarmsForMetric")
        verdict = decide(world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert "cloudwatch:DescribeAlarmsForMetric failed" in verdict.reason


class TestSubscriptionLink:
    def test_topic_with_only_pending_subscriptions(self):
        world = World()
        world.subs[TOPIC_ARN] = [subscription(confirmed=False), subscription("sms", confirmed=False)]
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert only_trail(verdict)["link"] == "subscription"
        assert f"SNS topic {TOPIC_ARN} has only subscriptions pending confirmation (email, sms)" in verdict.reason

    def test_topic_with_no_subscriptions(self):
        world = World()
        world.subs[TOPIC_ARN] = []
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        assert f"SNS topic {TOPIC_ARN} has no subscriptions" in verdict.reason

    def test_pending_subscription_accepted_when_confirmation_not_required(self):
        world = World()
        world.subs[TOPIC_ARN] = [subscription(confirmed=False)]
        verdict = decide(world, require_confirmed_subscription=False)
        assert verdict.status == COMPLIANT
        assert verdict.details["chain"]["subscription_protocols"] is None
        assert "ListSubscriptionsByTopic" not in [call for call, _ in world.calls]

    def test_second_topic_with_a_confirmed_subscription_completes_the_chain(self):
        world = World()
        other = f"arn:aws:sns:{REGION}:{ACCOUNT}:pager"
        world.alarms[(REGION, "CISBenchmark", "RootAccountUsage")] = [alarm(actions=[TOPIC_ARN, other])]
        world.subs[TOPIC_ARN] = [subscription(confirmed=False)]
        world.subs[other] = [subscription("https", topic=other)]
        verdict = decide(world)
        assert verdict.status == COMPLIANT
        assert verdict.details["chain"]["topic_arn"] == other


class TestSeveralTrails:
    def second_trail(self, world, name="second"):
        arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}"
        world.trail_list.append(trail(arn=arn))
        world.statuses[arn] = {"IsLogging": True}
        world.selectors[arn] = world.selectors[TRAIL_ARN]
        return arn

    def test_one_good_trail_among_broken_ones_is_compliant(self):
        world = World()
        world.trail_list.insert(0, trail(arn=f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/local",
                                         multi_region=False))
        verdict = decide(world)
        assert verdict.status == COMPLIANT
        assert verdict.details["chain"]["trail_arn"] == TRAIL_ARN

    def test_each_broken_trail_reports_its_first_broken_link(self):
        world = World()
        second = self.second_trail(world)
        world.statuses[second] = {"IsLogging": False}
        world.subs[TOPIC_ARN] = []
        verdict = decide(world)
        assert verdict.status == NON_COMPLIANT
        links = {r["trail"]: r["link"] for r in verdict.details["trails"]}
        assert links == {TRAIL_ARN: "subscription", second: "logging"}

    def test_api_error_on_one_trail_with_another_complete_is_compliant(self):
        world = World()
        broken = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/a-first"
        world.trail_list.insert(0, trail(arn=broken))
        world.statuses[broken] = error("cloudtrail:GetTrailStatus")
        assert decide(world).status == COMPLIANT

    def test_api_error_on_one_trail_and_broken_other_is_could_not_evaluate(self):
        world = World()
        second = self.second_trail(world)
        world.statuses[second] = error("cloudtrail:GetTrailStatus")
        world.trail_list[0]["IsMultiRegionTrail"] = False
        verdict = decide(world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert "cloudtrail:GetTrailStatus failed: AccessDenied" in verdict.reason
        assert "single-region" in verdict.reason

    def test_broken_link_reached_furthest_heads_a_trail_with_several_filters(self):
        world = World()
        world.filters[(REGION, LOG_GROUP)].insert(0, metric_filter(name="logins-only",
                                                                   pattern='{ $.eventName = "ConsoleLogin" }'))
        world.alarms[(REGION, "CISBenchmark", "RootAccountUsage")] = []
        verdict = decide(world)
        report = only_trail(verdict)
        assert report["link"] == "alarm"
        assert {p["link"] for p in report["problems"]} == {"metric-filter", "alarm"}


class TestLogGroupArn:
    def test_parses_region_account_and_name(self):
        group = parse_log_group_arn(LOG_GROUP_ARN)
        assert (group.region, group.account_id, group.name) == (REGION, ACCOUNT, LOG_GROUP)

    def test_name_with_slashes_and_no_star(self):
        assert parse_log_group_arn(f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:CloudTrail/Default").name \
            == "CloudTrail/Default"

    def test_rejects_other_arns(self):
        with pytest.raises(ValueError):
            parse_log_group_arn(TOPIC_ARN)

    def test_unreadable_log_group_arn_is_could_not_evaluate(self):
        world = World()
        world.trail_list = [trail(log_group_arn="not-an-arn")]
        assert decide(world).status == COULD_NOT_EVALUATE

