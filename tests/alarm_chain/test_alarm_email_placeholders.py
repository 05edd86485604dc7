"""create-root-usage-alarm refuses placeholder addresses, as set-alternate-contact does: a "restored" chain that
mails security@example.com notifies nobody. The shipped remediation files take the address from a variable."""
import boto3
import pytest
import yaml
from c7n.config import Config
from c7n.exceptions import PolicyExecutionError, PolicyValidationError
from c7n.policy import Policy
from moto import mock_aws

import rootguard_filters
from rootguard_filters.plumbing.addresses import placeholder_email

from test_moto_create_root_usage_alarm import aws, make_trail  # noqa: F401  (fixture and helper)
from alarm_helpers import run_policy

rootguard_filters.register()
REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def policy(email):
    return Policy({"name": "root-usage-alarm-create", "resource": "aws.account",
                   "actions": [{"type": "create-root-usage-alarm", "email": email}]}, Config.empty())


@pytest.mark.parametrize("email", ["security@example.com", "sec@EXAMPLE.org", "ops@mail.example.net",
                                   "root@alerts.invalid", "a@b.test", "x@corp.example"])
def test_placeholder_addresses_fail_validation_naming_the_option(email):
    with pytest.raises(PolicyValidationError, match=r"create-root-usage-alarm: email .* is a placeholder"):
        policy(email).validate()


@pytest.mark.parametrize("email", ["security@your-company.com", "{rootguard_alarm_email}"])
def test_real_addresses_and_variables_validate(email):
    policy(email).validate()


@pytest.mark.parametrize("path", ["remediation/realtime-drift.yml", "remediation/root-usage-alarm.yml"])
def test_shipped_remediation_files_take_the_address_from_a_variable(path):
    for data in yaml.safe_load((REPO / path).read_text())["policies"]:
        for action in data.get("actions", []):
            if action.get("type") == "create-root-usage-alarm" and "email" in action:
                assert action["email"] == "{rootguard_alarm_email}"
                assert not placeholder_email(action["email"])


def test_an_unset_address_variable_stops_before_any_write(aws, tmp_path):  # noqa: F811
    session, counter = aws
    make_trail(aws)
    data = {"name": "root-usage-alarm-create", "resource": "aws.account",
            "actions": [{"type": "create-root-usage-alarm", "email": "{rootguard_alarm_email}"}]}
    with pytest.raises(PolicyExecutionError, match="rootguard_alarm_email.* is not set"):
        run_policy(data, session, tmp_path, "123456789012")
    assert session.client("sns").list_topics()["Topics"] == []
    assert session.client("logs").describe_metric_filters()["metricFilters"] == []
