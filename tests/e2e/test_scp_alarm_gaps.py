"""Plain `custodian run` on the sandbox organization: the deny-root SCPs and alarms that used to be called
compliant although root keeps a way through (issue 21) get the right verdict, naming the witness or the
setting, and `attach-root-scp` does not reuse such a policy."""
import json
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from rootguard_filters.plumbing.base import VERDICTS_FILE
from rootguard_filters.cli.demo import offline_env, tool
from rootguard_filters.sandbox.seed import MANAGEMENT_ACCOUNT_ID, seed_organization
from rootguard_filters.sandbox.server import FAKE_CREDENTIALS, Sandbox

ROOT_ONLY = {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}
STATEMENT = {"Effect": "Deny", "Action": "*", "Condition": ROOT_ONLY}
# Named so they sort before the seed's reference policy (DenyRootUser): reusing one would be chosen first.
SCPS = {
    "A-three-services": json.dumps({"Version": "2012-10-17", "Statement": [
        {**STATEMENT, "Resource": ["arn:aws:iam::*", "arn:aws:s3:::*", "arn:aws:ec2:*"]}]}),
    "A-every-arn": json.dumps({"Version": "2012-10-17", "Statement": [{**STATEMENT, "Resource": "arn:aws:*"}]}),
    # the first Statement (empty) is what AWS's grammar cannot give a meaning to; Python keeps the last
    "A-repeated-key": '{"Version": "2012-10-17", "Statement": [], "Statement": [' + json.dumps(
        {**STATEMENT, "Resource": "*"}) + "]}",
}
ALARM = {"AlarmName": "root-account-usage", "MetricName": "RootAccountUsageCount", "Namespace": "CISBenchmark",
         "Period": 300, "EvaluationPeriods": 1, "Threshold": 1.0,
         "ComparisonOperator": "GreaterThanOrEqualToThreshold"}


def write_policies(path, alarm_only=False):
    policies = [{"name": "root-usage-alarm-missing", "resource": "aws.account",
                 "filters": [{"type": "root-usage-alarm"}]}]
    if not alarm_only:
        policies += [{"name": "root-scp-missing", "resource": "aws.org-account", "filters": [{"type": "root-scp"}]},
                     {"name": "attach-root-scp", "resource": "aws.org-account", "filters": [{"type": "root-scp"}],
                      "actions": [{"type": "attach-root-scp", "target": "account"}]}]
    path.write_text(yaml.safe_dump({"policies": policies}))
    return path


def custodian_run(sandbox, workdir, policies, out):
    run = subprocess.run(
        [tool("custodian"), "run", "--dryrun", "-s", str(out), "-r", "us-east-1", "--cache-period", "0",
         str(policies)],
        env=offline_env(sandbox.endpoint_url, workdir), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def verdicts(out, policy):
    return json.loads((out / policy / VERDICTS_FILE).read_text())["verdicts"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("issue21")
    with Sandbox() as sandbox:
        sandbox.reset()   # moto's state is process-wide: start from an empty AWS whatever ran before
        try:
            seeded = seed_organization(sandbox.endpoint_url, str(workdir),
                                       members=["outside-scp", "outside-scp", "outside-scp"])
            members = sorted(a for a, info in seeded["accounts"].items() if info["posture"].startswith("outside-scp"))
            creds = {"aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                     "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
            org = boto3.client("organizations", endpoint_url=sandbox.endpoint_url, region_name="us-east-1", **creds)
            ids = {}
            for (name, content), account in zip(SCPS.items(), members):
                ids[name] = org.create_policy(Name=name, Type="SERVICE_CONTROL_POLICY", Content=content,
                                              Description="issue 21")["Policy"]["PolicySummary"]["Id"]
                org.attach_policy(PolicyId=ids[name], TargetId=account)
            cloudwatch = boto3.client("cloudwatch", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                                      **creds)
            topic = next(a for a in cloudwatch.describe_alarms(AlarmNames=["root-account-usage"])[
                "MetricAlarms"][0]["AlarmActions"])

            def alarm(**settings):
                cloudwatch.put_metric_alarm(**ALARM, AlarmActions=[topic], **settings)

            out = {}
            alarm(Statistic="Sum", TreatMissingData="ignore")
            out["first"] = workdir / "first"
            custodian_run(sandbox, workdir, write_policies(workdir / "all.yml"), out["first"])
            alarm(ExtendedStatistic="p99", EvaluateLowSampleCountPercentile="ignore", TreatMissingData="notBreaching")
            out["percentile"] = workdir / "percentile"
            custodian_run(sandbox, workdir, write_policies(workdir / "alarm.yml", alarm_only=True), out["percentile"])
            alarm(Statistic="Sum", TreatMissingData="notBreaching")
            out["fixed"] = workdir / "fixed"
            custodian_run(sandbox, workdir, write_policies(workdir / "alarm.yml", alarm_only=True), out["fixed"])
        finally:
            sandbox.reset()   # moto's state is process-wide: leave no organization for the next sandbox
    return dict(zip(SCPS, members)), ids, out


def test_deny_on_three_services_is_non_compliant_with_kms_decrypt_as_witness(world):
    accounts, _, out = world
    verdict = verdicts(out["first"], "root-scp-missing")[accounts["A-three-services"]]["root-scp"]
    assert verdict["status"] == "non-compliant"
    witness = verdict["details"]["witness"]
    assert witness["action"] == "kms:Decrypt" and witness["resource"].startswith("arn:aws:kms:")
    assert "kms:Decrypt on resource arn:aws:kms:" in verdict["reason"]


def test_deny_on_every_arn_leaves_actions_without_a_resource(world):
    accounts, _, out = world
    verdict = verdicts(out["first"], "root-scp-missing")[accounts["A-every-arn"]]["root-scp"]
    assert verdict["status"] == "non-compliant"
    assert verdict["details"]["witness"] == {"action": "iam:UpdateAccountPasswordPolicy", "conditions": {},
                                             "resource": "*"}


def test_policy_with_a_repeated_key_is_could_not_evaluate_naming_it(world):
    accounts, ids, out = world
    verdict = verdicts(out["first"], "root-scp-missing")[accounts["A-repeated-key"]]["root-scp"]
    assert verdict["status"] == "could-not-evaluate"
    assert ids["A-repeated-key"] in verdict["reason"]
    assert "repeats the JSON key 'Statement'" in json.dumps(verdict["details"]["malformed"])


def test_attach_root_scp_reuses_none_of_them(world):
    _, ids, out = world
    (path,) = (out["first"] / "attach-root-scp").glob("action-*")
    records = json.loads(path.read_text())
    attaching = [r for r in records if r.get("call") == "organizations:AttachPolicy"]
    assert attaching
    text = json.dumps(records)
    assert not any(policy_id in text for policy_id in ids.values())


def test_alarm_that_ignores_missing_data_is_non_compliant_naming_the_setting(world):
    _, _, out = world
    verdict = verdicts(out["first"], "root-usage-alarm-missing")[MANAGEMENT_ACCOUNT_ID]["root-usage-alarm"]
    assert verdict["status"] == "non-compliant"
    assert "TreatMissingData 'ignore'" in verdict["reason"]


def test_percentile_alarm_ignoring_low_sample_counts_is_non_compliant(world):
    _, _, out = world
    verdict = verdicts(out["percentile"], "root-usage-alarm-missing")[MANAGEMENT_ACCOUNT_ID]["root-usage-alarm"]
    assert verdict["status"] == "non-compliant"
    assert "EvaluateLowSampleCountPercentile 'ignore'" in verdict["reason"]


def test_the_same_alarm_treating_missing_data_as_not_breaching_is_compliant(world):
    _, _, out = world
    verdict = verdicts(out["fixed"], "root-usage-alarm-missing")[MANAGEMENT_ACCOUNT_ID]["root-usage-alarm"]
    assert verdict["status"] == "compliant", verdict["reason"]
