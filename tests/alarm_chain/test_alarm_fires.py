"""Does one root-usage event make the alarm fire and notify? (pure: alarm_fire_problem and the chain)."""
import pytest

from chain_world import ACCOUNT, REGION, TOPIC_ARN, World, alarm, error, metric_filter
from rootguard_filters.decide.alarm_chain import (
    FORCED_DIMENSION_VALUES, alarm_fire_problem, decide_root_usage_alarm)
from rootguard_filters.verdict import COMPLIANT, COULD_NOT_EVALUATE, NON_COMPLIANT

ALARM_KEY = (REGION, "CISBenchmark", "RootAccountUsage")


def transformation(**extra):
    return {"metricName": "RootAccountUsage", "metricNamespace": "CISBenchmark", "metricValue": "1", **extra}


def problem(alarm_extra=None, **transformation_extra):
    return alarm_fire_problem(alarm(**(alarm_extra or {})), transformation(**transformation_extra),
                              FORCED_DIMENSION_VALUES)


class TestFires:
    @pytest.mark.parametrize("alarm_extra, transformation_extra", [
        ({}, {}),
        ({"Statistic": "SampleCount"}, {}),
        ({"Statistic": "Maximum"}, {}),
        ({"Statistic": "Minimum"}, {}),              # no defaultValue: every datapoint is the root event's 1
        ({"Statistic": "Average"}, {}),
        ({"Statistic": "Sum"}, {"defaultValue": 0}),
        ({"Statistic": "Maximum"}, {"defaultValue": 0}),
        ({"ComparisonOperator": "GreaterThanThreshold", "Threshold": 0.0}, {}),
        ({"Threshold": 5.0}, {"metricValue": "5"}),
        ({"EvaluationPeriods": 3, "DatapointsToAlarm": 1}, {}),
        ({"ExtendedStatistic": "p99", "Statistic": None}, {}),
        ({"Dimensions": [{"Name": "Identity", "Value": "Root"}]}, {"dimensions": {"Identity": "$.userIdentity.type"}}),
        ({"ComparisonOperator": "LessThanOrEqualToThreshold", "Threshold": -1.0}, {"metricValue": "-1"}),
        ({"Unit": "Count"}, {"unit": "Count"}),
        ({"Unit": "None"}, {}),
        # every later root action notifies too: the alarm leaves ALARM while root is quiet
        ({"TreatMissingData": "missing"}, {}),
        ({"TreatMissingData": None}, {}),            # absent is "missing"
        ({"EvaluationPeriods": 3, "DatapointsToAlarm": 1, "TreatMissingData": "missing"}, {}),
        ({"ExtendedStatistic": "p99", "Statistic": None, "EvaluateLowSampleCountPercentile": "evaluate"}, {}),
        ({"Period": 60}, {}),
        ({"Period": 10}, {}),
    ])
    def test_one_root_action_fires_the_alarm(self, alarm_extra, transformation_extra):
        assert problem(alarm_extra, **transformation_extra) is None


class TestDoesNotFire:
    @pytest.mark.parametrize("alarm_extra, transformation_extra, text", [
        ({"ActionsEnabled": False}, {}, "has its actions disabled"),
        ({"EvaluationPeriods": 2}, {}, "needs 2 breaching datapoints"),
        ({"EvaluationPeriods": 5, "DatapointsToAlarm": 3}, {}, "needs 3 breaching datapoints"),
        ({"Threshold": 2.0}, {}, "fires when Sum >= 2; one root action gives 1"),
        ({"ComparisonOperator": "GreaterThanThreshold"}, {}, "fires when Sum > 1; one root action gives 1"),
        ({}, {"metricValue": "0"}, "one root action gives 0"),
        ({}, {"metricValue": "0.5"}, "one root action gives 0.5"),
        ({"Statistic": "Minimum"}, {"defaultValue": 0}, "with another event in the period publishing defaultValue 0"),
        ({"Statistic": "Average"}, {"defaultValue": 0}, "with another event in the period publishing defaultValue 0"),
        ({"Statistic": "Sum"}, {"defaultValue": -1}, "with another event in the period publishing defaultValue -1"),
        ({"Statistic": "Sum"}, {"defaultValue": 1}, "other events alone give"),
        ({"Statistic": "SampleCount"}, {"defaultValue": 0}, "other events alone give"),
        ({"Statistic": "Maximum", "Threshold": 0.0}, {"defaultValue": 0}, "sits in ALARM without root usage"),
        ({"TreatMissingData": "breaching"}, {}, "treats missing data as breaching"),
        ({"ComparisonOperator": "LessThanThreshold"}, {}, "fires when Sum < 1; one root action gives 1"),
        ({}, {"metricValue": "$.requestParameters.count"}, "taken from the event"),
        ({"Dimensions": [{"Name": "Region", "Value": "us-east-1"}]}, {}, "never receives root usage"),
        ({}, {"dimensions": {"Region": "$.awsRegion"}}, "never receives root usage"),
        ({"Dimensions": [{"Name": "Region", "Value": "us-east-1"}]}, {"dimensions": {"Region": "$.awsRegion"}},
         "a root event with another value does not reach it"),
        ({"Unit": "Seconds"}, {}, "watches unit Seconds but the metric filter publishes None"),
        # the first root action fires, later ones notify nobody: the setting is named
        ({"TreatMissingData": "ignore"}, {},
         "TreatMissingData 'ignore' and the metric filter has no defaultValue: after the first root action"),
        ({"TreatMissingData": "ignore"}, {"defaultValue": 0}, "only if other events are logged in between"),
        ({"ExtendedStatistic": "p99", "Statistic": None, "EvaluateLowSampleCountPercentile": "ignore"}, {},
         "EvaluateLowSampleCountPercentile 'ignore'"),
        ({"ExtendedStatistic": "tm90", "Statistic": None, "EvaluateLowSampleCountPercentile": "ignore"}, {},
         "never changes state on it"),
    ])
    def test_each_broken_case_names_its_reason(self, alarm_extra, transformation_extra, text):
        reason, unknown = problem(alarm_extra, **transformation_extra)
        assert text in reason and not unknown

    @pytest.mark.parametrize("alarm_extra, transformation_extra", [
        ({"ComparisonOperator": "GreaterThanUpperThreshold", "Threshold": None, "ThresholdMetricId": "ad1"}, {}),
        ({"ExtendedStatistic": "p90", "Statistic": None}, {"defaultValue": 0}),
        ({"ExtendedStatistic": "TS(10%:90%)", "Statistic": None}, {}),
        ({"TreatMissingData": "Ignore"}, {}),        # not a value CloudWatch knows
        ({"Period": 45}, {}),
        ({"Period": None}, {}),
        ({"EvaluationPeriods": 0}, {}),
        ({"ExtendedStatistic": "p99", "Statistic": None, "EvaluateLowSampleCountPercentile": "sometimes"}, {}),
    ])
    def test_settings_that_cannot_be_judged_are_unknown_not_holding(self, alarm_extra, transformation_extra):
        reason, unknown = problem(alarm_extra, **transformation_extra)
        assert unknown and "cannot be decided" in reason


class TestChain:
    def test_alarm_broken_by_default_value_is_non_compliant_naming_it(self):
        world = World()
        world.filters[(REGION, "aws-cloudtrail-logs-main")][0]["metricTransformations"][0]["defaultValue"] = 1.0
        verdict = decide_root_usage_alarm(ACCOUNT, world)
        assert verdict.status == NON_COMPLIANT
        assert "sits in ALARM without root usage" in verdict.reason

    def test_alarm_that_ignores_missing_data_is_non_compliant_naming_the_setting(self):
        world = World()
        world.alarms[ALARM_KEY] = [alarm(TreatMissingData="ignore")]
        verdict = decide_root_usage_alarm(ACCOUNT, world)
        assert verdict.status == NON_COMPLIANT
        assert "TreatMissingData 'ignore'" in verdict.reason
        assert "every later root action notifies nobody" in verdict.reason

    def test_second_alarm_on_the_metric_that_rearms_keeps_the_chain(self):
        world = World()
        world.alarms[ALARM_KEY] = [alarm(name="sticky", TreatMissingData="ignore"), alarm(name="rearming")]
        verdict = decide_root_usage_alarm(ACCOUNT, world)
        assert verdict.status == COMPLIANT
        assert verdict.details["chain"]["alarm_name"] == "rearming"

    def test_anomaly_band_alarm_is_could_not_evaluate(self):
        world = World()
        world.alarms[ALARM_KEY] = [alarm(ComparisonOperator="GreaterThanUpperThreshold", Threshold=None,
                                         ThresholdMetricId="ad1")]
        assert decide_root_usage_alarm(ACCOUNT, world).status == COULD_NOT_EVALUATE

    def test_deleted_topic_is_non_compliant_when_subscriptions_are_read(self):
        world = World()
        world.subs.clear()
        world.topics.clear()
        verdict = decide_root_usage_alarm(ACCOUNT, world)
        assert verdict.status == NON_COMPLIANT
        assert f"SNS topic {TOPIC_ARN} does not exist" in verdict.reason

    def test_deleted_topic_is_non_compliant_without_subscription_check(self):
        world = World()
        world.subs.clear()
        world.topics.clear()
        verdict = decide_root_usage_alarm(ACCOUNT, world, require_confirmed_subscription=False)
        assert verdict.status == NON_COMPLIANT
        assert f"SNS topic {TOPIC_ARN} does not exist" in verdict.reason
        assert ("GetTopicAttributes", TOPIC_ARN) in world.calls

    def test_existing_topic_without_subscription_check_is_compliant(self):
        world = World()
        verdict = decide_root_usage_alarm(ACCOUNT, world, require_confirmed_subscription=False)
        assert verdict.status == COMPLIANT
        assert "ListSubscriptionsByTopic" not in [call for call, _ in world.calls]

    def test_unreadable_topic_is_could_not_evaluate(self):
        world = World()
        world.topics = {TOPIC_ARN: error("sns:GetTopicAttributes")}
        world.subs.clear()

        def denied(topic_arn):
            world.calls.append(("GetTopicAttributes", topic_arn))
            return error("sns:GetTopicAttributes")
        world.topic_attributes = denied
        verdict = decide_root_usage_alarm(ACCOUNT, world, require_confirmed_subscription=False)
        assert verdict.status == COULD_NOT_EVALUATE

    def test_broader_pattern_chain_is_compliant_and_says_what_else_alarms(self):
        world = World()
        world.filters[(REGION, "aws-cloudtrail-logs-main")] = [
            metric_filter(pattern='{ $.userIdentity.type = "Root" }')]
        verdict = decide_root_usage_alarm(ACCOUNT, world)
        assert verdict.status == COMPLIANT
        assert "also alarms on service-invoked root calls, AWS service events" in verdict.reason

    def test_undecidable_pattern_is_could_not_evaluate(self):
        world = World()
        world.filters[(REGION, "aws-cloudtrail-logs-main")] = [metric_filter(
            pattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
                    '($.eventName != %^a% || $.eventName != %^b%) }')]
        verdict = decide_root_usage_alarm(ACCOUNT, world)
        assert verdict.status == COULD_NOT_EVALUATE
        assert "coverage cannot be decided" in verdict.reason


class TestLaterRootActions:
    """Every root action after the first notifies too: the alarm leaves ALARM while root is quiet."""

    @pytest.mark.parametrize("statistic", ["Sum", "SampleCount", "Maximum", "Minimum", "Average"])
    def test_low_sample_setting_is_ignored_for_plain_statistics(self, statistic):
        # CloudWatch applies EvaluateLowSampleCountPercentile to percentiles only
        assert problem({"Statistic": statistic, "EvaluateLowSampleCountPercentile": "ignore"}) is None

    def test_percentile_low_sample_reason_names_the_alarm_and_the_statistic(self):
        reason, unknown = problem({"ExtendedStatistic": "p99", "Statistic": None,
                                   "EvaluateLowSampleCountPercentile": "ignore"})
        assert reason.startswith("alarm 'root-usage' uses percentile statistic 'p99' with") and not unknown

    def test_ignore_reason_names_the_alarm(self):
        reason, _ = problem({"TreatMissingData": "ignore"})
        assert reason.startswith("alarm 'root-usage' has TreatMissingData 'ignore'")
        reason, _ = problem({"TreatMissingData": "ignore"}, defaultValue=0)
        assert reason.startswith("alarm 'root-usage' has TreatMissingData 'ignore': it leaves ALARM")
        assert "(defaultValue 0)" in reason

    def test_unknown_missing_data_value_lists_the_ones_cloudwatch_knows(self):
        reason, unknown = problem({"TreatMissingData": "Ignore"})
        assert unknown and "(CloudWatch knows missing, notBreaching, breaching, ignore)" in reason
        assert reason.startswith("alarm 'root-usage' has TreatMissingData 'Ignore'")

    @pytest.mark.parametrize("period", [0, -60, False, True, 90, "300", 59])
    def test_periods_cloudwatch_does_not_accept_cannot_be_judged(self, period):
        reason, unknown = problem({"Period": period})
        assert unknown and reason.startswith(f"alarm 'root-usage' has Period {period!r}")

    @pytest.mark.parametrize("period", [10, 20, 30, 60, 300, 86400])
    def test_periods_cloudwatch_accepts_rearm(self, period):
        assert problem({"Period": period}) is None

    @pytest.mark.parametrize("periods", [None, 1, 5])
    def test_evaluation_periods_absent_or_positive_rearm(self, periods):
        assert problem({"EvaluationPeriods": periods, "DatapointsToAlarm": 1}) is None

    @pytest.mark.parametrize("periods", [-1, "2", True])
    def test_evaluation_periods_cloudwatch_does_not_accept_cannot_be_judged(self, periods):
        reason, unknown = problem({"EvaluationPeriods": periods, "DatapointsToAlarm": 1})
        assert unknown and reason.startswith(f"alarm 'root-usage' has EvaluationPeriods {periods!r}")

    def test_percentile_over_a_default_value_names_it(self):
        reason, unknown = problem({"ExtendedStatistic": "p90", "Statistic": None}, defaultValue=0)
        assert unknown and "uses statistic 'p90' over a metric with defaultValue 0:" in reason

    def test_upper_case_percentile_names_are_percentiles(self):
        assert problem({"ExtendedStatistic": "P99", "Statistic": None}) is None

    def test_many_other_events_are_named(self):
        reason, _ = problem({"Statistic": "Average", "Threshold": 0.9}, defaultValue=0.5)
        assert "with another event in the period publishing defaultValue 0.5" in reason

    def test_tiny_default_value_adds_up_over_many_quiet_events(self):
        reason, unknown = problem({"Statistic": "Sum"}, defaultValue=0.001)
        assert "other events alone give" in reason and not unknown

    def test_static_operator_without_a_threshold_cannot_be_judged(self):
        reason, unknown = problem({"Threshold": None})
        assert unknown and "uses 'GreaterThanOrEqualToThreshold'" in reason
