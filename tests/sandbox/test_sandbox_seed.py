"""The seeded organization shows each posture through the AWS APIs, and c7n-org runs against it."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from botocore.exceptions import ClientError
from sandbox_helpers import MANAGEMENT, client, member_client

from rootguard_filters.sandbox.seed import POSTURES, ROOT_USAGE_PATTERN, seed_organization
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS

VENV_BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def seeded(sandbox, tmp_path_factory):
    sandbox.reset()
    out = tmp_path_factory.mktemp("seed")
    result = seed_organization(sandbox.endpoint_url, str(out))
    result["by_posture"] = {info["posture"]: acct for acct, info in result["accounts"].items()}
    return result


def clients_for(sandbox, account_id, service):
    return client(sandbox, service) if account_id == MANAGEMENT else member_client(sandbox, account_id, service)


def summary(sandbox, account_id):
    m = clients_for(sandbox, account_id, "iam").get_account_summary()["SummaryMap"]
    return {k: m[k] for k in ("AccountMFAEnabled", "AccountAccessKeysPresent",
                              "AccountSigningCertificatesPresent", "AccountPasswordPresent")}


def root_row(sandbox, account_id):
    iam = clients_for(sandbox, account_id, "iam")
    iam.generate_credential_report()
    return next(csv.DictReader(io.StringIO(iam.get_credential_report()["Content"].decode())))


def scp_covered(sandbox, account_id, policy_id):
    org = client(sandbox, "organizations")
    target = account_id
    while True:
        attached = org.list_policies_for_target(TargetId=target, Filter="SERVICE_CONTROL_POLICY")["Policies"]
        if any(p["Id"] == policy_id for p in attached):
            return True
        parent = org.list_parents(ChildId=target)["Parents"][0]
        if parent["Type"] == "ROOT":
            return any(p["Id"] == policy_id for p in org.list_policies_for_target(
                TargetId=parent["Id"], Filter="SERVICE_CONTROL_POLICY")["Policies"])
        target = parent["Id"]


def alarm_chain_ok(sandbox, account_id, trail=None):
    """Whether the account's own trail (or ``trail``, read in its owner account) has a complete chain."""
    trail_api = clients_for(sandbox, account_id, "cloudtrail")
    if trail is None:
        (trail,) = trail_api.describe_trails()["trailList"]
    assert trail["IsMultiRegionTrail"] and trail_api.get_trail_status(Name=trail["TrailARN"])["IsLogging"]
    selector = trail_api.get_event_selectors(TrailName=trail["TrailARN"])["EventSelectors"][0]
    assert selector["ReadWriteType"] == "All" and selector["IncludeManagementEvents"]
    group = trail["CloudWatchLogsLogGroupArn"].split(":log-group:")[1].split(":")[0]
    (metric_filter,) = clients_for(sandbox, account_id, "logs").describe_metric_filters(logGroupName=group)["metricFilters"]
    assert metric_filter["filterPattern"] == ROOT_USAGE_PATTERN
    transform = metric_filter["metricTransformations"][0]
    (alarm,) = clients_for(sandbox, account_id, "cloudwatch").describe_alarms_for_metric(
        MetricName=transform["metricName"], Namespace=transform["metricNamespace"])["MetricAlarms"]
    (topic,) = alarm["AlarmActions"]
    subs = clients_for(sandbox, account_id, "sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    return any(s["SubscriptionArn"] != "PendingConfirmation" for s in subs)


def test_seed_files(seeded):
    accounts = yaml.safe_load(open(seeded["accounts_yml"]))["accounts"]
    expected = json.load(open(seeded["expected_json"]))
    assert {a["account_id"] for a in accounts} == set(expected) == set(seeded["accounts"])
    assert sorted(info["posture"] for info in expected.values()) == sorted(POSTURES + ["management"])
    for entry in accounts:
        assert entry["regions"] == ["us-east-1"] and f"posture:{expected[entry['account_id']]['posture']}" in entry["tags"]
        assert entry["role"].startswith(f"arn:aws:iam::{entry['account_id']}:role/")
    assert expected[seeded["by_posture"]["root-access-key"]]["ou_path"] == "Root/Workloads/Prod"


def test_root_credential_postures(sandbox, seeded):
    p = seeded["by_posture"]
    hardware_only = {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0,
                     "AccountSigningCertificatesPresent": 0, "AccountPasswordPresent": 1}
    for posture in ("compliant", "virtual-mfa-only", "broken-alarm-chain", "outside-scp"):
        assert summary(sandbox, p[posture]) == hardware_only, posture
    assert summary(sandbox, MANAGEMENT) == hardware_only
    assert summary(sandbox, p["root-access-key"])["AccountAccessKeysPresent"] == 1
    assert set(summary(sandbox, p["root-credentials-removed"]).values()) == {0}

    row = root_row(sandbox, p["compliant"])
    last_used = datetime.fromisoformat(row["password_last_used"])
    assert abs(datetime.now(timezone.utc) - timedelta(days=200) - last_used) < timedelta(hours=1)
    assert row["mfa_active"] == "true" and row["access_key_1_active"] == "false"

    row = root_row(sandbox, p["root-access-key"])
    assert row["access_key_1_active"] == "true" and row["access_key_2_active"] == "false"
    key_used = datetime.fromisoformat(row["access_key_1_last_used_date"])
    assert abs(datetime.now(timezone.utc) - timedelta(days=3) - key_used) < timedelta(hours=1)

    row = root_row(sandbox, p["root-credentials-removed"])
    assert (row["password_last_used"], row["mfa_active"]) == ("N/A", "false")

    def root_virtual(account_id):
        devices = clients_for(sandbox, account_id, "iam").list_virtual_mfa_devices(
            AssignmentStatus="Assigned")["VirtualMFADevices"]
        return [d for d in devices if d["User"]["Arn"] == f"arn:aws:iam::{account_id}:root"]
    assert root_virtual(p["virtual-mfa-only"]) and not root_virtual(p["compliant"])


def test_alarm_chain_scp_and_contacts(sandbox, seeded):
    p = seeded["by_posture"]
    assert alarm_chain_ok(sandbox, MANAGEMENT)
    (org_trail,) = client(sandbox, "cloudtrail").describe_trails()["trailList"]
    assert org_trail["IsOrganizationTrail"]
    for posture in ("compliant", "root-access-key", "virtual-mfa-only", "outside-scp", "root-credentials-removed"):
        # the organization trail is the member's only trail, shown as AWS shows it to a member
        (trail,) = member_client(sandbox, p[posture], "cloudtrail").describe_trails()["trailList"]
        assert trail == org_trail, posture
        assert seeded["accounts"][p[posture]]["alarm_chain_via"] == "organization"
    member_trails = member_client(sandbox, p["broken-alarm-chain"], "cloudtrail").describe_trails()["trailList"]
    (own,) = [t for t in member_trails if not t["IsOrganizationTrail"]]
    assert [t for t in member_trails if t["IsOrganizationTrail"]] == [org_trail]
    assert not alarm_chain_ok(sandbox, p["broken-alarm-chain"], own)

    policy = client(sandbox, "organizations").describe_policy(PolicyId=seeded["scp_policy_id"])["Policy"]
    statement = json.loads(policy["Content"])["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Condition"]["Null"] == {"aws:AssumedRoot": "true"}
    for posture, account_id in p.items():  # SCPs never apply to the management account
        covered = posture not in ("outside-scp", "management")
        assert scp_covered(sandbox, account_id, seeded["scp_policy_id"]) == covered, posture
        assert seeded["accounts"][account_id]["scp_covered"] == covered

    account = client(sandbox, "account")
    for kind in ("SECURITY", "OPERATIONS", "BILLING"):
        assert account.get_alternate_contact(AccountId=p["compliant"], AlternateContactType=kind)["AlternateContact"]
    assert account.get_contact_information(AccountId=p["compliant"])["ContactInformation"]["CountryCode"] == "US"
    features = client(sandbox, "iam").list_organizations_features()["EnabledFeatures"]
    assert sorted(features) == ["RootCredentialsManagement", "RootSessions"]


def test_unassumable_posture(sandbox, seeded):
    with pytest.raises(ClientError) as exc:
        member_client(sandbox, seeded["by_posture"]["unassumable"], "iam")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_c7n_org_runs_against_seeded_org(sandbox, seeded, tmp_path):
    policies = tmp_path / "policies.yml"
    policies.write_text("policies:\n  - name: sandbox-account\n    resource: aws.account\n")
    (tmp_path / "cache").mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "AWS_ENDPOINT_URL": sandbox.endpoint_url, "C7N_ORG_PARALLEL": "4", **FAKE_CREDENTIALS}
    sandbox.reset_calls()
    run = subprocess.run(
        [os.path.join(VENV_BIN, "c7n-org"), "run", "-c", seeded["accounts_yml"], "-s", str(tmp_path / "out"),
         "-u", str(policies), "-r", "us-east-1", "--cache-period", "0", "--cache-path", str(tmp_path / "cache")],
        env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr  # one account failed, the others ran
    assert "Access denied api:AssumeRole policy:sandbox-account account:unassumable" in run.stderr
    for account_id, info in seeded["accounts"].items():
        out = tmp_path / "out" / info["name"] / "us-east-1" / "sandbox-account" / "resources.json"
        if info["assumable"]:
            assert json.loads(out.read_text())[0]["account_id"] == account_id
        else:
            assert not out.exists()
    calls = sandbox.calls()
    assert calls[(MANAGEMENT, "sts", "AssumeRole")] == len(seeded["accounts"])
    assert all(calls[(a, "iam", "ListAccountAliases")] == 1 for a, i in seeded["accounts"].items() if i["assumable"])


def test_seed_size(sandbox, tmp_path):
    sandbox.reset()
    result = seed_organization(sandbox.endpoint_url, str(tmp_path), size=24)
    members = {a: i for a, i in result["accounts"].items() if a != MANAGEMENT}
    assert len(members) == 24
    assert {i["ou_path"].count("/") for i in members.values()} == {2}
    assert {i["scp_covered"] for i in members.values()} == {True, False}
    removed = next(a for a, i in members.items() if i["posture"] == "root-credentials-removed")
    assert sandbox.root_facts(removed).password_present is False
    org = client(sandbox, "organizations")
    assert len([a for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]]) == 25
