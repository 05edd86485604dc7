"""End to end with plain c7n-org: members whose only trail is the organization trail are judged on its
chain in the management account; each broken link there makes them non-compliant, naming the link and
the owner; a member's own complete chain still counts; a missing owner role is could-not-evaluate with
the hint. The sandbox's call counter shows the owner's chain is read once per process, not per member.
"""
import json
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from rootguard_filters.cli.demo import offline_env, tool
from rootguard_filters.sandbox.seed import (
    AUDIT_ROLE, MANAGEMENT_ACCOUNT_ID, ORGANIZATION_LOG_GROUP, ORGANIZATION_TRAIL, REGION, _Seeder,
    seed_organization)
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS, Sandbox

ROOT = Path(__file__).resolve().parents[2]
POLICY = "root-usage-alarm-missing"
OWNER_READS = {("cloudtrail", "GetTrailStatus"), ("cloudtrail", "GetEventSelectors"),
               ("logs", "DescribeMetricFilters"), ("cloudwatch", "DescribeAlarmsForMetric"),
               ("sns", "ListSubscriptionsByTopic")}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb
        sb.reset()   # moto's state is process-wide: leave no organization to the next module


class Org:
    """A freshly seeded organization: the management account's organization trail and chain, members
    relying on it (``relying``) and one more with its own complete chain too (``own_chain``)."""

    def __init__(self, sandbox, workdir):
        sandbox.reset()
        self.sandbox, self.workdir = sandbox, Path(workdir)
        seeded = seed_organization(sandbox.endpoint_url, str(self.workdir / "seed"),
                                   members=["compliant", "compliant", "root-access-key"])
        self.accounts_yml = seeded["accounts_yml"]
        self.names = {a: i["name"] for a, i in seeded["accounts"].items()}
        members = sorted(a for a in seeded["accounts"] if a != MANAGEMENT_ACCOUNT_ID)
        self.own_chain, self.relying = members[0], members[1:]
        seeder = _Seeder(sandbox.endpoint_url)
        seeder.alarm_chain(seeder.member_creds(self.own_chain), self.own_chain, confirmed=True)
        self.session = boto3.Session(region_name=REGION, **{
            "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]})

    def management(self, service):
        return self.session.client(service, endpoint_url=self.sandbox.endpoint_url)

    def run(self, policy=None, accounts=None, label="run"):
        """Plain c7n-org over the members; {account id: root-usage-alarm verdict}."""
        policies = yaml.safe_load((ROOT / "policies" / "account.yml").read_text())["policies"]
        chosen = [dict(p) for p in policies if p["name"] == POLICY]
        if policy:
            chosen = [policy]
        policy_file = self.workdir / f"{label}.yml"
        policy_file.write_text(yaml.safe_dump({"policies": chosen}))
        out = self.workdir / label
        cmd = [tool("c7n-org"), "run", "-c", self.accounts_yml, "-s", str(out), "-u", str(policy_file),
               "-r", REGION, "--cache-period", "0"]
        for account in accounts or [*self.relying, self.own_chain]:
            cmd += ["-a", self.names[account]]
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        subprocess.run(cmd, env=offline_env(self.sandbox.endpoint_url, home), capture_output=True,
                       text=True, timeout=300)
        verdicts = {}
        for path in out.glob(f"*/{REGION}/{chosen[0]['name']}/rootguard-verdicts.json"):
            for account, by_filter in json.loads(path.read_text())["verdicts"].items():
                verdicts[account] = by_filter["root-usage-alarm"]
        return verdicts


@pytest.fixture
def org(sandbox, tmp_path):
    return Org(sandbox, tmp_path)


def assert_broken(org, verdicts, link, words):
    for member in org.relying:
        verdict = verdicts[member]
        assert verdict["status"] == "non-compliant", verdict
        (report,) = verdict["details"]["trails"]
        assert report["link"] == link and report["owner_account"] == MANAGEMENT_ACCOUNT_ID
        assert f"(chain in owner account {MANAGEMENT_ACCOUNT_ID})" in verdict["reason"]
        assert words in verdict["reason"], verdict["reason"]
    # its own complete chain still counts beside the broken organization chain
    own = verdicts[org.own_chain]
    assert own["status"] == "compliant" and own["details"]["chain"]["owner_account"] is None


def test_complete_organization_chain_and_reads_against_the_owner(org):
    org.sandbox.reset_calls()
    verdicts = org.run()
    for member in org.relying:
        assert verdicts[member]["status"] == "compliant"
        chain = verdicts[member]["details"]["chain"]
        assert chain["owner_account"] == MANAGEMENT_ACCOUNT_ID and chain["log_group"] == ORGANIZATION_LOG_GROUP
        assert ORGANIZATION_TRAIL in verdicts[member]["reason"]
    owner_reads = {(s, o): n for (a, s, o), n in org.sandbox.calls().items()
                   if a == MANAGEMENT_ACCOUNT_ID and (s, o) in OWNER_READS}
    assert set(owner_reads) == OWNER_READS
    # one read of each link per c7n-org worker process at most, however many members rely on it
    assert all(n <= len(org.relying) for n in owner_reads.values()), owner_reads


def test_pending_subscription(org):
    sns = org.management("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    for sub in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    assert_broken(org, org.run(), "subscription", "pending confirmation")


def test_trail_not_logging(org):
    org.management("cloudtrail").stop_logging(Name=ORGANIZATION_TRAIL)
    assert_broken(org, org.run(), "logging", "trail is not logging")


def test_pattern_that_does_not_cover_root_usage(org):
    logs = org.management("logs")
    (metric_filter,) = logs.describe_metric_filters(logGroupName=ORGANIZATION_LOG_GROUP)["metricFilters"]
    logs.put_metric_filter(logGroupName=ORGANIZATION_LOG_GROUP, filterName=metric_filter["filterName"],
                           filterPattern='{ $.userIdentity.type = "Root" && $.eventName = "ConsoleLogin" }',
                           metricTransformations=metric_filter["metricTransformations"])
    assert_broken(org, org.run(), "metric-filter", "does not cover root usage")


def test_alarm_on_another_namespace(org):
    cloudwatch = org.management("cloudwatch")
    (alarm,) = cloudwatch.describe_alarms()["MetricAlarms"]
    cloudwatch.put_metric_alarm(
        AlarmName=alarm["AlarmName"], MetricName=alarm["MetricName"], Namespace="SomethingElse",
        Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=alarm["AlarmActions"])
    assert_broken(org, org.run(), "alarm", "no alarm on metric")


def test_owner_role_missing_is_could_not_evaluate_with_the_hint(org):
    iam = org.management("iam")
    iam.delete_role(RoleName=AUDIT_ROLE)
    verdicts = org.run()
    role = f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:role/{AUDIT_ROLE}"
    for member in org.relying:
        verdict = verdicts[member]
        assert verdict["status"] == "could-not-evaluate", verdict
        assert f"in owner account {MANAGEMENT_ACCOUNT_ID}: cannot assume {role}" in verdict["reason"]
        assert "AccessDenied" in verdict["reason"] and "needs to trust" in verdict["reason"]
    assert verdicts[org.own_chain]["status"] == "compliant"


def test_owner_role_option_names_another_role(org):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:root"}}]}
    org.management("iam").create_role(RoleName="OrgChainReader", AssumeRolePolicyDocument=json.dumps(trust))
    policy = {"name": "org-chain-via-option", "resource": "aws.account", "filters": [
        {"type": "root-usage-alarm", "owner-role": "arn:aws:iam::{account_id}:role/OrgChainReader"}]}
    verdicts = org.run(policy, label="option")
    for member in org.relying:
        assert verdicts[member]["status"] == "compliant", verdicts[member]
    missing = dict(policy, name="org-chain-via-missing-role")
    missing["filters"] = [{"type": "root-usage-alarm", "owner-role": "arn:aws:iam::{account_id}:role/Nope"}]
    verdicts = org.run(missing, label="missing")
    for member in org.relying:
        assert verdicts[member]["status"] == "could-not-evaluate"
        assert f"cannot assume arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:role/Nope" in verdicts[member]["reason"]


def test_custodian_assume_reads_the_owner_through_the_same_role(org, tmp_path):
    member = org.relying[0]
    policy_file = tmp_path / "one.yml"
    policies = yaml.safe_load((ROOT / "policies" / "account.yml").read_text())["policies"]
    policy_file.write_text(yaml.safe_dump({"policies": [p for p in policies if p["name"] == POLICY]}))
    env = offline_env(org.sandbox.endpoint_url, tmp_path)
    for label, extra in (("assume", ["--assume", f"arn:aws:iam::{member}:role/{AUDIT_ROLE}"]), ("plain", [])):
        if label == "plain":
            creds = org.session.client("sts", endpoint_url=org.sandbox.endpoint_url).assume_role(
                RoleArn=f"arn:aws:iam::{member}:role/{AUDIT_ROLE}", RoleSessionName="plain")["Credentials"]
            env = dict(env, AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                       AWS_SESSION_TOKEN=creds["SessionToken"])
        out = tmp_path / label
        subprocess.run([tool("custodian"), "run", "-s", str(out), "-r", REGION, "--cache-period", "0",
                        *extra, str(policy_file)], env=env, capture_output=True, text=True, timeout=120)
        verdict = json.loads((out / POLICY / "rootguard-verdicts.json").read_text())["verdicts"][member]
        verdict = verdict["root-usage-alarm"]
        if label == "assume":
            assert verdict["status"] == "compliant", verdict
            assert verdict["details"]["chain"]["owner_account"] == MANAGEMENT_ACCOUNT_ID
        else:
            # no role assumed and no owner-role: could-not-evaluate, saying how to give one
            assert verdict["status"] == "could-not-evaluate", verdict
            assert "owner-role" in verdict["reason"] and "--assume" in verdict["reason"]
