"""The root-usage alarm policies and option schemas, as `custodian validate` sees them."""
from pathlib import Path

import pytest
import yaml
from c7n import schema
from c7n.resources import load_resources

import rootguard_filters.controls.alarm_action  # noqa: F401  (registers the action)
import rootguard_filters.controls.alarm_chain  # noqa: F401  (registers the filter)
from rootguard_filters import catalog

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def custodian_schema():
    load_resources(("aws.account",))
    return schema.generate()


def errors_of(policy, custodian_schema):
    return [str(e) for e in schema.validate({"policies": [policy]}, custodian_schema)]


def load(relative):
    return yaml.safe_load((REPO / relative).read_text())


@pytest.mark.parametrize("relative", ["policies/account.yml", "remediation/root-usage-alarm.yml"])
def test_policy_files_validate(relative, custodian_schema):
    assert schema.validate(load(relative), custodian_schema) == []


def test_audit_policy_is_read_only_and_carries_the_catalogue_metadata():
    policy = next(p for p in load("policies/account.yml")["policies"] if p["name"] == "root-usage-alarm-missing")
    control = catalog.get(policy["name"])
    assert policy["metadata"] == control.policy_metadata()
    assert [f["type"] for f in policy["filters"]] == list(control.filters)
    assert "actions" not in policy and policy["description"].strip()


def test_audit_policy_permissions_are_exactly_the_chain_reads():
    from c7n.config import Config
    from c7n.policy import Policy
    data = next(p for p in load("policies/account.yml")["policies"] if p["name"] == "root-usage-alarm-missing")
    permissions = Policy(data, Config.empty()).get_permissions()
    assert {"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
            "logs:DescribeMetricFilters", "cloudwatch:DescribeAlarmsForMetric",
            "sns:ListSubscriptionsByTopic"} <= permissions
    assert not {p for p in permissions if p.split(":")[1].startswith(("Put", "Create", "Subscribe"))}


@pytest.mark.parametrize("filter_options, bad", [
    ({"require-confirmed-subscription": "yes"}, "require-confirmed-subscription"),
    ({"exclude-assumed-root-ok": 1}, "exclude-assumed-root-ok"),
    ({"log-account-role": "audit"}, "log-account-role"),
    ({"owner-role": "rootguard-audit"}, "rootguard-audit"),
    ({"owner-role": "arn:aws:iam::{account}:role/audit"}, "owner-role"),
    ({"deadline-seconds": 0}, "deadline-seconds"),
    ({"deadline-seconds": "5"}, "deadline-seconds"),
    ({"deadline-seconds": 3600}, "deadline-seconds"),
])
def test_filter_schema_rejects_bad_options(filter_options, bad, custodian_schema):
    policy = {"name": "p", "resource": "aws.account", "filters": [{"type": "root-usage-alarm", **filter_options}]}
    errors = errors_of(policy, custodian_schema)
    assert errors and bad in " ".join(errors)


@pytest.mark.parametrize("action_options, bad", [
    ({"tier": "strict"}, "'strict' is not one of"),
    ({"email": "not-an-address"}, "not-an-address"),
    ({"topic-arn": "arn:aws:sqs:us-east-1:111122223333:q"}, "arn:aws:sqs"),
    ({"assume-root-alarm": "true"}, "assume-root-alarm"),
])
def test_action_schema_rejects_bad_options(action_options, bad, custodian_schema):
    policy = {"name": "p", "resource": "aws.account",
              "actions": [{"type": "create-root-usage-alarm", **action_options}]}
    errors = errors_of(policy, custodian_schema)
    assert errors and bad in " ".join(errors)
